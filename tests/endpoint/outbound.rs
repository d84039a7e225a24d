//! Hotline places calls to SIPp's UAS: answered and hung up by either side, busy, cancelled
//! while ringing; over UDP and over TCP.

use super::{endpoint, Transport, Uas};
use hotline::sip::dialog::{Dialog, InviteBuilder};
use hotline::sip::endpoint::{CallSignal, EndpointHandle, InviteResponse, OutgoingInvite};
use hotline::sip::transport::Flow;
use rsip::{Method, Request};
use std::time::Duration;
use tokio::sync::mpsc;
use tokio::time::timeout;

/// How long a step of a call on loopback may take; SIPp answers in milliseconds.
const STEP: Duration = Duration::from_secs(10);

const OFFER: &str = "v=0\r\no=hotline 1 1 IN IP4 127.0.0.1\r\ns=-\r\nc=IN IP4 127.0.0.1\r\n\
    t=0 0\r\nm=audio 40000 RTP/AVP 0\r\na=rtpmap:0 PCMU/8000\r\n";

/// The flow to reach SIPp on: UDP, or a new TCP connection (SIPp has none to us).
async fn flow_to(endpoint: &EndpointHandle, uas: &Uas, transport: Transport) -> Flow {
    match transport {
        Transport::Udp => Flow::Udp,
        Transport::Tcp => {
            // SIPp takes a moment to listen after it starts: retry the connect until it does.
            let deadline = tokio::time::Instant::now() + STEP;
            loop {
                match endpoint.connect_tcp(uas.addr).await {
                    Ok(flow) => return flow,
                    Err(e) if tokio::time::Instant::now() > deadline => {
                        panic!("SIPp never listened on {}: {e}", uas.addr)
                    }
                    Err(_) => tokio::time::sleep(Duration::from_millis(50)).await,
                }
            }
        }
    }
}

/// Our INVITE to SIPp, with an SDP offer.
fn invite_to(endpoint: &EndpointHandle, uas: &Uas, flow: Flow) -> Request {
    let mut builder = InviteBuilder::new(
        &format!("sip:bob@{}", uas.addr),
        endpoint.local_addr(),
        flow,
    );
    builder.sdp = Some(OFFER.into());
    builder.build().unwrap()
}

async fn next(invite: &mut OutgoingInvite) -> InviteResponse {
    timeout(STEP, invite.next())
        .await
        .expect("a response in time")
        .expect("the transaction reports its outcome")
}

/// A call SIPp answered and we acknowledged.
struct Answered {
    dialog: Dialog,
    signals: mpsc::Receiver<CallSignal>,
    rang: bool,
}

/// Places a call and waits for the answer; ACKs it, and keeps ACKing retransmitted 2xx in the
/// background as a TU must (§13.2.2.4).
async fn place_call(endpoint: &EndpointHandle, uas: &Uas, flow: Flow) -> Answered {
    let request = invite_to(endpoint, uas, flow);
    let mut invite = endpoint
        .invite(request.clone(), flow, uas.addr)
        .await
        .unwrap();
    let mut rang = false;
    loop {
        match next(&mut invite).await {
            InviteResponse::Provisional(r) => rang |= r.status_code.code() == 180,
            InviteResponse::Accepted {
                response,
                dialog: Some(signals),
            } => {
                let dialog = Dialog::from_response(&request, &response, flow, uas.addr).unwrap();
                let ack = dialog.ack(1, endpoint.local_addr()).unwrap();
                endpoint.send_ack(ack.clone(), flow, uas.addr).await;
                let (endpoint, peer) = (endpoint.clone(), uas.addr);
                tokio::spawn(async move {
                    while let Some(event) = invite.next().await {
                        if let InviteResponse::Accepted { dialog: None, .. } = event {
                            endpoint.send_ack(ack.clone(), flow, peer).await;
                        }
                    }
                });
                return Answered {
                    dialog,
                    signals,
                    rang,
                };
            }
            other => panic!("expected the call to be answered, got {other:?}"),
        }
    }
}

