//! `make bench` (transcription part): word error rate, key-word recall and speed of the speech
//! models on helpdesk sentences spoken by several synthetic voices through the 8 kHz µ-law phone
//! path, and the delay from hang-up to stored transcript for 10, 30 and 120 s voicemails, alone
//! and four at once. Needs the models (`hotline model fetch base` / `tiny.en`), espeak-ng, sox
//! and the MBROLA voices (scripts/install-deps.sh --test).
//!
//! `cargo bench --bench transcribe -- [accuracy|delay|timing|chunks|voicemails]
//! [--decoding greedy|beam5] [--prompt on|off] [--fallback on|off] [--part-decoding greedy|beam5] [--part-fallback on|off] [--part-budget N (tokens a second, 0: none)] [--draft-only] [--threads N] [--audio-window full|fitted|fittedN]
//! [--model base|tiny.en]… [--voices mbrola|all] [--windows full,fitted10,…] [--language en|fr]
//! [--part-min N] [--level DB] [--levelling on|off] [--path phone|wide]`: only one part, the decoding to measure (default: the server's defaults;
//! accuracy with base and tiny.en, all voices). `chunks` compares, on voicemails of five
//! sentences, the former 30 s parts with parts cut at pauses (each with the previous part's
//! text as context) in each audio window. `voicemails` scores the voicemails of
//! `bench/voicemails.tsv` (20–40 s, names, numbers, places; each said by both MBROLA voices of
//! its language) twice: the draft (parts cut at pauses, transcribed as they are recorded) and
//! the final pass (the whole recording, whisper's full window) that replaces it after hang-up;
//! `--level` makes the callers quieter or louder, `--path wide` skips the phone.

use hotline::media::chunker::{ChunkPolicy, Chunker};
use hotline::transcribe::clean::{clean_segments, drop_context_repeats};
use hotline::transcribe::decoding::{AudioWindow, DecodeOptions, Search, TokenBudget};
use hotline::transcribe::fetch::{default_cache_dir, ModelKind};
use hotline::transcribe::prompt::{context_tail, initial_prompt, with_context, Vocabulary};
use hotline::transcribe::worker::TranscriptionConfig;
use hotline::transcribe::{audio, WhisperModel};
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::Instant;

struct Sentence {
    language: String,
    text: String,
    keywords: Vec<String>,
}

fn sentences() -> Vec<Sentence> {
    tsv_rows("sentences.tsv")
        .map(|f| Sentence {
            language: f[0].clone(),
            text: f[1].clone(),
            keywords: keyword_list(&f[2]),
        })
        .collect()
}

/// The rows of a benchmark file under `bench/`, tab-separated, `#` lines and blank lines
/// skipped.
fn tsv_rows(name: &str) -> impl Iterator<Item = Vec<String>> {
    let path = format!("{}/bench/{name}", env!("CARGO_MANIFEST_DIR"));
    let text = std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{path}: {e}"));
    text.lines()
        .filter(|l| !l.starts_with('#') && !l.trim().is_empty())
        .map(|l| l.split('\t').map(str::to_string).collect())
        .collect::<Vec<_>>()
        .into_iter()
}

/// A row's key words: comma-separated, compared in lower case.
fn keyword_list(field: &str) -> Vec<String> {
    field.split(',').map(|k| k.trim().to_lowercase()).collect()
}

/// espeak-ng speech through µ-law at 8 kHz, back as 16 kHz f32.
fn phone(voice: &str, text: &str) -> Vec<f32> {
    audio::phone_to_16k(&phone_8k(voice, text)).unwrap()
}

/// espeak-ng speech through µ-law, as 8 kHz 16-bit samples: what the recorder stores.
fn phone_8k(voice: &str, text: &str) -> Vec<i16> {
    phone_8k_at(voice, text, 0.0)
}

/// espeak-ng's speech, as the voice's own WAV file in `dir`.
fn spoken(dir: &Path, voice: &str, text: &str) -> PathBuf {
    let raw = dir.join("r.wav");
    assert!(Command::new("espeak-ng")
        .args(["-v", voice, "-s", "140", "-w"])
        .arg(&raw)
        .arg(text)
        .status()
        .unwrap()
        .success());
    raw
}

/// `phone_8k` from a caller `gain_db` louder (or quieter, below 0) than espeak-ng speaks: the
/// gain is applied before the µ-law encoding, as a phone sending a quiet caller does.
fn phone_8k_at(voice: &str, text: &str, gain_db: f32) -> Vec<i16> {
    let dir = tempfile::tempdir().unwrap();
    let (ulaw, pcm) = (dir.path().join("u.wav"), dir.path().join("p.wav"));
    let raw = spoken(dir.path(), voice, text);
    assert!(Command::new("sox")
        .arg(&raw)
        .args(["-r", "8000", "-c", "1", "-e", "u-law"])
        .arg(&ulaw)
        .args(["gain", &gain_db.to_string()])
        .status()
        .unwrap()
        .success());
    assert!(Command::new("sox")
        .arg(&ulaw)
        .args(["-e", "signed-integer", "-b", "16"])
        .arg(&pcm)
        .status()
        .unwrap()
        .success());
    hound::WavReader::open(&pcm)
        .unwrap()
        .samples::<i16>()
        .map(Result::unwrap)
        .collect()
}

/// espeak-ng's speech without the phone: its own rate and bits resampled to 16 kHz, `gain_db`
/// applied. What the phone path costs is the difference from this.
fn wide_16k(voice: &str, text: &str, gain_db: f32) -> Vec<f32> {
    let dir = tempfile::tempdir().unwrap();
    let gain = 10f32.powf(gain_db / 20.0);
    audio::load_wav_16k(&spoken(dir.path(), voice, text))
        .unwrap()
        .into_iter()
        .map(|s| s * gain)
        .collect()
}

