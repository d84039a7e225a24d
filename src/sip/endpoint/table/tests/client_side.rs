//! Requests Hotline sends: an outbound INVITE through ringing, answer, fork, rejection, CANCEL
//! and timeout; a BYE; and the callee's requests in the dialog the 2xx created.

use super::*;
use crate::sip::transaction::TransactionKey;
use rsip::{Method, StatusCode};

const OUR_INVITE: &str = "INVITE sip:bob@127.0.0.1:5070 SIP/2.0\r\n\
    Via: SIP/2.0/UDP 127.0.0.1:5060;branch=z9hG4bK-out1;rport\r\nMax-Forwards: 70\r\n\
    From: <sip:helpdesk@127.0.0.1>;tag=hd1\r\nTo: <sip:bob@127.0.0.1>\r\nCall-ID: out-1\r\n\
    CSeq: 1 INVITE\r\nContact: <sip:helpdesk@127.0.0.1:5060>\r\nContent-Length: 0\r\n\r\n";

/// Starts our INVITE to the phone over UDP at t0.
fn place_call(h: &mut Harness) -> (TransactionKey, Vec<Output>) {
    h.table
        .send_request(request(OUR_INVITE), Flow::Udp, phone(), h.t0)
        .unwrap()
}

/// The callee's response to our INVITE.
fn answer(code: u16, to_tag: &str) -> String {
    message::response(&request(OUR_INVITE), StatusCode::from(code), Some(to_tag)).to_string()
}

/// What the TU hears about its client transactions: (status or 0 for a timeout, new dialog tag).
fn reported(outputs: &[Output]) -> Vec<(u16, Option<String>)> {
    outputs
        .iter()
        .filter_map(|o| match o {
            Output::Response {
                response, dialog, ..
            } => Some((
                response.status_code.code(),
                dialog.as_ref().map(|d| d.remote_tag.clone()),
            )),
            Output::TimedOut { .. } => Some((0, None)),
            _ => None,
        })
        .collect()
}

fn ended(outputs: &[Output]) -> bool {
    outputs
        .iter()
        .any(|o| matches!(o, Output::ClientEnded { .. }))
}

#[test]
fn placed_call_reports_ringing_and_answer_and_routes_the_callees_bye() {
    let mut h = Harness::new();
    let (_, out) = place_call(&mut h);
    assert_eq!(requests(&out)[0].method, Method::Invite);
    assert!(reported(&h.receive(&answer(100, "bob1"), 50)).len() == 1);
    assert_eq!(
        reported(&h.receive(&answer(180, "bob1"), 100)),
        [(180, None)]
    );
    let out = h.receive(&answer(200, "bob1"), 3000);
    assert_eq!(reported(&out), [(200, Some("bob1".into()))]);
    assert!(
        requests(&out).is_empty(),
        "the TU ACKs a 2xx, not the transaction"
    );

    // The callee hangs up: its BYE carries its tag in From and ours in To.
    let bye = "BYE sip:helpdesk@127.0.0.1:5060 SIP/2.0\r\n\
        Via: SIP/2.0/UDP 127.0.0.1:5070;branch=z9hG4bK-bye1\r\nMax-Forwards: 70\r\n\
        From: <sip:bob@127.0.0.1>;tag=bob1\r\nTo: <sip:helpdesk@127.0.0.1>;tag=hd1\r\n\
        Call-ID: out-1\r\nCSeq: 1 BYE\r\nContent-Length: 0\r\n\r\n";
    let out = h.receive(bye, 9000);
    assert_eq!(codes(&out), [200]);
    assert!(matches!(signals(&out)[..], [CallSignal::Bye]));
}

#[test]
fn retransmitted_and_forked_2xx_are_all_reported_each_new_tag_as_a_new_dialog() {
    let mut h = Harness::new();
    place_call(&mut h);
    h.receive(&answer(180, "bob1"), 100);
    assert_eq!(
        reported(&h.receive(&answer(200, "bob1"), 1000)),
        [(200, Some("bob1".into()))]
    );
    assert_eq!(
        reported(&h.receive(&answer(200, "bob1"), 1500)),
        [(200, None)]
    );
    assert_eq!(
        reported(&h.receive(&answer(200, "carol1"), 1600)),
        [(200, Some("carol1".into()))]
    );
    // Timer M: 64·T1 after the first 2xx the transaction ends; later 2xx are strays.
    let out = h.table.on_timer(h.at(1000 + 32_000));
    assert!(ended(&out));
    assert!(h.receive(&answer(200, "bob1"), 40_000).is_empty());
}

