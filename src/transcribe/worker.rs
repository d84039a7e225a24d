//! The transcription workers: threads that claim jobs from the durable queue, run whisper.cpp
//! off the async runtime, and store the cleaned transcript on the ticket.

use super::audio::load_wav_16k;
use super::clean::clean_segments;
use super::fetch::{default_cache_dir, ModelKind};
use super::model::{ModelError, WhisperModel};
use crate::media::recording::repair;
use crate::store::{Store, TranscriptRecord, TranscriptionJob};
use serde::Deserialize;
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Condvar, Mutex};
use std::time::{Duration, Instant};

/// `[transcription]` in hotline.toml.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct TranscriptionConfig {
    pub enabled: bool,
    /// Worker threads; default: cores − 1, at least 1.
    pub workers: usize,
    /// whisper.cpp threads per job.
    pub threads: usize,
    /// Where fetched models live; default $HOTLINE_MODEL_CACHE or ~/.cache/hotline/models.
    pub model_dir: Option<PathBuf>,
    /// Model per language: `base`, `tiny.en`, or a path to a ggml file. Languages not listed use
    /// `default_model`.
    pub models: BTreeMap<String, String>,
    pub default_model: String,
    /// Voicemails are cut into parts of this many seconds, each transcribed as soon as it is
    /// recorded, so a long message is text seconds after the caller hangs up.
    pub part_secs: u64,
}

impl Default for TranscriptionConfig {
    fn default() -> Self {
        TranscriptionConfig {
            enabled: true,
            workers: super::default_threads(),
            threads: 1,
            model_dir: None,
            models: BTreeMap::new(),
            default_model: "base".into(),
            part_secs: 30,
        }
    }
}

/// Why transcription cannot start.
#[derive(Debug, thiserror::Error)]
pub enum TranscriberError {
    #[error("transcription model `{model}` cannot transcribe `{language}` (it is English only); use `base` for {language}")]
    WrongLanguage { model: String, language: String },
    #[error("default transcription model `{model}` is English only, but it would get every caller whose language is not English or not known; keep `default_model = \"base\"` and set `models.en = \"{model}\"` instead")]
    EnglishOnlyDefault { model: String },
    #[error(transparent)]
    Model(#[from] ModelError),
}

/// How long a claimed job stays ours before another worker may take it over (a crash).
const LEASE: Duration = Duration::from_secs(300);

/// The loaded models, by language.
pub struct Models {
    by_language: BTreeMap<String, (String, Arc<WhisperModel>)>,
    default: (String, Arc<WhisperModel>),
}

impl Models {
    /// Loads every configured model once, refusing a model for a language it cannot do.
    pub fn load(config: &TranscriptionConfig) -> Result<Models, TranscriberError> {
        check_languages(config)?;
        let dir = config.model_dir.clone().unwrap_or_else(default_cache_dir);
        let mut cache: BTreeMap<PathBuf, Arc<WhisperModel>> = BTreeMap::new();
        let mut load = |name: &str| -> Result<(String, Arc<WhisperModel>), TranscriberError> {
            let path = resolve(name, &dir);
            if let Some(m) = cache.get(&path) {
                return Ok((name.to_string(), m.clone()));
            }
            let m = Arc::new(WhisperModel::load(&path)?);
            cache.insert(path, m.clone());
            Ok((name.to_string(), m))
        };
        let default = load(&config.default_model)?;
        if !default.1.is_multilingual() {
            return Err(TranscriberError::EnglishOnlyDefault {
                model: config.default_model.clone(),
            });
        }
        let mut by_language = BTreeMap::new();
        for (language, name) in &config.models {
            let entry = load(name)?;
            if !entry.1.is_multilingual() && language != "en" {
                return Err(TranscriberError::WrongLanguage {
                    model: name.clone(),
                    language: language.clone(),
                });
            }
            by_language.insert(language.clone(), entry);
        }
        Ok(Models {
            by_language,
            default,
        })
    }

    /// The model for a language, and the language to ask it for (never one it cannot do).
    fn for_language(&self, language: Option<&str>) -> (&str, &WhisperModel, Option<String>) {
        let (name, model) = language
            .and_then(|l| self.by_language.get(l))
            .map(|(n, m)| (n.as_str(), m.as_ref()))
            .unwrap_or((self.default.0.as_str(), self.default.1.as_ref()));
        let ask = match language {
            Some(l) if model.is_multilingual() || l == "en" => Some(l.to_string()),
            _ if !model.is_multilingual() => Some("en".to_string()),
            _ => None,
        };
        (name, model, ask)
    }
}

/// Refuses, before any file is read, a bundled English-only model where other languages would
/// reach it: a configuration mistake must stop the server even while the model is missing.
fn check_languages(config: &TranscriptionConfig) -> Result<(), TranscriberError> {
    let english_only = |name: &str| name.parse::<ModelKind>().is_ok_and(|k| !k.supports("fr"));
    if english_only(&config.default_model) {
        return Err(TranscriberError::EnglishOnlyDefault {
            model: config.default_model.clone(),
        });
    }
    match config
        .models
        .iter()
        .find(|(language, name)| language.as_str() != "en" && english_only(name))
    {
        Some((language, name)) => Err(TranscriberError::WrongLanguage {
            model: name.clone(),
            language: language.clone(),
        }),
        None => Ok(()),
    }
}

fn resolve(name: &str, dir: &Path) -> PathBuf {
    match name.parse::<ModelKind>() {
        Ok(kind) => kind.file_in(dir),
        Err(_) => PathBuf::from(name),
    }
}

/// Wakes idle workers when a job is queued (they also poll, so a missed wake only delays).
#[derive(Clone, Default)]
pub struct Wakeup(Arc<(Mutex<u64>, Condvar)>);

impl Wakeup {
    pub fn notify(&self) {
        let (lock, cvar) = &*self.0;
        *lock.lock().expect("poisoned") += 1;
        cvar.notify_all();
    }

