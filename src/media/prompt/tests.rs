//! Prompt files as authors and tools produce them, good and bad.

use super::*;
use hound::{SampleFormat, WavSpec};
use std::f64::consts::PI;

fn spec(channels: u16, sample_rate: u32, bits: u16, format: SampleFormat) -> WavSpec {
    WavSpec {
        channels,
        sample_rate,
        bits_per_sample: bits,
        sample_format: format,
    }
}

const PCM_8K: WavSpec = WavSpec {
    channels: 1,
    sample_rate: 8000,
    bits_per_sample: 16,
    sample_format: SampleFormat::Int,
};

/// Writes interleaved frames (one value per channel, -1.0..1.0) in the spec's format.
fn write(path: &Path, spec: WavSpec, frames: impl Iterator<Item = Vec<f64>>) {
    std::fs::create_dir_all(path.parent().unwrap()).unwrap();
    let mut w = hound::WavWriter::create(path, spec).unwrap();
    let full_scale = (1i64 << (spec.bits_per_sample - 1)) as f64;
    for frame in frames {
        assert_eq!(frame.len(), usize::from(spec.channels));
        for v in frame {
            match (spec.sample_format, spec.bits_per_sample) {
                (SampleFormat::Float, _) => w.write_sample(v as f32).unwrap(),
                (SampleFormat::Int, 8) => w.write_sample((v * full_scale) as i8).unwrap(),
                (SampleFormat::Int, 16) => w.write_sample((v * full_scale) as i16).unwrap(),
                (SampleFormat::Int, _) => w
                    .write_sample(((v * full_scale) as i64).min(full_scale as i64 - 1) as i32)
                    .unwrap(),
            }
        }
    }
    w.finalize().unwrap();
}

/// `seconds` of a `freq` tone at `amplitude`, the same in every channel.
fn tone(spec: WavSpec, freq: f64, amplitude: f64, seconds: f64) -> impl Iterator<Item = Vec<f64>> {
    let frames = (f64::from(spec.sample_rate) * seconds) as usize;
    (0..frames).map(move |i| {
        let v = amplitude * (2.0 * PI * freq * i as f64 / f64::from(spec.sample_rate)).sin();
        vec![v; usize::from(spec.channels)]
    })
}

/// Peak of the middle half, in the 16-bit scale.
fn middle_peak(samples: &[i16]) -> f64 {
    let n = samples.len();
    f64::from(
        samples[n / 4..n * 3 / 4]
            .iter()
            .map(|s| s.unsigned_abs())
            .max()
            .unwrap(),
    )
}

fn assert_level(samples: &[i16], amplitude: f64) {
    let db = 20.0 * (middle_peak(samples) / (amplitude * 32768.0)).log10();
    assert!(db.abs() < 0.5, "level off by {db:.2} dB");
}

fn bad_files(dir: &Path) -> String {
    PromptLibrary::load(dir).unwrap_err().to_string()
}

#[test]
fn layout_language_and_name_find_the_prompt() {
    let dir = tempfile::tempdir().unwrap();
    write(
        &dir.path().join("en/welcome.wav"),
        PCM_8K,
        tone(PCM_8K, 440.0, 0.5, 0.5),
    );
    write(
        &dir.path().join("fr/bienvenue.wav"),
        PCM_8K,
        tone(PCM_8K, 440.0, 0.5, 0.25),
    );
    std::fs::write(dir.path().join("generate.sh"), "#!/bin/sh\n").unwrap();
    std::fs::write(dir.path().join("en/texts.tsv"), "welcome\tWelcome\n").unwrap();
    let lib = PromptLibrary::load(dir.path()).unwrap();
    let welcome = lib.get("en", "welcome").unwrap();
    assert_eq!(welcome.name, "welcome");
    assert_eq!(welcome.samples.len(), 4000);
    assert_eq!(welcome.duration(), Duration::from_millis(500));
    assert!(lib.contains("fr", "bienvenue"));
    assert!(!lib.contains("fr", "welcome"));
    assert!(lib.get("de", "welcome").is_none());
    assert_eq!(lib.languages(), ["en", "fr"]);
}

