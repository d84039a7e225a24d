//! Requests from a phone: CANCEL, merged requests, ACK matching, retransmissions, out-of-dialog.

use super::*;
use crate::sip::transaction::TransactionKey;
use rsip::StatusCode;

fn invite_transaction(outputs: &[Output]) -> TransactionKey {
    outputs
        .iter()
        .find_map(|o| match o {
            Output::NewCall { transaction, .. } => Some(transaction.clone()),
            _ => None,
        })
        .expect("a new call")
}

/// The phone's INVITE (`c1`) answered with a 200 carrying our tag `hd1`, `ms` after it came.
fn answered_call(h: &mut Harness, ms: u64) {
    let out = h.receive(&from_phone("INVITE", "z9hG4bK-i1", "c1", None, 1), 0);
    let key = invite_transaction(&out);
    let invite = request(&from_phone("INVITE", "z9hG4bK-i1", "c1", None, 1));
    let ok = message::response(&invite, StatusCode::OK, Some("hd1"));
    h.table.respond(&key, ok, h.at(ms));
}

#[test]
fn new_invite_gets_100_trying_and_becomes_a_call() {
    let mut h = Harness::new();
    let out = h.receive(&from_phone("INVITE", "z9hG4bK-i1", "c1", None, 1), 0);
    assert_eq!(codes(&out), [100]);
    let dialog = new_call(&out).expect("a new call");
    assert_eq!(dialog.call_id, "c1");
    assert_eq!(dialog.remote_tag, "alice1");
}

#[test]
fn cancel_gets_200_and_the_unanswered_invite_gets_487() {
    let mut h = Harness::new();
    h.receive(&from_phone("INVITE", "z9hG4bK-i1", "c1", None, 1), 0);
    let out = h.receive(&from_phone("CANCEL", "z9hG4bK-i1", "c1", None, 1), 300);
    let sent = responses(&out);
    let by_method: Vec<_> = sent
        .iter()
        .map(|r| {
            (
                r.status_code.code(),
                r.to_string().contains("CSeq: 1 INVITE"),
            )
        })
        .collect();
    assert_eq!(by_method, [(487, true), (200, false)]);
    assert!(matches!(signals(&out)[..], [CallSignal::Cancelled]));
    assert!(out.iter().any(|o| matches!(o, Output::DialogEnded(_))));
}

#[test]
fn cancel_after_the_answer_gets_200_and_changes_nothing() {
    let mut h = Harness::new();
    let out = h.receive(&from_phone("INVITE", "z9hG4bK-i1", "c1", None, 1), 0);
    let key = invite_transaction(&out);
    let invite = request(&from_phone("INVITE", "z9hG4bK-i1", "c1", None, 1));
    let ok = message::response(&invite, StatusCode::OK, Some("hd1"));
    h.table.respond(&key, ok, h.at(10));
    let out = h.receive(&from_phone("CANCEL", "z9hG4bK-i1", "c1", None, 1), 20);
    assert_eq!(codes(&out), [200]);
    assert!(signals(&out).is_empty());
}

#[test]
fn cancel_for_no_invite_gets_481() {
    let mut h = Harness::new();
    let out = h.receive(&from_phone("CANCEL", "z9hG4bK-none", "c9", None, 1), 0);
    assert_eq!(codes(&out), [481]);
}

#[test]
fn merged_request_on_a_new_branch_gets_482() {
    let mut h = Harness::new();
    h.receive(&from_phone("INVITE", "z9hG4bK-i1", "c1", None, 1), 0);
    // The same INVITE forked by a proxy and arriving again on another branch (§8.2.2.2).
    let out = h.receive(&from_phone("INVITE", "z9hG4bK-i2", "c1", None, 1), 5);
    assert_eq!(codes(&out), [482]);
    assert!(new_call(&out).is_none());
}

#[test]
fn retransmitted_invite_is_answered_by_its_transaction() {
    let mut h = Harness::new();
    let out = h.receive(&from_phone("INVITE", "z9hG4bK-i1", "c1", None, 1), 0);
    assert!(new_call(&out).is_some());
    let again = h.receive(&from_phone("INVITE", "z9hG4bK-i1", "c1", None, 1), 500);
    assert_eq!(codes(&again), [100], "the last response, again");
    assert!(new_call(&again).is_none(), "not a second call");
}

