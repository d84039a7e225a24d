//! The SIP endpoint on real sockets, without the helpdesk above it: calls Hotline places to
//! SIPp's UAS over UDP and TCP, and requests it hands to a registrar. Each test drives the
//! public `EndpointHandle` API the routing and registrar layers are written against.

mod outbound;
mod register;
mod timers;

use hotline::sip::endpoint::{Endpoint, EndpointHandle, NewCall, OutOfDialogRequest};
use hotline::sip::transaction::Timers;
use hotline::sip::transport::Transports;
use std::net::SocketAddr;
use std::path::PathBuf;
use std::process::{Command, Output};
use std::time::Duration;
use tokio::sync::mpsc;

/// A bound endpoint on loopback with an ephemeral port.
async fn endpoint() -> (EndpointHandle, mpsc::Receiver<NewCall>) {
    let (transports, inbound) = Transports::bind("127.0.0.1:0".parse().unwrap())
        .await
        .unwrap();
    Endpoint::start(transports, inbound, Timers::default())
}

/// As [`endpoint`], with REGISTER handed up.
async fn endpoint_with_registrar() -> (EndpointHandle, mpsc::Receiver<OutOfDialogRequest>) {
    let (transports, inbound) = Transports::bind("127.0.0.1:0".parse().unwrap())
        .await
        .unwrap();
    let (handle, _calls, requests) =
        Endpoint::start_with_registrar(transports, inbound, Timers::default());
    (handle, requests)
}

/// SIPp's transport modes: one UDP socket, or one TCP connection for all calls.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Transport {
    Udp,
    Tcp,
}

/// A loopback port free for both UDP and TCP, for SIPp to listen on.
fn free_port() -> u16 {
    loop {
        let udp = std::net::UdpSocket::bind("127.0.0.1:0").unwrap();
        let port = udp.local_addr().unwrap().port();
        if std::net::TcpListener::bind(("127.0.0.1", port)).is_ok() {
            return port;
        }
    }
}

/// SIPp running one scenario of `tests/sipp/` as a UAS for one call.
struct Uas {
    addr: SocketAddr,
    run: tokio::task::JoinHandle<Output>,
}

impl Uas {
    fn start(scenario: &str, transport: Transport) -> Uas {
        assert!(
            Command::new("sipp").arg("-v").output().is_ok(),
            "sipp is missing: `make test` installs Debian's sip-tester (scripts/install-deps.sh --test)"
        );
        let port = free_port();
        let scenario = PathBuf::from(env!("CARGO_MANIFEST_DIR"))
            .join("tests/sipp")
            .join(scenario);
        let mode = match transport {
            Transport::Udp => "u1",
            Transport::Tcp => "t1",
        };
        let dir = tempfile::tempdir().unwrap();
        let run = tokio::task::spawn_blocking(move || {
            Command::new("sipp")
                .arg("-sf")
                .arg(&scenario)
                .args(["-i", "127.0.0.1", "-p", &port.to_string(), "-t", mode])
                .args(["-mi", "127.0.0.1", "-mp", "0"])
                .args(["-m", "1", "-timeout", "30s", "-timeout_error", "-nostdin"])
                .current_dir(dir.path())
                .output()
                .unwrap()
        });
        Uas {
            addr: SocketAddr::from(([127, 0, 0, 1], port)),
            run,
        }
    }

    /// Waits for SIPp to finish its call and asserts every step of the scenario happened.
    async fn assert_passed(self) {
        let output = tokio::time::timeout(Duration::from_secs(40), self.run)
            .await
            .expect("SIPp finished within its own 30 s timeout")
            .unwrap();
        assert!(
            output.status.success(),
            "SIPp's scenario failed: {}\n{}",
            String::from_utf8_lossy(&output.stdout),
            String::from_utf8_lossy(&output.stderr)
        );
    }
}
