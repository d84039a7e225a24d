//! The prompt library: `prompts/<language>/<name>.wav`, checked and loaded once at start-up.
//!
//! Media runs at 8 kHz mono 16-bit. Files in another sample format or channel layout are
//! converted; a file at another sample rate is refused (with the command that converts it),
//! because resampling at load time would hide a mistake in the prompt pipeline. Every bad file is
//! reported in one error, so a prompt author fixes them all in one go.

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;

/// Media sample rate.
pub const SAMPLE_RATE: u32 = 8000;
/// Longest prompt we accept: anything longer is a mistake (a recording, not a prompt).
const MAX_SECONDS: u32 = 600;

/// One prompt's audio, 8 kHz mono.
#[derive(Debug)]
pub struct Prompt {
    pub name: String,
    pub samples: Arc<[i16]>,
}

impl Prompt {
    pub fn duration(&self) -> Duration {
        Duration::from_millis(self.samples.len() as u64 * 1000 / SAMPLE_RATE as u64)
    }
}

/// A prompt file that cannot be played, and why.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BadPrompt {
    pub path: PathBuf,
    pub reason: String,
}

/// Why the prompt library cannot be loaded.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum PromptError {
    #[error("prompt directory {0} cannot be read: {1}")]
    Directory(PathBuf, String),
    #[error("{} bad prompt file(s):{}", .0.len(), .0.iter().map(|b| format!("\n  {}: {}", b.path.display(), b.reason)).collect::<String>())]
    BadFiles(Vec<BadPrompt>),
    #[error("prompt directory {0} holds no language folder with WAV files")]
    Empty(PathBuf),
}

/// Every prompt, by language and name.
#[derive(Debug, Default)]
pub struct PromptLibrary {
    prompts: HashMap<(String, String), Arc<Prompt>>,
}

impl PromptLibrary {
    /// Loads `dir/<language>/<name>.wav` for every language folder.
    pub fn load(dir: &Path) -> Result<PromptLibrary, PromptError> {
        let read_dir = |d: &Path| {
            std::fs::read_dir(d).map_err(|e| PromptError::Directory(d.to_path_buf(), e.to_string()))
        };
        let mut library = PromptLibrary::default();
        let mut bad = Vec::new();
        for lang in read_dir(dir)? {
            let lang =
                lang.map_err(|e| PromptError::Directory(dir.to_path_buf(), e.to_string()))?;
            if !lang.path().is_dir() {
                continue;
            }
            let language = lang.file_name().to_string_lossy().to_string();
            for file in read_dir(&lang.path())? {
                let path = file
                    .map_err(|e| PromptError::Directory(lang.path(), e.to_string()))?
                    .path();
                if path
                    .extension()
                    .is_none_or(|e| !e.eq_ignore_ascii_case("wav"))
                {
                    continue;
                }
                let name = path
                    .file_stem()
                    .unwrap_or_default()
                    .to_string_lossy()
                    .to_string();
                match read_wav(&path) {
                    Ok(samples) => {
                        let prompt = Prompt {
                            name: name.clone(),
                            samples: samples.into(),
                        };
                        library
                            .prompts
                            .insert((language.clone(), name), Arc::new(prompt));
                    }
                    Err(reason) => bad.push(BadPrompt { path, reason }),
                }
            }
        }
        if !bad.is_empty() {
            bad.sort_by(|a, b| a.path.cmp(&b.path));
            return Err(PromptError::BadFiles(bad));
        }
        if library.prompts.is_empty() {
            return Err(PromptError::Empty(dir.to_path_buf()));
        }
        Ok(library)
    }

    pub fn get(&self, language: &str, name: &str) -> Option<Arc<Prompt>> {
        self.prompts
            .get(&(language.to_string(), name.to_string()))
            .cloned()
    }

    pub fn contains(&self, language: &str, name: &str) -> bool {
        self.prompts
            .contains_key(&(language.to_string(), name.to_string()))
    }

    /// The languages that have at least one prompt, sorted.
    pub fn languages(&self) -> Vec<String> {
        let mut langs: Vec<String> = self.prompts.keys().map(|(l, _)| l.clone()).collect();
        langs.sort();
        langs.dedup();
        langs
    }
}

/// A tone: the beep before a voicemail recording.
pub fn beep(duration_ms: u32) -> Arc<Prompt> {
    let samples: Vec<i16> = (0..duration_ms * 8)
        .map(|n| (8000.0 * (2.0 * std::f64::consts::PI * 1000.0 * n as f64 / 8000.0).sin()) as i16)
        .collect();
    Arc::new(Prompt {
        name: "beep".into(),
        samples: samples.into(),
    })
}

/// Silence, to space prompts.
pub fn silence(duration_ms: u32) -> Arc<Prompt> {
    Arc::new(Prompt {
        name: "silence".into(),
        samples: vec![0i16; (duration_ms * 8) as usize].into(),
    })
}