#[test]
fn ack_for_a_rejection_goes_to_the_transaction_not_the_call() {
    let mut h = Harness::new();
    let out = h.receive(&from_phone("INVITE", "z9hG4bK-i1", "c1", None, 1), 0);
    let key = invite_transaction(&out);
    let invite = request(&from_phone("INVITE", "z9hG4bK-i1", "c1", None, 1));
    let busy = message::response(&invite, StatusCode::BusyHere, Some("hd1"));
    assert_eq!(codes(&h.table.respond(&key, busy, h.at(10))), [486]);
    // Without the ACK, Timer G would retransmit the 486 at 500 ms.
    let ack = from_phone("ACK", "z9hG4bK-i1", "c1", Some("hd1"), 1);
    let out = h.receive(&ack, 100);
    assert!(signals(&out).is_empty(), "a non-2xx ACK is hop by hop");
    assert!(codes(&h.table.on_timer(h.at(600))).is_empty());
}

#[test]
fn ack_for_a_2xx_is_matched_by_dialog_and_stops_the_retransmissions() {
    let mut h = Harness::new();
    answered_call(&mut h, 10);
    assert_eq!(codes(&h.table.on_timer(h.at(510))), [200], "Timer G");
    // The ACK for a 2xx is a transaction of its own: new branch, same dialog (§13.2.2.4).
    let out = h.receive(&from_phone("ACK", "z9hG4bK-a1", "c1", Some("hd1"), 1), 600);
    assert!(matches!(signals(&out)[..], [CallSignal::Ack(_)]));
    assert!(codes(&h.table.on_timer(h.at(1510))).is_empty());
}

#[test]
fn unacknowledged_2xx_ends_the_call_after_64_t1() {
    let mut h = Harness::new();
    answered_call(&mut h, 0);
    let mut timed_out = None;
    while let Some(at) = h.table.next_deadline() {
        let out = h.table.on_timer(at);
        if signals(&out)
            .iter()
            .any(|s| matches!(s, CallSignal::AckTimeout))
        {
            timed_out = Some(at - h.t0);
        }
    }
    assert_eq!(timed_out, Some(Duration::from_secs(32)));
}

#[test]
fn options_is_answered_by_the_endpoint() {
    let mut h = Harness::new();
    let out = h.receive(&from_phone("OPTIONS", "z9hG4bK-o1", "o1", None, 1), 0);
    let sent = responses(&out);
    assert_eq!(sent.len(), 1);
    assert_eq!(sent[0].status_code, StatusCode::OK);
    assert!(sent[0]
        .to_string()
        .contains("Allow: INVITE, ACK, CANCEL, BYE, OPTIONS"));
}

#[test]
fn stray_bye_gets_481() {
    let mut h = Harness::new();
    let out = h.receive(&from_phone("BYE", "z9hG4bK-b1", "gone", Some("x"), 2), 0);
    assert_eq!(codes(&out), [481]);
    assert!(signals(&out).is_empty());
}

#[test]
fn bye_in_a_call_gets_200_and_ends_the_dialog() {
    let mut h = Harness::new();
    h.receive(&from_phone("INVITE", "z9hG4bK-i1", "c1", None, 1), 0);
    let out = h.receive(&from_phone("BYE", "z9hG4bK-b1", "c1", Some("hd1"), 2), 1000);
    assert_eq!(codes(&out), [200]);
    assert!(matches!(signals(&out)[..], [CallSignal::Bye]));
    // A second BYE on a new branch finds no dialog.
    let out = h.receive(&from_phone("BYE", "z9hG4bK-b2", "c1", Some("hd1"), 3), 1100);
    assert_eq!(codes(&out), [481]);
}

#[test]
fn info_digit_in_a_call_is_signalled_as_a_digit() {
    let mut h = Harness::new();
    h.receive(&from_phone("INVITE", "z9hG4bK-i1", "c1", None, 1), 0);
    let info = from_phone("INFO", "z9hG4bK-n1", "c1", Some("hd1"), 2).replace(
        "Content-Length: 0\r\n\r\n",
        "Content-Type: application/dtmf-relay\r\nContent-Length: 10\r\n\r\nSignal=7\r\n",
    );
    let out = h.receive(&info, 100);
    assert_eq!(codes(&out), [200]);
    match signals(&out)[..] {
        [CallSignal::InfoDigit(d)] => assert_eq!(d.as_char(), '7'),
        ref other => panic!("{other:?}"),
    }
}

#[test]
fn refer_in_a_call_is_handed_to_the_call_and_outside_one_gets_481() {
    let mut h = Harness::new();
    h.receive(&from_phone("INVITE", "z9hG4bK-i1", "c1", None, 1), 0);
    let refer = from_phone("REFER", "z9hG4bK-f1", "c1", Some("hd1"), 2).replace(
        "Content-Length: 0\r\n",
        "Refer-To: <sip:bob@hotline>\r\nContent-Length: 0\r\n",
    );
    let out = h.receive(&refer, 100);
    // The call answers it (202 or a refusal), not the endpoint.
    assert!(codes(&out).is_empty(), "{:?}", codes(&out));
    assert!(matches!(signals(&out)[..], [CallSignal::Refer { .. }]));
    let stray = from_phone("REFER", "z9hG4bK-f2", "gone", Some("x"), 2);
    assert_eq!(codes(&h.receive(&stray, 200)), [481]);
}

