//! Every way a call ends: caller BYE, CANCEL while ringing, RTP silence, server shutdown.

use crate::support::server::TestServer;
use crate::support::ua::Ua;
use std::time::Duration;

#[tokio::test]
async fn cancel_before_answer_gets_487() {
    let server = TestServer::start_with(|c| c.sip.ring_ms = 5000).await;
    let mut ua = Ua::udp(server.sip).await;
    let offer = ua.offer();
    let invite = ua.request("INVITE", Some(("application/sdp", &offer)), None);
    let branch = invite
        .lines()
        .find(|l| l.starts_with("Via:"))
        .unwrap()
        .split("branch=")
        .nth(1)
        .unwrap()
        .split(';')
        .next()
        .unwrap()
        .to_string();
    ua.send_raw(invite.as_bytes()).await;
    // 100 Trying, then 180 Ringing while the server rings.
    let mut ringing = false;
    while let Some(r) = ua.response(Duration::from_secs(3)).await {
        if r.status_code.code() == 180 {
            ringing = true;
            break;
        }
    }
    assert!(ringing, "180 Ringing before the answer");
    let cancel = ua.request("CANCEL", None, Some(&branch));
    ua.send_raw(cancel.as_bytes()).await;
    let mut codes = Vec::new();
    for _ in 0..2 {
        let r = ua.final_response(Duration::from_secs(3)).await.unwrap();
        codes.push((r.status_code.code(), r.to_string().contains("CANCEL")));
    }
    codes.sort();
    assert_eq!(
        codes,
        vec![(200, true), (487, false)],
        "200 for the CANCEL, 487 for the INVITE"
    );
}

#[tokio::test]
async fn caller_silence_ends_the_call_with_bye() {
    let server = TestServer::start_with(|c| c.media.rtp_timeout_secs = 1).await;
    let mut ua = Ua::udp(server.sip).await;
    ua.connect().await;
    let bye = ua.expect_bye(Duration::from_secs(5)).await;
    assert_eq!(bye.method, rsip::Method::Bye);
}

#[tokio::test]
async fn shutdown_ends_calls_with_bye_and_refuses_new_calls_with_503() {
    let mut server = TestServer::start().await;
    let mut ua = Ua::udp(server.sip).await;
    ua.connect().await;
    let sip = server.sip;
    let shutdown = tokio::spawn(async move {
        server.shutdown().await;
        server
    });
    let bye = ua.expect_bye(Duration::from_secs(5)).await;
    assert_eq!(bye.method, rsip::Method::Bye);
    let mut late = Ua::udp(sip).await;
    let r = late.invite().await;
    assert_eq!(r.status_code.code(), 503);
    shutdown.await.unwrap();
}