#[test]
fn pcm_8k_16_bit_loads_sample_for_sample() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("en/exact.wav");
    let mut w = hound::WavWriter::create(
        {
            std::fs::create_dir_all(path.parent().unwrap()).unwrap();
            &path
        },
        PCM_8K,
    )
    .unwrap();
    let original: Vec<i16> = (0..800)
        .map(|i| ((i * 97) % 20000 - 10000) as i16)
        .collect();
    for &s in &original {
        w.write_sample(s).unwrap();
    }
    w.finalize().unwrap();
    let lib = PromptLibrary::load(dir.path()).unwrap();
    assert_eq!(&*lib.get("en", "exact").unwrap().samples, &original[..]);
}

#[test]
fn stereo_16khz_float_is_converted_to_8khz_mono() {
    let dir = tempfile::tempdir().unwrap();
    let stereo = spec(2, 16000, 32, SampleFormat::Float);
    write(
        &dir.path().join("en/wide.wav"),
        stereo,
        tone(stereo, 1000.0, 0.5, 1.0),
    );
    let lib = PromptLibrary::load(dir.path()).unwrap();
    let p = lib.get("en", "wide").unwrap();
    assert_eq!(p.samples.len(), 8000);
    assert_eq!(p.duration(), Duration::from_secs(1));
    assert_level(&p.samples, 0.5);
}

#[test]
fn channels_are_averaged() {
    let dir = tempfile::tempdir().unwrap();
    let stereo = spec(2, 8000, 16, SampleFormat::Int);
    let frames = tone(stereo, 500.0, 1.0, 0.5).map(|f| vec![f[0] * 0.6, f[1] * 0.2]);
    write(&dir.path().join("en/uneven.wav"), stereo, frames);
    let lib = PromptLibrary::load(dir.path()).unwrap();
    assert_level(&lib.get("en", "uneven").unwrap().samples, 0.4);
}

#[test]
fn every_integer_width_and_48khz_give_the_same_level() {
    let dir = tempfile::tempdir().unwrap();
    let formats = [
        ("int8", spec(1, 8000, 8, SampleFormat::Int)),
        ("int24_48k", spec(1, 48000, 24, SampleFormat::Int)),
        ("int32_44k", spec(1, 44100, 32, SampleFormat::Int)),
        ("float_22k", spec(1, 22050, 32, SampleFormat::Float)),
    ];
    for (name, s) in formats {
        write(
            &dir.path().join(format!("en/{name}.wav")),
            s,
            tone(s, 700.0, 0.25, 0.5),
        );
    }
    let lib = PromptLibrary::load(dir.path()).unwrap();
    for (name, _) in formats {
        let p = lib.get("en", name).unwrap();
        assert_eq!(p.samples.len(), 4000, "{name}");
        assert_level(&p.samples, 0.25);
    }
}

#[test]
fn a_header_claiming_gigabytes_reserves_no_more_than_a_prompt_needs() {
    // Found by cargo-fuzz (wav_prompt): 58 bytes whose data chunk claims 1.2 GB at 2,048,000 Hz
    // (287 s, under MAX_SECONDS). Decoding reserved the claimed length up front: 2.4 GB.
    let file: &[u8] = b"RIFFp\x1f\x00+WAVEfmt \x10\x00\x00\x00\x01\x00\x01\x00\x00@\x1f\x00\
        \x00\x80>\x00\x02\x00\x10\x00dataRIFFp\x1f\x00\x00WAVEf\x00\x00\x00\x00\x00";
    assert_eq!(file.len(), 58);
    let mut result = None;
    let largest = crate::media::alloc_count::largest(|| {
        result = Some(decode_wav(std::io::Cursor::new(file)));
    });
    assert_eq!(
        result.unwrap(),
        Err(PromptFault::Truncated(
            "the audio data ends before the length its header states"
        ))
    );
    assert!(largest <= 16 << 20, "{largest} bytes reserved");
}

