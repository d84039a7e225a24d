//! Voicemail: recording the caller, queueing the recording's parts for transcription while the
//! caller still speaks, and recovering recordings a crash cut short.
//!
//! A recording is a WAV file under `<data>/recordings/<year>/<reference>.wav`, cut into parts
//! (`media::recording`) that are queued one by one, so the transcript is nearly ready when the
//! caller hangs up. Every part — live, the last one, or cut from a repaired file at start-up —
//! goes through [`TranscriptionQueue::enqueue_part`].

use super::log_store;
use crate::call::{CallControl, CallEnded};
use crate::ivr::{RecordSpec, RecordingOutcome};
use crate::media::chunker::ChunkPolicy;
use crate::media::recording::{self, RecordStop, Recorder};
use crate::store::{Store, StoreError, Ticket};
use crate::tickets::{CallEventKind, Language, RecordingEnd, RecordingState, TicketRef};
use crate::transcribe::worker::Wakeup;
use std::path::{Path, PathBuf};
use std::time::Duration;

/// Where voicemail parts go to be transcribed: the job queue, and the workers' wake-up.
#[derive(Clone)]
pub struct TranscriptionQueue {
    store: Store,
    /// None when transcription is off or not started yet: jobs wait in the queue.
    wakeup: Option<Wakeup>,
}

impl TranscriptionQueue {
    pub fn new(store: Store, wakeup: Option<Wakeup>) -> TranscriptionQueue {
        TranscriptionQueue { store, wakeup }
    }

    /// Queues part `n` of a ticket's voicemail (once per part file) and wakes a worker.
    /// `language` is the caller's choice; without one the transcriber detects it.
    pub async fn enqueue_part(
        &self,
        ticket_id: i64,
        n: usize,
        part: &Path,
        language: Option<Language>,
    ) -> Result<(), StoreError> {
        self.store
            .enqueue_transcription_part(
                ticket_id,
                &part.display().to_string(),
                language.map(Language::as_str),
                i64::try_from(n).unwrap_or(i64::MAX),
            )
            .await?;
        if let Some(w) = &self.wakeup {
            w.notify();
        }
        Ok(())
    }
}

/// A voicemail recorded during a call. `ended` is set when the caller hung up while speaking:
/// what they said is kept and queued anyway.
pub struct Recorded {
    pub outcome: RecordingOutcome,
    pub ended: Option<CallEnded>,
}

/// Records voicemails into the data directory and queues them for transcription.
pub struct Voicemail {
    /// `<data>/recordings`.
    dir: PathBuf,
    /// Where the parts transcribed while the caller speaks are cut.
    part: ChunkPolicy,
    store: Store,
    queue: TranscriptionQueue,
}

impl Voicemail {
    pub fn new(
        data_dir: &Path,
        part: ChunkPolicy,
        store: Store,
        queue: TranscriptionQueue,
    ) -> Self {
        Voicemail {
            dir: data_dir.join("recordings"),
            part,
            store,
            queue,
        }
    }

    /// Where a ticket's voicemail is kept: one folder per year, the reference as the name.
    pub fn path_for(&self, reference: TicketRef) -> PathBuf {
        self.dir
            .join(reference.year.to_string())
            .join(format!("{reference}.wav"))
    }

