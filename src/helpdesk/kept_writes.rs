//! Ticket writes kept through a database outage, journalled on disk so that a crash during the
//! outage loses none of them.
//!
//! While the database is down, a call's writes wait in memory for it (`ticket_writer`). Were
//! the process to die then (`kill -9`, an out-of-memory kill), the menu answers, timeline and
//! recording of every call in progress since the outage began would be gone, and the restart
//! could only close their tickets as cut. So each kept write is also appended to a file of its
//! ticket, `<data>/kept-writes/<ticket id>.jsonl`, numbered, and each one the database takes is
//! marked there; the file goes once nothing of the ticket waits. The next start replays what a
//! file holds unmarked, in order, before it closes the calls the crash cut (`restart`).
//!
//! Appended with `write(2)`, not `fsync`ed: what a crash of the process leaves in the kernel's
//! cache reaches the disk (the same promise as the recordings); a power cut may lose the last
//! seconds. Only writes that wait for the database come here, so a healthy database costs
//! nothing. A write replayed that the database had in fact taken just before the crash (its
//! mark not yet appended) is stored twice: a field again (harmless) or one timeline event twice.

use super::ticket_writer::TicketWrite;
use crate::store::{Store, StoreError};
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;
use std::fs::OpenOptions;
use std::io::{self, Write};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;

/// The journal's directory under the data directory.
const DIR: &str = "kept-writes";

/// Why the kept writes could not be replayed at start-up (the start fails: the files stay
/// for the next one).
#[derive(Debug, thiserror::Error)]
pub enum KeptWritesError {
    #[error("cannot read the kept ticket writes in {path}: {source}")]
    Read { path: PathBuf, source: io::Error },
    #[error("the kept writes of ticket {id} could not be stored: {source}")]
    Replay { id: i64, source: StoreError },
}

/// One line of a ticket's file.
#[derive(Debug, Serialize, Deserialize)]
#[serde(untagged)]
enum Line {
    /// Write `seq` of the ticket, kept.
    Kept { seq: u64, write: TicketWrite },
    /// Write `stored` has reached the database.
    Stored { stored: u64 },
}

/// The journal of this node's kept writes (one per data directory; clones share it).
#[derive(Debug, Clone)]
pub struct KeptWrites {
    dir: PathBuf,
    /// The next write's number, across every ticket and writer of the process: a ticket
    /// written by a second writer after a first (a call-back after the call) appends to the
    /// same file, and its writes must number after the first's to replay in order.
    next: Arc<AtomicU64>,
}

impl KeptWrites {
    pub fn new(data_dir: &Path) -> KeptWrites {
        KeptWrites {
            dir: data_dir.join(DIR),
            next: Arc::default(),
        }
    }

    /// A number for the next write kept, higher than any handed out before in this process
    /// (a start replays and removes every file first, so numbers never meet an older run's).
    pub(super) fn number(&self) -> u64 {
        self.next.fetch_add(1, Ordering::Relaxed)
    }

    fn file(&self, id: i64) -> PathBuf {
        self.dir.join(format!("{id}.jsonl"))
    }

    fn append(&self, id: i64, line: &Line) -> io::Result<()> {
        let mut text = serde_json::to_string(line).map_err(io::Error::other)?;
        text.push('\n');
        let path = self.file(id);
        let open = || OpenOptions::new().create(true).append(true).open(&path);
        let mut file = match open() {
            Err(e) if e.kind() == io::ErrorKind::NotFound => {
                std::fs::create_dir_all(&self.dir)?;
                open()?
            }
            opened => opened?,
        };
        // One write per line: a crash tears at most the last line, which the replay skips.
        file.write_all(text.as_bytes())
    }

    /// Journals write `seq` of ticket `id`, kept for the database.
    pub(super) fn kept(&self, id: i64, seq: u64, write: &TicketWrite) -> io::Result<()> {
        self.append(
            id,
            &Line::Kept {
                seq,
                write: write.clone(),
            },
        )
    }

    /// Marks write `seq` of ticket `id` as stored (or refused for good: never replayed).
    pub(super) fn stored(&self, id: i64, seq: u64) -> io::Result<()> {
        self.append(id, &Line::Stored { stored: seq })
    }

    /// Write `seq`, the last one waiting of ticket `id`, has reached the database: the file
    /// goes. If it cannot be removed, the write is marked stored instead, so that nothing is
    /// replayed twice and a later writer of the ticket appends to a file that holds nothing
    /// pending.
    pub(super) fn drained(&self, id: i64, seq: u64) -> io::Result<()> {
        self.clear(id).inspect_err(|_| {
            let _ = self.stored(id, seq);
        })
    }

    /// Forgets ticket `id`: nothing of it waits any more.
    pub(super) fn clear(&self, id: i64) -> io::Result<()> {
        match std::fs::remove_file(self.file(id)) {
            Err(e) if e.kind() != io::ErrorKind::NotFound => Err(e),
            _ => Ok(()),
        }
    }