/// 8 kHz recorded audio as the recogniser gets it, levelled when `levelling`.
fn to_16k(audio: &[i16], levelling: bool) -> Vec<f32> {
    let mut pcm = audio::phone_to_16k(audio).unwrap();
    if levelling {
        audio::level_speech(&mut pcm);
    }
    pcm
}

fn words(text: &str) -> Vec<String> {
    text.to_lowercase()
        .replace(['-', '\''], " ")
        .split(|c: char| !c.is_alphanumeric())
        .filter(|w| !w.is_empty())
        .map(str::to_string)
        .collect()
}

/// The words a key word is looked for in: `words`, plus each hyphenated word joined, so the key
/// word `email` is found in "e-mail" and `wifi` in "Wi-Fi" (the references spell them so), plus
/// runs of digit groups joined, so the extension `4183` is found in "41 83" (how French
/// numbers are often written).
fn heard_words(text: &str) -> Vec<String> {
    let mut heard = words(text);
    heard.extend(
        text.split_whitespace()
            .filter(|w| w.contains('-'))
            .flat_map(|w| words(&w.replace('-', ""))),
    );
    let all = words(text);
    let digits = |w: &String| w.chars().all(|c| c.is_ascii_digit());
    for start in 0..all.len() {
        let mut joined = String::new();
        for w in all[start..].iter().take_while(|w| digits(w)) {
            joined.push_str(w);
            heard.push(joined.clone());
        }
    }
    heard
}

/// Word-level Levenshtein distance over the reference length.
fn wer(reference: &str, hypothesis: &str) -> (usize, usize) {
    let (r, h) = (words(reference), words(hypothesis));
    let mut prev: Vec<usize> = (0..=h.len()).collect();
    for (i, rw) in r.iter().enumerate() {
        let mut cur = vec![i + 1; h.len() + 1];
        for (j, hw) in h.iter().enumerate() {
            cur[j + 1] = (prev[j] + usize::from(rw != hw))
                .min(prev[j + 1] + 1)
                .min(cur[j] + 1);
        }
        prev = cur;
    }
    (prev[h.len()], r.len())
}

/// What to measure, from the command line.
struct Args {
    accuracy: bool,
    delay: bool,
    timing: bool,
    chunks: bool,
    voicemails_mode: bool,
    /// `voicemails` without the draft: the final pass only.
    no_draft: bool,
    /// The company's names for the prompt (`vocabulary_file`), in `voicemails`.
    vocabulary: Vocabulary,
    /// No cut at a pause before a part has this many seconds (`part_min_secs`).
    part_min: u64,
    /// The audio windows `chunks` tries on parts cut at pauses.
    windows: Vec<AudioWindow>,
    /// The languages `chunks` measures.
    languages: Vec<String>,
    /// At most this many voicemails per voice (`chunks`) or per length (`delay`).
    voicemails: usize,
    /// The voicemail lengths `delay` measures, in seconds.
    lengths: Vec<usize>,
    search: Search,
    prompt: bool,
    window: AudioWindow,
    models: Vec<ModelKind>,
    /// Only the MBROLA voices (the issue's goals are set on them; espeak-ng's own voices are the
    /// slow stress case).
    mbrola_only: bool,
    /// whisper's temperature fallback (`temperature_fallback`).
    fallback: bool,
    /// The parts' decoding (`part_decoding`, `part_fallback`, `part_tokens_per_second`) in
    /// `delay` and `voicemails`; the final pass keeps `search` and `fallback`.
    part_search: Search,
    part_fallback: bool,
    part_budget: Option<TokenBudget>,
    /// `delay` and `voicemails`: only the draft of parts cut at pauses (no 30 s parts, no
    /// final pass), which is most of the benches' time.
    draft_only: bool,
    /// whisper threads per job in `delay` (a voicemail alone on an idle machine).
    threads: usize,
    /// `voicemails`: the caller this many dB louder than espeak-ng speaks (quieter below 0).
    level_db: f32,
    /// The server's levelling of the speech before whisper (`level_speech`).
    levelling: bool,
    /// `voicemails`: espeak-ng's speech without the phone path (no 8 kHz µ-law), final pass only.
    wide: bool,
}

