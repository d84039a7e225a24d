//! Technicians' phones played by SIPp (a UAS scenario under tests/sipp), for tests that route
//! calls outside the `calls` binary.

use super::server::repo;
use std::process::{Command, Output};

/// A free UDP port on loopback for SIPp to listen on.
pub fn free_udp_port() -> u16 {
    std::net::UdpSocket::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

/// Runs the SIPp scenario `file` (under tests/sipp) as a phone listening on `port`, with
/// `values` replaced in it; its output once it is done.
pub fn phone(port: u16, file: &str, values: &[(&str, String)]) -> tokio::task::JoinHandle<Output> {
    let dir = tempfile::tempdir().unwrap();
    let mut xml = std::fs::read_to_string(repo().join("tests/sipp").join(file)).unwrap();
    for (name, value) in values {
        xml = xml.replace(name, value);
    }
    let scenario = dir.path().join("phone.xml");
    std::fs::write(&scenario, xml).unwrap();
    tokio::task::spawn_blocking(move || {
        let out = Command::new("sipp")
            .args(["-sf", scenario.to_str().unwrap()])
            .args(["-i", "127.0.0.1", "-p", &port.to_string()])
            .args(["-mi", "127.0.0.1", "-mp", &free_udp_port().to_string()])
            .args(["-rtp_echo", "-m", "1", "-timeout", "60s", "-timeout_error"])
            .arg("-nostdin")
            .current_dir(dir.path())
            .output()
            .expect("sipp runs (scripts/install-deps.sh --test installs it)");
        drop(dir);
        out
    })
}

/// A technician's phone (PCMU, echoing what it hears) that answers after `answer_ms`, takes
/// the call with 1, talks for `talk_ms` and hangs up.
pub fn technician_phone(
    port: u16,
    answer_ms: u32,
    talk_ms: u32,
) -> tokio::task::JoinHandle<Output> {
    phone(
        port,
        "uas_technician.xml",
        &[
            ("@KEY@", "/usr/share/sip-tester/dtmf_2833_1.pcap".into()),
            ("@CODEC@", "0".into()),
            ("@ANSWER_MS@", answer_ms.to_string()),
            ("@TALK_MS@", talk_ms.to_string()),
        ],
    )
}

/// SIPp's verdict, with its screens when it failed.
pub fn phone_succeeded(output: &Output) {
    assert!(
        output.status.success(),
        "a technician's phone (SIPp) failed: {}\n{}",
        String::from_utf8_lossy(&output.stdout),
        String::from_utf8_lossy(&output.stderr)
    );
}