    /// What the files hold that the database never took, by ticket, each in order with its
    /// number. A line that cannot be read (the last one, torn by the crash) is skipped and
    /// said.
    pub fn pending(&self) -> Result<BTreeMap<i64, Vec<(u64, TicketWrite)>>, KeptWritesError> {
        let mut pending = BTreeMap::new();
        let entries = match std::fs::read_dir(&self.dir) {
            Err(e) if e.kind() == io::ErrorKind::NotFound => return Ok(pending),
            entries => entries.map_err(read_error_of(&self.dir))?,
        };
        for entry in entries {
            let path = entry.map_err(read_error_of(&self.dir))?.path();
            let Some(id) = ticket_of(&path) else {
                continue;
            };
            let text = std::fs::read_to_string(&path).map_err(read_error_of(&path))?;
            pending.insert(id, unstored(&text, &path));
        }
        Ok(pending)
    }

    /// Stores what the last run kept and could not store, ticket by ticket, and empties the
    /// journal; returns how many writes it stored. Run at start-up, before anything else
    /// reads the tickets. A write the database refuses for itself is logged and dropped, as
    /// it would have been at the time; a database that does not answer fails the start, and
    /// the next start goes on from the first write not yet stored.
    pub async fn replay(&self, store: &Store) -> Result<usize, KeptWritesError> {
        let mut stored = 0;
        for (id, writes) in self.pending()? {
            for (seq, write) in &writes {
                match write.apply(store, id).await {
                    Ok(()) => stored += 1,
                    Err(source) if source.is_unavailable() => {
                        return Err(KeptWritesError::Replay { id, source })
                    }
                    Err(e) => {
                        tracing::error!(ticket_id = id, error = %e, ?write, "a kept ticket write refused by the database");
                    }
                }
                self.stored(id, *seq)
                    .map_err(read_error_of(&self.file(id)))?;
            }
            if !writes.is_empty() {
                tracing::info!(
                    ticket_id = id,
                    writes = writes.len(),
                    "ticket writes kept through a crash stored"
                );
            }
            self.clear(id).map_err(read_error_of(&self.file(id)))?;
        }
        Ok(stored)
    }
}

fn read_error_of(path: &Path) -> impl FnOnce(io::Error) -> KeptWritesError {
    let path = path.to_path_buf();
    move |source| KeptWritesError::Read { path, source }
}

/// The ticket a journal file is of: `<id>.jsonl`.
fn ticket_of(path: &Path) -> Option<i64> {
    (path.extension()? == "jsonl")
        .then(|| path.file_stem()?.to_str()?.parse().ok())
        .flatten()
}

