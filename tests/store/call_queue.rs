//! The team queues shared by the nodes on one database: every node's waiting callers counted
//! in one order (priority, then arrival), dead nodes' and closed calls' rows not counted, and a
//! technician's take request claimed exactly once, by the node the caller waits on.

use crate::support::{call, Db};
use chrono::{Duration as Span, Utc};
use hotline::store::{Dialect, NodeName, QueueSpot, Store, TakeRequest, TakeVia};
use hotline::tickets::{Disposition, Priority, PriorityMatrix};

fn node(name: &str) -> NodeName {
    name.parse().unwrap()
}

/// Two nodes on the same database, each with its own pool.
async fn two_nodes(db: &Db) -> (Store, Store) {
    let a = db.store.clone().with_node(node("pbx-a"));
    let b = db
        .node(PriorityMatrix::default())
        .await
        .with_node(node("pbx-b"));
    (a, b)
}

async fn positions_count_every_nodes_callers_by_priority_then_arrival(db: Db) {
    let (a, b) = two_nodes(&db).await;
    let t0 = Utc::now();
    let p = Priority::new;
    let first = a.create_ticket(&call("1")).await.unwrap();
    let later = b.create_ticket(&call("2")).await.unwrap();
    let urgent = b.create_ticket(&call("3")).await.unwrap();
    let elsewhere = a.create_ticket(&call("4")).await.unwrap();
    let first = a.join_queue(first.id, "network", p(3), t0).await.unwrap();
    let later = b
        .join_queue(later.id, "network", p(3), t0 + Span::milliseconds(5))
        .await
        .unwrap();
    let urgent = b
        .join_queue(urgent.id, "network", p(2), t0 + Span::milliseconds(9))
        .await
        .unwrap();
    let other_team = a
        .join_queue(elsewhere.id, "accounts", p(1), t0)
        .await
        .unwrap();
    let now = t0 + Span::seconds(1);
    let position = |spot: QueueSpot| {
        let a = a.clone();
        async move { a.queue_position(&spot, now).await.unwrap() }
    };
    assert_eq!(position(urgent.clone()).await, 1, "P2 before every P3");
    assert_eq!(position(first.clone()).await, 2);
    assert_eq!(position(later.clone()).await, 3, "B's later P3 behind A's");
    assert_eq!(position(other_team).await, 1, "queues are per team");
    // The one caller of the team a node may offer to the technicians, whichever node asks.
    let head = |store: Store| async move {
        let head = store.queue_head("network", now).await.unwrap();
        head.map(|w| (w.ticket_id, w.node))
    };
    let b_p2 = Some((urgent.ticket_id, "pbx-b".to_string()));
    assert_eq!(head(a.clone()).await, b_p2);
    assert_eq!(head(b.clone()).await, b_p2);

    // From A, the first caller of the team waiting elsewhere is B's P2.
    let teams = ["network".to_string()];
    let next = a.first_waiting_elsewhere(&teams, None, now).await.unwrap();
    assert_eq!(
        next.map(|w| (w.ticket_id, w.node)),
        Some((urgent.ticket_id, "pbx-b".into()))
    );

    // The P2 caller's call is over (its node closed it): they no longer count.
    b.set_disposition(urgent.ticket_id, Disposition::CallbackRequested, None)
        .await
        .unwrap();
    assert_eq!(position(first.clone()).await, 1);
    let a_p3 = Some((first.ticket_id, "pbx-a".to_string()));
    assert_eq!(
        head(b.clone()).await,
        a_p3,
        "then A's P3, before B's later one"
    );
    // Rows whose node stopped refreshing them (it died) stop counting after a while; while
    // the nodes live, their callers count however long they wait.
    let much_later = now + Span::seconds(60);
    assert_eq!(a.queue_position(&later, much_later).await.unwrap(), 1);
    a.keep_queue_alive(much_later).await.unwrap();
    b.keep_queue_alive(much_later).await.unwrap();
    assert_eq!(a.queue_position(&later, much_later).await.unwrap(), 2);

    // The caller leaves: everyone behind moves up.
    a.leave_queue(first.id).await.unwrap();
    assert_eq!(a.queue_position(&later, much_later).await.unwrap(), 1);
    b.close().await;
}

