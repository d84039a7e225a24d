//! The recordings disk: whether there is room to start a recording, and saying so loudly —
//! once per condition, not once per call or per packet — when there is not.
//!
//! A full disk must never cost a call: the caller still gets the menu, routing and the
//! conversation, only the recording is skipped (or cut short), and the ticket's timeline says
//! why. Recording resumes by itself for the next call once space returns.

use crate::media::recording::RecordingError;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, Ordering};

/// Why a recording was not started: the disk's free space is under the floor kept free.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct NoRoom {
    pub free: u64,
    pub floor: u64,
}

impl std::fmt::Display for NoRoom {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "{} KiB free, {} KiB kept free",
            self.free / 1024,
            self.floor / 1024
        )
    }
}

/// The filesystem recordings are written to, and whether it is known to be full.
#[derive(Debug)]
pub struct RecordingsDisk {
    dir: PathBuf,
    /// A recording is only started with at least this much free: a voicemail of a few minutes
    /// is a few MB, and the database may share the disk.
    floor: u64,
    /// Set from the first recording refused or cut for space until one starts with room again:
    /// the error is logged on the way in and an info on the way out, nothing in between.
    full: AtomicBool,
}

impl RecordingsDisk {
    pub fn new(dir: &Path, floor: u64) -> RecordingsDisk {
        RecordingsDisk {
            dir: dir.to_path_buf(),
            floor,
            full: AtomicBool::new(false),
        }
    }

    /// Bytes an unprivileged writer may still use on the recordings' filesystem (the
    /// directory itself, or its nearest existing parent before the first recording).
    pub fn free_bytes(&self) -> std::io::Result<u64> {
        let mut at = self.dir.as_path();
        while !at.exists() {
            at = at.parent().unwrap_or(Path::new("."));
        }
        let vfs = rustix::fs::statvfs(at)?;
        Ok(vfs.f_bavail.saturating_mul(vfs.f_frsize))
    }

    /// Before a recording starts: room to record, or why not. When the free space cannot be
    /// read, the recording is tried: a full disk then shows as the writer's error.
    pub fn room_to_record(&self) -> Result<(), NoRoom> {
        match self.free_bytes() {
            Ok(free) if free < self.floor => {
                let no_room = NoRoom {
                    free,
                    floor: self.floor,
                };
                crate::metrics::RECORDINGS_NOT_STARTED_DISK_FULL.inc();
                self.enter_full(&no_room.to_string());
                Err(no_room)
            }
            Ok(free) => {
                if self.full.swap(false, Ordering::Relaxed) {
                    crate::metrics::RECORDINGS_DISK_FULL.set(0);
                    tracing::info!(
                        dir = %self.dir.display(),
                        free_kib = free / 1024,
                        "recordings disk has room again: recording resumes"
                    );
                }
                Ok(())
            }
            Err(e) => {
                tracing::warn!(dir = %self.dir.display(), error = %e, "cannot read the recordings disk's free space");
                Ok(())
            }
        }
    }

    /// A recording's file could not be created (`started` false) or written. A full disk is
    /// the disk's condition (logged once); anything else is this file's fault, logged with it.
    pub fn write_failed(&self, error: &RecordingError, started: bool) {
        if error.is_disk_full() {
            if started {
                crate::metrics::RECORDINGS_CUT_DISK_FULL.inc();
            } else {
                crate::metrics::RECORDINGS_NOT_STARTED_DISK_FULL.inc();
            }
            self.enter_full(&error.to_string());
        } else {
            tracing::error!(error = %error, "recording stopped");
        }
    }

    fn enter_full(&self, why: &str) {
        if !self.full.swap(true, Ordering::Relaxed) {
            crate::metrics::RECORDINGS_DISK_FULL.set(1);
            tracing::error!(
                dir = %self.dir.display(),
                why,
                "recordings disk full: calls go on without recording until space returns"
            );
        } else {
            tracing::debug!(why, "recordings disk still full");
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn free_space_is_read_from_the_nearest_existing_folder() {
        let dir = tempfile::tempdir().unwrap();
        let disk = RecordingsDisk::new(&dir.path().join("recordings/2026"), 0);
        assert!(disk.free_bytes().unwrap() > 0);
        assert_eq!(disk.room_to_record(), Ok(()));
    }

    #[test]
    fn a_floor_above_the_free_space_refuses_to_record_and_says_how_much_is_free() {
        let dir = tempfile::tempdir().unwrap();
        let disk = RecordingsDisk::new(dir.path(), u64::MAX);
        let no_room = disk.room_to_record().unwrap_err();
        assert_eq!(no_room.floor, u64::MAX);
        assert!(no_room.to_string().contains("KiB free"), "{no_room}");
        assert!(disk.full.load(Ordering::Relaxed));
    }
}