    /// Records the caller for `ticket` as `spec` says, storing where the file is before the
    /// first byte (a crash mid-recording leaves the ticket pointing at a repairable file).
    /// Store errors are logged: the caller is never dropped for them.
    pub async fn record(
        &self,
        control: &mut CallControl,
        ticket: &Ticket,
        spec: RecordSpec,
        language: Option<Language>,
    ) -> Recorded {
        let path = self.path_for(ticket.reference);
        let id = ticket.id;
        let mut recorder = match Recorder::create(&path) {
            Ok(r) => r.with_parts(self.part),
            Err(e) => {
                tracing::error!(error = %e, "cannot record the voicemail");
                self.event(id, CallEventKind::Error, &e.to_string()).await;
                return Recorded {
                    outcome: RecordingOutcome {
                        path,
                        duration: Duration::ZERO,
                        end: RecordingEnd::Silence,
                        has_speech: false,
                    },
                    ended: None,
                };
            }
        };
        log_store(
            self.store
                .set_recording(
                    id,
                    &path.display().to_string(),
                    Duration::ZERO,
                    RecordingState::Recording,
                )
                .await,
        );
        self.event(
            id,
            CallEventKind::RecordingStarted,
            &path.display().to_string(),
        )
        .await;
        // Parts are queued as the recorder closes them, while the caller is still speaking.
        let (parts_tx, mut parts_rx) = tokio::sync::mpsc::unbounded_channel::<(usize, PathBuf)>();
        let live_parts = {
            let queue = self.queue.clone();
            tokio::spawn(async move {
                while let Some((n, part)) = parts_rx.recv().await {
                    log_store(queue.enqueue_part(id, n, &part, language).await);
                }
            })
        };
        let stop = control
            .record(
                &mut recorder,
                spec.max,
                spec.silence,
                spec.finish_digit,
                Some(&parts_tx),
            )
            .await;
        drop(parts_tx);
        let _ = live_parts.await;
        let (end, ended) = match stop {
            Ok(RecordStop::Digit) => (RecordingEnd::Digit, None),
            Ok(RecordStop::Silence) => (RecordingEnd::Silence, None),
            Ok(RecordStop::MaxLength) => (RecordingEnd::MaxLength, None),
            Err(e) => (RecordingEnd::Hangup, Some(e)),
        };
        let info = match recorder.finish() {
            Ok(info) => info,
            Err(e) => {
                tracing::error!(error = %e, "cannot finish the voicemail");
                self.event(id, CallEventKind::Error, &e.to_string()).await;
                return Recorded {
                    outcome: RecordingOutcome {
                        path,
                        duration: Duration::ZERO,
                        end,
                        has_speech: false,
                    },
                    ended,
                };
            }
        };
        let state = RecordingState::Ended {
            end,
            speech: info.has_speech,
        };
        log_store(
            self.store
                .set_recording(id, &info.path.display().to_string(), info.duration, state)
                .await,
        );
        self.event(
            id,
            CallEventKind::RecordingStopped,
            &format!("{} ms, {state}", info.duration.as_millis()),
        )
        .await;
        if info.has_speech {
            if let Some((n, part)) = &info.last_part {
                log_store(self.queue.enqueue_part(id, *n, part, language).await);
            }
        }
        Recorded {
            outcome: RecordingOutcome {
                path: info.path,
                duration: info.duration,
                end,
                has_speech: info.has_speech,
            },
            ended,
        }
    }

    async fn event(&self, id: i64, kind: CallEventKind, detail: &str) {
        log_store(self.store.add_event(id, kind, detail).await);
    }

    /// At start-up: makes recordings a crash cut (their ticket still says `recording`)
    /// readable, and queues the parts not queued before the crash. Returns how many were found.
    pub async fn recover_interrupted(&self) -> Result<usize, StoreError> {
        let interrupted = self.store.interrupted_recordings().await?;
        for (ticket_id, path, language) in &interrupted {
            // Written by the call from a `Language`; anything else is left to detection.
            let language = language.as_deref().and_then(|l| l.parse::<Language>().ok());
            let file = Path::new(path);
            if let Err(e) = recording::repair(file) {
                tracing::error!(error = %e, %path, "interrupted recording lost");
                self.store
                    .set_recording(*ticket_id, path, Duration::ZERO, RecordingState::Lost)
                    .await?;
                continue;
            }
            let samples = hound::WavReader::open(file)
                .map(|r| r.duration())
                .unwrap_or(0);
            // 8 kHz: 8 samples a millisecond.
            let duration = Duration::from_millis(u64::from(samples) / 8);
            self.store
                .set_recording(*ticket_id, path, duration, RecordingState::Interrupted)
                .await?;
            // Parts queued before the crash are kept (same files, queued once); the rest are
            // cut now.
            match recording::split_into_parts(file, self.part) {
                Ok(parts) => {
                    for (n, part) in parts {
                        self.queue
                            .enqueue_part(*ticket_id, n, &part, language)
                            .await?;
                    }
                    tracing::info!(%path, "interrupted recording repaired and queued for transcription");
                }
                Err(e) => {
                    tracing::error!(error = %e, %path, "interrupted recording cannot be cut into parts")
                }
            }
        }
        Ok(interrupted.len())
    }
}
