//! One transcription job: the recording read, whisper run, the transcript stored — and, when
//! an attempt fails, what becomes of the job, decided by what failed.

use super::audio::{level_speech, load_wav_16k, AudioError};
use super::clean::{clean_segments, drop_context_repeats};
use super::decoding::{AudioWindow, DecodeOptions, Search, TokenBudget};
use super::model::ModelError;
use super::prompt::{context_tail, initial_prompt, with_context, Vocabulary};
use super::worker::Models;
use crate::media::recording::{part_of, part_start, repair, RecordingError};
use crate::store::{Store, StoreError, TranscriptRecord, TranscriptionJob, MAX_ATTEMPTS};
use crate::tickets::Category;
use chrono::{DateTime, Utc};
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

/// Why an attempt at a job failed.
#[derive(Debug, thiserror::Error)]
pub enum JobError {
    #[error("recording {path} does not exist")]
    RecordingMissing { path: PathBuf },
    #[error("cannot reach recording {path}: {source}")]
    RecordingUnreachable {
        path: PathBuf,
        source: std::io::Error,
    },
    /// The header left by a crash could not be mended (not a WAV Hotline wrote, too short).
    #[error(transparent)]
    RecordingDamaged(#[from] RecordingError),
    #[error(transparent)]
    Audio(#[from] AudioError),
    #[error(transparent)]
    Model(#[from] ModelError),
    #[error("transcription queue: {0}")]
    Store(#[from] StoreError),
    #[error("lease lost: another worker took the job over")]
    LeaseLost,
}

/// What becomes of a job after a failed attempt.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum NextStep {
    /// Queued again, due after this delay.
    Retry { after: Duration },
    /// Failed for good, the error kept on the job for the ticket page.
    Fail,
    /// The job is another claim's now: nothing is recorded.
    LeaveToNewOwner,
}

/// The delay before attempt `attempt + 1`: 2 s, 4 s, 8 s… capped at about 17 minutes, so a
/// passing fault is retried soon and a lasting one is not hammered.
pub fn backoff(attempt: i64) -> Duration {
    Duration::from_secs(1 << attempt.clamp(1, 10))
}

impl JobError {
    /// What to do with the job after attempt number `attempt` failed this way.
    pub fn next_step(&self, attempt: i64) -> NextStep {
        let retry = NextStep::Retry {
            after: backoff(attempt),
        };
        match self {
            // The same bytes would be read again: retrying cannot help.
            JobError::RecordingMissing { .. }
            | JobError::RecordingDamaged(_)
            | JobError::Audio(_) => NextStep::Fail,
            // A store outage says nothing about the job: it is retried however long it lasts.
            JobError::Store(_) => retry,
            JobError::LeaseLost => NextStep::LeaveToNewOwner,
            // A file system that hiccups, whisper out of memory: worth a few more attempts.
            JobError::RecordingUnreachable { .. } | JobError::Model(_) => {
                if attempt >= MAX_ATTEMPTS {
                    NextStep::Fail
                } else {
                    retry
                }
            }
        }
    }
}

/// The recording as 16 kHz audio, a header torn by a crash mended first.
pub fn read_recording(path: &Path) -> Result<Vec<f32>, JobError> {
    match path.try_exists() {
        Ok(true) => {}
        Ok(false) => {
            return Err(JobError::RecordingMissing {
                path: path.to_path_buf(),
            })
        }
        Err(source) => {
            return Err(JobError::RecordingUnreachable {
                path: path.to_path_buf(),
                source,
            })
        }
    }
    repair(path)?;
    Ok(load_wav_16k(path)?)
}

/// How every job is decoded (from `[transcription]`, checked at start-up).
#[derive(Debug, Clone, PartialEq)]
pub struct DecodeSettings {
    pub search: Search,
    /// Whether whisper gets the helpdesk's words as its initial prompt.
    pub prompt: bool,
    pub vocabulary: Vocabulary,
    pub window: AudioWindow,
    /// Whether a part's prompt ends with the previous part's text.
    pub context: bool,
    pub temperature_fallback: bool,
    /// Whether the recording's speech is levelled first (`audio::level_speech`).
    pub level_speech: bool,
    /// How the parts (the draft) are decoded; `search` and `temperature_fallback` above are
    /// the final pass's, and the parts' too when the final pass is off.
    pub parts: PartDecoding,
}

/// The draft's decoding: it is replaced by the final pass's text minutes later at most, so it
/// may trade a little accuracy for coming at once.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct PartDecoding {
    pub search: Search,
    pub temperature_fallback: bool,
    pub token_budget: Option<TokenBudget>,
}

/// The category the caller chose in the menu, if the ticket has one: the prompt adds its words.
pub async fn ticket_category(
    store: &Store,
    job: &TranscriptionJob,
) -> Result<Option<Category>, JobError> {
    Ok(store
        .ticket(job.ticket_id)
        .await?
        .and_then(|ticket| ticket.category))
}

/// The text of the part before this job's, if it is a part and one has been transcribed.
pub async fn previous_text(
    store: &Store,
    job: &TranscriptionJob,
) -> Result<Option<String>, JobError> {
    match job.part {
        Some(part) if part > 0 => Ok(store.previous_part_text(job.ticket_id, part).await?),
        _ => Ok(None),
    }
}

/// Where a job's audio starts in the voicemail: a part starts after the part files before it.
fn start_in_recording(job: &TranscriptionJob) -> Duration {
    match part_of(Path::new(&job.recording_path)) {
        Some((recording, n)) if job.part.is_some() => part_start(&recording, n),
        _ => Duration::ZERO,
    }
}

/// How a job is decoded: a part with the parts' settings in the configured window (made for a
/// draft that comes sooner), a whole recording (the final pass after hang-up, there for the
/// better text) with whisper's full 30 s window and no token budget.
fn decoding_for<'a>(
    job: &TranscriptionJob,
    settings: &DecodeSettings,
    threads: usize,
    language: Option<&'a str>,
    prompt: Option<&'a str>,
) -> DecodeOptions<'a> {
    let whole = DecodeOptions {
        language,
        threads,
        search: settings.search,
        prompt,
        window: AudioWindow::Full,
        temperature_fallback: settings.temperature_fallback,
        token_budget: None,
    };
    match job.part {
        Some(_) => DecodeOptions {
            search: settings.parts.search,
            window: settings.window,
            temperature_fallback: settings.parts.temperature_fallback,
            token_budget: settings.parts.token_budget,
            ..whole
        },
        None => whole,
    }
}

