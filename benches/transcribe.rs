//! `make bench` (transcription part): word error rate, key-word recall and speed of the speech
//! models on helpdesk sentences spoken by several synthetic voices through the 8 kHz µ-law phone
//! path, and the delay from hang-up to stored transcript for 10, 30 and 120 s voicemails, alone
//! and four at once. Needs the models (`hotline model fetch base` / `tiny.en`), espeak-ng, sox
//! and the MBROLA voices (scripts/install-deps.sh --test).
//!
//! `cargo bench --bench transcribe -- [accuracy|delay|timing|chunks] [--decoding greedy|beam5]
//! [--prompt on|off] [--audio-window full|fitted|fittedN] [--model base|tiny.en]…
//! [--voices mbrola|all] [--windows full,fitted10,…] [--language en|fr]`: only one part, the
//! decoding to measure (default: the server's defaults; accuracy with base and tiny.en, all
//! voices). `chunks` compares, on voicemails of five sentences, the former 30 s parts with
//! parts cut at pauses (each with the previous part's text as context) in each audio window.

use hotline::media::chunker::{ChunkPolicy, Chunker};
use hotline::transcribe::clean::{clean_segments, drop_context_repeats};
use hotline::transcribe::decoding::{AudioWindow, DecodeOptions, Search};
use hotline::transcribe::fetch::{default_cache_dir, ModelKind};
use hotline::transcribe::prompt::{context_tail, initial_prompt, with_context, Vocabulary};
use hotline::transcribe::worker::TranscriptionConfig;
use hotline::transcribe::{audio, WhisperModel};
use std::collections::BTreeMap;
use std::process::Command;
use std::time::Instant;

struct Sentence {
    language: String,
    text: String,
    keywords: Vec<String>,
}

fn sentences() -> Vec<Sentence> {
    let text = std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/bench/sentences.tsv"))
        .unwrap();
    text.lines()
        .filter(|l| !l.starts_with('#') && !l.trim().is_empty())
        .map(|l| {
            let f: Vec<&str> = l.split('\t').collect();
            Sentence {
                language: f[0].into(),
                text: f[1].into(),
                keywords: f[2].split(',').map(|k| k.trim().to_lowercase()).collect(),
            }
        })
        .collect()
}

/// espeak-ng speech through µ-law at 8 kHz, back as 16 kHz f32.
fn phone(voice: &str, text: &str) -> Vec<f32> {
    audio::phone_to_16k(&phone_8k(voice, text)).unwrap()
}

