//! What the helpdesk repairs when it starts after a stop it did not choose (a crash, `kill -9`):
//! transcriptions that were running, recordings that were cut, and the tickets of calls that
//! were in progress (a caller who was waiting in a queue keeps their place as a call-back
//! request, and their row in the shared queue is deleted; a technician who was talking on one
//! is no longer busy).
//!
//! Only this node's: on PostgreSQL, several nodes share the database, and each ticket names
//! the node that took its call (`node` in the configuration), so a restarting node closes the
//! calls it was running and leaves the others' alone. On SQLite one node owns the file, so
//! everything left running is its own.

use super::disposition::{self, CutAt};
use super::voicemail::Voicemail;
use crate::store::{Dialect, Store, StoreError};
use crate::tickets::{CallEventKind, RecordingState};

/// The most tickets read at once while closing the calls a crash cut.
const CHUNK: u32 = 1000;

/// Puts the work a crash interrupted back on its way. Runs before any call is taken.
pub async fn recover(store: &Store, voicemail: &Voicemail) -> Result<(), StoreError> {
    if store.dialect() == Dialect::Sqlite {
        // One node owns an SQLite database: whatever was running was cut by our own stop.
        // On PostgreSQL a job does not say which node runs it; its lease does the work
        // instead: any node claims it again once the lease has passed (`store::jobs`).
        let n = store.requeue_running_transcriptions().await?;
        if n > 0 {
            tracing::info!(jobs = n, "interrupted transcriptions queued again");
        }
    }
    // Recordings first: a call cut mid-voicemail is closed below as a voicemail.
    voicemail.recover_interrupted().await?;
    // No caller waits through a restart: the queue rows the stop left go (their tickets are
    // closed below, a queued caller's as a call-back request).
    let n = store.forget_own_queue().await?;
    if n > 0 {
        tracing::info!(callers = n, "queue places left by the last stop deleted");
    }
    let n = close_cut_calls(store).await?;
    if n > 0 {
        tracing::warn!(
            calls = n,
            node = %store.node(),
            "calls cut by the last stop closed on their tickets"
        );
    }
    Ok(())
}

/// Gives every ticket of this node still `in_progress` its final disposition: no call survives
/// a restart, so these calls were cut when the node died. Another node's calls are not ours to
/// close: it may be running them right now (and closes them itself if it died too).
async fn close_cut_calls(store: &Store) -> Result<usize, StoreError> {
    let mut closed = 0;
    loop {
        // Each round closes what it read, so the next one reads the rest.
        let cut = store.calls_cut_by_own_stop(CHUNK).await?;
        if cut.is_empty() {
            return Ok(closed);
        }
        for ticket in &cut {
            let voicemail = ticket
                .recording_end_cause
                .as_deref()
                .and_then(|c| c.parse::<RecordingState>().ok())
                .is_some_and(RecordingState::has_speech);
            let events = store.events(ticket.id).await?;
            let at = if voicemail {
                CutAt::Voicemail
            } else if disposition::waiting_in_queue(&events) {
                CutAt::Queue
            } else {
                CutAt::Elsewhere
            };
            // A technician talking on this call when the node died is free again: nothing
            // else would clear their busy flag, and routing would skip them for good.
            if let Some(technician) = disposition::talking_with(&events) {
                store.set_busy(technician, false).await?;
            }
            // While a call runs, the detail is the dialplan node it is at.
            let step = ticket.disposition_detail.as_deref();
            let outcome = disposition::cut_by_restart(step, at);
            store
                .set_disposition(ticket.id, outcome.disposition, outcome.detail.as_deref())
                .await?;
            store
                .add_event(ticket.id, CallEventKind::Hangup, "server restarted")
                .await?;
            tracing::info!(ticket = %ticket.reference, disposition = %outcome.disposition, step, "call cut by the last stop closed");
        }
        closed += cut.len();
    }
}
