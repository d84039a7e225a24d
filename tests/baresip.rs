//! baresip (Debian `baresip-core` 1.0), a real softphone, as a technician's phone: it registers
//! with digest authentication (over UDP, TCP or TLS), auto-answers a P1 call routed to it over the
//! transport it registered with, takes the call with an RFC 4733 `1` and talks both ways through
//! the bridge (the caller is the test UA, or a second baresip keying the menu), and dials the
//! presence feature codes. Over TLS it uses SRTP (its `srtp` module, `mediaenc=srtp-mand`):
//! Hotline rings a phone on TLS with an SRTP offer, and answers an SRTP call over TLS.
//! Each baresip runs headless from its own configuration directory, driven through its
//! `ctrl_tcp` module, bounded in time (`-t`) and killed when the test ends. Over TLS, baresip
//! is given the CA made for the test (`sip_cafile`), though baresip 1.0 does not enforce it.
//!
//! Debian's baresip 1.0 (libre 1.1.0) gives up on a 401/407 that carries any challenge other
//! than MD5 ("Register: Function not implemented"), even when an MD5 one comes first: the
//! server under test offers MD5 only (`[registrar] algorithms = ["MD5"]`), as docs/phones.md
//! tells an operator with such phones to do. The last test pins that down.

#[path = "support/mod.rs"]
mod support;

#[path = "baresip/softphone.rs"]
mod softphone;

use chrono::Utc;
use hotline::accounts::Role;
use hotline::oncall::Presence;
use hotline::sip::digest::{Algorithm, Ha1Set};
use hotline::sip::registrar::Transport;
use hotline::store::{Phone, Store};
use hotline::tickets::Disposition;
use softphone::{Line, Softphone, PASSWORD};
use std::time::Duration;
use support::audio::{best_share_at, tone};
use support::server::TestServer;
use support::tickets::settled_ticket;
use support::ua::{decode, Ua};
use tokio::time::Instant;

/// The server with the challenge Debian's baresip can answer.
async fn md5_server() -> TestServer {
    TestServer::start_with(|c| c.registrar.algorithms = vec![Algorithm::Md5]).await
}

/// The same, also listening for SIP over TLS with a certificate from a CA made for the test
/// (written into the server's data directory; the softphones trust that CA).
async fn md5_tls_server() -> TestServer {
    TestServer::start_with(|c| {
        c.registrar.algorithms = vec![Algorithm::Md5];
        let pki = support::tls::TestPki::new(&c.data_dir);
        c.sip.tls_listen = Some("127.0.0.1:0".parse().unwrap());
        c.sip.tls_cert = Some(pki.cert);
        c.sip.tls_key = Some(pki.key);
    })
    .await
}

/// A technician account with a SIP password in the server's realm.
async fn technician(server: &TestServer, name: &str) {
    let store = server.server.as_ref().unwrap().store();
    store
        .upsert_user(name, "not used here", Role::Technician)
        .await
        .unwrap();
    let realm = &server.config.registrar.realm;
    let ha1 = Ha1Set::from_password(name, realm, PASSWORD);
    assert!(store.set_sip_password(name, realm, &ha1).await.unwrap());
}

/// The network team with `name` on call around the clock (no lead, one step).
async fn on_call_for_network(store: &Store, name: &str) {
    support::oncall::network_team(store, &[name], None).await;
}

