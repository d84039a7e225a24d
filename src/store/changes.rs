//! Ticket changes as they are written, for live views (the web log's `/events`).
//!
//! Every writer goes through the store, so the store announces: the call task creating a
//! ticket, the IVR setting its fields, the transcription worker storing text, a technician
//! changing the status. A broadcast channel costs nothing without listeners and never blocks a
//! writer; a listener too slow to keep up is told it lagged and should reload. Changes made by
//! another node on the same PostgreSQL database are not seen (that would take LISTEN/NOTIFY).

use super::Store;
use crate::tickets::TicketRef;
use serde::Serialize;
use tokio::sync::broadcast;

/// Changes kept for listeners that fall behind before they are told they lagged.
pub(super) const BACKLOG: usize = 1024;

/// What happened to a ticket.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
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

impl Store {
    /// Changes from now on, until the receiver is dropped.
    pub fn subscribe(&self) -> broadcast::Receiver<TicketChange> {
        self.changes.subscribe()
    }

    /// Announces a change once it is committed (no listener is not an error).
    pub(super) fn publish(&self, change: TicketChange) {
        let _ = self.changes.send(change);
    }
}