#[test]
fn unanswered_invite_is_retransmitted_then_reported_as_timed_out() {
    let mut h = Harness::new();
    place_call(&mut h);
    let mut sends = Vec::new();
    let mut timed_out = None;
    while let Some(at) = h.table.next_deadline() {
        let out = h.table.on_timer(at);
        sends.extend(requests(&out).iter().map(|_| (at - h.t0).as_millis()));
        if reported(&out) == [(0, None)] {
            assert!(ended(&out));
            timed_out = Some(at - h.t0);
        }
    }
    assert_eq!(sends, [500, 1500, 3500, 7500, 15500, 31500]);
    assert_eq!(timed_out, Some(Duration::from_secs(32)));
}

#[test]
fn busy_callee_is_acked_and_reported_once() {
    let mut h = Harness::new();
    place_call(&mut h);
    let out = h.receive(&answer(486, "bob1"), 200);
    assert_eq!(reported(&out), [(486, None)]);
    let ack = &requests(&out)[0];
    assert_eq!(ack.method, Method::Ack);
    assert!(ack.to_string().contains("branch=z9hG4bK-out1"));
    let again = h.receive(&answer(486, "bob1"), 700);
    assert!(reported(&again).is_empty());
    assert_eq!(requests(&again)[0].method, Method::Ack);
    assert!(ended(&h.table.on_timer(h.at(200 + 32_000))), "Timer D");
}

#[test]
fn cancel_waits_for_ringing_then_the_487_ends_the_attempt() {
    let mut h = Harness::new();
    let (key, _) = place_call(&mut h);
    assert!(h.table.cancel_invite(&key, h.at(10)).is_empty());
    let out = h.receive(&answer(180, "bob1"), 300);
    assert_eq!(reported(&out), [(180, None)]);
    let cancel = requests(&out)
        .into_iter()
        .find(|r| r.method == Method::Cancel)
        .expect("CANCEL once ringing");
    // The callee answers the CANCEL (not reported: it is the endpoint's) and the INVITE.
    let cancel_ok = message::response(&cancel, StatusCode::OK, None).to_string();
    assert!(reported(&h.receive(&cancel_ok, 350)).is_empty());
    let out = h.receive(&answer(487, "bob1"), 360);
    assert_eq!(reported(&out), [(487, None)]);
    assert_eq!(requests(&out)[0].method, Method::Ack);
}

#[test]
fn invite_that_cannot_be_sent_is_reported_as_timed_out() {
    let mut h = Harness::new();
    let (key, _) = place_call(&mut h);
    let out = h.table.on_transport_error(&key, h.at(1));
    assert_eq!(reported(&out), [(0, None)]);
    assert!(ended(&out));
    assert_eq!(h.table.next_deadline().map(|d| d > h.at(1)), Some(true));
    assert!(
        h.table.on_timer(h.at(40_000)).is_empty(),
        "nothing left to run"
    );
}

#[test]
fn bye_reports_its_final_response_only() {
    let mut h = Harness::new();
    let bye = "BYE sip:bob@127.0.0.1:5070 SIP/2.0\r\n\
        Via: SIP/2.0/UDP 127.0.0.1:5060;branch=z9hG4bK-ourbye\r\nMax-Forwards: 70\r\n\
        From: <sip:helpdesk@127.0.0.1>;tag=hd1\r\nTo: <sip:bob@127.0.0.1>;tag=bob1\r\n\
        Call-ID: out-1\r\nCSeq: 2 BYE\r\nContent-Length: 0\r\n\r\n";
    h.table
        .send_request(request(bye), Flow::Udp, phone(), h.t0)
        .unwrap();
    let trying = message::response(&request(bye), StatusCode::Trying, None).to_string();
    assert!(reported(&h.receive(&trying, 10)).is_empty());
    let ok = message::response(&request(bye), StatusCode::OK, None).to_string();
    assert_eq!(reported(&h.receive(&ok, 20)), [(200, None)]);
}

#[test]
fn a_second_request_on_a_running_branch_is_refused() {
    let mut h = Harness::new();
    place_call(&mut h);
    assert!(h
        .table
        .send_request(request(OUR_INVITE), Flow::Udp, phone(), h.t0)
        .is_err());
}