/// Waits until `user` has `n` live bindings (baresip registers in the background).
async fn until_bindings(server: &TestServer, user: &str, n: usize, limit: Duration) -> Vec<Phone> {
    let store = server.server.as_ref().unwrap().store();
    let deadline = Instant::now() + limit;
    loop {
        let phones = store.bindings(user, Utc::now()).await.unwrap();
        if phones.len() == n || Instant::now() > deadline {
            return phones;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

#[tokio::test]
async fn baresip_registers_with_md5_digest_and_unregisters_when_it_quits() {
    let server = md5_server().await;
    technician(&server, "bob").await;
    let mut phone = Softphone::start(
        &server,
        "bob",
        Line::Technician(Transport::Udp),
        &tone(600.0, 1000),
    )
    .await;
    let phones = until_bindings(&server, "bob", 1, Duration::from_secs(10)).await;
    assert_eq!(phones.len(), 1, "baresip registered:\n{}", phone.log());
    let binding = &phones[0].binding;
    assert!(
        binding
            .user_agent
            .as_deref()
            .is_some_and(|ua| ua.starts_with("baresip v1.")),
        "{binding:?}"
    );
    assert_eq!(
        binding.source, phone.sip,
        "reached where it registered from"
    );
    assert!(
        binding.contact.contains(&phone.sip.to_string()),
        "{}",
        binding.contact
    );
    let remaining = binding.remaining(Utc::now());
    assert!(
        (50..60).contains(&remaining),
        "regint=60 granted: {remaining} s left"
    );
    let log = phone.log();
    for line in [
        "SIP/2.0 401 Unauthorized",
        "algorithm=MD5, qop=\"auth\"",
        "Authorization: Digest username=\"bob\", realm=\"hotline\"",
        "200 OK (Hotline) [1 binding]",
    ] {
        assert!(log.contains(line), "{line} in baresip's log:\n{log}");
    }

    phone.quit().await;
    let phones = until_bindings(&server, "bob", 0, Duration::from_secs(5)).await;
    assert!(
        phones.is_empty(),
        "baresip's REGISTER with Expires: 0 removed the binding:\n{}",
        phone.log()
    );
}

#[tokio::test]
async fn a_p1_call_reaches_baresip_over_udp_which_takes_it_with_1_and_both_hear_each_other() {
    p1_call_taken_by_baresip(Transport::Udp).await;
}

#[tokio::test]
async fn a_p1_call_reaches_baresip_over_its_tcp_connection_and_both_hear_each_other() {
    p1_call_taken_by_baresip(Transport::Tcp).await;
}

/// baresip registered over TLS (digest auth on the TLS connection) is rung on that connection.
#[tokio::test]
async fn a_p1_call_reaches_baresip_over_its_tls_connection_and_both_hear_each_other() {
    p1_call_taken_by_baresip(Transport::Tls).await;
}

/// An employee's baresip calls the hotline over TLS: the call is answered and the welcome
/// prompt is heard; the ticket is written like any other call's.
#[tokio::test]
async fn baresip_calls_the_hotline_over_tls_and_hears_the_welcome_prompt() {
    let log = baresip_calls_over_tls(Line::CallerOverTls).await;
    assert!(log.contains(" RTP/AVP "), "plain RTP:\n{log}");
}

/// The same with `mediaenc srtp-mand`: baresip offers RTP/SAVP with its keys, Hotline answers
/// RTP/SAVP with one of its own, and baresip decrypts the welcome prompt.
#[tokio::test]
async fn baresip_calls_the_hotline_over_tls_with_srtp_and_hears_the_welcome_prompt() {
    let log = baresip_calls_over_tls(Line::CallerOverTlsWithSrtp).await;
    let answer = log
        .split("SIP/2.0 200 OK")
        .nth(1)
        .unwrap_or_else(|| panic!("Hotline's 200 in the trace:\n{log}"));
    assert!(
        answer.contains(" RTP/SAVP ") && answer.contains("a=crypto:"),
        "Hotline answered with SRTP:\n{log}"
    );
}

/// Calls the hotline from a baresip on `line` (over TLS), listens 3 s, hangs up; baresip's log.
async fn baresip_calls_over_tls(line: Line) -> String {
    let server = md5_tls_server().await;
    let store = server.server.as_ref().unwrap().store().clone();
    let tls = server.sip_tls.unwrap();
    let mut caller = Softphone::start(&server, "5550100", line, &tone(1000.0, 20000)).await;
    let dialled = caller
        .command("dial", &format!("sip:helpdesk@{tls};transport=tls"))
        .await;
    assert_eq!(dialled["ok"], true, "{dialled}");
    caller
        .event("CALL_ESTABLISHED", Duration::from_secs(10))
        .await;
    tokio::time::sleep(Duration::from_secs(3)).await;
    caller.command("hangup", "").await;
    caller.event("CALL_CLOSED", Duration::from_secs(5)).await;
    caller.quit().await;
    let log = caller.log();
    assert!(
        log.contains("TLS 127.0.0.1:") && log.contains("SIP/2.0 200 OK"),
        "the call went over TLS:\n{log}"
    );
    let heard = caller.heard();
    let loud = heard.iter().map(|&s| (s as f64).powi(2)).sum::<f64>() / heard.len().max(1) as f64;
    assert!(
        loud.sqrt() > 300.0,
        "baresip hears the welcome prompt (rms {:.0}):\n{log}",
        loud.sqrt()
    );
    let tickets = store.list_tickets(&Default::default()).await.unwrap();
    assert_eq!(tickets.len(), 1, "{tickets:#?}");
    log
}

/// The technician on `phone`, in the background: auto-answers, hears the announcement start,
/// presses 1 (RFC 4733), talks for 4 s and hangs up.
fn takes_the_call(mut phone: Softphone) -> tokio::task::JoinHandle<Softphone> {
    tokio::spawn(async move {
        phone
            .event("CALL_ESTABLISHED", Duration::from_secs(40))
            .await;
        tokio::time::sleep(Duration::from_millis(500)).await;
        let sent = phone.command("sndcode", "1").await;
        assert_eq!(sent["ok"], true, "{sent}");
        tokio::time::sleep(Duration::from_secs(4)).await;
        phone.command("hangup", "").await;
        phone.event("CALL_CLOSED", Duration::from_secs(5)).await;
        phone
    })
}

/// A P1 network call from the test UA reaches bob's baresip, registered over `transport`:
/// baresip auto-answers, presses 1 (RFC 4733), and each side hears the other's tone.
async fn p1_call_taken_by_baresip(transport: Transport) {
    let server = match transport {
        Transport::Tls => md5_tls_server().await,
        _ => md5_server().await,
    };
    let store = server.server.as_ref().unwrap().store().clone();
    technician(&server, "bob").await;
    on_call_for_network(&store, "bob").await;
    // The technician's microphone: 600 Hz for longer than the call (aufile ends the call when
    // its file ends).
    let phone = Softphone::start(
        &server,
        "bob",
        Line::Technician(transport),
        &tone(600.0, 40000),
    )
    .await;
    let phones = until_bindings(&server, "bob", 1, Duration::from_secs(10)).await;
    assert_eq!(phones.len(), 1, "baresip registered:\n{}", phone.log());
    assert_eq!(phones[0].binding.transport, transport);

    let technician = takes_the_call(phone);

    // The caller keys a P1 network call, then talks (1000 Hz) until the technician hangs up,
    // reading what it hears as it goes.
    let mut caller = Ua::udp(server.sip).await;
    caller.connect().await;
    caller.send_silence(200).await;
    for key in ['#', '1', '3', '1', '1'] {
        caller.press_rfc4733(key).await;
    }
    let chunk = tone(1000.0, 200);
    let mut heard = Vec::new();
    let deadline = Instant::now() + Duration::from_secs(40);
    while !technician.is_finished() && Instant::now() < deadline {
        caller.send_audio(&chunk).await;
        heard.extend(caller.collect_rtp(Duration::from_millis(1)).await);
    }
    let mut phone = technician.await.unwrap();
    let bye = caller.expect_bye(Duration::from_secs(10)).await;
    assert_eq!(
        bye.method,
        rsip::Method::Bye,
        "the technician's hang-up ends the caller's leg"
    );

    let caller_heard = best_share_at(&decode(&heard, caller.codec), 600.0);
    assert!(
        caller_heard > 0.6,
        "the caller hears the technician's 600 Hz (share {caller_heard:.2})"
    );
    // The INVITE came over the transport baresip registered with (the trace names it on the
    // line before each message).
    let log = phone.log();
    let lines: Vec<&str> = log.lines().collect();
    let invite_via: Vec<&str> = lines
        .windows(2)
        .filter(|w| w[1].starts_with("INVITE sip:bob"))
        .map(|w| w[0].split(' ').next().unwrap())
        .collect();
    let expected = match transport {
        Transport::Udp => "UDP",
        Transport::Tcp => "TCP",
        Transport::Tls => "TLS",
    };
    assert_eq!(
        invite_via,
        [expected],
        "Hotline's INVITE in baresip's trace:\n{log}"
    );
    // A phone on TLS is offered SRTP (and answers it: srtp-mand on its account).
    let offered_srtp = log.contains("RTP/SAVP");
    assert_eq!(
        offered_srtp,
        transport == Transport::Tls,
        "SRTP offered on TLS only:\n{log}"
    );
    phone.quit().await;
    let technician_heard = best_share_at(&phone.heard(), 1000.0);
    assert!(
        technician_heard > 0.6,
        "baresip hears the caller's 1000 Hz (share {technician_heard:.2})"
    );

    let ticket = settled_ticket(&store, &caller.call_id).await;
    assert_eq!(ticket.disposition, Disposition::Answered);
    assert_eq!(ticket.assignee.as_deref(), Some("bob"));
}

#[tokio::test]
async fn a_p1_call_from_baresip_reaches_the_technicians_baresip_and_both_talk() {
    let server = md5_server().await;
    let store = server.server.as_ref().unwrap().store().clone();
    technician(&server, "bob").await;
    on_call_for_network(&store, "bob").await;
    let phone = Softphone::start(
        &server,
        "bob",
        Line::Technician(Transport::Udp),
        &tone(600.0, 40000),
    )
    .await;
    let phones = until_bindings(&server, "bob", 1, Duration::from_secs(10)).await;
    assert_eq!(phones.len(), 1, "baresip registered:\n{}", phone.log());
    let technician = takes_the_call(phone);

    // The employee's baresip talks (1000 Hz) from the moment Hotline answers, keys a P1
    // network call one RFC 4733 digit at a time, and stays until the technician hangs up.
    let mut caller = Softphone::start(&server, "5550100", Line::Caller, &tone(1000.0, 60000)).await;
    let dialled = caller
        .command("dial", &format!("sip:helpdesk@{}", server.sip))
        .await;
    assert_eq!(dialled["ok"], true, "{dialled}");
    caller
        .event("CALL_ESTABLISHED", Duration::from_secs(10))
        .await;
    tokio::time::sleep(Duration::from_millis(300)).await;
    for key in ["#", "1", "3", "1", "1"] {
        let sent = caller.command("sndcode", key).await;
        assert_eq!(sent["ok"], true, "{sent}");
        tokio::time::sleep(Duration::from_millis(400)).await;
    }
    caller.event("CALL_CLOSED", Duration::from_secs(40)).await;
    let mut phone = technician.await.unwrap();
    caller.quit().await;
    phone.quit().await;

    let caller_heard = best_share_at(&caller.heard(), 600.0);
    assert!(
        caller_heard > 0.6,
        "the caller's baresip hears the technician's 600 Hz (share {caller_heard:.2})"
    );
    let technician_heard = best_share_at(&phone.heard(), 1000.0);
    assert!(
        technician_heard > 0.6,
        "the technician's baresip hears the caller's 1000 Hz (share {technician_heard:.2})"
    );
    let tickets = store.list_tickets(&Default::default()).await.unwrap();
    assert_eq!(tickets.len(), 1, "{tickets:#?}");
    let ticket = settled_ticket(&store, &tickets[0].call_id).await;
    assert_eq!(
        ticket.priority.map(|p| p.to_string()).as_deref(),
        Some("P1")
    );
    assert_eq!(ticket.disposition, Disposition::Answered);
    assert_eq!(ticket.assignee.as_deref(), Some("bob"));
}

async fn presence(store: &Store) -> Presence {
    store.presence("bob", Utc::now()).await.unwrap()
}

#[tokio::test]
async fn baresip_dials_star_0_then_star_1_and_presence_follows() {
    let server = md5_server().await;
    let store = server.server.as_ref().unwrap().store().clone();
    technician(&server, "bob").await;
    let mut phone = Softphone::start(
        &server,
        "bob",
        Line::Technician(Transport::Udp),
        &tone(600.0, 20000),
    )
    .await;
    let phones = until_bindings(&server, "bob", 1, Duration::from_secs(10)).await;
    assert_eq!(phones.len(), 1, "baresip registered:\n{}", phone.log());
    assert_eq!(presence(&store).await, Presence::Available);

    for (code, expected) in [("*0", Presence::Away), ("*1", Presence::Available)] {
        // Challenged with 407; baresip answers with its account's password. Hotline answers,
        // confirms and hangs up.
        let dialled = phone
            .command("dial", &format!("sip:{code}@{}", server.sip))
            .await;
        assert_eq!(dialled["ok"], true, "{dialled}");
        phone
            .event("CALL_ESTABLISHED", Duration::from_secs(10))
            .await;
        phone.event("CALL_CLOSED", Duration::from_secs(15)).await;
        assert_eq!(
            presence(&store).await,
            expected,
            "after {code}:\n{}",
            phone.log()
        );
    }
    let log = phone.log();
    for line in [
        "SIP/2.0 407 Proxy Authentication Required",
        "Proxy-Authorization: Digest username=\"bob\"",
    ] {
        assert!(log.contains(line), "{line} in baresip's log:\n{log}");
    }
    // Feature codes make no tickets.
    assert!(store
        .list_tickets(&Default::default())
        .await
        .unwrap()
        .is_empty());
}

#[tokio::test]
async fn baresip_1_0_gives_up_when_sha_256_is_offered_beside_md5() {
    // The default offer: MD5, then SHA-256 on the same nonce.
    let server = TestServer::start().await;
    technician(&server, "bob").await;
    let phone = Softphone::start(
        &server,
        "bob",
        Line::Technician(Transport::Udp),
        &tone(600.0, 1000),
    )
    .await;
    let deadline = Instant::now() + Duration::from_secs(10);
    while !phone.log().contains("Register: Function not implemented") {
        assert!(
            Instant::now() < deadline,
            "baresip registered despite the SHA-256 challenge: docs/phones.md and this file's \
             header should change\n{}",
            phone.log()
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    assert!(
        until_bindings(&server, "bob", 1, Duration::from_millis(500))
            .await
            .is_empty()
    );
}
