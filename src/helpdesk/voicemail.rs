//! Voicemail: recording the caller, queueing the recording's parts for transcription while the
//! caller still speaks, and recovering recordings a crash cut short.
//!
//! A recording is a WAV file under `<data>/recordings/<year>/<reference>.wav`, cut into parts
//! (`media::recording`) that are queued one by one, so the transcript is nearly ready when the
//! caller hangs up. A call's parts (live and the last one) are queued through the call's ticket
//! writer, so a database outage delays them instead of losing them
//! ([`TranscriptionQueue::enqueue_call`]); parts cut from a repaired file at start-up go
//! through [`TranscriptionQueue::enqueue_part`].
//!
//! A full recordings disk costs the recording, never the call: a recording is not started
//! without room ([`RecordingsDisk`]), one cut short by the disk filling up keeps what was
//! written (its header repaired), and the timeline says which.

use super::recordings_disk::RecordingsDisk;
use super::ticket_writer::{TicketWrite, TicketWriter};
use crate::call::{CallControl, CallEnded};
use crate::ivr::{RecordSpec, RecordingOutcome};
use crate::media::chunker::ChunkPolicy;
use crate::media::recording::{self, RecordStop, Recorder};
use crate::store::{Store, StoreError, Ticket};
use crate::tickets::{CallEventKind, Language, RecordingEnd, RecordingState, TicketRef};
use crate::transcribe::worker::{FinalPass, Wakeup};
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

    /// Wakes a worker, if they run, for a job just queued.
    fn wake(&self) {
        if let Some(w) = &self.wakeup {
            w.notify();
        }
    }

    /// Queues part `n` of a call's voicemail (`None`: the whole recording, for its final pass
    /// once the caller has hung up; workers take it after every part waiting) through the
    /// call's ticket writer, kept through a database outage like the rest of the call's
    /// writes, and wakes a worker.
    pub async fn enqueue_call(
        &self,
        writer: &TicketWriter,
        part: Option<usize>,
        audio: &Path,
        language: Option<Language>,
    ) {
        let path = audio.display().to_string();
        writer
            .write(match part {
                Some(part) => TicketWrite::TranscriptionPart {
                    part,
                    path,
                    language,
                },
                None => TicketWrite::Transcription { path, language },
            })
            .await;
        self.wake();
    }

    /// Queues the whole of a ticket's voicemail for its final pass (once per recording) and
    /// wakes a worker.
    pub async fn enqueue_recording(
        &self,
        ticket_id: i64,
        recording: &Path,
        language: Option<Language>,
    ) -> Result<(), StoreError> {
        self.store
            .enqueue_transcription(
                ticket_id,
                &recording.display().to_string(),
                language.map(Language::as_str),
            )
            .await?;
        self.wake();
        Ok(())
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
        self.wake();
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
    /// Whether the whole recording is transcribed again after hang-up.
    final_pass: FinalPass,
    store: Store,
    queue: TranscriptionQueue,
    /// Room on the recordings disk, and the one error log per full-disk condition.
    disk: RecordingsDisk,
}

impl Voicemail {
    pub fn new(
        data_dir: &Path,
        part: ChunkPolicy,
        store: Store,
        queue: TranscriptionQueue,
    ) -> Self {
        let dir = data_dir.join("recordings");
        Voicemail {
            disk: RecordingsDisk::new(&dir, 0),
            dir,
            part,
            final_pass: FinalPass::Never,
            store,
            queue,
        }
    }

    /// Transcribes the whole recording again after hang-up as `final_pass` says.
    pub fn with_final_pass(mut self, final_pass: FinalPass) -> Self {
        self.final_pass = final_pass;
        self
    }

    /// The recordings disk, which recorded conversations share.
    pub fn disk(&self) -> &RecordingsDisk {
        &self.disk
    }

