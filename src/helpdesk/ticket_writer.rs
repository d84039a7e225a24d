//! A call's writes to its ticket, kept in order through a database outage.
//!
//! The ticket row is written before the call is answered (a call the database cannot take is
//! refused with 503). Everything after it — timeline events, menu answers, the estimate, the
//! recording, the disposition — goes through the call's [`TicketWriter`]: written at once
//! while the database answers, so the dialplan reads what it just wrote; and when the database
//! is unreachable (PostgreSQL restarting), kept in memory in order and written by a background
//! task as soon as it returns, the later writes queued behind the earlier ones. The caller
//! never waits for it and never notices.
//!
//! While the database is known to be down ([`Reachability`]), writes are not tried inline at
//! all — a try would hold the caller in silence for the pool's whole connect timeout — and new
//! calls are refused at once; a background probe notices when it is back.
//!
//! The backlog is bounded across all calls: over [`MAX_BACKLOG`] writes waiting, new calls are
//! refused with 503 (`call_task`) rather than answered with nowhere to keep what they do.
//! A write the database refuses for itself (not for being down) is logged and not retried.
//! What waits is also journalled on disk (`kept_writes`): if the process dies before the
//! database returns, the next start stores it, then closes the ticket as a crash would
//! (`restart`).
//!
//! One ticket has one writer at a time in a process ([`TicketWriters`]): routing for a live
//! call — ringing, the technician's answer, the assignee, the conversation — writes through
//! the caller's own writer, so its events interleave with the call's in the order they
//! happened; a call-back or a "Take call" from the web log gets the writer of the ticket's
//! call if it still runs, or one of its own.

use super::kept_writes::KeptWrites;
use crate::store::{Store, StoreError};
use crate::tickets::{CallEventKind, Disposition, Language, RecordingState, TicketField};
use chrono::{DateTime, Utc};
use std::collections::{HashMap, VecDeque};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex, Weak};
use std::time::Duration;

/// Writes waiting for the database, across every call, before new calls are refused.
pub const MAX_BACKLOG: i64 = 10_000;
/// How long a call waits for a write before keeping it for later: the pool would wait its
/// whole connect timeout (10 s) for a database that is down, with the caller in silence. A
/// write cut off here may, on a database that was merely slow, have been stored already; its
/// retry then stores a field again (harmless) or a timeline event twice (the one cost).
pub(crate) const INLINE_WAIT: Duration = Duration::from_secs(2);
/// The first retry comes this soon (a restart takes a second or two); the wait doubles up to
/// [`MAX_RETRY_DELAY`].
const FIRST_RETRY_DELAY: Duration = Duration::from_millis(100);
const MAX_RETRY_DELAY: Duration = Duration::from_secs(2);

/// One change to a call's ticket (serialised for the journal of kept writes).
#[derive(Debug, Clone, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum TicketWrite {
    /// A timeline event, with the time it happened.
    Event {
        kind: CallEventKind,
        detail: String,
        at: DateTime<Utc>,
    },
    Field(TicketField),
    Collected {
        name: String,
        digits: String,
    },
    Disposition {
        disposition: Disposition,
        detail: Option<String>,
    },
    Estimate(Duration),
    /// The technician who took the call.
    Assignee(String),
    /// The team whose queue the call joins.
    QueueTeam(String),
    /// The technician talking with the caller now, `None` once their talk ended.
    TalkingWith(Option<String>),
    /// The recorded conversation with the technician, once its file is complete.
    Conversation {
        path: String,
        duration: Duration,
    },
    Recording {
        path: String,
        duration: Duration,
        state: RecordingState,
    },
    /// Part `part` of the ticket's voicemail, queued for transcription (workers poll the
    /// queue, so one queued late by the drain task is still found).
    TranscriptionPart {
        part: usize,
        path: String,
        language: Option<Language>,
    },
    /// The whole voicemail, queued for its final pass once the caller has hung up.
    Transcription {
        path: String,
        language: Option<Language>,
    },
}

impl TicketWrite {
    /// A timeline event happening now.
    pub fn event(kind: CallEventKind, detail: impl Into<String>) -> TicketWrite {
        TicketWrite::Event {
            kind,
            detail: detail.into(),
            at: Utc::now(),
        }
    }