/// Runs one job on `threads` whisper threads: audio from the recording, whisper (prompted with
/// the helpdesk's words in the caller's language and `category`'s, then `previous`, the text of
/// the part before), clean-up.
pub fn transcribe_job(
    job: &TranscriptionJob,
    category: Option<Category>,
    previous: Option<&str>,
    models: &Models,
    settings: &DecodeSettings,
    threads: usize,
) -> Result<TranscriptRecord, JobError> {
    let mut audio = read_recording(Path::new(&job.recording_path))?;
    if settings.level_speech {
        level_speech(&mut audio);
    }
    let (name, model, language) = models.for_language(job.language.as_deref());
    let vocabulary = settings
        .prompt
        .then(|| initial_prompt(language.as_deref(), category, &settings.vocabulary))
        .flatten();
    let context = previous.filter(|_| settings.context).and_then(context_tail);
    let prompt = with_context(vocabulary.clone(), context);
    let options = decoding_for(
        job,
        settings,
        threads,
        language.as_deref(),
        prompt.as_deref(),
    );
    let started = Instant::now();
    let transcript = model.transcribe_with(&audio, &options)?;
    let segments = clean_segments(transcript.segments, vocabulary.as_deref());
    let mut segments = drop_context_repeats(segments, context);
    let offset = start_in_recording(job).as_millis() as u64;
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

/// Stores a finished attempt's transcript; a claim that no longer holds the lease is refused.
pub async fn complete(
    store: &Store,
    job: &TranscriptionJob,
    record: &TranscriptRecord,
    now: DateTime<Utc>,
) -> Result<(), JobError> {
    match store.complete_transcription(job, record, now).await? {
        true => Ok(()),
        false => Err(JobError::LeaseLost),
    }
}

/// Records a failed attempt as its error decides. Returns the step taken (`LeaveToNewOwner`
/// also when the failure could not be recorded because the lease was lost meanwhile).
pub async fn record_failure(
    store: &Store,
    job: &TranscriptionJob,
    error: &JobError,
    now: DateTime<Utc>,
) -> Result<NextStep, StoreError> {
    let step = error.next_step(job.attempt);
    let retry_after = match step {
        NextStep::Retry { after } => Some(after),
        NextStep::Fail => None,
        NextStep::LeaveToNewOwner => return Ok(step),
    };
    let recorded = store
        .fail_transcription(job, &error.to_string(), retry_after, now)
        .await?;
    Ok(if recorded {
        step
    } else {
        NextStep::LeaveToNewOwner
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn store_error() -> JobError {
        JobError::Store(StoreError::Query {
            operation: "completing a transcription",
            source: sqlx::Error::PoolTimedOut,
        })
    }

    fn model_error() -> JobError {
        JobError::Model(ModelError::Transcribe("out of memory".into()))
    }

    #[test]
    fn parts_are_decoded_as_the_draft_and_the_whole_recording_as_the_final_pass() {
        let settings = DecodeSettings {
            search: Search::BEAM5,
            prompt: true,
            vocabulary: Vocabulary::default(),
            window: AudioWindow::Fitted { at_least_secs: 10 },
            context: true,
            temperature_fallback: true,
            level_speech: true,
            parts: PartDecoding {
                search: Search::Greedy,
                temperature_fallback: false,
                token_budget: Some(TokenBudget { per_second: 8 }),
            },
        };
        let job = |part| TranscriptionJob {
            id: 1,
            ticket_id: 1,
            recording_path: "vm.wav".into(),
            language: None,
            attempt: 1,
            part,
        };
        let part = decoding_for(&job(Some(2)), &settings, 2, Some("fr"), Some("imprimante"));
        assert_eq!(part.search, Search::Greedy);
        assert!(!part.temperature_fallback);
        assert_eq!(part.token_budget, Some(TokenBudget { per_second: 8 }));
        assert_eq!(part.window, settings.window);
        assert_eq!(
            (part.language, part.prompt),
            (Some("fr"), Some("imprimante"))
        );
        assert_eq!(part.threads, 2);
        let whole = decoding_for(&job(None), &settings, 1, Some("fr"), None);
        assert_eq!(whole.threads, 1);
        assert_eq!(whole.search, Search::BEAM5);
        assert!(whole.temperature_fallback);
        assert_eq!(whole.token_budget, None);
        assert_eq!(whole.window, AudioWindow::Full);
    }

    #[test]
    fn a_missing_or_damaged_recording_fails_at_once() {
        let missing = JobError::RecordingMissing {
            path: "/data/gone.wav".into(),
        };
        assert_eq!(missing.next_step(1), NextStep::Fail);
        let damaged = JobError::RecordingDamaged(RecordingError::Repair {
            path: "/data/torn.wav".into(),
            reason: "shorter than a WAV header".into(),
        });
        assert_eq!(damaged.next_step(1), NextStep::Fail);
        let audio = JobError::Audio(AudioError::Wav {
            path: "/data/x.wav".into(),
            reason: "bad format".into(),
        });
        assert_eq!(audio.next_step(1), NextStep::Fail);
    }

    #[test]
    fn model_failures_back_off_then_give_up() {
        let e = model_error();
        assert_eq!(
            e.next_step(1),
            NextStep::Retry {
                after: Duration::from_secs(2)
            }
        );
        assert_eq!(
            e.next_step(3),
            NextStep::Retry {
                after: Duration::from_secs(8)
            }
        );
        assert_eq!(e.next_step(MAX_ATTEMPTS), NextStep::Fail);
        let unreachable = JobError::RecordingUnreachable {
            path: "/mnt/nfs/v.wav".into(),
            source: std::io::Error::from(std::io::ErrorKind::PermissionDenied),
        };
        assert!(matches!(unreachable.next_step(1), NextStep::Retry { .. }));
        assert_eq!(unreachable.next_step(MAX_ATTEMPTS), NextStep::Fail);
    }

    #[test]
    fn store_errors_are_retried_past_the_attempt_limit_with_a_capped_delay() {
        let e = store_error();
        assert_eq!(
            e.next_step(MAX_ATTEMPTS + 20),
            NextStep::Retry {
                after: Duration::from_secs(1024)
            }
        );
    }

    #[test]
    fn a_lost_lease_leaves_the_job_to_its_new_owner() {
        assert_eq!(JobError::LeaseLost.next_step(1), NextStep::LeaveToNewOwner);
    }

    #[test]
    fn reading_a_recording_names_what_is_wrong_with_it() {
        let dir = tempfile::tempdir().unwrap();
        let gone = dir.path().join("gone.wav");
        assert!(matches!(
            read_recording(&gone),
            Err(JobError::RecordingMissing { path }) if path == gone
        ));
        let junk = dir.path().join("junk.wav");
        std::fs::write(&junk, b"not audio").unwrap();
        assert!(matches!(
            read_recording(&junk),
            Err(JobError::RecordingDamaged(_))
        ));
        let good = dir.path().join("good.wav");
        crate::media::recording::write_wav(&good, &[0i16; 8000]).unwrap();
        assert_eq!(read_recording(&good).unwrap().len(), 16000);
    }
}
