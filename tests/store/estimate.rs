//! The response time a caller hears is computed from the live queue and staff, not a constant.

use crate::support::{call, Db};
use hotline::store::{Store, TicketField};
use hotline::tickets::{Impact, Ticket, TicketStatus, Urgency};
use std::time::Duration;

async fn ticket(store: &Store, impact: Impact, urgency: Urgency) -> Ticket {
    let t = store.create_ticket(&call("1")).await.unwrap();
    store
        .set_field(t.id, TicketField::Impact(impact))
        .await
        .unwrap();
    store
        .set_field(t.id, TicketField::Urgency(urgency))
        .await
        .unwrap();
    store.ticket(t.id).await.unwrap().unwrap()
}

fn minutes(m: u64) -> Duration {
    Duration::from_secs(m * 60)
}

async fn only_older_open_tickets_as_urgent_are_ahead(Db { store, .. }: Db) {
    let p1 = ticket(&store, Impact::Organisation, Urgency::Blocked).await;
    let _p5 = ticket(&store, Impact::Individual, Urgency::Request).await;
    let resolved_p3 = ticket(&store, Impact::Team, Urgency::Degraded).await;
    store
        .set_status(resolved_p3.id, TicketStatus::Resolved)
        .await
        .unwrap();
    let acknowledged_p3 = ticket(&store, Impact::Team, Urgency::Degraded).await;
    store
        .set_status(acknowledged_p3.id, TicketStatus::Acknowledged)
        .await
        .unwrap();
    let _unprioritised = store.create_ticket(&call("9")).await.unwrap();
    let me = ticket(&store, Impact::Individual, Urgency::Blocked).await; // P3
    let _newer_p1 = ticket(&store, Impact::Organisation, Urgency::Blocked).await;
    assert_eq!(
        store.open_tickets_ahead(&me).await.unwrap(),
        2,
        "P1 and the open P3"
    );
    assert_eq!(store.open_tickets_ahead(&p1).await.unwrap(), 0);
}

async fn estimate_follows_the_queue_and_the_staff(Db { store, .. }: Db) {
    store.set_technician("Bob", true).await.unwrap();
    assert_eq!(store.technicians_on_duty().await.unwrap(), 1);
    let mut p1s = Vec::new();
    for _ in 0..7 {
        p1s.push(ticket(&store, Impact::Organisation, Urgency::Blocked).await);
    }
    let first = p1s[0].id;
    let last = p1s[6].id;
    // Empty queue: about half the 15-minute P1 target, rounded up to 5 minutes.
    assert_eq!(store.estimate_for(first).await.unwrap(), Some(minutes(10)));
    // Six P1 tickets ahead, one technician, 20 minutes each.
    assert_eq!(store.estimate_for(last).await.unwrap(), Some(minutes(120)));
    store.set_technician("Carol", true).await.unwrap();
    assert_eq!(store.estimate_for(last).await.unwrap(), Some(minutes(60)));
    for t in &p1s[..2] {
        store
            .set_status(t.id, TicketStatus::Resolved)
            .await
            .unwrap();
    }
    assert_eq!(store.estimate_for(last).await.unwrap(), Some(minutes(40)));
    // Nobody on duty: the next shift (8 h), then the four ahead, said in whole hours.
    store.set_technician("Bob", false).await.unwrap();
    store.set_technician("Carol", false).await.unwrap();
    assert_eq!(store.technicians_on_duty().await.unwrap(), 0);
    assert_eq!(store.estimate_for(last).await.unwrap(), Some(minutes(600)));
    assert_eq!(store.estimate_for(987_654).await.unwrap(), None);

    // What is spoken is what is stored.
    let heard = store.estimate_for(last).await.unwrap().unwrap();
    store.set_estimate(last, heard).await.unwrap();
    let stored = store.ticket(last).await.unwrap().unwrap();
    assert_eq!(stored.estimated_response(), Some(heard));
}

on_both!(
    only_older_open_tickets_as_urgent_are_ahead,
    estimate_follows_the_queue_and_the_staff,
);