    /// Starts recordings only while the recordings disk has `bytes` free.
    pub fn keep_free(mut self, bytes: u64) -> Self {
        self.disk = RecordingsDisk::new(&self.dir, bytes);
        self
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
        writer: &TicketWriter,
        spec: RecordSpec,
        language: Option<Language>,
    ) -> Recorded {
        let path = self.path_for(ticket.reference);
        let not_recorded = |path, end| Recorded {
            outcome: RecordingOutcome {
                path,
                duration: Duration::ZERO,
                end,
                has_speech: false,
            },
            ended: None,
        };
        if let Err(no_room) = self.disk.room_to_record() {
            writer
                .event(
                    CallEventKind::Error,
                    &format!("recording not started: disk full ({no_room})"),
                )
                .await;
            return not_recorded(path, RecordingEnd::DiskFull);
        }
        let mut recorder = match Recorder::create(&path) {
            Ok(r) => r.with_parts(self.part),
            Err(e) => {
                let (detail, end) = if e.is_disk_full() {
                    self.disk.write_failed(&e, false);
                    (
                        format!("recording not started: disk full ({e})"),
                        RecordingEnd::DiskFull,
                    )
                } else {
                    tracing::error!(error = %e, "cannot record the voicemail");
                    (e.to_string(), RecordingEnd::Silence)
                };
                writer.event(CallEventKind::Error, &detail).await;
                return not_recorded(path, end);
            }
        };
        writer
            .write(TicketWrite::Recording {
                path: path.display().to_string(),
                duration: Duration::ZERO,
                state: RecordingState::Recording,
            })
            .await;
        writer
            .event(CallEventKind::RecordingStarted, &path.display().to_string())
            .await;
        // Parts are queued as the recorder closes them, while the caller is still speaking.
        let (parts_tx, mut parts_rx) = tokio::sync::mpsc::unbounded_channel::<(usize, PathBuf)>();
        let live_parts = {
            let (queue, writer) = (self.queue.clone(), writer.clone());
            tokio::spawn(async move {
                while let Some((n, part)) = parts_rx.recv().await {
                    queue.enqueue_call(&writer, Some(n), &part, language).await;
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
        if let Some(disk_full) = recorder.failure().map(|e| e.is_disk_full()) {
            let end = if disk_full {
                RecordingEnd::DiskFull
            } else {
                end
            };
            let failure = recorder.failure().map(ToString::to_string);
            let heard_speech = recorder.voice.heard_speech();
            if let Some(e) = recorder.failure() {
                self.disk.write_failed(e, true);
            }
            // Dropping the writer cannot finish a file on a full disk; `cut_short` sets the
            // header from what reached it.
            drop(recorder);
            let failure = failure.unwrap_or_default();
            return self
                .cut_short(path, writer, end, heard_speech, &failure, ended)
                .await;
        }
        let heard_speech = recorder.voice.heard_speech();
        let info = match recorder.finish() {
            Ok(info) => info,
            Err(e) if e.is_disk_full() => {
                // The last part (or the header) found the disk full as the caller finished.
                self.disk.write_failed(&e, true);
                let failure = e.to_string();
                return self
                    .cut_short(
                        path,
                        writer,
                        RecordingEnd::DiskFull,
                        heard_speech,
                        &failure,
                        ended,
                    )
                    .await;
            }
            Err(e) => {
                tracing::error!(error = %e, "cannot finish the voicemail");
                writer.event(CallEventKind::Error, &e.to_string()).await;
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
        writer
            .write(TicketWrite::Recording {
                path: info.path.display().to_string(),
                duration: info.duration,
                state,
            })
            .await;
        writer
            .event(
                CallEventKind::RecordingStopped,
                &format!("{} ms, {state}", info.duration.as_millis()),
            )
            .await;
        if info.has_speech {
            if let Some((n, part)) = &info.last_part {
                self.queue
                    .enqueue_call(writer, Some(*n), part, language)
                    .await;
            }
            if self.final_pass.wanted(info.parts) {
                self.queue
                    .enqueue_call(writer, None, &info.path, language)
                    .await;
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

    /// A recording whose writer failed (the disk filled up): keeps what reached the disk,
    /// readable, on the ticket, and says in the timeline why it stopped. The parts queued
    /// while it ran are transcribed; the rest of what the caller said is not on disk.
    async fn cut_short(
        &self,
        path: PathBuf,
        writer: &TicketWriter,
        end: RecordingEnd,
        heard_speech: bool,
        failure: &str,
        ended: Option<CallEnded>,
    ) -> Recorded {
        // The header is set from what reached the disk (no new blocks needed).
        let duration = match recording::repair(&path) {
            Ok(_) => hound::WavReader::open(&path)
                .map(|r| Duration::from_millis(u64::from(r.duration()) / 8))
                .unwrap_or(Duration::ZERO),
            Err(e) => {
                tracing::error!(error = %e, "recording cut short cannot be repaired");
                Duration::ZERO
            }
        };
        let reason = match end {
            RecordingEnd::DiskFull => "disk full",
            _ => "write error",
        };
        writer
            .event(
                CallEventKind::Error,
                &format!(
                    "recording stopped: {reason} after {} ms ({failure})",
                    duration.as_millis()
                ),
            )
            .await;
        let state = RecordingState::Ended {
            end,
            speech: heard_speech && !duration.is_zero(),
        };
        writer
            .write(TicketWrite::Recording {
                path: path.display().to_string(),
                duration,
                state,
            })
            .await;
        writer
            .event(
                CallEventKind::RecordingStopped,
                &format!("{} ms, {state}", duration.as_millis()),
            )
            .await;
        Recorded {
            outcome: RecordingOutcome {
                path,
                duration,
                end,
                has_speech: state.has_speech(),
            },
            ended,
        }
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
                    let final_pass = self.final_pass.wanted(parts.len()) && !parts.is_empty();
                    for (n, part) in parts {
                        self.queue
                            .enqueue_part(*ticket_id, n, &part, language)
                            .await?;
                    }
                    if final_pass {
                        self.queue
                            .enqueue_recording(*ticket_id, file, language)
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
