//! The prompt library: `prompts/<language>/<name>.wav`, checked and loaded once at start-up.
//!
//! Media runs at 8 kHz mono 16-bit. Prompts in another sample format, channel layout or
//! sample rate are converted on load (see `wav`), so a prompt author can drop in what a
//! recording tool or a TTS engine produced. Every bad file is reported in one error, so the
//! author fixes them all in one go instead of one per restart.

#[cfg(test)]
mod tests;
mod wav;

pub use wav::{decode as decode_wav, PromptFault, MAX_SECONDS};

use super::g711::G711;

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;

/// Media sample rate.
pub const SAMPLE_RATE: u32 = 8000;

/// One prompt's audio, 8 kHz mono, and its G.711 encodings.
///
/// Every call plays the same prompts, so they are encoded once, when loaded, for both codecs;
/// a call's sender copies 160 ready bytes per packet instead of encoding 160 samples (issue 16).
#[derive(Debug)]
pub struct Prompt {
    pub name: String,
    pub samples: Arc<[i16]>,
    ulaw: Arc<[u8]>,
    alaw: Arc<[u8]>,
}

impl Prompt {
    pub fn new(name: impl Into<String>, samples: impl Into<Arc<[i16]>>) -> Prompt {
        let samples = samples.into();
        let encode = |codec: G711| {
            let mut out = Vec::with_capacity(samples.len());
            codec.encode(&samples, &mut out);
            Arc::<[u8]>::from(out)
        };
        Prompt {
            name: name.into(),
            ulaw: encode(G711::Ulaw),
            alaw: encode(G711::Alaw),
            samples,
        }
    }

    /// The prompt in `codec`, one byte per sample.
    pub fn encoded(&self, codec: G711) -> &[u8] {
        match codec {
            G711::Ulaw => &self.ulaw,
            G711::Alaw => &self.alaw,
        }
    }

    pub fn duration(&self) -> Duration {
        Duration::from_micros(self.samples.len() as u64 * 1_000_000 / u64::from(SAMPLE_RATE))
    }
}

/// A prompt file that cannot be played, and why.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BadPrompt {
    pub path: PathBuf,
    pub reason: PromptFault,
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

/// The entries of a directory, sorted so that loading and its error report are deterministic.
fn sorted_entries(dir: &Path) -> Result<Vec<PathBuf>, PromptError> {
    let unreadable = |e: std::io::Error| PromptError::Directory(dir.to_path_buf(), e.to_string());
    let mut paths = std::fs::read_dir(dir)
        .map_err(unreadable)?
        .map(|entry| entry.map(|e| e.path()))
        .collect::<Result<Vec<_>, _>>()
        .map_err(unreadable)?;
    paths.sort();
    Ok(paths)
}

fn is_hidden(path: &Path) -> bool {
    path.file_name()
        .is_some_and(|n| n.to_string_lossy().starts_with('.'))
}

impl PromptLibrary {
    /// Loads `dir/<language>/<name>.wav` for every language folder. Other files (scripts,
    /// texts, hidden folders) are left alone.
    pub fn load(dir: &Path) -> Result<PromptLibrary, PromptError> {
        let mut library = PromptLibrary::default();
        let mut loaded_from: HashMap<(String, String), PathBuf> = HashMap::new();
        let mut bad = Vec::new();
        for lang_dir in sorted_entries(dir)? {
            if !lang_dir.is_dir() || is_hidden(&lang_dir) {
                continue;
            }
            let language = lang_dir
                .file_name()
                .unwrap_or_default()
                .to_string_lossy()
                .to_string();
            for path in sorted_entries(&lang_dir)? {
                let is_wav = path
                    .extension()
                    .is_some_and(|e| e.eq_ignore_ascii_case("wav"));
                if !is_wav || !path.is_file() {
                    continue;
                }
                let name = path
                    .file_stem()
                    .unwrap_or_default()
                    .to_string_lossy()
                    .to_string();
                let key = (language.clone(), name.clone());
                if let Some(first) = loaded_from.get(&key) {
                    // `hello.wav` and `hello.WAV`: which one plays would depend on the file system.
                    let first = first.file_name().unwrap_or_default().to_string_lossy();
                    let reason = PromptFault::Duplicate(first.to_string());
                    bad.push(BadPrompt { path, reason });
                    continue;
                }
                match wav::read(&path) {
                    Ok(samples) => {
                        let prompt = Prompt::new(name, samples);
                        library.prompts.insert(key.clone(), Arc::new(prompt));
                        loaded_from.insert(key, path);
                    }
                    Err(reason) => {
                        loaded_from.insert(key, path.clone());
                        bad.push(BadPrompt { path, reason });
                    }
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

/// Beep level: -12 dBFS, clearly audible without clipping a codec.
const BEEP_AMPLITUDE: f64 = 8192.0;
/// Rise and fall of the beep, so it starts and stops without a click.
const BEEP_RAMP_MS: u32 = 5;

/// The 1 kHz tone before a voicemail recording.
pub fn beep(duration_ms: u32) -> Arc<Prompt> {
    let total = duration_ms.saturating_mul(SAMPLE_RATE / 1000);
    let ramp = (BEEP_RAMP_MS * SAMPLE_RATE / 1000).min(total / 2).max(1);
    let samples: Vec<i16> = (0..total)
        .map(|n| {
            let edge = n.min(total - 1 - n);
            let gain = if edge < ramp {
                // Raised cosine from 0 to 1 over the ramp.
                0.5 - 0.5 * (std::f64::consts::PI * f64::from(edge) / f64::from(ramp)).cos()
            } else {
                1.0
            };
            let phase = 2.0 * std::f64::consts::PI * 1000.0 * f64::from(n) / f64::from(SAMPLE_RATE);
            (BEEP_AMPLITUDE * gain * phase.sin()).round() as i16
        })
        .collect();
    Arc::new(Prompt::new("beep", samples))
}

/// Silence, to space prompts.
pub fn silence(duration_ms: u32) -> Arc<Prompt> {
    Arc::new(Prompt::new(
        "silence",
        vec![0i16; duration_ms.saturating_mul(SAMPLE_RATE / 1000) as usize],
    ))
}
