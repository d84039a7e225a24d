//! The technicians' busy flag, kept through a database outage.
//!
//! Routing skips a technician marked busy, on every node (the flag lives in the shared
//! database). A flag that failed to clear while PostgreSQL restarted would keep them out of
//! routing for good, so the flag is written in the background until the database takes it:
//! the latest wish wins (a call that starts and ends during the outage writes "free", not
//! "busy" then "free"), and neither the caller nor the technician waits for it. What is still
//! waiting when the process dies is lost; the next start clears the flag of the technicians
//! whose calls that death cut (`restart`).

use crate::store::Store;
use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::Duration;
use tokio::sync::Notify;

/// The first retry comes this soon (a restart takes a second or two); the wait doubles up to
/// [`MAX_RETRY_DELAY`].
const FIRST_RETRY_DELAY: Duration = Duration::from_millis(100);
const MAX_RETRY_DELAY: Duration = Duration::from_secs(2);

/// The busy flags being written, by technician: present exactly while a task writes it.
#[derive(Clone)]
pub struct BusyFlags {
    store: Store,
    wanted: Arc<Mutex<HashMap<String, bool>>>,
    /// Told each time a technician's flag is written (or given up).
    written: Arc<Notify>,
}

impl BusyFlags {
    pub fn new(store: Store) -> BusyFlags {
        BusyFlags {
            store,
            wanted: Arc::default(),
            written: Arc::default(),
        }
    }

    /// Waits until the database has `technician`'s latest flag, at most `within` (an outage
    /// does not hold the call up: the flag is still written when the database is back).
    pub async fn written(&self, technician: &str, within: Duration) {
        let deadline = tokio::time::Instant::now() + within;
        loop {
            let written = self.written.notified();
            if !self
                .wanted
                .lock()
                .expect("poisoned")
                .contains_key(technician)
            {
                return;
            }
            if tokio::time::timeout_at(deadline, written).await.is_err() {
                return;
            }
        }
    }

    /// Marks `technician` busy or free, as soon as the database takes it.
    pub fn set(&self, technician: &str, busy: bool) {
        let writing = self
            .wanted
            .lock()
            .expect("poisoned")
            .insert(technician.to_string(), busy)
            .is_some();
        if !writing {
            tokio::spawn(self.clone().write(technician.to_string()));
        }
    }

    /// Whether `technician` is being marked busy here and the database may not have it yet:
    /// their presence as read (or as last read, during an outage) does not say so.
    pub fn being_marked_busy(&self, technician: &str) -> bool {
        self.wanted
            .lock()
            .expect("poisoned")
            .get(technician)
            .copied()
            .unwrap_or(false)
    }

    /// Writes what is wanted for `technician` until the database has the latest wish.
    async fn write(self, technician: String) {
        let mut delay = FIRST_RETRY_DELAY;
        loop {
            let busy = self.wanted.lock().expect("poisoned")[&technician];
            match self.store.set_busy(&technician, busy).await {
                Ok(()) => {
                    let mut wanted = self.wanted.lock().expect("poisoned");
                    if wanted[&technician] == busy {
                        wanted.remove(&technician);
                        drop(wanted);
                        self.written.notify_waiters();
                        return;
                    }
                    // Changed while we wrote: write the new wish at once.
                    delay = FIRST_RETRY_DELAY;
                }
                Err(e) if e.is_unavailable() => {
                    if delay == FIRST_RETRY_DELAY {
                        tracing::warn!(%technician, busy, error = %e, "the busy flag waits for the database");
                    }
                    tokio::time::sleep(delay).await;
                    delay = (delay * 2).min(MAX_RETRY_DELAY);
                }
                Err(e) => {
                    tracing::error!(%technician, busy, error = %e, "cannot record the technician as busy");
                    self.wanted.lock().expect("poisoned").remove(&technician);
                    self.written.notify_waiters();
                    return;
                }
            }
        }
    }
}