    pub(super) async fn apply(&self, store: &Store, id: i64) -> Result<(), StoreError> {
        match self {
            TicketWrite::Event { kind, detail, at } => {
                store.add_event_at(id, *kind, detail, *at).await
            }
            TicketWrite::Field(field) => store.set_field(id, *field).await,
            TicketWrite::Collected { name, digits } => store.set_collected(id, name, digits).await,
            TicketWrite::Disposition {
                disposition,
                detail,
            } => {
                store
                    .set_disposition(id, *disposition, detail.as_deref())
                    .await
            }
            TicketWrite::Estimate(estimate) => store.set_estimate(id, *estimate).await,
            TicketWrite::Assignee(technician) => store.set_assignee(id, Some(technician)).await,
            TicketWrite::QueueTeam(team) => store.set_queue_team(id, team).await,
            TicketWrite::TalkingWith(technician) => {
                store.set_talking_with(id, technician.as_deref()).await
            }
            TicketWrite::Conversation { path, duration } => {
                store.set_conversation(id, path, *duration).await
            }
            TicketWrite::Recording {
                path,
                duration,
                state,
            } => store.set_recording(id, path, *duration, *state).await,
            TicketWrite::TranscriptionPart {
                part,
                path,
                language,
            } => {
                let part = i64::try_from(*part).unwrap_or(i64::MAX);
                let language = language.map(Language::as_str);
                store
                    .enqueue_transcription_part(id, path, language, part)
                    .await
            }
            TicketWrite::Transcription { path, language } => {
                store
                    .enqueue_transcription(id, path, language.map(Language::as_str))
                    .await
            }
        }
    }
}

/// Whether new calls must be refused: too many writes already wait for the database.
pub fn backlog_full() -> bool {
    crate::metrics::TICKET_WRITES_WAITING.get() >= MAX_BACKLOG
}

/// How often the probe asks a database that was found down whether it is back.
const PROBE_EVERY: Duration = Duration::from_millis(250);

/// Whether the helpdesk's database is known to be down: set by the first write that finds it
/// unreachable, cleared by a probe (`SELECT 1`) that gets through again.
#[derive(Debug, Default)]
pub struct Reachability {
    down: AtomicBool,
}

impl Reachability {
    pub fn is_down(&self) -> bool {
        self.down.load(Ordering::Relaxed)
    }

    /// Records that `store` could not be reached; the first to notice starts the probe.
    pub fn mark_down(self: &Arc<Self>, store: &Store) {
        if self.down.swap(true, Ordering::Relaxed) {
            return;
        }
        crate::metrics::DATABASE_DOWN.set(1);
        tracing::error!("database unreachable: calls in progress keep their ticket writes in memory, new calls get 503 until it returns");
        let (me, store) = (self.clone(), store.clone());
        tokio::spawn(async move {
            // Until the database answers, or a kept write got through first.
            while me.is_down() {
                tokio::time::sleep(PROBE_EVERY).await;
                if store.ping().await.is_ok() {
                    me.mark_up();
                }
            }
        });
    }

    /// Records that the database answered again.
    fn mark_up(&self) {
        if self.down.swap(false, Ordering::Relaxed) {
            crate::metrics::DATABASE_DOWN.set(0);
            tracing::info!("database reachable again");
        }
    }
}

/// Writes waiting for the database, oldest first, each with its number in the journal.
type Backlog = Arc<Mutex<Waiting>>;
type Waiting = VecDeque<(u64, TicketWrite)>;

/// The writer of every ticket being written in this process, so that whoever writes to a
/// ticket — its call's task, routing on the caller's behalf, a call-back from the web log —
/// writes through the same one and the ticket's writes keep a single order through an outage.
/// A writer stays listed while anyone holds it (the call's task, or its drain task while
/// writes wait), and no longer.
pub struct TicketWriters {
    store: Store,
    reachability: Arc<Reachability>,
    /// Where kept writes are journalled; `None`: in memory only.
    journal: Option<KeptWrites>,
    live: Mutex<HashMap<i64, Weak<Mutex<Waiting>>>>,
}

impl TicketWriters {
    pub fn new(store: Store, reachability: Arc<Reachability>) -> TicketWriters {
        TicketWriters {
            store,
            reachability,
            journal: None,
            live: Mutex::default(),
        }
    }

    /// Journals the writes kept for the database in `journal`, so a crash loses none.
    pub fn journalled(mut self, journal: KeptWrites) -> TicketWriters {
        self.journal = Some(journal);
        self
    }

    /// The writer of ticket `id`: the one in use if there is one, else a new one.
    pub fn for_ticket(&self, id: i64) -> TicketWriter {
        let mut live = self.live.lock().expect("poisoned");
        let backlog = match live.get(&id).and_then(Weak::upgrade) {
            Some(backlog) => backlog,
            None => {
                // Forgetting the writers nobody holds any more keeps the map to the tickets
                // being written (a few per call in progress).
                live.retain(|_, w| w.strong_count() > 0);
                let backlog = Backlog::default();
                live.insert(id, Arc::downgrade(&backlog));
                backlog
            }
        };
        TicketWriter {
            store: self.store.clone(),
            reachability: self.reachability.clone(),
            journal: self.journal.clone(),
            id,
            backlog,
        }
    }
}