fn args() -> Args {
    let defaults = TranscriptionConfig::default();
    let parts = defaults.decode_settings().unwrap().parts;
    let mut a = Args {
        accuracy: false,
        delay: false,
        timing: false,
        chunks: false,
        voicemails_mode: false,
        no_draft: false,
        vocabulary: Vocabulary::default(),
        part_min: defaults.chunk_policy().min.as_secs(),
        windows: Vec::new(),
        languages: Vec::new(),
        voicemails: usize::MAX,
        lengths: Vec::new(),
        search: defaults.decoding,
        prompt: defaults.prompt,
        window: defaults.audio_window,
        models: Vec::new(),
        mbrola_only: false,
        fallback: defaults.temperature_fallback,
        part_search: parts.search,
        part_fallback: parts.temperature_fallback,
        part_budget: parts.token_budget,
        draft_only: false,
        threads: 1,
        level_db: 0.0,
        levelling: defaults.level_speech,
        wide: false,
    };
    let on_off = |flag: &str, v: String| match v.as_str() {
        "on" => true,
        "off" => false,
        v => panic!("{flag} on|off, not {v}"),
    };
    let mut it = std::env::args().skip(1);
    while let Some(arg) = it.next() {
        let mut value = || it.next().unwrap_or_else(|| panic!("{arg} needs a value"));
        match arg.as_str() {
            // cargo bench passes `--bench` to every harness.
            "--bench" => {}
            "accuracy" => a.accuracy = true,
            "delay" => a.delay = true,
            "timing" => a.timing = true,
            "chunks" => a.chunks = true,
            "voicemails" => a.voicemails_mode = true,
            "--part-min" => a.part_min = value().parse().unwrap(),
            "--no-draft" => a.no_draft = true,
            "--vocabulary-file" => {
                a.vocabulary = Vocabulary::load(&[], Some(std::path::Path::new(&value()))).unwrap()
            }
            "--windows" => {
                a.windows = value()
                    .split(',')
                    .map(|w| w.parse().unwrap())
                    .collect()
            }
            "--language" => a.languages.push(value()),
            "--voicemails" => a.voicemails = value().parse().unwrap(),
            "--length" => a.lengths.push(value().parse().unwrap()),
            "--decoding" => a.search = value().parse().unwrap(),
            "--prompt" => a.prompt = on_off(&arg, value()),
            "--audio-window" => a.window = value().parse().unwrap(),
            "--fallback" => a.fallback = on_off(&arg, value()),
            "--part-decoding" => a.part_search = value().parse().unwrap(),
            "--part-fallback" => a.part_fallback = on_off(&arg, value()),
            "--part-budget" => {
                a.part_budget = match value().parse().unwrap() {
                    0 => None,
                    per_second => Some(TokenBudget { per_second }),
                }
            }
            "--draft-only" => a.draft_only = true,
            "--level" => a.level_db = value().parse().unwrap(),
            "--levelling" => a.levelling = on_off(&arg, value()),
            "--path" => {
                a.wide = match value().as_str() {
                    "phone" => false,
                    "wide" => true,
                    v => panic!("--path phone|wide, not {v}"),
                }
            }
            "--threads" => a.threads = value().parse().unwrap(),
            "--model" => a.models.push(value().parse().unwrap()),
            "--voices" => {
                a.mbrola_only = match value().as_str() {
                    "mbrola" => true,
                    "all" => false,
                    v => panic!("--voices mbrola|all, not {v}"),
                }
            }
            other => panic!("unknown argument {other}: [accuracy|delay|timing|chunks|voicemails] [--part-min N] [--no-draft] [--vocabulary-file F] [--decoding greedy|beam5] [--prompt on|off] [--fallback on|off] [--part-decoding greedy|beam5] [--part-fallback on|off] [--part-budget N (tokens a second, 0: none)] [--draft-only] [--threads N] [--audio-window full|fitted|fittedN] [--model base|tiny.en] [--voices mbrola|all] [--windows full,fitted10,…] [--language en|fr] [--voicemails N] [--length 30|120] [--level DB] [--levelling on|off] [--path phone|wide]"),
        }
    }
    if a.windows.is_empty() {
        a.windows = vec![a.window];
    }
    if a.lengths.is_empty() {
        a.lengths = vec![30, 120];
    }
    if a.languages.is_empty() {
        a.languages = vec!["en".into(), "fr".into()];
    }
    if !a.accuracy && !a.delay && !a.timing && !a.chunks && !a.voicemails_mode {
        (a.accuracy, a.delay) = (true, true);
    }
    if a.models.is_empty() {
        a.models = vec![ModelKind::Base, ModelKind::TinyEn];
    }
    a
}

/// Sums over a set of clips.
#[derive(Default)]
struct Tally {
    clips: usize,
    errors: usize,
    words: usize,
    keys: usize,
    found: usize,
    audio_s: f64,
    compute_s: f64,
    /// Each clip's active speech level as whisper would get it unlevelled, in dBFS.
    level_db: Vec<f32>,
}

impl Tally {
    fn add(&mut self, other: &Tally) {
        self.clips += other.clips;
        self.errors += other.errors;
        self.words += other.words;
        self.keys += other.keys;
        self.found += other.found;
        self.audio_s += other.audio_s;
        self.compute_s += other.compute_s;
        self.level_db.extend(&other.level_db);
    }

    fn row(&self, model: &str, language: &str, voices: &str) -> String {
        format!(
            "| {model} | {language} | {voices} | {} | {:.1} % | {:.1} % | {:.2} s | {:.2} |",
            self.clips,
            100.0 * self.errors as f64 / self.words as f64,
            100.0 * self.found as f64 / self.keys as f64,
            self.compute_s / self.clips as f64,
            self.compute_s / self.audio_s
        )
    }
}

fn accuracy(args: &Args, all: &[Sentence]) {
    let cache = default_cache_dir();
    let threads = 2;
    let voices = [
        ("en", ["mb-us1", "mb-us2", "en-us"]),
        ("fr", ["mb-fr1", "mb-fr4", "fr"]),
    ];
    let vocabulary = Vocabulary::default();
    println!(
        "decoding {}, prompt {}, audio window {}, {threads} whisper threads",
        args.search,
        if args.prompt { "on" } else { "off" },
        args.window
    );
    println!();
    println!("| model | language | voices | clips | WER | key-word recall | time per clip | real-time factor |");
    println!("|---|---|---|---|---|---|---|---|");
    let mut missed: BTreeMap<(String, String), Vec<String>> = BTreeMap::new();
    for kind in &args.models {
        let model =
            WhisperModel::load(&kind.file_in(&cache)).expect("model: run `hotline model fetch`");
        for (language, voice_list) in &voices {
            if !kind.supports(language) {
                continue;
            }
            let prompt = args
                .prompt
                .then(|| initial_prompt(Some(language), None, &vocabulary))
                .flatten();
            let options = DecodeOptions {
                language: Some(language),
                threads,
                search: args.search,
                prompt: prompt.as_deref(),
                window: args.window,
                temperature_fallback: args.fallback,
                token_budget: None,
            };
            let (mut mbrola, mut every) = (Tally::default(), Tally::default());
            for voice in voice_list {
                if args.mbrola_only && !voice.starts_with("mb-") {
                    continue;
                }
                let mut t = Tally::default();
                for s in all.iter().filter(|s| &s.language == language) {
                    let audio = phone(voice, &s.text);
                    let t0 = Instant::now();
                    let heard = model.transcribe_with(&audio, &options).unwrap();
                    t.compute_s += t0.elapsed().as_secs_f64();
                    t.audio_s += audio.len() as f64 / 16000.0;
                    let text = clean_segments(heard.segments, prompt.as_deref())
                        .iter()
                        .map(|s| s.text.clone())
                        .collect::<Vec<_>>()
                        .join(" ");
                    let (e, len) = wer(&s.text, &text);
                    t.errors += e;
                    t.words += len;
                    let heard = heard_words(&text);
                    for k in &s.keywords {
                        t.keys += 1;
                        if words(k).iter().all(|w| heard.contains(w)) {
                            t.found += 1;
                        } else {
                            missed
                                .entry((kind.name().to_string(), voice.to_string()))
                                .or_default()
                                .push(k.clone());
                        }
                    }
                    t.clips += 1;
                }
                println!("{}", t.row(kind.name(), language, voice));
                if voice.starts_with("mb-") {
                    mbrola.add(&t);
                }
                every.add(&t);
            }
            let mb: Vec<&str> = voice_list
                .iter()
                .copied()
                .filter(|v| v.starts_with("mb-"))
                .collect();
            println!("{}", mbrola.row(kind.name(), language, &mb.join(", ")));
            if !args.mbrola_only {
                println!(
                    "{}",
                    every.row(kind.name(), language, &voice_list.join(", "))
                );
            }
        }
    }
    println!();
    for ((model, voice), keys) in &missed {
        println!("key words missed, {model}, {voice}: {}", keys.join(", "));
    }
}

