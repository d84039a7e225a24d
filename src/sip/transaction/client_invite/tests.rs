//! The INVITE client transaction against RFC 3261's timer tables (§17.1.1.2, Table 4).

use super::*;
use crate::sip::message;
use rsip::StatusCode;

fn invite() -> Request {
    let raw = "INVITE sip:bob@127.0.0.1:5070 SIP/2.0\r\n\
        Via: SIP/2.0/UDP 127.0.0.1:5060;branch=z9hG4bK-inv;rport\r\nMax-Forwards: 70\r\n\
        Route: <sip:proxy.example;lr>\r\n\
        From: <sip:helpdesk@127.0.0.1>;tag=hd1\r\nTo: <sip:bob@127.0.0.1>\r\nCall-ID: out-1\r\n\
        CSeq: 1 INVITE\r\nContact: <sip:helpdesk@127.0.0.1:5060>\r\nContent-Length: 0\r\n\r\n";
    match message::parse(raw.as_bytes()).unwrap() {
        SipMessage::Request(r) => r,
        _ => unreachable!(),
    }
}

/// A response of the callee to our INVITE, with its To tag.
fn response(code: u16) -> Response {
    let tag = (code > 100).then_some("bob1");
    message::response(&invite(), StatusCode::from(code), tag)
}

fn transmitted(actions: &[Action]) -> Vec<Request> {
    actions
        .iter()
        .filter_map(|a| match a {
            Action::Transmit(SipMessage::Request(r)) => Some(r.clone()),
            _ => None,
        })
        .collect()
}

fn ms(d: Duration) -> u128 {
    d.as_millis()
}

#[test]
fn unanswered_invite_is_retransmitted_doubling_then_timer_b_fires_at_32_s() {
    let t0 = Instant::now();
    let (mut tx, first) = ClientInviteTransaction::start(invite(), false, Timers::default(), t0);
    assert_eq!(transmitted(&first).len(), 1);
    let mut sends = Vec::new();
    let mut timed_out = None;
    while let Some(d) = tx.next_deadline() {
        let actions = tx.on_timer(d);
        if actions.contains(&Action::TimedOut) {
            timed_out = Some(d - t0);
        }
        sends.extend(transmitted(&actions).iter().map(|_| ms(d - t0)));
    }
    // Timer A: T1, then doubling with no T2 cap.
    assert_eq!(sends, [500, 1500, 3500, 7500, 15500, 31500]);
    assert_eq!(timed_out, Some(Duration::from_secs(32)));
    assert_eq!(tx.state(), State::Terminated);
}

#[test]
fn over_tcp_the_invite_is_sent_once_and_timer_b_still_fires() {
    let t0 = Instant::now();
    let (mut tx, _) = ClientInviteTransaction::start(invite(), true, Timers::default(), t0);
    let d = tx.next_deadline().unwrap();
    assert_eq!(d - t0, Duration::from_secs(32));
    assert_eq!(tx.on_timer(d), vec![Action::TimedOut, Action::Terminated]);
}

#[test]
fn a_provisional_response_stops_retransmissions_and_timer_b() {
    let t0 = Instant::now();
    let (mut tx, _) = ClientInviteTransaction::start(invite(), false, Timers::default(), t0);
    let ringing = response(180);
    let actions = tx.on_response(ringing.clone(), t0 + Duration::from_millis(200));
    assert_eq!(actions, vec![Action::Deliver(ringing)]);
    assert_eq!(tx.state(), State::Proceeding);
    assert_eq!(tx.next_deadline(), None, "the callee may ring for minutes");
}

#[test]
fn rejection_is_acked_on_the_invite_branch_and_retransmissions_are_acked_until_timer_d() {
    let t0 = Instant::now();
    let (mut tx, _) = ClientInviteTransaction::start(invite(), false, Timers::default(), t0);
    let busy = response(486);
    let actions = tx.on_response(busy.clone(), t0);
    assert!(actions.contains(&Action::Deliver(busy.clone())));
    let ack = &transmitted(&actions)[0];
    assert_eq!(ack.method, Method::Ack);
    assert_eq!(ack.uri, invite().uri);
    let text = ack.to_string();
    assert!(text.contains("branch=z9hG4bK-inv"), "{text}");
    assert!(text.contains("To: <sip:bob@127.0.0.1>;tag=bob1"), "{text}");
    assert!(text.contains("CSeq: 1 ACK"), "{text}");
    assert!(text.contains("Route: <sip:proxy.example;lr>"), "{text}");
    assert_eq!(tx.state(), State::Completed);

    // A retransmitted 486 is ACKed again and not passed up a second time.
    let again = tx.on_response(busy, t0 + Duration::from_secs(1));
    assert_eq!(transmitted(&again).len(), 1);
    assert!(!again.iter().any(|a| matches!(a, Action::Deliver(_))));

    let d = tx.next_deadline().unwrap();
    assert_eq!(d - t0, Duration::from_secs(32), "Timer D over UDP");
    assert_eq!(tx.on_timer(d), vec![Action::Terminated]);
}

