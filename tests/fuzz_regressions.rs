//! Inputs cargo-fuzz found crashing (`make fuzz`, docs/sip.md), replayed against the real
//! server over UDP and over TCP. After each one the server must still answer OPTIONS on the same
//! transport: a panic in the UDP receive loop would silence SIP over UDP for everyone.
//!
//! `tests/fixtures/fuzz/TARGET-what.dat`, one file per crash, named after the fuzz target that
//! found it and what was wrong:
//!
//! | file | found by | fault |
//! |---|---|---|
//! | `sip_message-version-non-ascii.dat` | `sip_message` | a byte above 0x7F where the version's `/` belongs (`SIP\xB72.0`): the request checks sliced the version at byte 4, inside the replacement character, and panicked |
//!
//! Datagrams for an SRTP call's RTP port sit in `tests/fixtures/fuzz/srtp/` and are replayed by
//! `tests/srtp.rs` (`datagrams_with_overrunning_header_extensions_leave_the_srtp_call_working`)
//! into a call over TLS, since they only mean something there.

#[path = "support/mod.rs"]
mod support;

use std::path::PathBuf;
use std::time::Duration;
use support::server::TestServer;
use support::ua::Ua;
use tokio::io::AsyncWriteExt;
use tokio::net::{TcpStream, UdpSocket};

fn fixtures() -> Vec<(String, Vec<u8>)> {
    let dir = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/fuzz");
    let mut files: Vec<_> = std::fs::read_dir(&dir)
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.extension().is_some_and(|e| e == "dat"))
        .map(|p| {
            let name = p.file_name().unwrap().to_string_lossy().into_owned();
            (name, std::fs::read(&p).unwrap())
        })
        .collect();
    files.sort();
    assert!(!files.is_empty(), "no fixtures in {}", dir.display());
    files
}

async fn still_answers_options(ua: &mut Ua, after: &str) {
    let options = ua.request("OPTIONS", None, None);
    ua.send_raw(options.as_bytes()).await;
    let reply = ua.final_response(Duration::from_secs(5)).await;
    assert_eq!(
        reply.map(|r| r.status_code.code()),
        Some(200),
        "OPTIONS unanswered after {after}"
    );
}

#[tokio::test]
async fn crashing_inputs_over_udp_leave_the_server_answering() {
    let server = TestServer::start().await;
    let mut ua = Ua::udp(server.sip).await;
    for (name, bytes) in fixtures() {
        let socket = UdpSocket::bind("127.0.0.1:0").await.unwrap();
        socket.send_to(&bytes, server.sip).await.unwrap();
        still_answers_options(&mut ua, &name).await;
    }
}

#[tokio::test]
async fn crashing_inputs_over_tcp_leave_the_server_answering() {
    let server = TestServer::start().await;
    let mut ua = Ua::tcp(server.sip).await;
    for (name, bytes) in fixtures() {
        let mut stream = TcpStream::connect(server.sip).await.unwrap();
        stream.write_all(&bytes).await.unwrap();
        still_answers_options(&mut ua, &name).await;
    }
}
