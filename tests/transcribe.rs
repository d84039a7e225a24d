//! Speech models: both PyPI models import, load in whisper.cpp and transcribe phone audio; bad
//! model files give clear errors. The models come from `hotline model fetch` (run by `make test`).

use hotline::tickets::Category;
use hotline::transcribe::clean::{clean_segments, is_prompt_echo};
use hotline::transcribe::decoding::{AudioWindow, DecodeOptions, Search, TokenBudget};
use hotline::transcribe::fetch::{default_cache_dir, ModelKind};
use hotline::transcribe::prompt::{initial_prompt, Vocabulary};
use hotline::transcribe::{audio, import_ct2, WhisperModel};
use std::path::{Path, PathBuf};
use std::process::Command;

fn model(kind: ModelKind) -> WhisperModel {
    let path = kind.file_in(&default_cache_dir());
    WhisperModel::load(&path).unwrap_or_else(|e| {
        panic!(
            "{e} (`make test` runs `hotline model fetch {}` first)",
            kind.name()
        )
    })
}

/// Speech synthesised now and passed through the 8 kHz µ-law phone path, then to 16 kHz.
fn phone_speech(voice: &str, text: &str) -> Vec<f32> {
    let dir = tempfile::tempdir().unwrap();
    let raw = dir.path().join("raw.wav");
    let status = Command::new("espeak-ng")
        .args(["-v", voice, "-s", "140", "-w"])
        .arg(&raw)
        .arg(text)
        .status()
        .expect("espeak-ng installed");
    assert!(
        status.success(),
        "espeak-ng -v {voice} failed (MBROLA voices come with `make test`)"
    );
    let phone = dir.path().join("phone.wav");
    assert!(Command::new("sox")
        .arg(&raw)
        .args(["-r", "8000", "-c", "1", "-e", "u-law"])
        .arg(&phone)
        .status()
        .unwrap()
        .success());
    let pcm = dir.path().join("pcm.wav");
    assert!(Command::new("sox")
        .arg(&phone)
        .args(["-e", "signed-integer", "-b", "16"])
        .arg(&pcm)
        .status()
        .unwrap()
        .success());
    audio::load_wav_16k(&pcm).unwrap()
}

const SENTENCE: &str =
    "My printer on the third floor stopped working and nobody can print the invoices.";

#[test]
fn base_transcribes_english_phone_speech() {
    let t = model(ModelKind::Base)
        .transcribe(&phone_speech("mb-us1", SENTENCE), Some("en"), 2)
        .unwrap();
    let text = t.text.to_lowercase();
    assert!(text.contains("printer") && text.contains("floor"), "{text}");
    assert_eq!(t.language, "en");
    assert!(t.segments.iter().all(|s| s.end_ms >= s.start_ms));
}

#[test]
fn tiny_en_transcribes_english_and_is_english_only() {
    let m = model(ModelKind::TinyEn);
    assert!(!m.is_multilingual());
    let t = m
        .transcribe(&phone_speech("mb-us2", SENTENCE), None, 2)
        .unwrap();
    assert!(t.text.to_lowercase().contains("printer"), "{}", t.text);
}

#[test]
fn base_detects_french() {
    let audio = phone_speech(
        "mb-fr1",
        "Bonjour, je n'arrive pas à me connecter au réseau privé virtuel depuis ce matin.",
    );
    let t = model(ModelKind::Base).transcribe(&audio, None, 2).unwrap();
    assert_eq!(t.language, "fr", "{}", t.text);
    assert!(t.text.to_lowercase().contains("connecter"), "{}", t.text);
}

fn helpdesk_prompt(language: &str) -> String {
    let names = Vocabulary::load(&["Contoso".into(), "Northwind Payroll".into()], None).unwrap();
    initial_prompt(Some(language), Some(Category::Network), &names).unwrap()
}

fn options<'a>(language: &'a str, search: Search, prompt: &'a str) -> DecodeOptions<'a> {
    DecodeOptions {
        language: Some(language),
        threads: 2,
        search,
        prompt: Some(prompt),
        window: AudioWindow::Full,
        temperature_fallback: true,
        token_budget: None,
    }
}

#[test]
fn the_prompt_never_comes_out_as_the_transcript_of_silence_or_hiss() {
    let m = model(ModelKind::Base);
    let silence = vec![0.0f32; 16000 * 5];
    // Line hiss: a quiet pseudo-random signal, as an open line without speech.
    let mut x = 1u32;
    let hiss: Vec<f32> = (0..16000 * 5)
        .map(|_| {
            x = x.wrapping_mul(1664525).wrapping_add(1013904223);
            (x >> 8) as f32 / (1u32 << 24) as f32 * 0.004 - 0.002
        })
        .collect();
    for language in ["en", "fr"] {
        let prompt = helpdesk_prompt(language);
        for search in [Search::Greedy, Search::BEAM5] {
            for audio in [&silence, &hiss] {
                let heard = m
                    .transcribe_with(audio, &options(language, search, &prompt))
                    .unwrap();
                let kept = clean_segments(heard.segments.clone(), Some(&prompt));
                let text = kept.iter().map(|s| s.text.as_str()).collect::<Vec<_>>();
                assert!(
                    !is_prompt_echo(&text.join(" "), &prompt)
                        && text.iter().all(|t| !is_prompt_echo(t, &prompt)),
                    "{language} {search}: whisper heard {:?}, kept {text:?}",
                    heard.text
                );
                assert!(
                    text.join(" ").split_whitespace().count() < 3,
                    "{language} {search}: {text:?} from no speech"
                );
            }
        }
    }
}

