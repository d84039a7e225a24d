//! Requests outside a call, and messages the server must refuse without falling over.

use crate::support::server::TestServer;
use crate::support::ua::Ua;
use std::time::Duration;

#[tokio::test]
async fn options_gets_200_with_allow_and_accept() {
    let server = TestServer::start().await;
    let mut ua = Ua::udp(server.sip).await;
    let options = ua.request("OPTIONS", None, None);
    ua.send_raw(options.as_bytes()).await;
    let r = ua.final_response(Duration::from_secs(5)).await.unwrap();
    assert_eq!(r.status_code.code(), 200);
    let text = r.to_string();
    assert!(
        text.contains("Allow: INVITE, ACK, CANCEL, BYE, OPTIONS"),
        "{text}"
    );
    assert!(text.contains("Accept: application/sdp"), "{text}");
}

#[tokio::test]
async fn options_over_tcp_is_answered_on_the_same_connection() {
    let server = TestServer::start().await;
    let mut ua = Ua::tcp(server.sip).await;
    let options = ua.request("OPTIONS", None, None);
    // Two requests in one write: TCP framing must split them.
    let second = ua.request("OPTIONS", None, None);
    ua.send_raw(format!("{options}{second}").as_bytes()).await;
    for _ in 0..2 {
        let r = ua.final_response(Duration::from_secs(5)).await.unwrap();
        assert_eq!(r.status_code.code(), 200);
    }
}

#[tokio::test]
async fn register_is_challenged_by_the_registrar() {
    // The registrar takes REGISTER (tests/registrar.rs); unauthenticated, it gets a digest
    // challenge, not 405.
    let server = TestServer::start().await;
    let mut ua = Ua::udp(server.sip).await;
    let register = ua.request("REGISTER", None, None);
    ua.send_raw(register.as_bytes()).await;
    let r = ua.final_response(Duration::from_secs(5)).await.unwrap();
    assert_eq!(r.status_code.code(), 401);
    assert!(r.to_string().contains("WWW-Authenticate: Digest"));
}

#[tokio::test]
async fn unknown_method_gets_501() {
    let server = TestServer::start().await;
    let mut ua = Ua::udp(server.sip).await;
    let req = ua
        .request("OPTIONS", None, None)
        .replace("OPTIONS", "FROBNICATE");
    ua.send_raw(req.as_bytes()).await;
    let r = ua.final_response(Duration::from_secs(5)).await.unwrap();
    assert_eq!(r.status_code.code(), 501);
}

#[tokio::test]
async fn malformed_request_gets_400_and_the_server_keeps_answering() {
    let server = TestServer::start().await;
    let mut ua = Ua::udp(server.sip).await;
    let bad = ua
        .request("OPTIONS", None, None)
        .replace("Max-Forwards: 70\r\n", "")
        .replace("CSeq: 1 OPTIONS", "CSeq: one OPTIONS");
    ua.send_raw(bad.as_bytes()).await;
    let r = ua.final_response(Duration::from_secs(5)).await.unwrap();
    assert_eq!(r.status_code.code(), 400);
    // Garbage with no headers is dropped silently, and nothing breaks.
    ua.send_raw(b"\x16\x03\x01 not sip at all").await;
    let options = ua.request("OPTIONS", None, None);
    ua.send_raw(options.as_bytes()).await;
    let r = ua.final_response(Duration::from_secs(5)).await.unwrap();
    assert_eq!(r.status_code.code(), 200);
}

#[tokio::test]
async fn bye_for_an_unknown_dialog_gets_481() {
    let server = TestServer::start().await;
    let mut ua = Ua::udp(server.sip).await;
    ua.to_tag = Some("nosuchdialog".into());
    let bye = ua.request("BYE", None, None);
    ua.send_raw(bye.as_bytes()).await;
    let r = ua.final_response(Duration::from_secs(5)).await.unwrap();
    assert_eq!(r.status_code.code(), 481);
}