fn main() {
    let args = args();
    let all = sentences();
    if args.accuracy {
        accuracy(&args, &all);
    }
    if args.delay {
        delay(&args, &all);
    }
    if args.timing {
        timing(&all);
    }
    if args.chunks {
        chunks(&args, &all);
    }
    if args.voicemails_mode {
        voicemails(&args);
    }
}

/// Time per clip of each decoding, the variants taking turns on the same clip, so a machine
/// whose load changes during the run (others' builds) weighs on all of them alike.
fn timing(all: &[Sentence]) {
    let model = WhisperModel::load(&ModelKind::Base.file_in(&default_cache_dir())).unwrap();
    let variants = [
        ("greedy", false, AudioWindow::Full),
        ("greedy", true, AudioWindow::Full),
        ("beam5", false, AudioWindow::Full),
        ("beam5", true, AudioWindow::Full),
        ("beam5", true, AudioWindow::FITTED),
    ];
    let mut seconds = [0.0f64; 5];
    let mut clips = 0;
    let mut audio_s = 0.0;
    for (language, voices) in [("en", ["mb-us1", "mb-us2"]), ("fr", ["mb-fr1", "mb-fr4"])] {
        let prompt = initial_prompt(Some(language), None, &Vocabulary::default());
        for s in all.iter().filter(|s| s.language == language).take(3) {
            for voice in voices {
                let audio = phone(voice, &s.text);
                for (i, (search, prompted, window)) in variants.iter().enumerate() {
                    let options = DecodeOptions {
                        language: Some(language),
                        threads: 2,
                        search: search.parse().unwrap(),
                        prompt: prompt.as_deref().filter(|_| *prompted),
                        window: *window,
                        temperature_fallback: true,
                        token_budget: None,
                    };
                    let t0 = Instant::now();
                    model.transcribe_with(&audio, &options).unwrap();
                    seconds[i] += t0.elapsed().as_secs_f64();
                }
                clips += 1;
                audio_s += audio.len() as f64 / 16000.0;
            }
        }
    }
    println!(
        "{clips} clips ({:.1} s of audio each on average), each decoding in turn, 2 whisper threads",
        audio_s / clips as f64
    );
    println!();
    println!("| decoding | prompt | audio window | time per clip |");
    println!("|---|---|---|---|");
    for ((search, prompted, window), s) in variants.iter().zip(seconds) {
        println!(
            "| {search} | {} | {window} | {:.2} s |",
            if *prompted { "on" } else { "off" },
            s / clips as f64
        );
    }
}

/// A voicemail of several sentences, as the recorder stores it.
struct Voicemail {
    voice: String,
    text: String,
    keywords: Vec<String>,
    audio: Vec<i16>,
}

/// Between two sentences the caller pauses this long (a breath, not a thinking pause).
const PAUSE_MS: usize = 700;

/// Sentences said one after another with a pause between, nothing after the last (the caller
/// hangs up as they finish: the last part is then always left to do after the hang-up).
fn voicemail(voice: &str, sentences: &[&Sentence]) -> Voicemail {
    let mut audio = Vec::new();
    for (i, s) in sentences.iter().enumerate() {
        if i > 0 {
            audio.extend(std::iter::repeat_n(0i16, PAUSE_MS * 8));
        }
        audio.extend(phone_8k(voice, &s.text));
    }
    Voicemail {
        voice: voice.into(),
        text: sentences
            .iter()
            .map(|s| s.text.as_str())
            .collect::<Vec<_>>()
            .join(" "),
        keywords: sentences.iter().flat_map(|s| s.keywords.clone()).collect(),
        audio,
    }
}

/// How a voicemail is cut before whisper sees it.
#[derive(Clone, Copy)]
enum Cut {
    /// Fixed 30 s parts, the prompt without context (before issue 17's chunks).
    Parts30,
    /// Cut at pauses (the server's `ChunkPolicy`), the previous part's text as context or not.
    Pauses { context: bool },
}

/// One part: where it ends in the recording (s), its audio.
struct Part {
    end_s: f64,
    audio: Vec<i16>,
}

fn cut(audio: &[i16], how: Cut, policy: ChunkPolicy) -> Vec<Part> {
    match how {
        Cut::Parts30 => audio
            .chunks(30 * 8000)
            .enumerate()
            .map(|(i, p)| Part {
                end_s: (i * 30 * 8000 + p.len()) as f64 / 8000.0,
                audio: p.to_vec(),
            })
            .collect(),
        Cut::Pauses { .. } => {
            let mut chunker = Chunker::new(policy);
            let mut chunks = chunker.push(audio);
            chunks.extend(chunker.finish());
            // As the recorder: a part without speech is not transcribed.
            chunks
                .into_iter()
                .filter(|c| c.has_speech)
                .map(|c| Part {
                    end_s: (c.start as usize + c.samples.len()) as f64 / 8000.0,
                    audio: c.samples,
                })
                .collect()
        }
    }
}