/// The writes of one ticket, in order. Cheap to clone (the voicemail task shares it); built by
/// [`TicketWriters::for_ticket`], so a ticket has one at a time.
#[derive(Clone)]
pub struct TicketWriter {
    store: Store,
    reachability: Arc<Reachability>,
    journal: Option<KeptWrites>,
    id: i64,
    /// Writes waiting for the database, oldest first; non-empty exactly while a drain task
    /// runs (it only leaves once it has emptied the queue, deciding so under the lock). The
    /// journal is written under the same lock, so its file follows the queue.
    backlog: Backlog,
}

impl TicketWriter {
    /// Writes now if nothing is waiting and the database answers; otherwise keeps the write
    /// behind the earlier ones for the drain task.
    pub async fn write(&self, write: TicketWrite) {
        let waiting = !self.backlog.lock().expect("poisoned").is_empty();
        if !waiting && !self.reachability.is_down() {
            match tokio::time::timeout(INLINE_WAIT, write.apply(&self.store, self.id)).await {
                Ok(Ok(())) => return,
                Ok(Err(e)) if e.is_unavailable() => {
                    tracing::warn!(ticket_id = self.id, error = %e, "database unreachable: the ticket's writes wait for it");
                    self.reachability.mark_down(&self.store);
                }
                Err(_) => {
                    tracing::warn!(
                        ticket_id = self.id,
                        "database too slow or unreachable: the ticket's writes wait for it"
                    );
                    self.reachability.mark_down(&self.store);
                }
                Ok(Err(e)) => {
                    tracing::error!(ticket_id = self.id, error = %e, "ticket update failed");
                    return;
                }
            }
        }
        self.keep(write);
    }

    /// A timeline event happening now.
    pub async fn event(&self, kind: CallEventKind, detail: impl Into<String>) {
        self.write(TicketWrite::event(kind, detail)).await;
    }

    fn keep(&self, write: TicketWrite) {
        crate::metrics::TICKET_WRITES_WAITING.inc();
        let start_drain = {
            let mut backlog = self.backlog.lock().expect("poisoned");
            let seq = self.journal.as_ref().map_or(0, KeptWrites::number);
            if let Some(journal) = &self.journal {
                if let Err(e) = journal.kept(self.id, seq, &write) {
                    crate::metrics::KEPT_WRITES_NOT_JOURNALLED.inc();
                    tracing::error!(ticket_id = self.id, error = %e, "a kept ticket write is in memory only: a crash now would lose it");
                }
            }
            backlog.push_back((seq, write));
            backlog.len() == 1
        };
        if start_drain {
            tokio::spawn(self.clone().drain());
        }
    }

    /// Writes the backlog in order, retrying each write until the database takes it.
    async fn drain(self) {
        loop {
            let Some((seq, write)) = self.backlog.lock().expect("poisoned").front().cloned() else {
                return;
            };
            let mut delay = FIRST_RETRY_DELAY;
            loop {
                match write.apply(&self.store, self.id).await {
                    Ok(()) => {
                        self.reachability.mark_up();
                        break;
                    }
                    Err(e) if e.is_unavailable() => {
                        crate::metrics::TICKET_WRITE_RETRIES.inc();
                        tracing::debug!(ticket_id = self.id, error = %e, "ticket write still waiting");
                        self.reachability.mark_down(&self.store);
                        tokio::time::sleep(delay).await;
                        delay = (delay * 2).min(MAX_RETRY_DELAY);
                    }
                    Err(e) => {
                        crate::metrics::TICKET_WRITES_FAILED.inc();
                        tracing::error!(ticket_id = self.id, error = %e, "kept ticket update refused by the database");
                        break;
                    }
                }
            }
            crate::metrics::TICKET_WRITES_WAITING.dec();
            let mut backlog = self.backlog.lock().expect("poisoned");
            backlog.pop_front();
            if let Some(journal) = &self.journal {
                let noted = if backlog.is_empty() {
                    journal.drained(self.id, seq)
                } else {
                    journal.stored(self.id, seq)
                };
                if let Err(e) = noted {
                    // A crash now would store it a second time at the next start.
                    tracing::warn!(ticket_id = self.id, error = %e, "a stored ticket write not marked in the journal");
                }
            }
            if backlog.is_empty() {
                tracing::info!(
                    ticket_id = self.id,
                    "the ticket's waiting writes are stored"
                );
                return;
            }
        }
    }
}
