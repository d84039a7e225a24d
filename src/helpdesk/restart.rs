//! What the helpdesk repairs when it starts after a stop it did not choose (a crash, `kill -9`):
//! ticket writes that were waiting for the database (`kept_writes`), transcriptions that were running, recordings that were cut, and the tickets of calls that
//! were in progress (a caller who was waiting in a queue keeps their place as a call-back
//! request, and their row in the shared queue is deleted; a call-back of a caller's request
//! gives the request back; a technician who was talking on one is no longer busy), and the
//! technicians it had busy on any other call (a call-back of a voicemail).
//!
//! Only this node's: on PostgreSQL, several nodes share the database, and each ticket names
//! the node that took its call (`node` in the configuration), so a restarting node closes the
//! calls it was running and leaves the others' alone. On SQLite one node owns the file, so
//! everything left running is its own.

use super::disposition::{self, CutAt};
use super::kept_writes::{KeptWrites, KeptWritesError};
use super::voicemail::Voicemail;
use crate::store::{Dialect, Store, StoreError};
use crate::tickets::{CallEventKind, RecordingState};

/// The most tickets read at once while closing the calls a crash cut.
const CHUNK: u32 = 1000;

/// Why the start-up repair failed (the server does not start: nothing is lost by trying again).
#[derive(Debug, thiserror::Error)]
pub enum RecoverError {
    #[error(transparent)]
    Store(#[from] StoreError),
    #[error(transparent)]
    KeptWrites(#[from] KeptWritesError),
}

/// Puts the work a crash interrupted back on its way. Runs before any call is taken.
pub async fn recover(
    store: &Store,
    voicemail: &Voicemail,
    kept: &KeptWrites,
) -> Result<(), RecoverError> {
    // First what the calls did while the database was down, so that what follows sees their
    // tickets as they were when the crash came: a call that ended meanwhile is not closed as
    // cut, a voicemail's recording is where it was left.
    let n = kept.replay(store).await?;
    if n > 0 {
        tracing::warn!(
            writes = n,
            "ticket writes kept through the database outage and the crash stored"
        );
    }
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
    // After the tickets, which free their own technicians: what is left busy here is a talk
    // on a ticket that was never `in_progress` (a call-back of a voicemail or an abandoned
    // call). The `talking_with` such a talk left on its ticket stays: it is read only from
    // tickets `in_progress`, which these never become again, and on PostgreSQL the ticket
    // does not say which node's talk wrote it.
    let freed = store.free_own_busy().await?;
    if !freed.is_empty() {
        tracing::warn!(technicians = ?freed, "technicians left busy by the last stop are free again");
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
            let at = if disposition::calling_back(&events) {
                CutAt::CallBack
            } else if voicemail {
                CutAt::Voicemail
            } else if disposition::waiting_in_queue(&events) {
                CutAt::Queue
            } else {
                CutAt::Elsewhere
            };
            // A technician talking on this call when the node died is free again: nothing
            // else would clear their busy flag, and routing would skip them for good.
            if let Some(technician) = store.talking_with(ticket.id).await? {
                store.set_busy(&technician, false).await?;
                store.set_talking_with(ticket.id, None).await?;
            }
            // While a call runs, the detail is the dialplan node it is at (a call-back's is
            // the request's own).
            let step = ticket.disposition_detail.as_deref();
            let outcome = disposition::cut_by_restart(step, at);
            store
                .set_disposition(ticket.id, outcome.disposition, outcome.detail.as_deref())
                .await?;
            let note = match at {
                CutAt::CallBack => {
                    "server restarted: the call-back was cut, the request waits again"
                }
                _ => "server restarted",
            };
            store
                .add_event(ticket.id, CallEventKind::Hangup, note)
                .await?;
            tracing::info!(ticket = %ticket.reference, disposition = %outcome.disposition, step, "call cut by the last stop closed");
        }
        closed += cut.len();
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::oncall::Presence;
    use crate::sip::registrar::{Binding, BindingChange, Transport};
    use crate::store::NewTicket;
    use crate::tickets::Disposition;
    use chrono::Utc;

    /// A call running when the node died, its ticket still `in_progress`.
    async fn cut_call(store: &Store, number: &str) -> i64 {
        let call = NewTicket {
            call_id: format!("cut-{number}"),
            caller_number: number.into(),
            caller_name: None,
        };
        store.create_ticket(&call).await.unwrap().id
    }

    /// `name`, with one reachable phone, busy on a call.
    async fn busy_technician(store: &Store, name: &str) {
        let role = crate::accounts::Role::Technician;
        store.upsert_user(name, "not used", role).await.unwrap();
        let now = Utc::now();
        let binding = Binding {
            contact: format!("sip:{name}@127.0.0.1:5090"),
            expires_at: now + chrono::Duration::hours(1),
            call_id: format!("{name}-registration"),
            cseq: 1,
            source: "127.0.0.1:5090".parse().unwrap(),
            transport: Transport::Udp,
            user_agent: None,
        };
        let save = [BindingChange::Save(binding)];
        store.apply_binding_changes(name, &save, now).await.unwrap();
        store.set_busy(name, true).await.unwrap();
    }

    /// A fresh SQLite store in a directory dropped with the returned guard.
    async fn sqlite() -> (tempfile::TempDir, Store) {
        let dir = tempfile::tempdir().unwrap();
        let url = format!("sqlite://{}", dir.path().join("r.db").display());
        let store = Store::connect(&url, Default::default()).await.unwrap();
        (dir, store)
    }

    /// The start-up recovery, as `hotline serve` runs it before taking calls.
    async fn restart(store: &Store, data: &std::path::Path) {
        let voicemail = Voicemail::new(
            data,
            crate::transcribe::worker::TranscriptionConfig::default().chunk_policy(),
            store.clone(),
            super::super::voicemail::TranscriptionQueue::new(store.clone(), None),
        );
        recover(store, &voicemail, &KeptWrites::new(data))
            .await
            .unwrap();
    }

    /// A caller from `number` who waited in `team`'s queue, asked to be called back and hung
    /// up: their request, waiting.
    async fn call_back_request(store: &Store, number: &str, team: &str) -> i64 {
        let id = cut_call(store, number).await;
        store.set_queue_team(id, team).await.unwrap();
        let queued = format!("{team}, position 1");
        store
            .add_event(id, CallEventKind::Queued, &queued)
            .await
            .unwrap();
        store
            .set_disposition(id, Disposition::CallbackRequested, None)
            .await
            .unwrap();
        let hung_up = "by caller (caller_hangup)";
        store
            .add_event(id, CallEventKind::Hangup, hung_up)
            .await
            .unwrap();
        id
    }

    async fn presence(store: &Store, name: &str) -> Presence {
        store.presence(name, Utc::now()).await.unwrap()
    }

    async fn disposition(store: &Store, id: i64) -> Disposition {
        store.ticket(id).await.unwrap().unwrap().disposition
    }

    #[tokio::test]
    async fn a_restart_frees_a_technician_calling_back_a_voicemail() {
        let (dir, store) = sqlite().await;
        let voicemail = cut_call(&store, "1001").await;
        store
            .set_disposition(voicemail, Disposition::Voicemail, None)
            .await
            .unwrap();
        // "Call back" on the web: the ticket stays a voicemail while tess talks.
        busy_technician(&store, "tess").await;
        store
            .set_talking_with(voicemail, Some("tess"))
            .await
            .unwrap();

        restart(&store, dir.path()).await;

        assert_eq!(presence(&store, "tess").await, Presence::Available);
        assert_eq!(disposition(&store, voicemail).await, Disposition::Voicemail);
        store.close().await;
    }

    #[tokio::test]
    async fn a_call_back_request_cut_by_a_restart_waits_again_for_its_team() {
        let (dir, store) = sqlite().await;
        let first = call_back_request(&store, "1001", "network").await;
        let cut = call_back_request(&store, "1002", "network").await;
        // tess took the second with *8 and was talking to the caller when the node died.
        assert!(store.claim_callback(cut).await.unwrap());
        busy_technician(&store, "tess").await;
        let talking = "tess on *8 call-back";
        store
            .add_event(cut, CallEventKind::TechnicianAnswered, talking)
            .await
            .unwrap();
        store.set_talking_with(cut, Some("tess")).await.unwrap();

        restart(&store, dir.path()).await;

        assert_eq!(
            disposition(&store, cut).await,
            Disposition::CallbackRequested
        );
        let teams = ["network".to_string()];
        let waiting: Vec<i64> = store
            .callback_requests_of(&teams, None)
            .await
            .unwrap()
            .iter()
            .map(|t| t.id)
            .collect();
        assert_eq!(waiting, [first, cut], "in its place");
        let events = store.events(cut).await.unwrap();
        let last = events.last().unwrap();
        assert_eq!(last.kind, CallEventKind::Hangup);
        assert!(last.detail.contains("call-back was cut"), "{last:?}");
        assert_eq!(presence(&store, "tess").await, Presence::Available);
        store.close().await;
    }

    #[tokio::test]
    async fn a_call_cut_before_its_caller_hung_up_still_fails() {
        let (dir, store) = sqlite().await;
        let cut = cut_call(&store, "1001").await;
        store
            .add_event(cut, CallEventKind::Answered, "")
            .await
            .unwrap();

        restart(&store, dir.path()).await;

        let ticket = store.ticket(cut).await.unwrap().unwrap();
        assert_eq!(ticket.disposition, Disposition::Failed);
        assert_eq!(
            ticket.disposition_detail.as_deref(),
            Some("server restarted")
        );
        store.close().await;
    }

    #[tokio::test]
    async fn a_restart_frees_the_technician_a_cut_call_was_talking_with() {
        let (_dir, store) = sqlite().await;
        let talking = cut_call(&store, "1001").await;
        // Its talk with max ended (he transferred the caller): the node died before the next.
        let talk_ended = cut_call(&store, "1002").await;
        busy_technician(&store, "tess").await;
        busy_technician(&store, "max").await;
        store
            .set_talking_with(talk_ended, Some("max"))
            .await
            .unwrap();
        store.set_talking_with(talking, Some("tess")).await.unwrap();
        store.set_talking_with(talk_ended, None).await.unwrap();

        assert_eq!(close_cut_calls(&store).await.unwrap(), 2);
        assert_eq!(presence(&store, "tess").await, Presence::Available);
        assert_eq!(
            presence(&store, "max").await,
            Presence::Busy,
            "busy elsewhere, not here"
        );
        assert_eq!(store.talking_with(talking).await.unwrap(), None);
        store.close().await;
    }
}
