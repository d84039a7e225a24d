//! SIP over TCP under the `[limits]`: connections per source, slow senders (slowloris),
//! oversized messages. Each asserts what a client sees: the server closes the connection, and
//! still answers a well-behaved one.

#[path = "support/mod.rs"]
mod support;

use std::net::SocketAddr;
use std::time::Duration;
use support::server::TestServer;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

fn options(call_id: &str) -> String {
    format!(
        "OPTIONS sip:helpdesk@127.0.0.1 SIP/2.0\r\nVia: SIP/2.0/TCP 127.0.0.1;branch=z9hG4bK{call_id}\r\n\
         Max-Forwards: 70\r\nFrom: <sip:probe@127.0.0.1>;tag=p\r\nTo: <sip:helpdesk@127.0.0.1>\r\n\
         Call-ID: {call_id}\r\nCSeq: 1 OPTIONS\r\nContent-Length: 0\r\n\r\n"
    )
}

/// Whether the server closed the connection within `wait` (EOF or reset).
async fn closed_within(stream: &mut TcpStream, wait: Duration) -> bool {
    let mut buf = [0u8; 4096];
    let deadline = tokio::time::Instant::now() + wait;
    loop {
        match tokio::time::timeout_at(deadline, stream.read(&mut buf)).await {
            Ok(Ok(0)) | Ok(Err(_)) => return true,
            Ok(Ok(_)) => continue,
            Err(_) => return false,
        }
    }
}

/// OPTIONS on `stream` is answered 200.
async fn answers_options(stream: &mut TcpStream, call_id: &str) -> bool {
    if stream.write_all(options(call_id).as_bytes()).await.is_err() {
        return false;
    }
    let mut buf = vec![0u8; 4096];
    match tokio::time::timeout(Duration::from_secs(5), stream.read(&mut buf)).await {
        Ok(Ok(n)) if n > 0 => String::from_utf8_lossy(&buf[..n]).starts_with("SIP/2.0 200"),
        _ => false,
    }
}

async fn connect(server: SocketAddr) -> TcpStream {
    TcpStream::connect(server).await.unwrap()
}

#[tokio::test]
async fn connections_over_the_per_source_limit_are_closed_at_once() {
    let mut server = TestServer::start_with(|c| c.limits.tcp_connections_per_source = 3).await;
    let mut kept = Vec::new();
    for n in 0..3 {
        let mut s = connect(server.sip).await;
        assert!(
            answers_options(&mut s, &format!("keep{n}")).await,
            "connection {n}"
        );
        kept.push(s);
    }
    let mut fourth = connect(server.sip).await;
    assert!(
        closed_within(&mut fourth, Duration::from_secs(5)).await,
        "the fourth connection from one address stays open"
    );
    // Closing one frees its place.
    drop(kept.pop());
    let mut again = None;
    for attempt in 0..50 {
        let mut s = connect(server.sip).await;
        if answers_options(&mut s, &format!("again{attempt}")).await {
            again = Some(s);
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    assert!(
        again.is_some(),
        "a place freed by a closed connection is reused"
    );
    server.shutdown().await;
}

#[tokio::test]
async fn a_client_sending_one_header_byte_at_a_time_is_disconnected() {
    let mut server = TestServer::start_with(|c| c.limits.tcp_message_secs = 1).await;
    let mut slow = connect(server.sip).await;
    let message = options("slowloris");
    let started = tokio::time::Instant::now();
    let mut cut_off = false;
    // A byte every 200 ms: the whole message would take a minute; the deadline is 1 s.
    for byte in message.as_bytes().iter().take(60) {
        if slow.write_all(&[*byte]).await.is_err() {
            cut_off = true;
            break;
        }
        if closed_within(&mut slow, Duration::from_millis(200)).await {
            cut_off = true;
            break;
        }
    }
    let elapsed = started.elapsed();
    assert!(cut_off, "still connected after {elapsed:?}");
    assert!(
        elapsed < Duration::from_secs(4),
        "cut off only after {elapsed:?}"
    );
    let mut fine = connect(server.sip).await;
    assert!(answers_options(&mut fine, "after-slowloris").await);
    server.shutdown().await;
}

#[tokio::test]
async fn a_message_declaring_a_body_over_the_limit_closes_the_connection_before_the_body() {
    let mut server = TestServer::start().await;
    let mut big = connect(server.sip).await;
    // The case: a body one byte short of 256 KiB, over the 64 KiB default.
    let head = options("big").replace("Content-Length: 0", "Content-Length: 262143");
    big.write_all(head.as_bytes()).await.unwrap();
    assert!(closed_within(&mut big, Duration::from_secs(5)).await);
    let mut fine = connect(server.sip).await;
    assert!(answers_options(&mut fine, "after-big").await);
    server.shutdown().await;
}
