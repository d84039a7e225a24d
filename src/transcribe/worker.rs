//! The transcription workers: threads that claim jobs from the durable queue, run whisper.cpp
//! off the async runtime, and store the cleaned transcript on the ticket.

use super::decoding::{AudioWindow, Search, TokenBudget};
use super::fetch::{default_cache_dir, ModelKind};
use super::job::{self, transcribe_job, DecodeSettings, JobError, NextStep, PartDecoding};
use super::model::{ModelError, WhisperModel};
use super::prompt::{Vocabulary, VocabularyError};
use crate::media::chunker::ChunkPolicy;
use crate::store::{Store, TranscriptionJob};
use chrono::Utc;
use serde::Deserialize;
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Condvar, Mutex};
use std::time::Duration;

/// `[transcription]` in hotline.toml.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct TranscriptionConfig {
    pub enabled: bool,
    /// Worker threads; default: one per core. They run at `nice`, below the calls, so the
    /// second core is theirs only when the calls leave it idle.
    pub workers: usize,
    /// whisper.cpp threads per job; 0 (the default): every core no other job is decoding on,
    /// so a voicemail alone is decoded on all cores (its text comes sooner) and voicemails
    /// finishing together share them, one core each.
    pub threads: usize,
    /// The workers' nice value (0–19, more is taken as 19): how far below the calls' media and signalling they
    /// run. At 19 whisper gets only the CPU that calls leave idle, so transcription can never
    /// make a caller's audio late; under a full call load it waits.
    pub nice: u8,
    /// Where fetched models live; default $HOTLINE_MODEL_CACHE or ~/.cache/hotline/models.
    pub model_dir: Option<PathBuf>,
    /// Model per language: `base`, `tiny.en`, or a path to a ggml file. Languages not listed use
    /// `default_model`.
    pub models: BTreeMap<String, String>,
    pub default_model: String,
    /// Voicemails are cut into parts at the caller's pauses, each transcribed as soon as it is
    /// recorded, so a message is text moments after the caller hangs up. No part is longer
    /// than this many seconds (cut between words if nobody pauses).
    pub part_secs: u64,
    /// No cut at a pause before a part has this many seconds.
    pub part_min_secs: u64,
    /// A quiet stretch this long after speech ends a part.
    pub part_pause_ms: u64,
    /// `greedy` or `beam5` (`beamN`, N from 2 to 16): beam search corrects more words for
    /// about 1.5× the time (docs/performance.md).
    pub decoding: Search,
    /// Give whisper the helpdesk's words as its initial prompt (`transcribe::prompt`): the
    /// terms of the caller's language, the category chosen in the menu, `vocabulary`.
    pub prompt: bool,
    /// The company's own names (products, applications, sites) for the prompt.
    pub vocabulary: Vec<String>,
    /// More names, one per line (`#` comments), added to `vocabulary`.
    pub vocabulary_file: Option<PathBuf>,
    /// `full` (whisper's 30 s window), `fitted` (the part's length plus a second) or
    /// `fittedN` (the part plus a second, at least N seconds).
    pub audio_window: AudioWindow,
    /// Give whisper the end of the previous part's text after the helpdesk's words, so a
    /// sentence cut between parts reads on.
    pub part_context: bool,
    /// After hang-up, transcribe the whole voicemail once more with whisper's full window and
    /// replace the parts' text with it (parts first: the draft comes at once, the final text
    /// seconds later). Only when the parts could have cost words: more than one part, or parts
    /// encoded in a shorter window.
    pub final_pass: bool,
    /// Decode a part again at a higher temperature when its text fails whisper's checks
    /// (whisper's temperature fallback).
    pub temperature_fallback: bool,
    /// The parts' (the draft's) search; `decoding` is then the final pass's. Default: the same.
    pub part_decoding: Option<Search>,
    /// Whisper's temperature fallback for the parts. Off by default: it re-decodes a part
    /// caught in a repetition loop up to five times, the draft's slowest wait, and the final
    /// pass (with `temperature_fallback`) replaces the draft anyway.
    pub part_fallback: bool,
    /// At most this many tokens per second of a part, decoded in one pass (0: whisper's own
    /// limit): a decoder caught repeating a sentence stops early.
    pub part_tokens_per_second: u8,
    /// Bring each recording's speech to one level before whisper hears it (`audio::level_speech`):
    /// a quiet caller is raised, a loud one lowered.
    pub level_speech: bool,
}

