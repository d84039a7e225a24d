//! Wake-ups for the queues: a change that may let a waiting caller be offered now.
//!
//! The head of a team's queue is offered to whoever is free; when nobody is, it looks again
//! every few seconds. A technician freed by the end of a call, one who says they are available,
//! a phone that registers, or a caller ahead leaving the queue can each make the head servable
//! at once, so the store says so as it writes them. On this node that is a `Notify`; on
//! PostgreSQL the write also sends `NOTIFY`, and every node listens (one connection each) and
//! wakes its own heads, so a caller waiting on one node is offered as soon as a technician is
//! freed on another instead of at its next look (issue 13). A lost notification (the
//! listening connection broke) costs only that wait: the heads still look on their timer.

use super::{Dialect, Store};
use std::sync::{Arc, Weak};
use std::time::Duration;
use tokio::sync::{watch, Notify};

/// The PostgreSQL channel every node listens on; the payload is the sending node's name.
const CHANNEL: &str = "hotline_queue_moved";
/// How long the listener waits before connecting again after the database refused it.
const RECONNECT_DELAY: Duration = Duration::from_secs(1);

/// This node's side: woken by its own writes and by the other nodes' notifications.
pub(super) struct Wake {
    moved: Notify,
    /// Dropped with the last `Store`, which ends the listener (and closes its connection).
    _alive: watch::Sender<()>,
    alive: watch::Receiver<()>,
}

impl Wake {
    pub(super) fn new() -> Arc<Wake> {
        let (_alive, alive) = watch::channel(());
        Arc::new(Wake {
            moved: Notify::new(),
            _alive,
            alive,
        })
    }
}

impl Store {
    /// Resolves at the next change that may let a waiting caller be offered (here or, on
    /// PostgreSQL, on another node). Create it before looking, as with [`Notify::notified`].
    pub fn queue_moved(&self) -> tokio::sync::futures::Notified<'_> {
        self.wake.moved.notified()
    }

    /// Tells this node's waiting callers, and on PostgreSQL every other node's, that a caller
    /// might be offered now. Never fails the write that caused it: a lost wake-up only delays
    /// the offer until the head looks again.
    pub(super) async fn wake_queues(&self) {
        self.wake.moved.notify_waiters();
        if self.dialect == Dialect::Postgres {
            let sent = sqlx::query("SELECT pg_notify($1, $2)")
                .bind(CHANNEL)
                .bind(self.node.as_str())
                .execute(self.writer())
                .await;
            if let Err(e) = sent {
                tracing::debug!(error = %e, "the other nodes are not told that the queue moved");
            }
        }
    }

    /// On PostgreSQL, listens for the other nodes' wake-ups until the last handle on this
    /// store is dropped. Nothing to do on SQLite (one node).
    pub fn listen_for_other_nodes(&self) {
        let Some(url) = self.listen_url.clone() else {
            return;
        };
        let wake = Arc::downgrade(&self.wake);
        let alive = self.wake.alive.clone();
        let node = self.node.as_str().to_string();
        tokio::spawn(listen(url, node, wake, alive));
    }
}

async fn listen(url: String, node: String, wake: Weak<Wake>, mut alive: watch::Receiver<()>) {
    let mut listener: Option<sqlx::postgres::PgListener> = None;
    loop {
        let next = async {
            let listening = match listener.as_mut() {
                Some(l) => l,
                None => {
                    let mut l = sqlx::postgres::PgListener::connect(&url).await?;
                    l.listen(CHANNEL).await?;
                    // Whatever was sent while nobody listened is lost: look again now.
                    woken(&wake);
                    listener.insert(l)
                }
            };
            listening.try_recv().await
        };
        let received = tokio::select! {
            _ = alive.changed() => return,
            received = next => received,
        };
        match received {
            Ok(Some(n)) if n.payload() == node => {}
            // Another node's change, or the connection was lost and made again (and what was
            // sent meanwhile is lost): look again.
            Ok(_) => woken(&wake),
            Err(e) => {
                tracing::debug!(error = %e, "not listening to the other nodes' queues; trying again");
                listener = None;
                tokio::select! {
                    _ = alive.changed() => return,
                    _ = tokio::time::sleep(RECONNECT_DELAY) => {}
                }
            }
        }
    }
}

fn woken(wake: &Weak<Wake>) {
    if let Some(wake) = wake.upgrade() {
        wake.moved.notify_waiters();
    }
}
