//! Waiting for a ticket to reach a state: the store announces every committed change
//! (`Store::subscribe`), so tests await the change instead of polling on a timer.

use hotline::store::{Store, Ticket};
use hotline::tickets::Disposition;
use std::time::Duration;
use tokio::sync::broadcast::error::RecvError;
use tokio::time::Instant;

/// How long a call's ticket may take to settle once the call is over.
pub const SETTLE: Duration = Duration::from_secs(10);

/// The ticket of `call_id` once `ready` holds for it, re-read after each change the store
/// announces. Panics after `within`, saying what it waited for and the ticket as last seen.
pub async fn ticket_when(
    store: &Store,
    call_id: &str,
    within: Duration,
    what: &str,
    ready: impl Fn(&Ticket) -> bool,
) -> Ticket {
    // Subscribed before the first read, so a change between the two is not missed.
    let mut changes = store.subscribe();
    let deadline = Instant::now() + within;
    loop {
        let ticket = store.ticket_by_call_id(call_id).await.unwrap();
        if let Some(t) = ticket.as_ref().filter(|t| ready(t)) {
            return t.clone();
        }
        match tokio::time::timeout_at(deadline, changes.recv()).await {
            // A change (to this ticket or another) or a lag: read again.
            Ok(Ok(_)) | Ok(Err(RecvError::Lagged(_))) => {}
            Ok(Err(RecvError::Closed)) => panic!("the store closed while waiting for {what}"),
            Err(_) => {
                panic!("no {what} for call {call_id} within {within:?}; last seen: {ticket:#?}")
            }
        }
    }
}

/// The ticket once the server has finished with the call (it leaves `in_progress`).
pub async fn settled_ticket(store: &Store, call_id: &str) -> Ticket {
    ticket_when(store, call_id, SETTLE, "final disposition", |t| {
        t.disposition != Disposition::InProgress
    })
    .await
}

/// A ticket from an earlier call of `number`, whose caller asked to be called back.
pub async fn callback_requested(store: &Store, number: &str) -> Ticket {
    let ticket = store
        .create_ticket(&hotline::store::NewTicket {
            call_id: format!("earlier-call-{number}"),
            caller_number: number.into(),
            caller_name: None,
        })
        .await
        .unwrap();
    store
        .set_disposition(ticket.id, Disposition::CallbackRequested, None)
        .await
        .unwrap();
    ticket
}