/// Levelling's default, chosen from the voicemail benchmark at several caller levels
/// (docs/performance.md, "The phone path").
const LEVEL_SPEECH_DEFAULT: bool = false;

impl Default for TranscriptionConfig {
    fn default() -> Self {
        TranscriptionConfig {
            enabled: true,
            workers: std::thread::available_parallelism().map_or(1, |n| n.get()),
            threads: 0,
            nice: 19,
            model_dir: None,
            models: BTreeMap::new(),
            default_model: "base".into(),
            // Parts of 6–10 s cut at pauses, in a 10 s window: one caller's draft is text
            // about 2.4 s (p50) after hang-up against 12.4 s for a 30 s part, and the final
            // pass (the whole recording, full window) then brings back the accuracy the short
            // parts cost (docs/performance.md, "Draft and final pass"). A 6 s minimum halves
            // the parts of a 3 s one: the worker is 40 % busy per caller, not 58 %.
            part_secs: 10,
            part_min_secs: 6,
            part_pause_ms: 500,
            decoding: Search::BEAM5,
            prompt: true,
            vocabulary: Vec::new(),
            vocabulary_file: None,
            // For the parts only: the final pass always encodes whisper's own 30 s window.
            audio_window: AudioWindow::Fitted { at_least_secs: 10 },
            part_context: true,
            final_pass: true,
            temperature_fallback: true,
            // The draft's tail (docs/performance.md, "The draft's tail"): without the
            // fallback and with 8 tokens a second a 30 s voicemail's draft comes 2.0 s (p95)
            // after hang-up on both cores instead of 8.4 s on one, same word error rate.
            part_decoding: None,
            part_fallback: false,
            part_tokens_per_second: 8,
            level_speech: LEVEL_SPEECH_DEFAULT,
        }
    }
}

impl TranscriptionConfig {
    /// Where voicemails are cut into parts.
    pub fn chunk_policy(&self) -> ChunkPolicy {
        ChunkPolicy {
            min: Duration::from_secs(self.part_min_secs),
            pause: Duration::from_millis(self.part_pause_ms.max(20)),
            max: Duration::from_secs(self.part_secs.max(1)),
        }
    }

    /// When a voicemail's whole recording is transcribed again after hang-up.
    pub fn final_pass(&self) -> FinalPass {
        match (self.final_pass, self.audio_window) {
            (false, _) => FinalPass::Never,
            (true, AudioWindow::Full) => FinalPass::WhenCut,
            (true, _) => FinalPass::Always,
        }
    }

    /// What every job is decoded with; the word list is read and checked here, at start-up.
    pub fn decode_settings(&self) -> Result<DecodeSettings, VocabularyError> {
        Ok(DecodeSettings {
            search: self.decoding,
            prompt: self.prompt,
            vocabulary: Vocabulary::load(&self.vocabulary, self.vocabulary_file.as_deref())?,
            window: self.audio_window,
            context: self.part_context,
            temperature_fallback: self.temperature_fallback,
            level_speech: self.level_speech,
            parts: PartDecoding {
                search: self.part_decoding.unwrap_or(self.decoding),
                temperature_fallback: self.part_fallback,
                token_budget: (self.part_tokens_per_second > 0).then_some(TokenBudget {
                    per_second: self.part_tokens_per_second,
                }),
            },
        })
    }
}

/// When the whole voicemail is transcribed again after hang-up (`final_pass`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FinalPass {
    Never,
    /// When it was cut into more than one part: whisper heard each alone.
    WhenCut,
    /// Whenever it has speech: its parts were encoded in a window shorter than whisper's own.
    Always,
}