#[test]
fn truncated_file_is_refused_with_its_path() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("fr/cut.wav");
    write(&path, PCM_8K, tone(PCM_8K, 440.0, 0.5, 1.0));
    let bytes = std::fs::read(&path).unwrap();
    std::fs::write(&path, &bytes[..bytes.len() / 2]).unwrap();
    let err = bad_files(dir.path());
    assert!(
        err.contains(&format!(
            "{}: truncated: the audio data ends before the length its header states",
            path.display()
        )),
        "{err}"
    );
}

#[test]
fn file_cut_inside_its_header_is_refused() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("en/stub.wav");
    write(&path, PCM_8K, tone(PCM_8K, 440.0, 0.5, 0.1));
    let bytes = std::fs::read(&path).unwrap();
    std::fs::write(&path, &bytes[..20]).unwrap();
    let err = bad_files(dir.path());
    assert!(
        err.contains("en/stub.wav: truncated: the header ends early"),
        "{err}"
    );
}

#[test]
fn text_file_named_wav_is_refused() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::create_dir_all(dir.path().join("en")).unwrap();
    std::fs::write(dir.path().join("en/notes.wav"), "Welcome to the helpdesk").unwrap();
    let err = bad_files(dir.path());
    assert!(
        err.contains("en/notes.wav: not a WAV file (no RIFF tag found)"),
        "{err}"
    );
}

#[test]
fn empty_files_are_refused() {
    let dir = tempfile::tempdir().unwrap();
    write(
        &dir.path().join("en/nothing.wav"),
        PCM_8K,
        std::iter::empty(),
    );
    std::fs::write(dir.path().join("en/zero_bytes.wav"), "").unwrap();
    let err = bad_files(dir.path());
    assert!(
        err.contains("en/nothing.wav: no audio (zero length)"),
        "{err}"
    );
    assert!(
        err.contains("en/zero_bytes.wav: truncated: the header ends early"),
        "{err}"
    );
}

#[test]
fn silent_file_is_refused() {
    let dir = tempfile::tempdir().unwrap();
    write(
        &dir.path().join("en/quiet.wav"),
        PCM_8K,
        tone(PCM_8K, 440.0, 0.001, 0.5),
    );
    let err = bad_files(dir.path());
    assert!(err.contains("en/quiet.wav: silent"), "{err}");
}

#[test]
fn prompt_over_ten_minutes_is_refused_before_decoding() {
    let dir = tempfile::tempdir().unwrap();
    // A low rate keeps the file small; the limit is on duration, not size.
    let slow = spec(1, 1000, 16, SampleFormat::Int);
    write(
        &dir.path().join("en/lecture.wav"),
        slow,
        tone(slow, 100.0, 0.5, 601.0),
    );
    let err = bad_files(dir.path());
    assert!(
        err.contains("en/lecture.wav: 601 s long, prompts are at most 600 s"),
        "{err}"
    );
}

/// A WAV header for A-law (format tag 6), which hound does not decode.
fn alaw_wav() -> Vec<u8> {
    let data = [0xD5u8; 800];
    let mut b = Vec::new();
    b.extend_from_slice(b"RIFF");
    b.extend_from_slice(&(36 + data.len() as u32).to_le_bytes());
    b.extend_from_slice(b"WAVEfmt ");
    b.extend_from_slice(&16u32.to_le_bytes());
    b.extend_from_slice(&6u16.to_le_bytes()); // WAVE_FORMAT_ALAW
    b.extend_from_slice(&1u16.to_le_bytes()); // channels
    b.extend_from_slice(&8000u32.to_le_bytes());
    b.extend_from_slice(&8000u32.to_le_bytes()); // byte rate
    b.extend_from_slice(&1u16.to_le_bytes()); // block align
    b.extend_from_slice(&8u16.to_le_bytes()); // bits
    b.extend_from_slice(b"data");
    b.extend_from_slice(&(data.len() as u32).to_le_bytes());
    b.extend_from_slice(&data);
    b
}

