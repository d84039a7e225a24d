//! The call-back requests a technician's `*8` may take: those of callers who left the queue of
//! one of their teams (the team kept on the ticket), in the board's order, or the one asked for.

use crate::support::{call, Db};
use hotline::store::{Store, TicketField};
use hotline::tickets::{Disposition, Impact, Ticket, TicketRef, Urgency};

/// A caller from `number` who waited in `team`'s queue (if any) and left it to be called back;
/// `p1` when they said the whole organisation cannot work.
async fn request(store: &Store, number: &str, team: Option<&str>, p1: bool) -> Ticket {
    let t = store.create_ticket(&call(number)).await.unwrap();
    if p1 {
        for field in [
            TicketField::Impact(Impact::Organisation),
            TicketField::Urgency(Urgency::Blocked),
        ] {
            store.set_field(t.id, field).await.unwrap();
        }
    }
    if let Some(team) = team {
        store.set_queue_team(t.id, team).await.unwrap();
    }
    store
        .set_disposition(t.id, Disposition::CallbackRequested, None)
        .await
        .unwrap();
    t
}

/// The references of `teams`' requests (or of the one of `reference`), in the order served.
async fn requests_of(
    store: &Store,
    teams: &[&str],
    reference: Option<&TicketRef>,
) -> Vec<TicketRef> {
    let teams: Vec<String> = teams.iter().map(|t| t.to_string()).collect();
    let requests = store.callback_requests_of(&teams, reference).await.unwrap();
    requests.into_iter().map(|t| t.reference).collect()
}

async fn a_teams_call_back_requests_are_selected_by_the_team_kept_on_the_ticket(db: Db) {
    let store = &db.store;
    let first = request(store, "1001", Some("network"), false).await;
    let accounts = request(store, "1002", Some("accounts"), false).await;
    let urgent = request(store, "1003", Some("network"), true).await;
    let _never_queued = request(store, "1004", None, false).await;
    // Joined network's queue and was answered there: nothing to call back.
    let answered = store.create_ticket(&call("1005")).await.unwrap();
    store.set_queue_team(answered.id, "network").await.unwrap();
    store
        .set_disposition(answered.id, Disposition::Answered, None)
        .await
        .unwrap();

    assert_eq!(
        requests_of(store, &["network"], None).await,
        [urgent.reference, first.reference],
        "the P1 first, then by arrival"
    );
    assert_eq!(
        requests_of(store, &["accounts", "network"], None).await,
        [urgent.reference, first.reference, accounts.reference]
    );
    assert!(requests_of(store, &[], None).await.is_empty());
    assert_eq!(
        requests_of(store, &["network"], Some(&first.reference)).await,
        [first.reference]
    );
    assert!(
        requests_of(store, &["network"], Some(&accounts.reference))
            .await
            .is_empty(),
        "another team's request, even asked for by number"
    );
    // Claimed by a technician: no longer waiting.
    assert!(store.claim_callback(urgent.id).await.unwrap());
    assert_eq!(
        requests_of(store, &["network"], None).await,
        [first.reference]
    );
}

on_both!(a_teams_call_back_requests_are_selected_by_the_team_kept_on_the_ticket);
