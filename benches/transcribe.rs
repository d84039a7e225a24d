//! `make bench` (transcription part): word error rate, key-word recall and speed of the speech
//! models on helpdesk sentences spoken by several synthetic voices through the 8 kHz µ-law phone
//! path, and the delay from hang-up to stored transcript for 10, 30 and 120 s voicemails, alone
//! and four at once. Needs the models (`hotline model fetch base` / `tiny.en`), espeak-ng, sox
//! and the MBROLA voices (scripts/install-deps.sh --test).
//!
//! `cargo bench --bench transcribe -- [accuracy|delay] [--decoding greedy|beam5]
//! [--prompt on|off] [--audio-window full|fitted] [--model base|tiny.en]… [--voices mbrola|all]`:
//! only one half, the decoding to measure (default: the server's defaults; accuracy with base
//! and tiny.en, all voices).

use hotline::transcribe::clean::clean_segments;
use hotline::transcribe::decoding::{AudioWindow, DecodeOptions, Search};
use hotline::transcribe::fetch::{default_cache_dir, ModelKind};
use hotline::transcribe::prompt::{initial_prompt, Vocabulary};
use hotline::transcribe::worker::TranscriptionConfig;
use hotline::transcribe::{audio, WhisperModel};
use std::collections::BTreeMap;
use std::process::Command;
use std::sync::Arc;
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
    audio::load_wav_16k(&pcm).unwrap()
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
            other => panic!("unknown argument {other}: [accuracy|delay|timing] [--decoding greedy|beam5] [--prompt on|off] [--audio-window full|fitted] [--model base|tiny.en] [--voices mbrola|all]"),
        }
    }
    if !a.accuracy && !a.delay && !a.timing {
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
        ("beam5", true, AudioWindow::Fitted),
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

/// Hang-up to transcript, with the server's defaults on this machine (one worker, one whisper
/// thread, 30 s parts). In parts, the windows before the last one are transcribed while the
/// caller still speaks, so only the last part is left at hang-up. Four voicemails finishing at
/// once wait for each other on one worker, or share two with `workers = 2`.
fn delay(args: &Args, all: &[Sentence]) {
    let cache = default_cache_dir();
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
    let model = Arc::new(WhisperModel::load(&ModelKind::Base.file_in(&cache)).unwrap());
    let english: Vec<Vec<f32>> = all
        .iter()
        .filter(|s| s.language == "en")
        .take(10)
        .map(|s| phone("mb-us1", &s.text))
        .collect();
    let timed = |clip: &[f32]| {
        let t0 = Instant::now();
        model.transcribe_with(clip, &options).unwrap();
        t0.elapsed().as_secs_f64()
    };
    println!();
    println!(
        "decoding {}, prompt {}, audio window {}, 1 whisper thread",
        args.search,
        if args.prompt { "on" } else { "off" },
        args.window
    );
    println!();
    println!("| voicemail | whole file, alone | in 30 s parts, alone | 4 at once, parts, 1 worker (slowest) | 4 at once, parts, 2 workers (slowest) |");
    println!("|---|---|---|---|---|");
    const PART: usize = 30;
    for secs in [10usize, 30, 120] {
        let mut clip: Vec<f32> = Vec::new();
        let mut i = 0;
        while clip.len() < secs * 16000 {
            clip.extend(&english[i % english.len()]);
            clip.extend(std::iter::repeat_n(0.0, 8000));
            i += 1;
        }
        clip.truncate(secs * 16000);
        let whole = timed(&clip);
        let last = &clip[(secs - 1) / PART * PART * 16000..];
        let alone = timed(last);
        let one_worker: f64 = (0..4).map(|_| timed(last)).sum();
        let t0 = Instant::now();
        let handles: Vec<_> = (0..2)
            .map(|_| {
                let (m, c, p) = (model.clone(), last.to_vec(), prompt.clone());
                let (search, window) = (args.search, args.window);
                std::thread::spawn(move || {
                    let options = DecodeOptions {
                        language: Some("en"),
                        threads: 1,
                        search,
                        prompt: p.as_deref(),
                        window,
                    };
                    for _ in 0..2 {
                        m.transcribe_with(&c, &options).unwrap();
                    }
                })
            })
            .collect();
        for h in handles {
            h.join().unwrap();
        }
        let two_workers = t0.elapsed().as_secs_f64();
        println!(
            "| {secs} s | {whole:.1} s | {alone:.1} s | {one_worker:.1} s | {two_workers:.1} s |"
        );
    }
}