async fn hotline_hangs_up(transport: Transport) {
    let (endpoint, _) = endpoint().await;
    let uas = Uas::start("uas_answers.xml", transport);
    let flow = flow_to(&endpoint, &uas, transport).await;
    let mut call = place_call(&endpoint, &uas, flow).await;
    assert!(call.rang, "the 180 was reported");
    assert_eq!(
        call.dialog.remote_target.split(';').next(),
        Some(format!("sip:bob@{}", uas.addr).as_str())
    );
    let bye = call
        .dialog
        .request(Method::Bye, endpoint.local_addr())
        .unwrap();
    let response = endpoint.request(bye, flow, call.dialog.peer).await.unwrap();
    assert_eq!(response.status_code.code(), 200);
    endpoint
        .forget(&call.dialog.call_id, &call.dialog.remote_tag)
        .await;
    uas.assert_passed().await;
}

async fn callee_hangs_up(transport: Transport) {
    let (endpoint, _) = endpoint().await;
    let uas = Uas::start("uas_hangs_up.xml", transport);
    let flow = flow_to(&endpoint, &uas, transport).await;
    let mut call = place_call(&endpoint, &uas, flow).await;
    let signal = timeout(STEP, call.signals.recv())
        .await
        .expect("SIPp hangs up");
    assert!(matches!(signal, Some(CallSignal::Bye)), "{signal:?}");
    // SIPp's scenario only passes if our 200 for its BYE arrived.
    uas.assert_passed().await;
}

async fn busy_callee(transport: Transport) {
    let (endpoint, _) = endpoint().await;
    let uas = Uas::start("uas_busy.xml", transport);
    let flow = flow_to(&endpoint, &uas, transport).await;
    let request = invite_to(&endpoint, &uas, flow);
    let mut invite = endpoint.invite(request, flow, uas.addr).await.unwrap();
    match next(&mut invite).await {
        InviteResponse::Rejected(r) => assert_eq!(r.status_code.code(), 486),
        other => panic!("expected 486, got {other:?}"),
    }
    // SIPp waits for the ACK of the 486, which the transaction sends by itself.
    uas.assert_passed().await;
}

async fn cancel_while_ringing(transport: Transport) {
    let (endpoint, _) = endpoint().await;
    let uas = Uas::start("uas_rings.xml", transport);
    let flow = flow_to(&endpoint, &uas, transport).await;
    let request = invite_to(&endpoint, &uas, flow);
    let mut invite = endpoint.invite(request, flow, uas.addr).await.unwrap();
    match next(&mut invite).await {
        InviteResponse::Provisional(r) if r.status_code.code() == 180 => {}
        other => panic!("expected 180, got {other:?}"),
    }
    invite.cancel().await;
    match next(&mut invite).await {
        InviteResponse::Rejected(r) => assert_eq!(r.status_code.code(), 487),
        other => panic!("expected 487, got {other:?}"),
    }
    uas.assert_passed().await;
}

#[tokio::test]
async fn outbound_call_over_udp_is_answered_and_hotline_hangs_up() {
    hotline_hangs_up(Transport::Udp).await;
}

#[tokio::test]
async fn outbound_call_over_tcp_is_answered_and_hotline_hangs_up() {
    hotline_hangs_up(Transport::Tcp).await;
}

#[tokio::test]
async fn outbound_call_over_udp_ends_when_the_callee_hangs_up() {
    callee_hangs_up(Transport::Udp).await;
}

#[tokio::test]
async fn outbound_call_over_tcp_ends_when_the_callee_hangs_up() {
    callee_hangs_up(Transport::Tcp).await;
}

#[tokio::test]
async fn busy_callee_over_udp_is_reported_and_acked() {
    busy_callee(Transport::Udp).await;
}

#[tokio::test]
async fn busy_callee_over_tcp_is_reported_and_acked() {
    busy_callee(Transport::Tcp).await;
}

#[tokio::test]
async fn call_cancelled_while_ringing_over_udp_gets_487() {
    cancel_while_ringing(Transport::Udp).await;
}

#[tokio::test]
async fn call_cancelled_while_ringing_over_tcp_gets_487() {
    cancel_while_ringing(Transport::Tcp).await;
}
