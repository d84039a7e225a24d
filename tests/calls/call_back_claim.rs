//! "Call back" on the web log takes a caller's call-back request as `*8` does: claimed in the
//! store before anything rings, so a double click (or two technicians) rings the caller once,
//! and given back, keeping its place, when the technician does not answer.

use super::features::{
    network_callback_request, press, press_reply, server_with_gateway, talk_to_the_echoing_phone,
    web_session, PASSWORD,
};
use super::routing::{
    at, free_port, phone_scenario, phone_succeeded, technician, technician_phone,
};
use crate::support::tickets::{ticket_when, SETTLE};
use hotline::accounts::Role;
use hotline::store::Store;
use hotline::tickets::Disposition;
use rsip::prelude::*;
use std::time::Duration;

/// tess, in the network team, with one phone at `phone` and a web log account.
async fn tess_with_a_phone(store: &Store, phone: u16) {
    technician(store, "tess", at(phone)).await;
    hotline::web::add_user(store, "tess", Role::Technician, PASSWORD)
        .await
        .unwrap();
}

#[tokio::test]
async fn a_double_click_on_call_back_rings_the_caller_once_and_refuses_the_second_with_409() {
    let (server, store, mut caller) = server_with_gateway().await;
    let phone = free_port();
    tess_with_a_phone(&store, phone).await;
    let earlier = network_callback_request(&store, "1001").await;
    let session = web_session(&server, "tess", PASSWORD).await;

    let tess = technician_phone(phone, "1", 0, 300, 4000);
    let reference = earlier.reference.to_string();
    let (first, second) = tokio::join!(
        press_reply(&server, &session, &reference, "callback"),
        press_reply(&server, &session, &reference, "callback"),
    );
    let refused = match (first.status, second.status) {
        (409, 303) => first,
        (303, 409) => second,
        statuses => panic!("one press starts the call-back, the other is refused: {statuses:?}"),
    };
    // Lost at the claim, or read the request already taken: either way the page says so.
    let why = refused.text();
    assert!(
        why.contains("another technician is already calling this caller back")
            || why.contains("this call is still in progress"),
        "{why}"
    );

    let invite = caller.answer_incoming(Duration::from_secs(30)).await;
    assert!(
        invite.uri.to_string().starts_with("sip:1001@"),
        "{}",
        invite.uri
    );
    talk_to_the_echoing_phone(&mut caller, tess).await;
    // A second caller leg would be another INVITE (a new Call-ID), answered by `recv` and kept.
    while caller.recv(Duration::from_millis(500)).await.is_some() {}
    let first_leg = invite.call_id_header().unwrap().value().to_string();
    let others = caller
        .server_requests
        .iter()
        .filter(|r| r.method == rsip::Method::Invite)
        .filter(|r| r.call_id_header().unwrap().value() != first_leg)
        .count();
    assert_eq!(others, 0, "the caller was rung a second time");
    let done = ticket_when(&store, &earlier.call_id, SETTLE, "callback_done", |t| {
        t.disposition == Disposition::CallbackDone
    })
    .await;
    assert_eq!(done.assignee.as_deref(), Some("tess"));
}

#[tokio::test]
async fn a_call_back_the_technician_declines_goes_back_to_the_call_back_requests() {
    let (server, store, mut caller) = server_with_gateway().await;
    let phone = free_port();
    tess_with_a_phone(&store, phone).await;
    let earlier = network_callback_request(&store, "1001").await;
    let session = web_session(&server, "tess", PASSWORD).await;

    // tess's phone rings 300 ms, then she presses "reject".
    let tess = phone_scenario(phone, "uas_decline.xml", &[]);
    let reference = earlier.reference.to_string();
    assert_eq!(press(&server, &session, &reference, "callback").await, 303);
    // Claimed before her phone rings: off the board, so nobody else calls this caller back.
    let claimed = store.ticket(earlier.id).await.unwrap().unwrap();
    assert_eq!(claimed.disposition, Disposition::InProgress);

    phone_succeeded(&tess.await.unwrap());
    ticket_when(
        &store,
        &earlier.call_id,
        SETTLE,
        "the request given back",
        |t| t.disposition == Disposition::CallbackRequested,
    )
    .await;
    assert!(
        caller.recv(Duration::from_millis(500)).await.is_none(),
        "the caller was not rung"
    );
    // Back on the board in its place, for the next "Call back" or `*8`.
    let board = store.callback_requests().await.unwrap();
    assert!(board.iter().any(|t| t.id == earlier.id), "{board:?}");
}