#[test]
fn over_tcp_timer_d_is_zero() {
    let t0 = Instant::now();
    let (mut tx, _) = ClientInviteTransaction::start(invite(), true, Timers::default(), t0);
    let actions = tx.on_response(response(603), t0);
    assert_eq!(actions.last(), Some(&Action::Terminated));
    assert_eq!(tx.state(), State::Terminated);
}

#[test]
fn every_2xx_is_passed_up_and_none_is_acked_by_the_transaction() {
    let t0 = Instant::now();
    let (mut tx, _) = ClientInviteTransaction::start(invite(), false, Timers::default(), t0);
    let ok = response(200);
    assert_eq!(
        tx.on_response(ok.clone(), t0),
        vec![Action::Deliver(ok.clone())]
    );
    assert_eq!(tx.state(), State::Accepted);
    // A retransmission, and a second branch of a forked INVITE with another To tag.
    let other = message::response(&invite(), StatusCode::OK, Some("carol1"));
    assert_eq!(tx.on_response(ok.clone(), t0), vec![Action::Deliver(ok)]);
    assert_eq!(
        tx.on_response(other.clone(), t0),
        vec![Action::Deliver(other)]
    );
    // Timer M (64·T1) ends the Accepted state; no retransmission of the INVITE meanwhile.
    let d = tx.next_deadline().unwrap();
    assert_eq!(d - t0, Duration::from_secs(32));
    assert_eq!(tx.on_timer(d), vec![Action::Terminated]);
}

#[test]
fn cancel_before_any_provisional_waits_for_one() {
    let t0 = Instant::now();
    let (mut tx, _) = ClientInviteTransaction::start(invite(), false, Timers::default(), t0);
    assert!(tx.cancel(t0).is_empty(), "§9.1: no CANCEL before a 1xx");
    let actions = tx.on_response(response(180), t0 + Duration::from_secs(1));
    let cancel = actions
        .iter()
        .find_map(|a| match a {
            Action::Cancel(r) => Some(r.clone()),
            _ => None,
        })
        .expect("CANCEL once the callee rings");
    assert_eq!(cancel.method, Method::Cancel);
    assert_eq!(cancel.uri, invite().uri);
    let text = cancel.to_string();
    assert!(text.contains("branch=z9hG4bK-inv"), "{text}");
    assert!(text.contains("CSeq: 1 CANCEL"), "{text}");
    assert!(
        text.contains("To: <sip:bob@127.0.0.1>\r\n"),
        "no To tag: {text}"
    );
    assert!(text.contains("Call-ID: out-1"), "{text}");
}

#[test]
fn cancel_without_any_provisional_gives_up_on_timer_b() {
    let t0 = Instant::now();
    let (mut tx, _) = ClientInviteTransaction::start(invite(), true, Timers::default(), t0);
    tx.cancel(t0);
    let d = tx.next_deadline().unwrap();
    assert_eq!(d - t0, Duration::from_secs(32));
    assert_eq!(tx.on_timer(d), vec![Action::TimedOut, Action::Terminated]);
}

#[test]
fn cancel_while_ringing_is_sent_once_and_the_487_is_acked() {
    let t0 = Instant::now();
    let (mut tx, _) = ClientInviteTransaction::start(invite(), false, Timers::default(), t0);
    tx.on_response(response(180), t0);
    let first = tx.cancel(t0 + Duration::from_secs(2));
    assert!(matches!(first.as_slice(), [Action::Cancel(_)]));
    assert!(tx.cancel(t0 + Duration::from_secs(3)).is_empty());
    let actions = tx.on_response(response(487), t0 + Duration::from_secs(3));
    assert_eq!(transmitted(&actions)[0].method, Method::Ack);
    assert_eq!(tx.state(), State::Completed);
}

#[test]
fn a_cancelled_invite_without_final_response_is_given_up_after_64_t1() {
    let t0 = Instant::now();
    let (mut tx, _) = ClientInviteTransaction::start(invite(), true, Timers::default(), t0);
    tx.on_response(response(180), t0);
    tx.cancel(t0 + Duration::from_secs(10));
    let d = tx.next_deadline().unwrap();
    assert_eq!(d - t0, Duration::from_secs(42));
    assert_eq!(tx.on_timer(d), vec![Action::TimedOut, Action::Terminated]);
}

#[test]
fn cancel_after_the_final_response_sends_nothing() {
    let t0 = Instant::now();
    let (mut tx, _) = ClientInviteTransaction::start(invite(), false, Timers::default(), t0);
    tx.on_response(response(200), t0);
    assert!(tx.cancel(t0).is_empty());
}