/// espeak-ng speech through µ-law, as 8 kHz 16-bit samples: what the recorder stores.
fn phone_8k(voice: &str, text: &str) -> Vec<i16> {
    let dir = tempfile::tempdir().unwrap();
    let (raw, ulaw, pcm) = (
        dir.path().join("r.wav"),
        dir.path().join("u.wav"),
        dir.path().join("p.wav"),
    );
    assert!(Command::new("espeak-ng")
        .args(["-v", voice, "-s", "140", "-w"])
        .arg(&raw)
        .arg(text)
        .status()
        .unwrap()
        .success());
    assert!(Command::new("sox")
        .arg(&raw)
        .args(["-r", "8000", "-c", "1", "-e", "u-law"])
        .arg(&ulaw)
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

fn words(text: &str) -> Vec<String> {
    text.to_lowercase()
        .replace(['-', '\''], " ")
        .split(|c: char| !c.is_alphanumeric())
        .filter(|w| !w.is_empty())
        .map(str::to_string)
        .collect()
}

/// The words a key word is looked for in: `words`, plus each hyphenated word joined, so the key
/// word `email` is found in "e-mail" and `wifi` in "Wi-Fi" (the references spell them so).
fn heard_words(text: &str) -> Vec<String> {
    let mut heard = words(text);
    heard.extend(
        text.split_whitespace()
            .filter(|w| w.contains('-'))
            .flat_map(|w| words(&w.replace('-', ""))),
    );
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
}

fn args() -> Args {
    let defaults = TranscriptionConfig::default();
    let mut a = Args {
        accuracy: false,
        delay: false,
        timing: false,
        chunks: false,
        windows: Vec::new(),
        languages: Vec::new(),
        voicemails: usize::MAX,
        lengths: Vec::new(),
        search: defaults.decoding,
        prompt: defaults.prompt,
        window: defaults.audio_window,
        models: Vec::new(),
        mbrola_only: false,
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
            "--prompt" => {
                a.prompt = match value().as_str() {
                    "on" => true,
                    "off" => false,
                    v => panic!("--prompt on|off, not {v}"),
                }
            }
            "--audio-window" => a.window = value().parse().unwrap(),
            "--model" => a.models.push(value().parse().unwrap()),
            "--voices" => {
                a.mbrola_only = match value().as_str() {
                    "mbrola" => true,
                    "all" => false,
                    v => panic!("--voices mbrola|all, not {v}"),
                }
            }
            other => panic!("unknown argument {other}: [accuracy|delay|timing|chunks] [--decoding greedy|beam5] [--prompt on|off] [--audio-window full|fitted|fittedN] [--model base|tiny.en] [--voices mbrola|all] [--windows full,fitted10,…] [--language en|fr] [--voicemails N] [--length 30|120]"),
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
    if !a.accuracy && !a.delay && !a.timing && !a.chunks {
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

fn cut(audio: &[i16], how: Cut) -> Vec<Part> {
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
            let mut chunker = Chunker::new(ChunkPolicy::default());
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
    options: &DecodeOptions,
) -> (String, Vec<(f64, f64)>) {
    let vocabulary = options.prompt;
    let mut texts: Vec<String> = Vec::new();
    let mut times = Vec::new();
    for part in cut(audio, how) {
        let context = match how {
            Cut::Pauses { context: true } => texts.last().and_then(|t| context_tail(t)),
            _ => None,
        };
        let prompt = with_context(vocabulary.map(str::to_string), context);
        let part_options = DecodeOptions {
            prompt: prompt.as_deref(),
            ..*options
        };
        let pcm = audio::phone_to_16k(&part.audio).unwrap();
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

fn load_average() -> String {
    std::fs::read_to_string("/proc/loadavg")
        .map(|l| l.split_whitespace().take(3).collect::<Vec<_>>().join(" "))
        .unwrap_or_default()
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
                };
                let mut t = Tally::default();
                let mut last = 0.0;
                for vm in voicemails.iter().filter(|v| v.voice == *voice) {
                    let (text, times) = transcribe_parts(&model, &vm.audio, *how, &options);
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

/// When each voicemail's text is complete, in seconds after its hang-up: every voicemail starts
/// at 0; its parts are queued as they are cut (`ready`, s) and taken in queue order by
/// `workers` workers, each taking `service` s (measured alone).
fn simulate(voicemails: &[Vec<(f64, f64)>], hangups: &[f64], workers: usize) -> Vec<f64> {
    let mut jobs: Vec<(f64, usize, f64)> = voicemails
        .iter()
        .enumerate()
        .flat_map(|(v, parts)| {
            parts
                .iter()
                .map(move |&(ready, service)| (ready, v, service))
        })
        .collect();
    jobs.sort_by(|a, b| a.0.total_cmp(&b.0).then(a.1.cmp(&b.1)));
    let mut free = vec![0.0f64; workers];
    let mut done = vec![0.0f64; voicemails.len()];
    for (ready, v, service) in jobs {
        let w = (0..workers)
            .min_by(|&a, &b| free[a].total_cmp(&free[b]))
            .unwrap();
        let end = free[w].max(ready) + service;
        free[w] = end;
        done[v] = done[v].max(end);
    }
    done.iter()
        .zip(hangups)
        .map(|(d, h)| (d - h).max(0.0))
        .collect()
}

fn percentile(values: &[f64], p: f64) -> f64 {
    let mut v = values.to_vec();
    v.sort_by(f64::total_cmp);
    v[((v.len() as f64 * p).ceil() as usize).clamp(1, v.len()) - 1]
}

/// Hang-up to transcript, with the server's settings on this machine (one worker, one whisper
/// thread per job) and the decoding and window given. Voicemails of about 30 and 120 s, English
/// sentences by mb-us1 each starting at another sentence; every part is transcribed once,
/// alone, to measure its time, and the queue is then played out with those times: one
/// voicemail alone, and four recorded at the same time on one and on two workers.
fn delay(args: &Args, all: &[Sentence]) {
    let model = WhisperModel::load(&ModelKind::Base.file_in(&default_cache_dir())).unwrap();
    let prompt = args
        .prompt
        .then(|| initial_prompt(Some("en"), None, &Vocabulary::default()))
        .flatten();
    let options = DecodeOptions {
        language: Some("en"),
        threads: 1,
        search: args.search,
        prompt: prompt.as_deref(),
        window: args.window,
    };
    let english: Vec<&Sentence> = all.iter().filter(|s| s.language == "en").collect();
    let spoken: Vec<Vec<i16>> = english
        .iter()
        .map(|s| phone_8k("mb-us1", &s.text))
        .collect();
    println!();
    println!(
        "decoding {}, prompt {}, audio window {}, 1 whisper thread, load average at start {}",
        args.search,
        if args.prompt { "on" } else { "off" },
        args.window,
        load_average()
    );
    println!();
    println!("| voicemail | cut | voicemails | parts | alone p50 | alone p95 | alone max | 4 at once, 1 worker (slowest) | 4 at once, 2 workers (slowest) | worker busy while recording |");
    println!("|---|---|---|---|---|---|---|---|---|---|");
    for secs in args.lengths.iter().copied() {
        // Four at least: four voicemails finish at once in the last columns.
        let count = if secs > 60 { 4 } else { 10 }.min(args.voicemails).max(4);
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
        for (name, how) in [
            ("30 s parts", Cut::Parts30),
            ("pauses", Cut::Pauses { context: true }),
        ] {
            // 30 s parts as before issue 17: the full window.
            let options = match how {
                Cut::Parts30 => DecodeOptions {
                    window: AudioWindow::Full,
                    ..options
                },
                Cut::Pauses { .. } => options,
            };
            let parts: Vec<Vec<(f64, f64)>> = recordings
                .iter()
                .map(|a| transcribe_parts(&model, a, how, &options).1)
                .collect();
            let alone: Vec<f64> = parts
                .iter()
                .zip(&hangups)
                .map(|(p, h)| simulate(std::slice::from_ref(p), &[*h], 1)[0])
                .collect();
            let four = &parts[..4];
            let slowest = |workers| {
                simulate(four, &hangups[..4], workers)
                    .into_iter()
                    .fold(0.0, f64::max)
            };
            let busy: f64 =
                parts.iter().flatten().map(|(_, s)| s).sum::<f64>() / hangups.iter().sum::<f64>();
            println!(
                "| {secs} s | {name} | {count} | {} | {:.1} s | {:.1} s | {:.1} s | {:.1} s | {:.1} s | {:.0} % |",
                parts.iter().map(Vec::len).sum::<usize>(),
                percentile(&alone, 0.5),
                percentile(&alone, 0.95),
                percentile(&alone, 1.0),
                slowest(1),
                slowest(2),
                100.0 * busy
            );
        }
    }
    println!();
    println!("load average at the end {}", load_average());
}