async fn claim(store: &Store) -> Vec<TakeRequest> {
    store.claim_take_requests(Utc::now()).await.unwrap()
}

async fn a_take_request_is_claimed_once_by_the_node_the_caller_waits_on(db: Db) {
    let (a, b) = two_nodes(&db).await;
    // A second pool of node A: two claims racing for the same request.
    let a_again = db
        .node(PriorityMatrix::default())
        .await
        .with_node(node("pbx-a"));
    let ticket = a.create_ticket(&call("1")).await.unwrap();
    let spot = a
        .join_queue(ticket.id, "network", Priority::new(3), Utc::now())
        .await
        .unwrap();
    b.request_take(ticket.id, "tess", TakeVia::WebLog, Utc::now())
        .await
        .unwrap();
    assert!(claim(&b).await.is_empty(), "not B's caller");
    let (one, two) = tokio::join!(claim(&a), claim(&a_again));
    let claimed: Vec<TakeRequest> = one.into_iter().chain(two).collect();
    assert_eq!(claimed.len(), 1, "{claimed:?}");
    assert_eq!(
        (
            claimed[0].ticket_id,
            claimed[0].technician.as_str(),
            claimed[0].via
        ),
        (ticket.id, "tess", TakeVia::WebLog)
    );
    assert!(claim(&a).await.is_empty(), "a claimed request is gone");

    // A request nobody claimed in time (the caller's node was down) expires unserved.
    let stale = Utc::now() - Span::seconds(11);
    b.request_take(ticket.id, "ursula", TakeVia::FeatureCode, stale)
        .await
        .unwrap();
    assert!(claim(&a).await.is_empty(), "expired");

    // A request for a caller who left: no node claims it, and it expires.
    b.request_take(ticket.id, "ursula", TakeVia::FeatureCode, Utc::now())
        .await
        .unwrap();
    a.leave_queue(spot.id).await.unwrap();
    assert!(
        claim(&a).await.is_empty(),
        "the caller no longer waits on A"
    );
    let expired = Utc::now() + Span::seconds(11);
    assert!(a.claim_take_requests(expired).await.unwrap().is_empty());
    a.join_queue(ticket.id, "network", Priority::new(3), Utc::now())
        .await
        .unwrap();
    assert!(claim(&a).await.is_empty(), "deleted, not served late");
    a_again.close().await;
    b.close().await;
}

async fn a_restarting_node_forgets_its_own_waiting_callers_only(db: Db) {
    let (a, b) = two_nodes(&db).await;
    let now = Utc::now();
    let on_a = a.create_ticket(&call("1")).await.unwrap();
    let on_b = b.create_ticket(&call("2")).await.unwrap();
    a.join_queue(on_a.id, "network", None, now).await.unwrap();
    b.join_queue(on_b.id, "network", None, now).await.unwrap();
    a.forget_own_queue().await.unwrap();
    let a_waits = a.waiting_caller(on_a.id, now).await.unwrap();
    let b_waits = a.waiting_caller(on_b.id, now).await.unwrap();
    assert_eq!(a_waits, None);
    match db.store.dialect() {
        Dialect::Postgres => assert_eq!(b_waits.map(|w| w.node), Some("pbx-b".into())),
        // One node owns an SQLite file: every row left was its own.
        Dialect::Sqlite => assert_eq!(b_waits, None),
    }
    b.close().await;
}

on_both!(
    positions_count_every_nodes_callers_by_priority_then_arrival,
    a_take_request_is_claimed_once_by_the_node_the_caller_waits_on,
    a_restarting_node_forgets_its_own_waiting_callers_only,
);
