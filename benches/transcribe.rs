//! `make bench` (transcription part): word error rate, key-word recall and speed of the speech
//! models on helpdesk sentences spoken by several synthetic voices through the 8 kHz µ-law phone
//! path, and the delay from hang-up to stored transcript for 10, 30 and 120 s voicemails, alone
//! and four at once. Needs the models (`hotline model fetch base` / `tiny.en`), espeak-ng, sox
//! and the MBROLA voices (scripts/install-deps.sh --test).

use hotline::transcribe::clean::clean_segments;
use hotline::transcribe::fetch::{default_cache_dir, ModelKind};
use hotline::transcribe::{audio, WhisperModel};
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

fn main() {
    let cache = default_cache_dir();
    let threads = 2;
    let all = sentences();
    let voices = [
        ("en", vec!["mb-us1", "mb-us2", "en-us"]),
        ("fr", vec!["mb-fr1", "mb-fr4", "fr"]),
    ];
    println!(
        "| model | language | voices | sentences | WER | key-word recall | real-time factor |"
    );
    println!("|---|---|---|---|---|---|---|");
    for kind in [ModelKind::Base, ModelKind::TinyEn] {
        let model =
            WhisperModel::load(&kind.file_in(&cache)).expect("model: run `hotline model fetch`");
        for (language, voice_list) in &voices {
            if !kind.supports(language) {
                continue;
            }
            let (mut errors, mut total, mut found, mut keys, mut audio_s, mut compute_s) =
                (0, 0, 0, 0, 0.0, 0.0);
            let mut n = 0;
            for s in all.iter().filter(|s| &s.language == language) {
                for voice in voice_list {
                    let audio = phone(voice, &s.text);
                    let t0 = Instant::now();
                    let t = model.transcribe(&audio, Some(language), threads).unwrap();
                    compute_s += t0.elapsed().as_secs_f64();
                    audio_s += audio.len() as f64 / 16000.0;
                    let text = clean_segments(t.segments)
                        .iter()
                        .map(|s| s.text.clone())
                        .collect::<Vec<_>>()
                        .join(" ");
                    let (e, len) = wer(&s.text, &text);
                    errors += e;
                    total += len;
                    let heard = words(&text);
                    for k in &s.keywords {
                        keys += 1;
                        let kw = words(k);
                        if kw.iter().all(|w| heard.contains(w)) {
                            found += 1;
                        }
                    }
                    n += 1;
                }
            }
            println!(
                "| {} | {} | {} | {} | {:.1} % | {:.1} % | {:.2} |",
                kind.name(),
                language,
                voice_list.join(", "),
                n,
                100.0 * errors as f64 / total as f64,
                100.0 * found as f64 / keys as f64,
                compute_s / audio_s
            );
        }
    }

    // Hang-up to transcript, with the server's defaults on this machine (one worker, one
    // whisper thread, 30 s parts). In parts, the windows before the last one are transcribed
    // while the caller still speaks, so only the last part is left at hang-up. Four voicemails
    // finishing at once wait for each other on one worker, or share two with `workers = 2`.
    let model = Arc::new(WhisperModel::load(&ModelKind::Base.file_in(&cache)).unwrap());
    let english: Vec<Vec<f32>> = all
        .iter()
        .filter(|s| s.language == "en")
        .take(10)
        .map(|s| phone("mb-us1", &s.text))
        .collect();
    let timed = |clip: &[f32]| {
        let t0 = Instant::now();
        model.transcribe(clip, Some("en"), 1).unwrap();
        t0.elapsed().as_secs_f64()
    };
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
                let (m, c) = (model.clone(), last.to_vec());
                std::thread::spawn(move || {
                    for _ in 0..2 {
                        m.transcribe(&c, Some("en"), 1).unwrap();
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