/// The writes of a file's `text` that no later line marks stored, in order.
fn unstored(text: &str, path: &Path) -> Vec<(u64, TicketWrite)> {
    let mut kept = BTreeMap::new();
    for (n, line) in text.lines().enumerate() {
        match serde_json::from_str::<Line>(line) {
            Ok(Line::Kept { seq, write }) => {
                kept.insert(seq, write);
            }
            Ok(Line::Stored { stored }) => {
                kept.remove(&stored);
            }
            Err(e) => tracing::warn!(
                file = %path.display(),
                line = n + 1,
                error = %e,
                "an unreadable kept ticket write skipped (cut by the crash?)"
            ),
        }
    }
    kept.into_iter().collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::tickets::{
        CallEventKind, Category, Disposition, Language, RecordingEnd, RecordingState, TicketField,
    };
    use std::time::Duration;

    /// One write of every kind.
    fn every_write() -> Vec<TicketWrite> {
        let at = chrono::DateTime::from_timestamp_millis(1_764_000_000_123).unwrap();
        vec![
            TicketWrite::Event {
                kind: CallEventKind::FieldSet,
                detail: "category: network ✓".into(),
                at,
            },
            TicketWrite::Field(TicketField::Category(Category::Network)),
            TicketWrite::Field(TicketField::Language(Language::French)),
            TicketWrite::Collected {
                name: "asset".into(),
                digits: "0042".into(),
            },
            TicketWrite::Disposition {
                disposition: Disposition::Voicemail,
                detail: Some("left a message".into()),
            },
            TicketWrite::Disposition {
                disposition: Disposition::Abandoned,
                detail: None,
            },
            TicketWrite::Estimate(Duration::from_secs(4 * 3600)),
            TicketWrite::Assignee("tess".into()),
            TicketWrite::QueueTeam("network".into()),
            TicketWrite::TalkingWith(Some("tess".into())),
            TicketWrite::TalkingWith(None),
            TicketWrite::Conversation {
                path: "/data/recordings/2026/HD-2026-000001-talk.wav".into(),
                duration: Duration::from_millis(61_500),
            },
            TicketWrite::Recording {
                path: "/data/recordings/2026/HD-2026-000001.wav".into(),
                duration: Duration::from_millis(12_340),
                state: RecordingState::Ended {
                    end: RecordingEnd::Silence,
                    speech: false,
                },
            },
            TicketWrite::Recording {
                path: "/data/recordings/2026/HD-2026-000001.wav".into(),
                duration: Duration::ZERO,
                state: RecordingState::Recording,
            },
            TicketWrite::TranscriptionPart {
                part: 3,
                path: "/data/recordings/2026/HD-2026-000001.p3.wav".into(),
                language: Some(Language::English),
            },
            TicketWrite::Transcription {
                path: "/data/recordings/2026/HD-2026-000001.wav".into(),
                language: None,
            },
        ]
    }

    #[test]
    fn every_kind_of_write_is_read_back_as_kept() {
        let dir = tempfile::tempdir().unwrap();
        let journal = KeptWrites::new(dir.path());
        for (seq, write) in every_write().iter().enumerate() {
            journal.kept(7, seq as u64, write).unwrap();
        }
        let pending = journal.pending().unwrap();
        let read: Vec<_> = pending[&7].iter().map(|(_, w)| w).collect();
        assert_eq!(
            format!("{read:?}"),
            format!("{:?}", every_write().iter().collect::<Vec<_>>())
        );
    }

    #[test]
    fn stored_writes_are_not_replayed_and_each_ticket_keeps_its_order() {
        let dir = tempfile::tempdir().unwrap();
        let journal = KeptWrites::new(dir.path());
        let event = |detail: &str| TicketWrite::Event {
            kind: CallEventKind::FieldSet,
            detail: detail.into(),
            at: chrono::Utc::now(),
        };
        let detail = |w: &TicketWrite| match w {
            TicketWrite::Event { detail, .. } => detail.clone(),
            _ => unreachable!(),
        };
        journal.kept(1, 0, &event("a0")).unwrap();
        journal.kept(2, 0, &event("b0")).unwrap();
        journal.kept(1, 1, &event("a1")).unwrap();
        journal.stored(1, 0).unwrap();
        journal.kept(1, 2, &event("a2")).unwrap();
        journal.kept(2, 1, &event("b1")).unwrap();
        journal.stored(2, 0).unwrap();
        journal.stored(2, 1).unwrap();
        let pending = journal.pending().unwrap();
        let details: Vec<_> = pending[&1].iter().map(|(_, w)| detail(w)).collect();
        assert_eq!(details, ["a1", "a2"]);
        assert!(pending[&2].is_empty(), "every write of 2 stored");
    }

    #[test]
    fn a_second_writer_of_a_ticket_numbers_after_the_first_and_replays_after_it() {
        let dir = tempfile::tempdir().unwrap();
        let journal = KeptWrites::new(dir.path());
        // The call's writer keeps two writes; the first is stored, the second not (the
        // process dies later, or the file could not be removed).
        let (first, second) = (journal.clone(), journal.clone());
        let a = first.number();
        first
            .kept(3, a, &TicketWrite::Assignee("a".into()))
            .unwrap();
        let b = first.number();
        first
            .kept(3, b, &TicketWrite::Assignee("b".into()))
            .unwrap();
        first.stored(3, a).unwrap();
        // A call-back's writer of the same ticket, later.
        let c = second.number();
        second
            .kept(3, c, &TicketWrite::Assignee("c".into()))
            .unwrap();
        let d = second.number();
        second
            .kept(3, d, &TicketWrite::Assignee("d".into()))
            .unwrap();
        second.stored(3, c).unwrap();
        let pending = journal.pending().unwrap();
        let names: Vec<_> = pending[&3]
            .iter()
            .map(|(_, w)| match w {
                TicketWrite::Assignee(n) => n.as_str(),
                _ => unreachable!(),
            })
            .collect();
        assert_eq!(names, ["b", "d"], "each write once, in the order kept");
    }

    #[test]
    fn a_line_torn_by_the_crash_is_skipped_and_the_rest_kept() {
        let dir = tempfile::tempdir().unwrap();
        let journal = KeptWrites::new(dir.path());
        journal
            .kept(5, 0, &TicketWrite::Assignee("tess".into()))
            .unwrap();
        let mut file = OpenOptions::new()
            .append(true)
            .open(journal.file(5))
            .unwrap();
        file.write_all(br#"{"seq":1,"write":{"assig"#).unwrap();
        // Not a journal file: left alone.
        std::fs::write(dir.path().join(DIR).join("notes.txt"), "x").unwrap();
        let pending = journal.pending().unwrap();
        assert_eq!(pending.len(), 1);
        assert!(matches!(&pending[&5][..], [(0, TicketWrite::Assignee(t))] if t == "tess"));
    }

    #[test]
    fn a_cleared_ticket_and_a_missing_directory_have_nothing_pending() {
        let dir = tempfile::tempdir().unwrap();
        let journal = KeptWrites::new(dir.path());
        assert!(journal.pending().unwrap().is_empty());
        journal
            .kept(9, 0, &TicketWrite::Assignee("max".into()))
            .unwrap();
        journal.stored(9, 0).unwrap();
        assert!(journal.pending().unwrap()[&9].is_empty());
        journal.clear(9).unwrap();
        journal.clear(9).unwrap();
        assert!(journal.pending().unwrap().is_empty());
    }
}