#[test]
fn with_the_prompt_the_callers_words_still_come_through() {
    let m = model(ModelKind::Base);
    let prompt = helpdesk_prompt("en");
    let heard = m
        .transcribe_with(
            &phone_speech("mb-us1", SENTENCE),
            &options("en", Search::BEAM5, &prompt),
        )
        .unwrap();
    let text = clean_segments(heard.segments, Some(&prompt))
        .iter()
        .map(|s| s.text.to_lowercase())
        .collect::<Vec<_>>()
        .join(" ");
    assert!(
        text.contains("printer") && text.contains("floor") && text.contains("invoices"),
        "{text}"
    );
    assert!(!text.contains("company names"), "{text}");
}

#[test]
fn a_token_budget_stops_the_decoding_and_the_default_one_keeps_every_word() {
    let m = model(ModelKind::Base);
    let prompt = helpdesk_prompt("en");
    let speech = phone_speech("mb-us1", SENTENCE);
    let words = |budget: Option<u8>| {
        let options = DecodeOptions {
            search: Search::Greedy,
            window: AudioWindow::Fitted { at_least_secs: 10 },
            temperature_fallback: false,
            token_budget: budget.map(|per_second| TokenBudget { per_second }),
            ..options("en", Search::Greedy, &prompt)
        };
        let heard = m.transcribe_with(&speech, &options).unwrap();
        clean_segments(heard.segments, Some(&prompt))
            .iter()
            .map(|s| s.text.to_lowercase())
            .collect::<Vec<_>>()
            .join(" ")
    };
    // The server's budget (8 tokens a second) leaves a caller's sentence whole, in one segment.
    let kept = words(Some(8));
    assert!(
        kept.contains("printer") && kept.contains("floor") && kept.contains("invoices"),
        "{kept}"
    );
    // One token a second for ~6 s of speech: 14 tokens, the sentence is cut before its end.
    let cut = words(Some(1));
    assert!(
        !cut.contains("invoices")
            && cut.split_whitespace().count() < kept.split_whitespace().count(),
        "the budget did not stop the decoding: {cut}"
    );
}

/// A tiny CTranslate2 file: header, one variable, no aliases.
fn tiny_ct2(dir: &Path, truncate: bool) -> PathBuf {
    let mut b = Vec::new();
    b.extend(6u32.to_le_bytes());
    let s = |b: &mut Vec<u8>, t: &str| {
        b.extend(((t.len() + 1) as u16).to_le_bytes());
        b.extend(t.as_bytes());
        b.push(0);
    };
    s(&mut b, "WhisperSpec");
    b.extend(3u32.to_le_bytes());
    b.extend(1u32.to_le_bytes());
    s(&mut b, "encoder/num_heads");
    b.push(0); // rank 0
    b.push(2); // i16
    b.extend(2u32.to_le_bytes());
    b.extend(8i16.to_le_bytes());
    b.extend(0u32.to_le_bytes());
    if truncate {
        b.truncate(b.len() - 5);
    }
    std::fs::write(dir.join("model.bin"), &b).unwrap();
    std::fs::write(dir.join("vocabulary.txt"), "a\n<|endoftext|>\n").unwrap();
    dir.join("model.bin")
}

#[test]
fn truncated_model_is_reported_with_offsets() {
    let dir = tempfile::tempdir().unwrap();
    tiny_ct2(dir.path(), true);
    let err = import_ct2(dir.path(), &dir.path().join("out.bin"))
        .unwrap_err()
        .to_string();
    assert!(
        err.contains("model.bin is truncated:") && err.contains("at offset"),
        "{err}"
    );
}

#[test]
fn a_file_that_is_not_a_model_is_named() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("model.bin"), "just some text, not weights").unwrap();
    let err = import_ct2(dir.path(), &dir.path().join("out.bin"))
        .unwrap_err()
        .to_string();
    assert!(
        err.contains("model.bin is not a CTranslate2 model: format version"),
        "{err}"
    );
}

#[test]
fn a_missing_part_says_which_and_how_to_fix_it() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("model.bin.part1"), "x").unwrap();
    let err = import_ct2(dir.path(), &dir.path().join("out.bin"))
        .unwrap_err()
        .to_string();
    assert!(
        err.contains("model.bin.part2 is missing") && err.contains("hotline model fetch base"),
        "{err}"
    );
}

#[test]
fn an_incomplete_model_misses_its_tensors_clearly() {
    let dir = tempfile::tempdir().unwrap();
    tiny_ct2(dir.path(), false);
    let err = import_ct2(dir.path(), &dir.path().join("out.bin"))
        .unwrap_err()
        .to_string();
    assert!(
        err.contains("variable decoder/embeddings/weight is missing"),
        "{err}"
    );
    assert!(
        !dir.path().join("out.bin").exists(),
        "no half-written model left behind"
    );
}

#[test]
fn a_missing_or_corrupt_ggml_model_names_the_fix() {
    let err = WhisperModel::load(Path::new("/nonexistent/ggml.bin"))
        .err()
        .unwrap()
        .to_string();
    assert!(err.contains("run `hotline model fetch base`"), "{err}");
    let dir = tempfile::tempdir().unwrap();
    let bad = dir.path().join("ggml.bin");
    std::fs::write(&bad, vec![0u8; 1000]).unwrap();
    let err = WhisperModel::load(&bad).err().unwrap().to_string();
    assert!(
        err.contains("cannot be loaded") && err.contains("hotline model fetch base"),
        "{err}"
    );
}
