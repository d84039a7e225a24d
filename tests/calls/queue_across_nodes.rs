//! Two nodes on one PostgreSQL database share the team queues: a caller is told a position
//! that counts the callers waiting on the other node, and a technician on one node takes a
//! caller waiting on the other ("Take call" on the web log, or `*8`) — the caller's node rings
//! the technician's phone and bridges them; only the team's head across both nodes is offered
//! to the on-call technician. Skipped without HOTLINE_TEST_POSTGRES_URL.

use super::features::{
    answered_by_tess, available_tess_is_offered_the_head_at_once, dial_as, p3_caller_in_the_queue,
    sip_password, take_call, talk_to_the_echoing_phone, web_session, HOTLINE_HANGS_UP, PASSWORD,
};
use super::routing::{at, free_port, network_team, phone_succeeded, technician, technician_phone};
use crate::support::postgres::PgDatabase;
use crate::support::server::TestServer;
use hotline::oncall::PresenceChoice;
use hotline::store::Store;
use hotline::tickets::CallEventKind;
use std::time::Duration;

/// A node named `name` on the database `db`.
async fn node_on(db: &PgDatabase, name: &str) -> TestServer {
    let url = db.url.clone();
    let node = name.parse().unwrap();
    TestServer::start_with(move |c| {
        // The test phones (SIPp) expect an INVITE and nothing else.
        c.registrar.keepalive_secs = 0;
        c.database_url = Some(url);
        c.node = Some(node);
    })
    .await
}

/// Nodes `pbx-a` and `pbx-b` on a fresh database, and the store they share.
async fn two_nodes() -> Option<(PgDatabase, TestServer, TestServer, Store)> {
    let db = PgDatabase::create("hotline_queue").await?;
    let a = node_on(&db, "pbx-a").await;
    let b = node_on(&db, "pbx-b").await;
    let store = a.server.as_ref().unwrap().store().clone();
    Some((db, a, b, store))
}

async fn stop(db: PgDatabase, mut a: TestServer, mut b: TestServer) {
    a.shutdown().await;
    b.shutdown().await;
    drop((a, b));
    db.drop().await;
}

/// The details of a ticket's timeline events of `kind`.
async fn details(store: &Store, ticket: i64, kind: CallEventKind) -> Vec<String> {
    store
        .events(ticket)
        .await
        .unwrap()
        .into_iter()
        .filter(|e| e.kind == kind)
        .map(|e| e.detail)
        .collect()
}

/// The `queued` details of a ticket's timeline ("network, position 2").
async fn queued(store: &Store, ticket: i64) -> Vec<String> {
    details(store, ticket, CallEventKind::Queued).await
}

/// tess, in the network team (not on call: the queue does not ring her by itself), with one
/// registered phone on `port` and a web log account.
async fn tess_with_a_phone(store: &Store, port: u16) {
    network_team(store, &[], None).await;
    technician(store, "tess", format!("127.0.0.1:{port}").parse().unwrap()).await;
    store.add_team_member("network", "tess").await.unwrap();
    hotline::web::add_user(store, "tess", hotline::accounts::Role::Technician, PASSWORD)
        .await
        .unwrap();
}

#[tokio::test]
async fn a_caller_queued_after_one_on_another_node_is_told_position_2() {
    let Some((db, a, b, store)) = two_nodes().await else {
        return;
    };
    network_team(&store, &[], None).await;
    let (_first, first) = p3_caller_in_the_queue(&a, &store).await;
    let (_second, second) = p3_caller_in_the_queue(&b, &store).await;
    assert_eq!(queued(&store, first.id).await, ["network, position 1"]);
    assert_eq!(
        queued(&store, second.id).await,
        ["network, position 2"],
        "pbx-b counts the caller waiting on pbx-a"
    );
    stop(db, a, b).await;
}

