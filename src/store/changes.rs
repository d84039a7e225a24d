//! Ticket changes as they are written, for live views (the web log's `/events`).
//!
//! Every writer goes through the store, so the store announces: the call task creating a
//! ticket, the IVR setting its fields, the transcription worker storing text, a technician
//! changing the status. A broadcast channel costs nothing without listeners and never blocks a
//! writer; a listener too slow to keep up is told it lagged and should reload. On PostgreSQL the
//! changes and alerts of every node reach every node's live views (`other_nodes`).

use super::Store;
use crate::tickets::TicketRef;
use serde::{Deserialize, Serialize};
use tokio::sync::broadcast;

/// Changes kept for listeners that fall behind before they are told they lagged.
pub(super) const BACKLOG: usize = 1024;

/// What happened to a ticket.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ChangeKind {
    /// A call came in.
    Created,
    /// A field, the status, the assignee, the recording or the timeline changed.
    Updated,
    /// (More of) the voicemail's transcript was stored.
    Transcript,
}

/// One change, as sent to live views: `{"reference": "HD-2026-000042", "kind": "created"}`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub struct TicketChange {
    pub reference: TicketRef,
    pub kind: ChangeKind,
}

/// A routed call as the technician it concerns sees it: their phones ring for it, they took
/// it, or the ringing stopped without them. The web log pops the call up on their open pages
/// (and opens its ticket when they take it). Not stored: a page opened later reads the board.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct CallAlert {
    /// Whose pages are told (not sent to the browser: it is the session's user).
    #[serde(skip)]
    pub technician: String,
    pub reference: TicketRef,
    pub kind: AlertKind,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum AlertKind {
    Ringing,
    Answered,
    Stopped,
}

impl Store {
    /// Routed-call alerts from now on, until the receiver is dropped.
    pub fn subscribe_alerts(&self) -> broadcast::Receiver<CallAlert> {
        self.alerts.subscribe()
    }

    /// Tells `technician`'s open pages, on every node, about a routed call (no listener is
    /// not an error).
    pub fn alert(&self, technician: &str, reference: TicketRef, kind: AlertKind) {
        let others = self.telling_other_nodes();
        if self.alerts.receiver_count() == 0 && !others {
            return;
        }
        let alert = CallAlert {
            technician: technician.to_string(),
            reference,
            kind,
        };
        if others {
            self.tell_alert(&alert);
        }
        let _ = self.alerts.send(alert);
    }

    /// Changes from now on, until the receiver is dropped.
    pub fn subscribe(&self) -> broadcast::Receiver<TicketChange> {
        self.changes.subscribe()
    }

    /// Announces that ticket `id` changed (its timeline, its notes). The reference costs one
    /// read, paid only while someone on this node is watching (the other nodes are sent the
    /// id, and read it if they have a watcher).
    pub(super) async fn announce_updated(&self, id: i64) -> Result<(), super::StoreError> {
        if self.telling_other_nodes() {
            self.tell_change_by_id(id, ChangeKind::Updated);
        }
        if self.changes.receiver_count() == 0 {
            return Ok(());
        }
        let reference: Option<String> =
            sqlx::query_scalar("SELECT reference FROM tickets WHERE id = $1")
                .bind(id)
                .fetch_optional(self.pool())
                .await
                .map_err(super::query_error("reading a ticket reference"))?
                .flatten();
        if let Some(reference) = reference.and_then(|r| r.parse().ok()) {
            let _ = self.changes.send(TicketChange {
                reference,
                kind: ChangeKind::Updated,
            });
        }
        Ok(())
    }

    /// Announces a change, on every node, once it is committed (no listener is not an error).
    pub(super) fn publish(&self, change: TicketChange) {
        if self.telling_other_nodes() {
            self.tell_change_by_reference(change);
        }
        let _ = self.changes.send(change);
    }
}
