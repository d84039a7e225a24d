//! On PostgreSQL, each node's live views (the web log's `/events`) see every node's ticket
//! changes and call alerts, not only their own, and each only once.

use crate::support::nodes::joined;
use crate::support::{call, Db};
use hotline::store::{AlertKind, ChangeKind, NodeName, TicketChange};
use hotline::tickets::{CallEventKind, PriorityMatrix};
use std::time::Duration;
use tokio::sync::broadcast;

/// Long enough for a notification on loopback, many times over.
const DELIVERY: Duration = Duration::from_secs(5);

fn node(name: &str) -> NodeName {
    name.parse().unwrap()
}

async fn next<T: Clone>(rx: &mut broadcast::Receiver<T>, what: &str) -> T {
    tokio::time::timeout(DELIVERY, rx.recv())
        .await
        .unwrap_or_else(|_| panic!("{what}: nothing within {DELIVERY:?}"))
        .unwrap()
}

async fn nothing_more<T: Clone + std::fmt::Debug>(rx: &mut broadcast::Receiver<T>) {
    let more = tokio::time::timeout(Duration::from_millis(500), rx.recv()).await;
    assert!(more.is_err(), "unexpected: {more:?}");
}

async fn a_change_on_one_node_reaches_the_live_views_of_the_other(db: Db) {
    let a = db.store.clone().with_node(node("pbx-a"));
    let b = db
        .node(PriorityMatrix::default())
        .await
        .with_node(node("pbx-b"));
    joined(&a).await;
    joined(&b).await;
    let mut on_a = a.subscribe();
    let mut on_b = b.subscribe();
    let mut alerts_on_b = b.subscribe_alerts();

    // A call on A: B's pages see it come in, then its timeline move (sent as the ticket's id,
    // read into its reference on B), in that order.
    let ticket = a.create_ticket(&call("1")).await.unwrap();
    let written = std::time::Instant::now();
    a.add_event(ticket.id, CallEventKind::Queued, "network")
        .await
        .unwrap();
    let created = TicketChange {
        reference: ticket.reference,
        kind: ChangeKind::Created,
    };
    let updated = TicketChange {
        reference: ticket.reference,
        kind: ChangeKind::Updated,
    };
    assert_eq!(next(&mut on_b, "created on A, seen on B").await, created);
    let created_seen = written.elapsed();
    assert_eq!(next(&mut on_b, "updated on A, seen on B").await, updated);
    eprintln!(
        "on B: created {} µs, updated {} µs after A wrote them",
        created_seen.as_micros(),
        written.elapsed().as_micros()
    );
    // A's own pages see them once, not again when A's own notification comes back.
    assert_eq!(next(&mut on_a, "created on A").await, created);
    assert_eq!(next(&mut on_a, "updated on A").await, updated);
    nothing_more(&mut on_a).await;
    nothing_more(&mut on_b).await;

    // A routed call rings tess's phone from A: her page open on B pops it up.
    a.alert("tess", ticket.reference, AlertKind::Ringing);
    let alert = next(&mut alerts_on_b, "alert from A, seen on B").await;
    assert_eq!(
        (alert.technician.as_str(), alert.reference, alert.kind),
        ("tess", ticket.reference, AlertKind::Ringing)
    );
    nothing_more(&mut alerts_on_b).await;

    // And the other way round.
    let on_b_ticket = b.create_ticket(&call("2")).await.unwrap();
    assert_eq!(
        next(&mut on_a, "created on B, seen on A").await,
        TicketChange {
            reference: on_b_ticket.reference,
            kind: ChangeKind::Created,
        }
    );
    assert_eq!(
        next(&mut on_b, "created on B").await.kind,
        ChangeKind::Created
    );
    nothing_more(&mut on_b).await;
    b.close().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn on_postgres() {
    crate::support::on_postgres(a_change_on_one_node_reaches_the_live_views_of_the_other).await;
}