fn read_wav(path: &Path) -> Result<Vec<i16>, String> {
    let reader =
        hound::WavReader::open(path).map_err(|e| format!("not a readable WAV file ({e})"))?;
    let spec = reader.spec();
    if spec.sample_rate != SAMPLE_RATE {
        return Err(format!(
            "sample rate {} Hz, prompts must be {SAMPLE_RATE} Hz (convert with: sox IN.wav -r 8000 -c 1 -b 16 OUT.wav)",
            spec.sample_rate
        ));
    }
    if reader.duration() > MAX_SECONDS * spec.sample_rate {
        return Err(format!("longer than {MAX_SECONDS} s"));
    }
    let channels = spec.channels.max(1) as usize;
    let interleaved: Vec<f64> = match (spec.sample_format, spec.bits_per_sample) {
        (hound::SampleFormat::Int, bits @ 8..=32) => {
            let scale = 32768.0 / (1u64 << (bits - 1)) as f64;
            reader
                .into_samples::<i32>()
                .map(|s| s.map(|v| v as f64 * scale))
                .collect::<Result<_, _>>()
                .map_err(|e| format!("truncated or corrupt audio data ({e})"))?
        }
        (hound::SampleFormat::Float, 32) => reader
            .into_samples::<f32>()
            .map(|s| s.map(|v| v as f64 * 32767.0))
            .collect::<Result<_, _>>()
            .map_err(|e| format!("truncated or corrupt audio data ({e})"))?,
        (format, bits) => return Err(format!("unsupported sample format {format:?} {bits}-bit")),
    };
    let samples: Vec<i16> = interleaved
        .chunks(channels)
        .map(|frame| {
            (frame.iter().sum::<f64>() / frame.len() as f64)
                .round()
                .clamp(-32768.0, 32767.0) as i16
        })
        .collect();
    if samples.is_empty() {
        return Err("no audio (zero length)".into());
    }
    if samples.iter().all(|s| s.unsigned_abs() < 64) {
        return Err("silent: every sample is below -54 dBFS".into());
    }
    Ok(samples)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn write(path: &Path, spec: hound::WavSpec, samples: impl Iterator<Item = f32>) {
        std::fs::create_dir_all(path.parent().unwrap()).unwrap();
        let mut w = hound::WavWriter::create(path, spec).unwrap();
        for s in samples {
            match spec.sample_format {
                hound::SampleFormat::Float => w.write_sample(s).unwrap(),
                hound::SampleFormat::Int => w.write_sample((s * 32767.0) as i16).unwrap(),
            }
        }
        w.finalize().unwrap();
    }

    fn sine(n: usize) -> impl Iterator<Item = f32> {
        (0..n).map(|i| (i as f32 * 0.3).sin() * 0.5)
    }

    #[test]
    fn stereo_float_is_converted_to_mono_16_bit() {
        let dir = tempfile::tempdir().unwrap();
        let spec = hound::WavSpec {
            channels: 2,
            sample_rate: 8000,
            bits_per_sample: 32,
            sample_format: hound::SampleFormat::Float,
        };
        write(&dir.path().join("en/welcome.wav"), spec, sine(1600));
        let lib = PromptLibrary::load(dir.path()).unwrap();
        let p = lib.get("en", "welcome").unwrap();
        assert_eq!(p.samples.len(), 800);
        assert_eq!(p.duration(), Duration::from_millis(100));
        assert_eq!(lib.languages(), vec!["en".to_string()]);
    }

    #[test]
    fn every_bad_file_is_named_with_its_reason() {
        let dir = tempfile::tempdir().unwrap();
        let spec = hound::WavSpec {
            channels: 1,
            sample_rate: 16000,
            bits_per_sample: 16,
            sample_format: hound::SampleFormat::Int,
        };
        write(&dir.path().join("en/wide.wav"), spec, sine(1600));
        std::fs::write(dir.path().join("en/text.wav"), "not audio").unwrap();
        let ok = hound::WavSpec {
            sample_rate: 8000,
            ..spec
        };
        write(
            &dir.path().join("fr/silent.wav"),
            ok,
            std::iter::repeat_n(0.0, 800),
        );
        write(&dir.path().join("fr/good.wav"), ok, sine(800));
        let full = dir.path().join("fr/cut.wav");
        write(&full, ok, sine(8000));
        let bytes = std::fs::read(&full).unwrap();
        std::fs::write(&full, &bytes[..bytes.len() / 2]).unwrap();
        let err = PromptLibrary::load(dir.path()).unwrap_err().to_string();
        assert!(err.starts_with("4 bad prompt file(s):"), "{err}");
        assert!(
            err.contains("en/text.wav: not a readable WAV file"),
            "{err}"
        );
        assert!(err.contains("en/wide.wav: sample rate 16000 Hz"), "{err}");
        assert!(err.contains("fr/silent.wav: silent"), "{err}");
        assert!(err.contains("fr/cut.wav: truncated or corrupt"), "{err}");
    }

    #[test]
    fn missing_directory_is_named() {
        let err = PromptLibrary::load(Path::new("/nonexistent/prompts")).unwrap_err();
        assert!(err
            .to_string()
            .starts_with("prompt directory /nonexistent/prompts cannot be read"));
    }
}