/// A voicemail transcribed part by part as the worker does: the text, and each part's end in
/// the recording and compute time.
fn transcribe_parts(
    model: &WhisperModel,
    audio: &[i16],
    how: Cut,
    policy: ChunkPolicy,
    options: &DecodeOptions,
    levelling: bool,
) -> (String, Vec<(f64, f64)>) {
    let vocabulary = options.prompt;
    let mut texts: Vec<String> = Vec::new();
    let mut times = Vec::new();
    for part in cut(audio, how, policy) {
        let context = match how {
            Cut::Pauses { context: true } => texts.last().and_then(|t| context_tail(t)),
            _ => None,
        };
        let prompt = with_context(vocabulary.map(str::to_string), context);
        let part_options = DecodeOptions {
            prompt: prompt.as_deref(),
            ..*options
        };
        let pcm = to_16k(&part.audio, levelling);
        let t0 = Instant::now();
        let heard = model.transcribe_with(&pcm, &part_options).unwrap();
        times.push((part.end_s, t0.elapsed().as_secs_f64()));
        let kept = drop_context_repeats(clean_segments(heard.segments, vocabulary), context);
        let text = kept
            .iter()
            .map(|s| s.text.trim())
            .collect::<Vec<_>>()
            .join(" ");
        if !text.is_empty() {
            texts.push(text);
        }
    }
    (texts.join(" "), times)
}

fn median(values: &[f32]) -> Option<f32> {
    let mut v = values.to_vec();
    v.sort_by(f32::total_cmp);
    v.get(v.len() / 2).copied()
}

fn load_average() -> String {
    std::fs::read_to_string("/proc/loadavg")
        .map(|l| l.split_whitespace().take(3).collect::<Vec<_>>().join(" "))
        .unwrap_or_default()
}

/// The decoding of the parts (the draft) and of the whole recording (the final pass), as the
/// worker's `decoding_for` makes them.
fn part_and_whole<'a>(
    args: &Args,
    language: &'a str,
    threads: usize,
    prompt: Option<&'a str>,
) -> (DecodeOptions<'a>, DecodeOptions<'a>) {
    let whole = DecodeOptions {
        language: Some(language),
        threads,
        search: args.search,
        prompt,
        window: AudioWindow::Full,
        temperature_fallback: args.fallback,
        token_budget: None,
    };
    let parts = DecodeOptions {
        search: args.part_search,
        window: args.window,
        temperature_fallback: args.part_fallback,
        token_budget: args.part_budget,
        ..whole
    };
    (parts, whole)
}

/// The settings a run used, for its header.
fn settings_line(args: &Args) -> String {
    let on = |b: bool| if b { "on" } else { "off" };
    format!(
        "prompt {}; final pass: {}, fallback {}; parts at pauses (min {} s): {}, fallback {}, token budget {}, window {}; callers {:+} dB through {}, levelling {}",
        on(args.prompt),
        args.search,
        on(args.fallback),
        args.part_min,
        args.part_search,
        on(args.part_fallback),
        args.part_budget
            .map_or("none".to_string(), |b| format!("{} a second", b.per_second)),
        args.window,
        args.level_db,
        if args.wide { "no phone (wide band)" } else { "the phone path" },
        on(args.levelling),
    )
}

/// Accuracy and time of the former 30 s parts against parts cut at pauses, on voicemails of
/// five sentences (18–25 s) per MBROLA voice, base model, 2 whisper threads.
fn chunks(args: &Args, all: &[Sentence]) {
    let model = WhisperModel::load(&ModelKind::Base.file_in(&default_cache_dir())).unwrap();
    let mut settings: Vec<(String, Cut, AudioWindow)> = vec![(
        "30 s parts, full window".into(),
        Cut::Parts30,
        AudioWindow::Full,
    )];
    for w in &args.windows {
        settings.push((
            format!("pauses + context, window {w}"),
            Cut::Pauses { context: true },
            *w,
        ));
    }
    if args.windows.contains(&AudioWindow::Full) {
        settings.push((
            "pauses, no context, window full".into(),
            Cut::Pauses { context: false },
            AudioWindow::Full,
        ));
    }
    println!(
        "decoding {}, prompt {}, 2 whisper threads, load average at start {}",
        args.search,
        if args.prompt { "on" } else { "off" },
        load_average()
    );
    println!();
    println!(
        "| setting | voice | voicemails | WER | key words | compute per voicemail | last part |"
    );
    println!("|---|---|---|---|---|---|---|");
    let voices = [("en", ["mb-us1", "mb-us2"]), ("fr", ["mb-fr1", "mb-fr4"])];
    let mut missed: BTreeMap<(String, String), Vec<String>> = BTreeMap::new();
    for (language, voice_list) in voices {
        if !args.languages.iter().any(|l| l == language) {
            continue;
        }
        let sentences: Vec<&Sentence> = all.iter().filter(|s| s.language == language).collect();
        let prompt = args
            .prompt
            .then(|| initial_prompt(Some(language), None, &Vocabulary::default()))
            .flatten();
        let voicemails: Vec<Voicemail> = voice_list
            .iter()
            .flat_map(|v| {
                sentences
                    .chunks(5)
                    .take(args.voicemails)
                    .map(|group| voicemail(v, group))
            })
            .collect();
        let mut totals: Vec<Tally> = settings.iter().map(|_| Tally::default()).collect();
        for voice in voice_list {
            for (i, (name, how, window)) in settings.iter().enumerate() {
                let options = DecodeOptions {
                    language: Some(language),
                    threads: 2,
                    search: args.search,
                    prompt: prompt.as_deref(),
                    window: *window,
                    temperature_fallback: args.fallback,
                    token_budget: None,
                };
                let mut t = Tally::default();
                let mut last = 0.0;
                for vm in voicemails.iter().filter(|v| v.voice == *voice) {
                    let (text, times) = transcribe_parts(
                        &model,
                        &vm.audio,
                        *how,
                        policy(args),
                        &options,
                        args.levelling,
                    );
                    t.compute_s += times.iter().map(|(_, s)| s).sum::<f64>();
                    last += times.last().map_or(0.0, |(_, s)| *s);
                    t.audio_s += vm.audio.len() as f64 / 8000.0;
                    let (e, len) = wer(&vm.text, &text);
                    t.errors += e;
                    t.words += len;
                    let heard = heard_words(&text);
                    for k in &vm.keywords {
                        t.keys += 1;
                        if words(k).iter().all(|w| heard.contains(w)) {
                            t.found += 1;
                        } else {
                            missed
                                .entry((name.clone(), vm.voice.clone()))
                                .or_default()
                                .push(k.clone());
                        }
                    }
                    t.clips += 1;
                }
                println!(
                    "| {name} | {voice} | {} | {:.1} % | {:.1} % | {:.2} s | {:.2} s |",
                    t.clips,
                    100.0 * t.errors as f64 / t.words as f64,
                    100.0 * t.found as f64 / t.keys as f64,
                    t.compute_s / t.clips as f64,
                    last / t.clips as f64
                );
                totals[i].add(&t);
            }
        }
        for ((name, _, _), t) in settings.iter().zip(&totals) {
            println!(
                "| {name} | {language} (both) | {} | {:.1} % | {:.1} % | {:.2} s | |",
                t.clips,
                100.0 * t.errors as f64 / t.words as f64,
                100.0 * t.found as f64 / t.keys as f64,
                t.compute_s / t.clips as f64,
            );
        }
    }
    println!();
    println!("load average at the end {}", load_average());
    for ((setting, voice), keys) in &missed {
        println!("key words missed, {setting}, {voice}: {}", keys.join(", "));
    }
}

