//! An INVITE flood from one address (SIPp on 127.0.0.2) while real callers on 127.0.0.1 keep
//! calling: the per-source limits refuse the flood with 503 before it takes RTP ports or leaves
//! tickets, and every real call is answered with audio. The bigger run (release build, several
//! times the server's capacity, memory sampled) is `scripts/flood.sh`.

#[path = "support/mod.rs"]
mod support;

use std::process::Stdio;
use std::time::Duration;
use support::server::TestServer;
use support::ua::{decode, rms, Ua};

/// The flood: INVITEs per second and how many: 100 times what one source may place (60 a
/// minute by default), 1,000 INVITEs over about 10 s, small enough for a debug build on a
/// shared machine. `scripts/flood.sh` runs the release build at several times its capacity.
const FLOOD_RATE: u32 = 100;
const FLOOD_CALLS: u32 = 1000;
/// Real callers placed one after another while the flood runs.
const REAL_CALLS: usize = 5;

async fn ticket_count(server: &TestServer) -> usize {
    let store = server.server.as_ref().unwrap().store();
    store
        .list_tickets(&hotline::store::TicketFilter::default())
        .await
        .unwrap()
        .len()
}

#[tokio::test]
async fn a_flood_from_one_address_does_not_keep_callers_from_another_out() {
    let mut server = TestServer::start().await;
    let limits = server.config.limits.clone();
    let sip = server.sip.to_string();
    // SIPp's built-in caller: INVITE, 200, ACK, BYE. `-d 5000` holds each admitted call 5 s so
    // the per-source calls-in-progress limit is reached too.
    let mut command = std::process::Command::new("sipp");
    command
        .args(["-sn", "uac", "-s", "flood", &sip])
        .args(["-i", "127.0.0.2", "-p", "0", "-mi", "127.0.0.2", "-mp", "0"])
        .args([
            "-r",
            &FLOOD_RATE.to_string(),
            "-m",
            &FLOOD_CALLS.to_string(),
        ])
        // SIPp's own -timeout bounds the run; every call it could not finish by then fails.
        .args(["-d", "5000", "-timeout", "40s", "-nostdin"])
        .current_dir(server.data.path())
        .stdin(Stdio::null());
    let flood = tokio::task::spawn_blocking(move || command.output());

    // Real calls while the flood runs: each answered, each hears the welcome prompt.
    let mut answered = 0;
    for n in 0..REAL_CALLS {
        let mut ua = Ua::udp(server.sip).await;
        let r = ua.invite().await;
        assert_eq!(r.status_code.code(), 200, "real call {n} during the flood");
        ua.ack().await;
        let heard = ua.collect_rtp(Duration::from_millis(1500)).await;
        let level = rms(&decode(&heard, ua.codec));
        assert!(
            heard.len() > 50,
            "real call {n}: {} RTP packets",
            heard.len()
        );
        assert!(level > 100.0, "real call {n}: silence (rms {level})");
        ua.bye().await;
        answered += 1;
    }

    let output = tokio::time::timeout(Duration::from_secs(60), flood)
        .await
        .expect("sipp ends within its own timeout")
        .unwrap()
        .expect("sipp is installed (make test-deps)");
    let stdout = String::from_utf8_lossy(&output.stdout).to_string();
    let tickets = ticket_count(&server).await;
    // Every ticket is a real call or one of the few flood calls the limits let through.
    let flood_admitted_at_most = limits.new_calls_per_source_per_minute;
    eprintln!(
        "flood of {FLOOD_CALLS} INVITEs at {FLOOD_RATE}/s from 127.0.0.2: {answered} of \
         {REAL_CALLS} real calls answered with audio, {tickets} tickets"
    );
    assert_eq!(answered, REAL_CALLS);
    assert!(tickets >= REAL_CALLS, "{tickets} tickets");
    assert!(
        tickets <= REAL_CALLS + flood_admitted_at_most,
        "{tickets} tickets: refused flood INVITEs left tickets\n{stdout}"
    );
    server.shutdown().await;
}
