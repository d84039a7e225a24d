//! What the helpdesk repairs when it starts after a stop it did not choose (a crash, `kill -9`):
//! transcriptions that were running, recordings that were cut, and the tickets of calls that
//! were in progress (a caller who was waiting in a queue keeps their place as a call-back
//! request).

use super::disposition::{self, CutAt};
use super::voicemail::Voicemail;
use crate::store::{Dialect, Store, StoreError, TicketFilter};
use crate::tickets::{CallEventKind, Disposition, RecordingState};

/// The most tickets read at once while closing the calls a crash cut.
const CHUNK: u32 = 1000;

/// Puts the work a crash interrupted back on its way. Runs before any call is taken.
pub async fn recover(store: &Store, voicemail: &Voicemail) -> Result<(), StoreError> {
    if store.dialect() == Dialect::Sqlite {
        // One node owns an SQLite database: whatever was running was cut by our own stop.
        let n = store.requeue_running_transcriptions().await?;
        if n > 0 {
            tracing::info!(jobs = n, "interrupted transcriptions queued again");
        }
    }
    // Recordings first: a call cut mid-voicemail is closed below as a voicemail.
    voicemail.recover_interrupted().await?;
    if store.dialect() == Dialect::Sqlite {
        let n = close_cut_calls(store).await?;
        if n > 0 {
            tracing::warn!(
                calls = n,
                "calls cut by the last stop closed on their tickets"
            );
        }
    }
    Ok(())
}

/// Gives every ticket still `in_progress` its final disposition: no call survives a restart,
/// so these calls were cut when the server died. Only for SQLite: on PostgreSQL another node
/// may be running those calls right now.
async fn close_cut_calls(store: &Store) -> Result<usize, StoreError> {
    let mut closed = 0;
    loop {
        // Each round closes what it read, so the next one reads the rest.
        let cut = store
            .list_tickets(&TicketFilter {
                disposition: Some(Disposition::InProgress),
                limit: CHUNK,
                ..TicketFilter::default()
            })
            .await?;
        if cut.is_empty() {
            return Ok(closed);
        }
        for ticket in &cut {
            let voicemail = ticket
                .recording_end_cause
                .as_deref()
                .and_then(|c| c.parse::<RecordingState>().ok())
                .is_some_and(RecordingState::has_speech);
            let at = if voicemail {
                CutAt::Voicemail
            } else if disposition::waiting_in_queue(&store.events(ticket.id).await?) {
                CutAt::Queue
            } else {
                CutAt::Elsewhere
            };
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