/// Where the server cuts parts at pauses, with `--part-min` as `part_min_secs`.
fn policy(args: &Args) -> ChunkPolicy {
    ChunkPolicy {
        min: std::time::Duration::from_secs(args.part_min),
        ..ChunkPolicy::default()
    }
}

/// One voicemail's jobs for the queue simulation: its parts (`ready` in the recording, s;
/// compute time, s) and, if it gets one, its final pass (compute time), queued at hang-up.
struct Jobs {
    parts: Vec<(f64, f64)>,
    whole: Option<f64>,
    hangup: f64,
}

/// When each voicemail's draft (every part) and final text (the final pass, or the draft when
/// there is none) are done, in seconds after its hang-up. Every voicemail starts at 0; `workers`
/// workers take jobs as the store hands them out: a ready part first (oldest first), a ready
/// final pass only when no part is ready; each job takes its measured time.
fn simulate(voicemails: &[Jobs], workers: usize) -> Vec<(f64, f64)> {
    // (ready, voicemail, service, is the final pass)
    let mut jobs: Vec<(f64, usize, f64, bool)> = voicemails
        .iter()
        .enumerate()
        .flat_map(|(v, vm)| {
            vm.parts
                .iter()
                .map(move |&(ready, service)| (ready, v, service, false))
                .chain(vm.whole.map(|service| (vm.hangup, v, service, true)))
        })
        .collect();
    jobs.sort_by(|a, b| a.0.total_cmp(&b.0).then(a.1.cmp(&b.1)));
    let mut free = vec![0.0f64; workers];
    let mut draft = vec![0.0f64; voicemails.len()];
    let mut fin = vec![0.0f64; voicemails.len()];
    while !jobs.is_empty() {
        let w = (0..workers)
            .min_by(|&a, &b| free[a].total_cmp(&free[b]))
            .unwrap();
        // Nothing ready when the worker frees up: it waits for the next job to be queued.
        let now = free[w].max(jobs[0].0);
        let pick = jobs
            .iter()
            .position(|j| j.0 <= now && !j.3)
            .or_else(|| jobs.iter().position(|j| j.0 <= now))
            .unwrap();
        let (_, v, service, whole) = jobs.remove(pick);
        free[w] = now + service;
        if whole {
            fin[v] = fin[v].max(free[w]);
        } else {
            draft[v] = draft[v].max(free[w]);
        }
    }
    voicemails
        .iter()
        .enumerate()
        .map(|(v, vm)| {
            let d = (draft[v] - vm.hangup).max(0.0);
            let f = if vm.whole.is_some() {
                (fin[v] - vm.hangup).max(0.0)
            } else {
                d
            };
            (d, f)
        })
        .collect()
}

fn percentile(values: &[f64], p: f64) -> f64 {
    let mut v = values.to_vec();
    v.sort_by(f64::total_cmp);
    v[((v.len() as f64 * p).ceil() as usize).clamp(1, v.len()) - 1]
}

