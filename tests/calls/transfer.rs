//! Blind transfer from a desk phone (the Rust test UA as the technician's phone): REFER in the
//! conversation's dialog, 202, and the transferor told how it went (RFC 3515 §2.4.4) before
//! Hotline hangs up its leg.

use super::routing::{network_team, p1_network_call, routing_server, technician};
use crate::support::ua::Ua;
use hotline::sip::message;
use hotline::store::Store;
use hotline::tickets::CallEventKind;
use std::time::Duration;

async fn has_event(store: &Store, call_id: &str, kind: CallEventKind, detail: &str) -> bool {
    let Some(ticket) = store.ticket_by_call_id(call_id).await.unwrap() else {
        return false;
    };
    let events = store.events(ticket.id).await.unwrap();
    events
        .iter()
        .any(|e| e.kind == kind && e.detail.starts_with(detail))
}

#[tokio::test]
async fn a_desk_phone_transfer_is_notified_trying_then_the_targets_200_before_the_bye() {
    let server = routing_server().await;
    let store = server.server.as_ref().unwrap().store().clone();
    let tom = Ua::udp(server.sip).await;
    let bob = Ua::udp(server.sip).await;
    network_team(&store, &[("tom", tom.local())], None).await;
    technician(&store, "bob", bob.local()).await;
    let mut caller = p1_network_call(&server).await;

    // tom's phone rings, he takes the call with 1 at the announcement.
    let answering = tokio::spawn(async move {
        let mut tom = tom;
        let invite = tom.answer_incoming(Duration::from_secs(30)).await;
        (tom, invite)
    });
    while !answering.is_finished() {
        caller.send_silence(100).await;
    }
    let (mut tom, invite) = answering.await.unwrap();
    let allow = message::header_value(&invite.headers, "Allow").unwrap_or_default();
    assert!(
        allow.contains("REFER"),
        "the INVITE allows REFER: {allow:?}"
    );
    let mut taken = false;
    for _ in 0..40 {
        tom.press_rfc4733('1').await;
        caller.send_silence(200).await;
        if has_event(
            &store,
            &caller.call_id,
            CallEventKind::TechnicianAnswered,
            "tom on ",
        )
        .await
        {
            taken = true;
            break;
        }
    }
    assert!(taken, "tom's 1 never took the call");

    // tom's Transfer key: a REFER to bob in the call's dialog.
    let refer = tom.request("REFER", None, None).replace(
        "Content-Length:",
        "Refer-To: <sip:bob@hotline>\r\nContent-Length:",
    );
    tom.send_raw(refer.as_bytes()).await;
    let accepted = tom.final_response(Duration::from_secs(5)).await.unwrap();
    assert_eq!(accepted.status_code.code(), 202, "{accepted}");
    // tom's phone answers whatever Hotline sends (200) until its BYE.
    let transferor = tokio::spawn(async move {
        tom.expect_bye(Duration::from_secs(30)).await;
        tom
    });

    let answering = tokio::spawn(async move {
        let mut bob = bob;
        let invite = bob.answer_incoming(Duration::from_secs(30)).await;
        (bob, invite)
    });
    while !answering.is_finished() {
        caller.send_silence(100).await;
    }
    let (mut bob, invite) = answering.await.unwrap();
    assert!(invite.to_string().contains("transfer from tom"), "{invite}");
    while !transferor.is_finished() {
        caller.send_silence(100).await;
    }
    let tom = transferor.await.unwrap();

    // Before its BYE, tom's phone had exactly two NOTIFYs, in order.
    let requests: Vec<String> = tom
        .server_requests
        .iter()
        .filter(|r| r.method != rsip::Method::Ack)
        .map(|r| r.to_string())
        .collect();
    assert_eq!(requests.len(), 2, "{requests:#?}");
    let (trying, last) = (&requests[0], &requests[1]);
    for notify in [trying, last] {
        assert!(notify.starts_with("NOTIFY "), "{notify}");
        assert!(notify.contains("Event: refer\r\n"), "{notify}");
        assert!(
            notify.contains("Content-Type: message/sipfrag;version=2.0\r\n"),
            "{notify}"
        );
    }
    assert!(trying.contains("Subscription-State: active"), "{trying}");
    assert!(
        trying.ends_with("\r\n\r\nSIP/2.0 100 Trying\r\n"),
        "{trying}"
    );
    assert!(
        last.contains("Subscription-State: terminated;reason=noresource\r\n"),
        "{last}"
    );
    assert!(last.ends_with("\r\n\r\nSIP/2.0 200 OK\r\n"), "{last}");
    assert!(
        has_event(
            &store,
            &caller.call_id,
            CallEventKind::Transferred,
            "tom → bob"
        )
        .await,
        "the timeline has the transfer"
    );

    // The caller gives up during bob's announcement: bob's leg is hung up too.
    assert_eq!(caller.bye().await.status_code.code(), 200);
    bob.expect_bye(Duration::from_secs(10)).await;
}
