//! The endpoint's timers on real sockets with tokio's paused clock: 32 s of Timer A and B pass
//! in milliseconds, and the phone's socket counts what Hotline really sent.

use super::endpoint;
use hotline::sip::dialog::InviteBuilder;
use hotline::sip::endpoint::InviteResponse;
use hotline::sip::message;
use hotline::sip::transport::Flow;
use rsip::SipMessage;
use std::time::Duration;
use tokio::net::UdpSocket;

/// Every request that reached `socket` so far, by method.
fn received_methods(socket: &UdpSocket) -> Vec<String> {
    let mut buf = vec![0; 65536];
    let mut methods = Vec::new();
    while let Ok(n) = socket.try_recv(&mut buf) {
        if let Ok(SipMessage::Request(r)) = message::parse(&buf[..n]) {
            methods.push(r.method.to_string());
        }
    }
    methods
}

/// Starts an INVITE to a phone that never answers; returns the phone's socket and the attempt.
async fn call_silent_phone() -> (
    UdpSocket,
    hotline::sip::endpoint::OutgoingInvite,
    tokio::time::Instant,
) {
    let (endpoint, _) = endpoint().await;
    let phone = UdpSocket::bind("127.0.0.1:0").await.unwrap();
    let dest = phone.local_addr().unwrap();
    let request = InviteBuilder::new(
        &format!("sip:tech@{dest}"),
        endpoint.local_addr(),
        Flow::Udp,
    )
    .build()
    .unwrap();
    let start = tokio::time::Instant::now();
    let invite = endpoint.invite(request, Flow::Udp, dest).await.unwrap();
    (phone, invite, start)
}

#[tokio::test(start_paused = true)]
async fn unanswered_invite_is_sent_seven_times_then_times_out_at_32_s() {
    let (phone, mut invite, start) = call_silent_phone().await;
    let event = invite.next().await;
    assert!(matches!(event, Some(InviteResponse::TimedOut)), "{event:?}");
    assert_eq!(start.elapsed(), Duration::from_secs(32));
    // Sent at 0 s, then Timer A at 0.5, 1.5, 3.5, 7.5, 15.5 and 31.5 s.
    assert_eq!(received_methods(&phone), ["INVITE"; 7]);
    assert!(invite.next().await.is_none(), "nothing after the timeout");
}

#[tokio::test(start_paused = true)]
async fn cancel_before_any_provisional_sends_no_cancel_and_times_out() {
    let (phone, mut invite, start) = call_silent_phone().await;
    invite.cancel().await;
    let event = invite.next().await;
    assert!(matches!(event, Some(InviteResponse::TimedOut)), "{event:?}");
    assert_eq!(start.elapsed(), Duration::from_secs(32));
    let methods = received_methods(&phone);
    assert!(!methods.iter().any(|m| m == "CANCEL"), "§9.1: {methods:?}");
}