/// Hang-up to transcript, with the server's settings on this machine (one worker, one whisper
/// thread per job) and the decoding and window given. Voicemails of about 30 and 120 s, English
/// sentences by mb-us1 each starting at another sentence; every part (and the whole recording,
/// for the final pass) is transcribed once, alone, to measure its time, and the queue is then
/// played out with those times: one voicemail alone, and four recorded at the same time on one
/// and on two workers. A cell reads "draft / final" where there is a final pass.
fn delay(args: &Args, all: &[Sentence]) {
    let model = WhisperModel::load(&ModelKind::Base.file_in(&default_cache_dir())).unwrap();
    let prompt = args
        .prompt
        .then(|| initial_prompt(Some("en"), None, &Vocabulary::default()))
        .flatten();
    let (options, whole_options) = part_and_whole(args, "en", args.threads, prompt.as_deref());
    let english: Vec<&Sentence> = all.iter().filter(|s| s.language == "en").collect();
    let spoken: Vec<Vec<i16>> = english
        .iter()
        .map(|s| phone_8k("mb-us1", &s.text))
        .collect();
    println!();
    println!(
        "{}, {} whisper threads, load average at start {}",
        settings_line(args),
        args.threads,
        load_average()
    );
    println!();
    println!("| voicemail | cut | voicemails | parts | alone p50 | alone p95 | alone max | 4 at once, 1 worker (slowest) | 4 at once, 2 workers (slowest) | worker busy while recording |");
    println!("|---|---|---|---|---|---|---|---|---|---|");
    for secs in args.lengths.iter().copied() {
        // Four at least: four voicemails finish at once in the last columns.
        let count = if args.voicemails < usize::MAX {
            args.voicemails.max(4)
        } else if secs > 60 {
            4
        } else {
            10
        };
        let recordings: Vec<Vec<i16>> = (0..count)
            .map(|first| {
                let mut audio = Vec::new();
                let mut i = first;
                while audio.len() < secs * 8000 {
                    if !audio.is_empty() {
                        audio.extend(std::iter::repeat_n(0i16, PAUSE_MS * 8));
                    }
                    audio.extend(&spoken[i % spoken.len()]);
                    i += 1;
                }
                // Exactly `secs`, as before: the caller may hang up mid-word.
                audio.truncate(secs * 8000);
                audio
            })
            .collect();
        let hangups: Vec<f64> = recordings.iter().map(|a| a.len() as f64 / 8000.0).collect();
        // The final pass's time: the whole recording, full window, no context.
        let whole: Vec<f64> = recordings
            .iter()
            .map(|a| {
                if args.draft_only {
                    return 0.0;
                }
                let pcm = to_16k(a, args.levelling);
                let t0 = Instant::now();
                model.transcribe_with(&pcm, &whole_options).unwrap();
                t0.elapsed().as_secs_f64()
            })
            .collect();
        // Each cut's parts are transcribed once; the final pass only adds its job.
        let part_times = |how| -> Vec<Vec<(f64, f64)>> {
            // 30 s parts as before issue 17: the full window, decoded as a whole recording.
            let options = match how {
                Cut::Parts30 => whole_options,
                Cut::Pauses { .. } => options,
            };
            recordings
                .iter()
                .map(|a| transcribe_parts(&model, a, how, policy(args), &options, args.levelling).1)
                .collect()
        };
        let thirty = if args.draft_only {
            Vec::new()
        } else {
            part_times(Cut::Parts30)
        };
        let pauses = part_times(Cut::Pauses { context: true });
        // The slowest parts cut at pauses: an outlier here is what a caller's p95 waits for.
        let mut slow: Vec<(f64, usize, usize)> = pauses
            .iter()
            .enumerate()
            .flat_map(|(v, parts)| {
                parts
                    .iter()
                    .enumerate()
                    .map(move |(n, (_, secs))| (*secs, v, n))
            })
            .collect();
        slow.sort_by(|a, b| b.0.total_cmp(&a.0));
        let slow: Vec<String> = slow
            .iter()
            .take(3)
            .map(|(secs, v, n)| format!("voicemail {v} part {n}: {secs:.1} s"))
            .collect();
        eprintln!(
            "{secs} s voicemails, slowest parts at pauses: {}",
            slow.join(", ")
        );
        for (name, parts, final_pass) in [
            ("30 s parts", &thirty, false),
            ("pauses", &pauses, false),
            ("pauses + final pass", &pauses, true),
        ] {
            if args.draft_only && (name != "pauses") {
                continue;
            }
            let jobs: Vec<Jobs> = parts
                .iter()
                .zip(&hangups)
                .zip(&whole)
                .map(|((p, h), w)| Jobs {
                    parts: p.clone(),
                    whole: final_pass.then_some(*w),
                    hangup: *h,
                })
                .collect();
            let alone: Vec<(f64, f64)> = jobs
                .iter()
                .map(|j| simulate(std::slice::from_ref(j), 1)[0])
                .collect();
            let cell = |f: &dyn Fn(&[f64]) -> f64, pairs: &[(f64, f64)]| {
                let drafts: Vec<f64> = pairs.iter().map(|p| p.0).collect();
                let finals: Vec<f64> = pairs.iter().map(|p| p.1).collect();
                if final_pass {
                    format!("{:.1} / {:.1} s", f(&drafts), f(&finals))
                } else {
                    format!("{:.1} s", f(&drafts))
                }
            };
            let slowest = |v: &[f64]| v.iter().copied().fold(0.0, f64::max);
            let busy: f64 = jobs
                .iter()
                .map(|j| j.parts.iter().map(|(_, s)| s).sum::<f64>() + j.whole.unwrap_or(0.0))
                .sum::<f64>()
                / hangups.iter().sum::<f64>();
            println!(
                "| {secs} s | {name} | {count} | {} | {} | {} | {} | {} | {} | {:.0} % |",
                jobs.iter().map(|j| j.parts.len()).sum::<usize>(),
                cell(&|v| percentile(v, 0.5), &alone),
                cell(&|v| percentile(v, 0.95), &alone),
                cell(&|v| percentile(v, 1.0), &alone),
                cell(&slowest, &simulate(&jobs[..4], 1)),
                cell(&slowest, &simulate(&jobs[..4], 2)),
                100.0 * busy
            );
        }
    }
    println!();
    println!("load average at the end {}", load_average());
}

/// One line of `bench/voicemails.tsv`.
struct Script {
    language: String,
    id: String,
    text: String,
    keywords: Vec<String>,
}

fn scripts() -> Vec<Script> {
    tsv_rows("voicemails.tsv")
        .map(|f| Script {
            language: f[0].clone(),
            id: f[1].clone(),
            text: f[2].clone(),
            keywords: keyword_list(&f[3]),
        })
        .collect()
}

/// Scores one transcript into a tally, noting the key words missed.
fn score(
    t: &mut Tally,
    reference: &str,
    keywords: &[String],
    text: &str,
    missed: &mut Vec<String>,
) {
    let (e, len) = wer(reference, text);
    t.errors += e;
    t.words += len;
    let heard = heard_words(text);
    for k in keywords {
        t.keys += 1;
        if words(k).iter().all(|w| heard.contains(w)) {
            t.found += 1;
        } else {
            missed.push(k.clone());
        }
    }
    t.clips += 1;
}