impl FinalPass {
    /// Whether a voicemail cut into `parts` part files gets its final pass.
    pub fn wanted(self, parts: usize) -> bool {
        match self {
            FinalPass::Never => false,
            FinalPass::WhenCut => parts > 1,
            FinalPass::Always => true,
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
    #[error(transparent)]
    Vocabulary(#[from] VocabularyError),
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
    pub(super) fn for_language(
        &self,
        language: Option<&str>,
    ) -> (&str, &WhisperModel, Option<String>) {
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
    /// Starts `config.workers` threads decoding with `settings`; `runtime` runs their database
    /// calls.
    pub fn start(
        store: Store,
        models: Arc<Models>,
        config: &TranscriptionConfig,
        settings: DecodeSettings,
        runtime: tokio::runtime::Handle,
    ) -> Transcriber {
        let settings = Arc::new(settings);
        let wakeup = Wakeup::default();
        let stop = Arc::new(std::sync::atomic::AtomicBool::new(false));
        let cores = Arc::new(Cores::new(config.threads));
        let threads = (0..config.workers.max(1))
            .map(|i| {
                let (store, models, wakeup, stop, runtime, settings, cores) = (
                    store.clone(),
                    models.clone(),
                    wakeup.clone(),
                    stop.clone(),
                    runtime.clone(),
                    settings.clone(),
                    cores.clone(),
                );
                let nice = config.nice;
                std::thread::Builder::new()
                    .name(format!("transcriber-{i}"))
                    .spawn(move || {
                        yield_to_calls(nice);
                        work(store, models, wakeup, stop, runtime, &settings, &cores)
                    })
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

/// Lowers the calling thread's priority to `nice` (on Linux nice is per thread, and the
/// threads whisper.cpp starts from it inherit it). Raising one's own nice value needs no
/// privilege; a failure only leaves the worker at the calls' priority, so it is logged.
fn yield_to_calls(nice: u8) {
    if nice == 0 {
        return;
    }
    if let Err(e) = rustix::process::setpriority_process(None, i32::from(nice.min(19))) {
        tracing::warn!(error = %e, nice, "cannot lower the transcription worker's priority");
    }
}

/// The whisper threads each job gets: `threads` if set, else the cores the workers' other
/// jobs leave (at least one). The count is taken when a job starts; a job that starts while
/// another runs on every core shares them (the kernel evens it out, both at `nice`).
struct Cores {
    configured: usize,
    total: usize,
    running: AtomicUsize,
}

impl Cores {
    fn new(configured: usize) -> Cores {
        Cores {
            configured,
            total: std::thread::available_parallelism().map_or(1, |n| n.get()),
            running: AtomicUsize::new(0),
        }
    }

    /// Claims threads for a job until the claim is dropped.
    fn claim(&self) -> CoreClaim<'_> {
        let others = self.running.fetch_add(1, Ordering::SeqCst);
        CoreClaim {
            threads: job_threads(self.configured, self.total, others),
            cores: self,
        }
    }
}

struct CoreClaim<'a> {
    threads: usize,
    cores: &'a Cores,
}

impl Drop for CoreClaim<'_> {
    fn drop(&mut self) {
        self.cores.running.fetch_sub(1, Ordering::SeqCst);
    }
}

/// `configured` threads, or (0) one per core not held by the `others` jobs running.
fn job_threads(configured: usize, cores: usize, others: usize) -> usize {
    match configured {
        0 => cores.saturating_sub(others).max(1),
        n => n,
    }
}

fn work(
    store: Store,
    models: Arc<Models>,
    wakeup: Wakeup,
    stop: Arc<std::sync::atomic::AtomicBool>,
    runtime: tokio::runtime::Handle,
    settings: &DecodeSettings,
    cores: &Cores,
) {
    let mut seen = 0;
    while !stop.load(std::sync::atomic::Ordering::SeqCst) {
        match runtime.block_on(store.claim_transcription(LEASE, Utc::now())) {
            Ok(Some(job)) => {
                let claim = cores.claim();
                let outcome = runtime
                    .block_on(async {
                        let category = job::ticket_category(&store, &job).await?;
                        Ok((category, job::previous_text(&store, &job).await?))
                    })
                    .and_then(|(category, previous)| {
                        transcribe_job(
                            &job,
                            category,
                            previous.as_deref(),
                            &models,
                            settings,
                            claim.threads,
                        )
                    })
                    .and_then(|record| {
                        runtime.block_on(job::complete(&store, &job, &record, Utc::now()))?;
                        Ok(record)
                    });
                match outcome {
                    Ok(record) => {
                        tracing::info!(ticket_id = job.ticket_id, ms = record.processing.as_millis() as u64, language = %record.language, "transcript stored")
                    }
                    Err(e) => settle_failure(&store, &runtime, &job, &e),
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

/// Logs a failed attempt and records it as the error decides.
fn settle_failure(
    store: &Store,
    runtime: &tokio::runtime::Handle,
    job: &TranscriptionJob,
    error: &JobError,
) {
    match runtime.block_on(job::record_failure(store, job, error, Utc::now())) {
        Ok(NextStep::Retry { after }) => {
            tracing::warn!(job = job.id, attempt = job.attempt, retry_in_s = after.as_secs(), error = %error, "transcription failed; will retry")
        }
        Ok(NextStep::Fail) => {
            tracing::error!(job = job.id, attempt = job.attempt, error = %error, "transcription failed for good")
        }
        Ok(NextStep::LeaveToNewOwner) => {
            tracing::warn!(job = job.id, error = %error, "transcription lease lost; another worker completes it")
        }
        // The lease runs out and another claim takes the job up: nothing is lost.
        Err(e) => {
            tracing::error!(job = job.id, error = %e, "cannot record a transcription failure")
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_worker_lowers_only_its_own_thread_below_the_calls() {
        use rustix::process::getpriority_process;
        let calls = getpriority_process(None).unwrap();
        let worker = std::thread::spawn(|| {
            yield_to_calls(TranscriptionConfig::default().nice);
            // A thread whisper.cpp would start from the worker inherits its priority.
            let inherited = std::thread::spawn(|| getpriority_process(None).unwrap())
                .join()
                .unwrap();
            (getpriority_process(None).unwrap(), inherited)
        })
        .join()
        .unwrap();
        assert_eq!(worker, (19, 19));
        assert_eq!(
            getpriority_process(None).unwrap(),
            calls,
            "the rest of the process keeps its priority"
        );
    }

    #[test]
    fn a_job_alone_takes_every_core_and_jobs_together_share_them() {
        // Two cores, `threads = 0`: alone, both; beside one or more running jobs, one.
        assert_eq!(job_threads(0, 2, 0), 2);
        assert_eq!(job_threads(0, 2, 1), 1);
        assert_eq!(job_threads(0, 2, 3), 1);
        // A set count is kept whatever runs.
        assert_eq!(job_threads(1, 2, 0), 1);
        assert_eq!(job_threads(3, 2, 1), 3);
        let cores = Cores {
            configured: 0,
            total: 2,
            running: AtomicUsize::new(0),
        };
        let first = cores.claim();
        let second = cores.claim();
        assert_eq!((first.threads, second.threads), (2, 1));
        drop((first, second));
        assert_eq!(
            cores.claim().threads,
            2,
            "a finished job gives its cores back"
        );
    }

    #[test]
    fn the_final_pass_runs_when_the_parts_could_have_cost_words() {
        let mut c = TranscriptionConfig {
            audio_window: AudioWindow::Full,
            ..TranscriptionConfig::default()
        };
        // Full window: one part is the whole recording already; several parts are not.
        assert_eq!(c.final_pass(), FinalPass::WhenCut);
        assert!(!c.final_pass().wanted(1));
        assert!(c.final_pass().wanted(2));
        // A shorter window for the parts: even one part is worth the full window afterwards.
        c.audio_window = "fitted10".parse().unwrap();
        assert_eq!(c.final_pass(), FinalPass::Always);
        assert!(c.final_pass().wanted(1));
        c.final_pass = false;
        assert!(!c.final_pass().wanted(5));
    }
}