    fn wait(&self, seen: &mut u64, timeout: Duration) {
        let (lock, cvar) = &*self.0;
        let guard = lock.lock().expect("poisoned");
        let (guard, _) = cvar
            .wait_timeout_while(guard, timeout, |g| *g == *seen)
            .expect("poisoned");
        *seen = *guard;
    }
}

/// Handle on the running workers.
pub struct Transcriber {
    pub wakeup: Wakeup,
    stop: Arc<std::sync::atomic::AtomicBool>,
    threads: Vec<std::thread::JoinHandle<()>>,
}

impl Transcriber {
    /// Starts `config.workers` threads; `runtime` runs their database calls.
    pub fn start(
        store: Store,
        models: Arc<Models>,
        config: &TranscriptionConfig,
        runtime: tokio::runtime::Handle,
    ) -> Transcriber {
        let part = Duration::from_secs(config.part_secs.max(1));
        let wakeup = Wakeup::default();
        let stop = Arc::new(std::sync::atomic::AtomicBool::new(false));
        let threads = (0..config.workers.max(1))
            .map(|i| {
                let (store, models, wakeup, stop, runtime) = (
                    store.clone(),
                    models.clone(),
                    wakeup.clone(),
                    stop.clone(),
                    runtime.clone(),
                );
                let threads = config.threads.max(1);
                std::thread::Builder::new()
                    .name(format!("transcriber-{i}"))
                    .spawn(move || work(store, models, wakeup, stop, runtime, threads, part))
                    .expect("spawn transcription worker")
            })
            .collect();
        Transcriber {
            wakeup,
            stop,
            threads,
        }
    }

    /// Stops the workers after their current job (a job cut short is taken up again later).
    pub fn stop(self) {
        self.stop.store(true, std::sync::atomic::Ordering::SeqCst);
        self.wakeup.notify();
        for t in self.threads {
            let _ = t.join();
        }
    }
}

fn work(
    store: Store,
    models: Arc<Models>,
    wakeup: Wakeup,
    stop: Arc<std::sync::atomic::AtomicBool>,
    runtime: tokio::runtime::Handle,
    threads: usize,
    part: Duration,
) {
    let mut seen = 0;
    while !stop.load(std::sync::atomic::Ordering::SeqCst) {
        match runtime.block_on(store.claim_transcription(LEASE)) {
            Ok(Some(job)) => {
                let outcome = transcribe_job(&job, &models, threads, part);
                let result = match outcome {
                    Ok(record) => runtime.block_on(store.complete_transcription(&job, &record)).map(|done| {
                        if done {
                            tracing::info!(ticket_id = job.ticket_id, ms = record.processing.as_millis() as u64, language = %record.language, "transcript stored");
                        } else {
                            tracing::warn!(job = job.id, "transcription lease lost; another worker completes it");
                        }
                    }),
                    Err(e) => {
                        tracing::warn!(job = job.id, attempt = job.attempt, error = %e, "transcription failed");
                        runtime.block_on(store.fail_transcription(&job, &e))
                    }
                };
                if let Err(e) = result {
                    tracing::error!(error = %e, "transcription queue update failed");
                }
            }
            Ok(None) => wakeup.wait(&mut seen, Duration::from_secs(1)),
            Err(e) => {
                tracing::error!(error = %e, "cannot claim transcription jobs");
                wakeup.wait(&mut seen, Duration::from_secs(2));
            }
        }
    }
}

/// Runs one job: audio from the recording, whisper, clean-up.
pub fn transcribe_job(
    job: &TranscriptionJob,
    models: &Models,
    threads: usize,
    part_length: Duration,
) -> Result<TranscriptRecord, String> {
    let path = Path::new(&job.recording_path);
    // A recording cut by a crash has a torn header; make it readable first.
    if let Err(e) = repair(path) {
        return Err(e.to_string());
    }
    let audio = load_wav_16k(path).map_err(|e| e.to_string())?;
    let (name, model, language) = models.for_language(job.language.as_deref());
    let started = Instant::now();
    let transcript = model
        .transcribe(&audio, language.as_deref(), threads)
        .map_err(|e| e.to_string())?;
    let mut segments = clean_segments(transcript.segments);
    let offset = job.part.unwrap_or(0).max(0) as u64 * part_length.as_millis() as u64;
    for s in &mut segments {
        s.start_ms += offset;
        s.end_ms += offset;
    }
    let text = segments
        .iter()
        .map(|s| s.text.as_str())
        .collect::<Vec<_>>()
        .join(" ");
    Ok(TranscriptRecord {
        text: (!text.trim().is_empty()).then_some(text),
        language: transcript.language,
        segments_json: serde_json::to_string(&segments).expect("segments serialise"),
        model: name.to_string(),
        processing: started.elapsed(),
    })
}