/// A row of the `voicemails` table; a pass's cells are blank when it was not run.
fn voicemail_row(language: &str, voice: &str, draft: &Tally, fin: &Tally) -> String {
    let cells = |t: &Tally| {
        if t.clips == 0 {
            return ["—".to_string(), "—".to_string(), "—".to_string()];
        }
        let pct = |n: usize, of: usize| format!("{:.1} %", 100.0 * n as f64 / of as f64);
        [
            pct(t.errors, t.words),
            pct(t.found, t.keys),
            format!("{:.2} s", t.compute_s / t.clips as f64),
        ]
    };
    let [d_wer, d_keys, d_time] = cells(draft);
    let [f_wer, f_keys, f_time] = cells(fin);
    let run = if fin.clips > 0 { fin } else { draft };
    format!(
        "| {language} | {voice} | {} | {:.1} s | {d_wer} | {d_keys} | {f_wer} | {f_keys} | {d_time} | {f_time} |",
        run.clips,
        run.audio_s / run.clips.max(1) as f64,
    )
}

/// The voicemails of `bench/voicemails.tsv`, each said by both MBROLA voices of its language:
/// the draft (parts cut at pauses with the window given, the previous part's text as context,
/// as the server transcribes them while the caller speaks) and the final pass (the whole
/// recording, whisper's full window, as the server does after hang-up). 2 whisper threads.
fn voicemails(args: &Args) {
    let model = WhisperModel::load(&ModelKind::Base.file_in(&default_cache_dir())).unwrap();
    let scripts = scripts();
    println!(
        "{}, {} company names, 2 whisper threads, load average at start {}",
        settings_line(args),
        args.vocabulary.words().len(),
        load_average()
    );
    println!();
    println!("| language | voice | voicemails | audio per voicemail | draft WER | draft key words | final WER | final key words | draft compute | final compute |");
    println!("|---|---|---|---|---|---|---|---|---|---|");
    let voices = [("en", ["mb-us1", "mb-us2"]), ("fr", ["mb-fr1", "mb-fr4"])];
    let mut missed: BTreeMap<(String, String), Vec<String>> = BTreeMap::new();
    let mut worst: Vec<(f64, String, String, String)> = Vec::new();
    let mut levels = Vec::new();
    for (language, voice_list) in voices {
        if !args.languages.iter().any(|l| l == language) {
            continue;
        }
        let prompt = args
            .prompt
            .then(|| initial_prompt(Some(language), None, &args.vocabulary))
            .flatten();
        let (options, whole) = part_and_whole(args, language, 2, prompt.as_deref());
        let (mut draft_all, mut final_all) = (Tally::default(), Tally::default());
        for voice in voice_list {
            let (mut draft, mut fin) = (Tally::default(), Tally::default());
            for s in scripts
                .iter()
                .filter(|s| s.language == language)
                .take(args.voicemails)
            {
                let audio = phone_8k_at(voice, &s.text, args.level_db);
                let secs = audio.len() as f64 / 8000.0;
                if !args.no_draft && !args.wide {
                    let (text, times) = transcribe_parts(
                        &model,
                        &audio,
                        Cut::Pauses { context: true },
                        policy(args),
                        &options,
                        args.levelling,
                    );
                    draft.compute_s += times.iter().map(|(_, t)| t).sum::<f64>();
                    draft.audio_s += secs;
                    let mut lost = Vec::new();
                    score(&mut draft, &s.text, &s.keywords, &text, &mut lost);
                    missed
                        .entry(("draft".into(), voice.to_string()))
                        .or_default()
                        .extend(lost);
                }
                if args.draft_only {
                    continue;
                }
                let mut pcm = if args.wide {
                    wide_16k(voice, &s.text, args.level_db)
                } else {
                    audio::phone_to_16k(&audio).unwrap()
                };
                fin.level_db
                    .push(audio::speech_level_dbfs(&pcm).unwrap_or(f32::NEG_INFINITY));
                if args.levelling {
                    audio::level_speech(&mut pcm);
                }
                let t0 = Instant::now();
                let heard = model.transcribe_with(&pcm, &whole).unwrap();
                fin.compute_s += t0.elapsed().as_secs_f64();
                fin.audio_s += secs;
                let text = clean_segments(heard.segments, prompt.as_deref())
                    .iter()
                    .map(|s| s.text.trim().to_string())
                    .collect::<Vec<_>>()
                    .join(" ");
                let mut lost = Vec::new();
                let before = fin.errors;
                score(&mut fin, &s.text, &s.keywords, &text, &mut lost);
                let (_, len) = wer(&s.text, &text);
                worst.push((
                    (fin.errors - before) as f64 / len as f64,
                    format!("{} {voice}", s.id),
                    s.text.clone(),
                    text,
                ));
                missed
                    .entry(("final".into(), voice.to_string()))
                    .or_default()
                    .extend(lost);
            }
            println!("{}", voicemail_row(language, voice, &draft, &fin));
            if let Some(level) = median(&fin.level_db) {
                levels.push(format!("{voice} {level:.1} dBFS"));
            }
            draft_all.add(&draft);
            final_all.add(&fin);
        }
        println!(
            "{}",
            voicemail_row(&format!("**{language}**"), "both", &draft_all, &final_all)
        );
    }
    println!();
    println!("load average at the end {}", load_average());
    println!(
        "active speech level whisper gets before any levelling (median): {}",
        levels.join(", ")
    );
    for ((pass, voice), keys) in &missed {
        println!("key words missed, {pass}, {voice}: {}", keys.join(", "));
    }
    worst.sort_by(|a, b| b.0.total_cmp(&a.0));
    println!();
    println!("the five worst final transcripts:");
    for (w, id, reference, heard) in worst.iter().take(5) {
        println!(
            "- {id}, WER {:.0} %\n  said:  {reference}\n  heard: {heard}",
            100.0 * w
        );
    }
}
