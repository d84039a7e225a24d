//! REGISTER handed to a registrar through the endpoint, answered later through its transaction;
//! refused again once nobody takes it. And a call to a phone over the TCP connection it
//! registered on.

use super::endpoint_with_registrar;
use hotline::sip::dialog::InviteBuilder;
use hotline::sip::endpoint::InviteResponse;
use hotline::sip::message;
use hotline::sip::transport::framing::StreamFramer;
use hotline::sip::transport::Flow;
use rsip::{Response, SipMessage, StatusCode};
use std::net::SocketAddr;
use std::time::Duration;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpStream, UdpSocket};
use tokio::time::timeout;

const STEP: Duration = Duration::from_secs(5);

fn register(phone: SocketAddr, transport: &str, branch: &str) -> String {
    format!(
        "REGISTER sip:127.0.0.1 SIP/2.0\r\nVia: SIP/2.0/{transport} {phone};branch={branch};rport\r\n\
         Max-Forwards: 70\r\nFrom: <sip:tech1@127.0.0.1>;tag=ph1\r\nTo: <sip:tech1@127.0.0.1>\r\n\
         Call-ID: reg-{branch}\r\nCSeq: 1 REGISTER\r\nContact: <sip:tech1@{phone}>\r\n\
         Expires: 300\r\nContent-Length: 0\r\n\r\n"
    )
}

async fn udp_response(socket: &UdpSocket) -> Response {
    let mut buf = vec![0; 65536];
    let n = timeout(STEP, socket.recv(&mut buf))
        .await
        .expect("an answer")
        .unwrap();
    match message::parse(&buf[..n]).unwrap() {
        SipMessage::Response(r) => r,
        other => panic!("expected a response, got {other}"),
    }
}

#[tokio::test]
async fn register_is_handed_to_the_registrar_and_its_answer_reaches_the_phone() {
    let (endpoint, mut registrar) = endpoint_with_registrar().await;
    let phone = UdpSocket::bind("127.0.0.1:0").await.unwrap();
    phone.connect(endpoint.local_addr()).await.unwrap();
    let me = phone.local_addr().unwrap();
    phone
        .send(register(me, "UDP", "z9hG4bK-r1").as_bytes())
        .await
        .unwrap();
    let handed = timeout(STEP, registrar.recv()).await.unwrap().unwrap();
    assert_eq!(handed.request.method, rsip::Method::Register);
    assert_eq!(handed.flow, Flow::Udp);
    assert_eq!(handed.source, me);
    let ok = message::response(&handed.request, StatusCode::OK, Some("reg1"));
    endpoint.respond(&handed.transaction, ok).await;
    assert_eq!(udp_response(&phone).await.status_code, StatusCode::OK);

    // With a registrar, OPTIONS says REGISTER is allowed.
    let options = register(me, "UDP", "z9hG4bK-o1").replace("REGISTER", "OPTIONS");
    phone.send(options.as_bytes()).await.unwrap();
    let allow = message::header_value(&udp_response(&phone).await.headers, "Allow").unwrap();
    assert!(allow.ends_with(", REGISTER"), "{allow}");

    // The registrar goes away: REGISTER is refused as if none had been wired.
    drop(registrar);
    phone
        .send(register(me, "UDP", "z9hG4bK-r2").as_bytes())
        .await
        .unwrap();
    let refused = udp_response(&phone).await;
    assert_eq!(refused.status_code.code(), 405);
    let allow = message::header_value(&refused.headers, "Allow").unwrap();
    assert!(!allow.contains("REGISTER"), "{allow}");
}

/// Reads the next SIP message from a TCP stream.
async fn read_message(stream: &mut TcpStream, framer: &mut StreamFramer) -> SipMessage {
    let mut buf = vec![0; 16384];
    loop {
        if let Some(raw) = framer.next_message().unwrap() {
            return message::parse(&raw).unwrap();
        }
        let n = timeout(STEP, stream.read(&mut buf))
            .await
            .expect("a message")
            .unwrap();
        assert!(n > 0, "Hotline closed the connection");
        framer.push(&buf[..n]);
    }
}

#[tokio::test]
async fn a_phone_registered_over_tcp_is_called_on_its_own_connection() {
    let (endpoint, mut registrar) = endpoint_with_registrar().await;
    let mut phone = TcpStream::connect(endpoint.local_addr()).await.unwrap();
    let me = phone.local_addr().unwrap();
    let mut framer = StreamFramer::new();
    phone
        .write_all(register(me, "TCP", "z9hG4bK-t1").as_bytes())
        .await
        .unwrap();
    let handed = timeout(STEP, registrar.recv()).await.unwrap().unwrap();
    assert!(matches!(handed.flow, Flow::Tcp(_)), "{:?}", handed.flow);
    let ok = message::response(&handed.request, StatusCode::OK, Some("reg1"));
    endpoint.respond(&handed.transaction, ok).await;
    assert!(matches!(
        read_message(&mut phone, &mut framer).await,
        SipMessage::Response(r) if r.status_code == StatusCode::OK
    ));

    // The INVITE goes down the connection the phone registered on, not a new one: a phone
    // behind NAT can only be reached that way (RFC 5626's idea, without its Outbound options).
    let request = InviteBuilder::new(
        &format!("sip:tech1@{me}"),
        endpoint.local_addr(),
        handed.flow,
    )
    .build()
    .unwrap();
    let mut invite = endpoint
        .invite(request, handed.flow, handed.source)
        .await
        .unwrap();
    let SipMessage::Request(received) = read_message(&mut phone, &mut framer).await else {
        panic!("expected the INVITE")
    };
    assert_eq!(received.method, rsip::Method::Invite);
    let busy = message::response(&received, StatusCode::BusyHere, Some("ph2"));
    phone.write_all(busy.to_string().as_bytes()).await.unwrap();
    match timeout(STEP, invite.next()).await.unwrap() {
        Some(InviteResponse::Rejected(r)) => assert_eq!(r.status_code.code(), 486),
        other => panic!("expected 486, got {other:?}"),
    }
    let SipMessage::Request(ack) = read_message(&mut phone, &mut framer).await else {
        panic!("expected the ACK")
    };
    assert_eq!(ack.method, rsip::Method::Ack);
}