#[test]
fn after_stop_accepting_new_invites_get_503_with_retry_after() {
    let mut h = Harness::new();
    h.table.stop_accepting();
    let out = h.receive(&from_phone("INVITE", "z9hG4bK-i1", "c1", None, 1), 0);
    assert_eq!(codes(&out), [503]);
    assert!(responses(&out)[0].to_string().contains("Retry-After: 30"));
}

#[test]
fn register_is_handed_up_and_answered_later_through_its_transaction() {
    let mut h = Harness::new();
    h.table.set_register(true);
    let register = from_phone("REGISTER", "z9hG4bK-r1", "r1", None, 1);
    let out = h.receive(&register, 0);
    assert!(
        codes(&out).is_empty(),
        "the registrar answers, not the endpoint"
    );
    let key = out
        .iter()
        .find_map(|o| match o {
            Output::OutOfDialog { transaction, .. } => Some(transaction.clone()),
            _ => None,
        })
        .expect("handed up");
    // A retransmission while the registrar thinks is absorbed, not handed up twice.
    let again = h.receive(&register, 500);
    assert!(again.is_empty());
    let ok = message::response(&request(&register), StatusCode::OK, Some("reg"));
    assert_eq!(codes(&h.table.respond(&key, ok, h.at(700))), [200]);
    assert_eq!(
        codes(&h.receive(&register, 900)),
        [200],
        "Timer J keeps the answer"
    );
}

#[test]
fn register_gets_405_when_no_registrar_is_wired() {
    let mut h = Harness::new();
    let out = h.receive(&from_phone("REGISTER", "z9hG4bK-r1", "r1", None, 1), 0);
    assert_eq!(codes(&out), [405]);
}

#[test]
fn register_the_registrar_never_answers_is_dropped_after_64_t1() {
    let mut h = Harness::new();
    h.table.set_register(true);
    let register = from_phone("REGISTER", "z9hG4bK-r1", "r1", None, 1);
    h.receive(&register, 0);
    let at = h.table.next_deadline().expect("a give-up timer");
    assert_eq!(at - h.t0, Duration::from_secs(32));
    assert!(h.table.on_timer(at).is_empty(), "no response is invented");
    // The transaction is gone: the same request now counts as new and is handed up again.
    let again = h.receive(&register, 33_000);
    assert!(again
        .iter()
        .any(|o| matches!(o, Output::OutOfDialog { .. })));
}

#[test]
fn our_reinvite_in_a_call_we_answered_keeps_the_dialog_and_its_signals() {
    let mut h = Harness::new();
    answered_call(&mut h, 10);
    h.receive(&from_phone("ACK", "z9hG4bK-a1", "c1", Some("hd1"), 1), 20);

    // We put the call on hold: a re-INVITE from our tag to the phone's.
    let reinvite = "INVITE sip:alice@127.0.0.1:5070 SIP/2.0\r\n\
        Via: SIP/2.0/UDP 127.0.0.1:5060;branch=z9hG4bK-re1;rport\r\nMax-Forwards: 70\r\n\
        From: <sip:helpdesk@127.0.0.1>;tag=hd1\r\nTo: <sip:alice@127.0.0.1>;tag=alice1\r\n\
        Call-ID: c1\r\nCSeq: 1 INVITE\r\nContact: <sip:helpdesk@127.0.0.1:5060>\r\n\
        Content-Length: 0\r\n\r\n";
    let (_, out) = h
        .table
        .send_request(request(reinvite), Flow::Udp, phone(), h.at(1000))
        .unwrap();
    assert_eq!(requests(&out)[0].method, rsip::Method::Invite);
    let ok = message::response(&request(reinvite), StatusCode::OK, None).to_string();
    let out = h.receive(&ok, 1050);
    let dialogs: Vec<_> = out
        .iter()
        .filter_map(|o| match o {
            Output::Response { dialog, .. } => Some(dialog.clone()),
            _ => None,
        })
        .collect();
    assert_eq!(dialogs, [None], "the 2xx is reported, not as a new dialog");

    // The phone's BYE still reaches the call.
    let out = h.receive(&from_phone("BYE", "z9hG4bK-b1", "c1", Some("hd1"), 2), 2000);
    assert_eq!(codes(&out), [200]);
    assert!(matches!(signals(&out)[..], [CallSignal::Bye]));
}