#[tokio::test]
async fn take_call_on_one_node_rings_the_technician_for_a_caller_waiting_on_the_other() {
    let Some((db, a, b, store)) = two_nodes().await else {
        return;
    };
    let port = free_port();
    tess_with_a_phone(&store, port).await;
    // tess uses pbx-b's web log; the caller waits on pbx-a.
    let session = web_session(&b, "tess", PASSWORD).await;
    let (mut caller, ticket) = p3_caller_in_the_queue(&a, &store).await;

    let phone = technician_phone(port, "1", 0, 300, 4000);
    assert_eq!(
        take_call(&b, &session, &ticket.reference.to_string()).await,
        303
    );
    talk_to_the_echoing_phone(&mut caller, phone).await;
    answered_by_tess(&store, &ticket.call_id, "(taken from the web log)").await;
    stop(db, a, b).await;
}

#[tokio::test]
async fn star_8_on_one_node_rings_the_technicians_phone_for_a_caller_waiting_on_the_other() {
    let Some((db, a, b, store)) = two_nodes().await else {
        return;
    };
    let port = free_port();
    tess_with_a_phone(&store, port).await;
    sip_password(&b, "tess").await;
    let (mut caller, ticket) = p3_caller_in_the_queue(&a, &store).await;

    // tess dials *8 on pbx-b (from another phone than the one rung): pbx-b tells her that her
    // phone will ring and hangs up; pbx-a rings it.
    let phone = technician_phone(port, "1", 0, 300, 4000);
    let dialled = dial_as(&b, "tess", "*8", PASSWORD, HOTLINE_HANGS_UP.into());
    phone_succeeded(&dialled.await.unwrap());
    talk_to_the_echoing_phone(&mut caller, phone).await;
    answered_by_tess(&store, &ticket.call_id, "(taken with *8 on another node)").await;
    stop(db, a, b).await;
}

#[tokio::test]
async fn only_the_caller_waiting_longest_across_both_nodes_is_offered_to_the_technician() {
    let Some((db, a, b, store)) = two_nodes().await else {
        return;
    };
    // tess is on call for network with one phone, but away: nobody can be offered a caller.
    let port = free_port();
    network_team(&store, &[("tess", at(port))], None).await;
    store
        .set_presence("tess", PresenceChoice::Away)
        .await
        .unwrap();
    let (mut first, first_ticket) = p3_caller_in_the_queue(&a, &store).await;
    let (mut second, second_ticket) = p3_caller_in_the_queue(&b, &store).await;

    // Her phone rings longer than a queue's retry (5 s): pbx-b looks at least once while it
    // rings for pbx-a's caller, who is still waiting then.
    let phone = technician_phone(port, "1", 0, 6000, 4000);
    store
        .set_presence("tess", PresenceChoice::Available)
        .await
        .unwrap();
    let deadline = tokio::time::Instant::now() + Duration::from_secs(40);
    loop {
        first.send_silence(100).await;
        second.send_silence(100).await;
        let rung_for_b = details(&store, second_ticket.id, CallEventKind::Ringing).await;
        assert!(
            rung_for_b.is_empty(),
            "pbx-b offered its caller while pbx-a's waited longer: {rung_for_b:?}"
        );
        let answered = details(&store, first_ticket.id, CallEventKind::TechnicianAnswered);
        if !answered.await.is_empty() {
            break;
        }
        assert!(
            tokio::time::Instant::now() < deadline,
            "pbx-a's caller was never bridged to tess"
        );
    }
    let rung_for_a = details(&store, first_ticket.id, CallEventKind::Ringing).await;
    assert_eq!(
        rung_for_a.len(),
        1,
        "one INVITE to tess's phone: {rung_for_a:?}"
    );
    // pbx-b's caller leaves before tess is free again (her phone is done after this call).
    second.bye().await;

    talk_to_the_echoing_phone(&mut first, phone).await;
    answered_by_tess(&store, &first_ticket.call_id, "").await;
    assert!(details(&store, second_ticket.id, CallEventKind::Ringing)
        .await
        .is_empty());
    stop(db, a, b).await;
}

#[tokio::test]
async fn a_technician_made_available_on_one_node_is_offered_the_caller_waiting_on_the_other_at_once(
) {
    let Some((db, a, b, store)) = two_nodes().await else {
        return;
    };
    // The caller waits on pbx-a; tess becomes available through pbx-b (its web log, its *1):
    // pbx-a hears of it through PostgreSQL's NOTIFY.
    let b_store = b.server.as_ref().unwrap().store().clone();
    available_tess_is_offered_the_head_at_once(&a, &store, &b_store).await;
    stop(db, a, b).await;
}
