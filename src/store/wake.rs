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

use super::other_nodes::WAKE_CHANNEL;
use super::{Dialect, Store};
use std::sync::Arc;
use tokio::sync::Notify;

/// This node's side: woken by its own writes and by the other nodes' notifications (received
/// by `other_nodes`).
pub(super) struct Wake {
    moved: Notify,
}

impl Wake {
    pub(super) fn new() -> Arc<Wake> {
        Arc::new(Wake {
            moved: Notify::new(),
        })
    }

    /// Wakes this node's waiting callers.
    pub(super) fn woken(&self) {
        self.moved.notify_waiters();
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
                .bind(WAKE_CHANNEL)
                .bind(self.node.as_str())
                .execute(self.writer())
                .await;
            if let Err(e) = sent {
                tracing::debug!(error = %e, "the other nodes are not told that the queue moved");
            }
        }
    }
}