#[test]
fn compressed_encoding_is_refused_with_the_conversion_hint() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::create_dir_all(dir.path().join("en")).unwrap();
    std::fs::write(dir.path().join("en/alaw.wav"), alaw_wav()).unwrap();
    let err = bad_files(dir.path());
    assert!(
        err.contains(
            "en/alaw.wav: unsupported WAV encoding (compressed or unknown format); use PCM"
        ),
        "{err}"
    );
    assert!(
        err.contains("sox IN.wav -r 8000 -c 1 -b 16 OUT.wav"),
        "{err}"
    );
}

#[test]
fn every_bad_file_is_listed_in_one_error_and_good_ones_are_not() {
    let dir = tempfile::tempdir().unwrap();
    write(
        &dir.path().join("en/good.wav"),
        PCM_8K,
        tone(PCM_8K, 440.0, 0.5, 0.1),
    );
    std::fs::create_dir_all(dir.path().join("fr")).unwrap();
    std::fs::write(dir.path().join("en/text.wav"), "not audio").unwrap();
    std::fs::write(dir.path().join("fr/alaw.wav"), alaw_wav()).unwrap();
    write(
        &dir.path().join("fr/silent.wav"),
        PCM_8K,
        std::iter::repeat_n(vec![0.0], 800),
    );
    let err = PromptLibrary::load(dir.path()).unwrap_err();
    let PromptError::BadFiles(bad) = &err else {
        panic!("{err}")
    };
    let names: Vec<String> = bad
        .iter()
        .map(|b| {
            b.path
                .strip_prefix(dir.path())
                .unwrap()
                .display()
                .to_string()
        })
        .collect();
    assert_eq!(names, ["en/text.wav", "fr/alaw.wav", "fr/silent.wav"]);
    assert!(
        err.to_string().starts_with("3 bad prompt file(s):\n  "),
        "{err}"
    );
    assert!(!err.to_string().contains("good.wav"));
}

#[test]
fn same_name_in_two_spellings_is_refused() {
    let dir = tempfile::tempdir().unwrap();
    write(
        &dir.path().join("en/hello.WAV"),
        PCM_8K,
        tone(PCM_8K, 440.0, 0.5, 0.1),
    );
    write(
        &dir.path().join("en/hello.wav"),
        PCM_8K,
        tone(PCM_8K, 440.0, 0.5, 0.1),
    );
    let err = bad_files(dir.path());
    assert!(
        err.contains("en/hello.wav: same name as hello.WAV, which is already loaded"),
        "{err}"
    );
}

#[test]
fn missing_or_empty_directory_is_named() {
    let err = PromptLibrary::load(Path::new("/nonexistent/prompts")).unwrap_err();
    assert!(err
        .to_string()
        .starts_with("prompt directory /nonexistent/prompts cannot be read"));
    let dir = tempfile::tempdir().unwrap();
    std::fs::create_dir_all(dir.path().join("en")).unwrap();
    assert_eq!(
        PromptLibrary::load(dir.path()).unwrap_err(),
        PromptError::Empty(dir.path().to_path_buf())
    );
}

#[test]
fn bundled_prompts_load() {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("prompts");
    let lib = PromptLibrary::load(&dir).unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(lib.languages(), ["en", "fr"]);
    assert!(lib.contains("en", "goodbye") && lib.contains("fr", "goodbye"));
}

#[test]
fn beep_is_a_1khz_tone_that_starts_and_ends_quietly() {
    let beep = beep(250);
    assert_eq!(beep.duration(), Duration::from_millis(250));
    let s = &beep.samples;
    assert!(s[0].abs() < 100 && s[s.len() - 1].abs() < 200);
    // Correlation with 1 kHz holds (nearly) all the energy: it is that tone.
    let (mut re, mut im, mut energy) = (0.0, 0.0, 0.0);
    for (n, &v) in s.iter().enumerate() {
        let t = 2.0 * PI * 1000.0 * n as f64 / 8000.0;
        re += f64::from(v) * t.cos();
        im += f64::from(v) * t.sin();
        energy += f64::from(v).powi(2);
    }
    let at_1khz = 2.0 * (re * re + im * im) / s.len() as f64;
    assert!(at_1khz / energy > 0.95, "{}", at_1khz / energy);
    assert!(middle_peak(s) > 8000.0);
}
