//! SRTP with SDES keys (RFC 4568) on calls over SIP over TLS, with webrtc-srtp on the test
//! side: the prompt arrives encrypted under the key of Hotline's answer, keys sent with our key
//! are acted on, forged packets are not; SRTP offered over plain SIP is refused, and so is
//! plain RTP over TLS when the configuration requires SRTP. A technician's phone registered
//! over TLS is rung with an SRTP offer and the bridged call is SRTP on its leg.

#[path = "support/mod.rs"]
mod support;

use base64::Engine;
use hotline::media::g711::G711;
use hotline::tickets::{CallEventKind, Language};
use rsip::prelude::*;
use std::time::Duration;
use support::audio::{best_share_at, tone};
use support::digest::register_over_tls;
use support::server::TestServer;
use support::tls::{tls_server, TestPki};
use support::ua::{decode, rms, srtp_context, Received, Ua};
use webrtc_util::marshal::Unmarshal;

const WAIT: Duration = Duration::from_secs(10);
/// AES_CM_128_HMAC_SHA1_80's tag.
const TAG_80: usize = 10;

fn b64() -> base64::engine::GeneralPurpose {
    base64::engine::general_purpose::STANDARD
}

/// The UA's usual offer made RTP/SAVP with our key for AES_CM_128_HMAC_SHA1_80.
fn savp_offer(ua: &Ua, key: &[u8; 30]) -> String {
    let offer = ua.offer().replace("RTP/AVP", "RTP/SAVP");
    format!(
        "{offer}a=crypto:1 AES_CM_128_HMAC_SHA1_80 inline:{}\r\n",
        b64().encode(key)
    )
}

/// Sends an INVITE with `offer`; the final response.
async fn invite_with(ua: &mut Ua, offer: &str) -> rsip::Response {
    let invite = ua.request("INVITE", Some(("application/sdp", offer)), None);
    ua.send_raw(invite.as_bytes()).await;
    let response = ua.final_response(WAIT).await.expect("final response");
    ua.learn(&response);
    response
}

/// The key of the answer's one `a=crypto` line, which must take our tag and suite.
fn answered_key(sdp: &str) -> Vec<u8> {
    let lines: Vec<&str> = sdp.lines().filter(|l| l.starts_with("a=crypto:")).collect();
    let [line] = lines[..] else {
        panic!("one a=crypto line in the answer: {sdp}")
    };
    let inline = line
        .strip_prefix("a=crypto:1 AES_CM_128_HMAC_SHA1_80 inline:")
        .unwrap_or_else(|| panic!("our tag and suite: {line}"));
    let key = b64().decode(inline.trim()).unwrap();
    assert_eq!(key.len(), 30, "{line}");
    key
}

/// A call over TLS whose INVITE offered SRTP with `our_key`, answered.
struct SrtpCall {
    server: TestServer,
    ua: Ua,
    our_key: [u8; 30],
    ok: rsip::Response,
    _dir: tempfile::TempDir,
}

async fn srtp_call() -> SrtpCall {
    let dir = tempfile::tempdir().unwrap();
    let pki = TestPki::new(dir.path());
    let server = tls_server(&pki, |_| {}).await;
    let mut ua = Ua::tls(pki.connect(server.sip_tls.unwrap(), &[]).await).await;
    let our_key: [u8; 30] = rand::random();
    let offer = savp_offer(&ua, &our_key);
    let ok = invite_with(&mut ua, &offer).await;
    assert_eq!(ok.status_code.code(), 200, "{ok}");
    SrtpCall {
        server,
        ua,
        our_key,
        ok,
        _dir: dir,
    }
}

fn warning(response: &rsip::Response) -> String {
    response
        .headers
        .iter()
        .find_map(|h| match h {
            rsip::Header::Warning(w) => Some(w.value().to_string()),
            _ => None,
        })
        .unwrap_or_else(|| panic!("a Warning header: {response}"))
}

/// A call over TLS offering SRTP: the answer is RTP/SAVP with a key of Hotline's own; every
/// packet of the welcome prompt is SRTP under that key (encrypted payload, 80-bit tag) and
/// decrypts to audible audio; a key pressed with our key chooses the language, while one sent
/// with broken tags before it is ignored.
#[tokio::test]
async fn an_srtp_call_over_tls_is_encrypted_both_ways_and_forged_packets_are_ignored() {
    let SrtpCall {
        server,
        mut ua,
        our_key,
        ok,
        _dir,
    } = srtp_call().await;
    let store = server.server.as_ref().unwrap().store();
    let answer = String::from_utf8_lossy(&ok.body).to_string();
    assert!(
        answer.contains(" RTP/SAVP 0 101\r\n"),
        "SRTP kept: {answer}"
    );
    let their_key = answered_key(&answer);
    assert_ne!(their_key, our_key, "Hotline's own key, not ours echoed");
    ua.ack().await;

    // What arrives on the wire, checked and decrypted here.
    let mut inbound = srtp_context(&their_key, true);
    let mut heard = Vec::new();
    let mut buf = [0u8; 2048];
    let deadline = tokio::time::Instant::now() + Duration::from_millis(1500);
    while let Ok(Ok((n, from))) =
        tokio::time::timeout_at(deadline, ua.rtp.recv_from(&mut buf)).await
    {
        let wire = &buf[..n];
        let plain = inbound
            .decrypt_rtp(wire)
            .unwrap_or_else(|e| panic!("every packet authenticates under the answer's key: {e}"));
        assert_eq!(wire.len(), plain.len() + TAG_80, "an 80-bit tag");
        assert_eq!(wire[..12], plain[..12], "the RTP header in clear");
        assert_ne!(
            wire[12..n - TAG_80],
            plain[12..],
            "the payload is encrypted"
        );
        let mut slice = &plain[..];
        heard.push(Received {
            at: tokio::time::Instant::now(),
            packet: rtp::packet::Packet::unmarshal(&mut slice).unwrap(),
            from,
        });
    }
    assert!(heard.len() >= 60, "{} SRTP packets in 1.5 s", heard.len());
    let pcm = decode(&heard, G711::Ulaw);
    assert!(rms(&pcm) > 300.0, "the welcome prompt: rms {}", rms(&pcm));

    ua.srtp_out = Some(srtp_context(&our_key, false));
    ua.send_silence(200).await;
    // French, sent by someone without our key: every packet's tag is wrong.
    ua.srtp_break_tags = true;
    ua.press_rfc4733('2').await;
    ua.srtp_break_tags = false;
    ua.press_rfc4733('1').await; // English
    let ticket = support::tickets::ticket_when(store, &ua.call_id, WAIT, "language", |t| {
        t.language.is_some()
    })
    .await;
    assert_eq!(ticket.language, Some(Language::English));
    assert_eq!(ua.bye().await.status_code.code(), 200);
    let ticket = support::tickets::settled_ticket(store, &ua.call_id).await;
    let events = store.events(ticket.id).await.unwrap();
    let digits: Vec<&str> = events
        .iter()
        .filter(|e| e.kind == CallEventKind::Digit)
        .map(|e| e.detail.as_str())
        .collect();
    assert_eq!(digits, ["1"], "the forged key was never heard");
}

/// Datagrams that anyone can send to an SRTP call's RTP port, found while writing the `srtp`
/// fuzz target (`tests/fixtures/fuzz/srtp/`): RTP header extensions whose elements run past
/// the datagram, which webrtc-srtp's parser panicked on, ending the call's media. The call must
/// still hear a key pressed after them.
#[tokio::test]
async fn datagrams_with_overrunning_header_extensions_leave_the_srtp_call_working() {
    let SrtpCall {
        server,
        mut ua,
        our_key,
        _dir,
        ..
    } = srtp_call().await;
    let store = server.server.as_ref().unwrap().store();
    ua.ack().await;
    let fixtures =
        std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/fuzz/srtp");
    let to = ua.remote_rtp.expect("the answer's media address");
    let mut sent = 0;
    for entry in std::fs::read_dir(&fixtures).unwrap() {
        let datagram = std::fs::read(entry.unwrap().path()).unwrap();
        ua.rtp.send_to(&datagram, to).await.unwrap();
        sent += 1;
    }
    assert!(sent >= 3, "fixtures in {}", fixtures.display());
    ua.srtp_out = Some(srtp_context(&our_key, false));
    ua.send_silence(200).await;
    ua.press_rfc4733('1').await; // English
    let ticket = support::tickets::ticket_when(store, &ua.call_id, WAIT, "language", |t| {
        t.language.is_some()
    })
    .await;
    assert_eq!(ticket.language, Some(Language::English));
    assert_eq!(ua.bye().await.status_code.code(), 200);
}

/// Over UDP an SRTP offer would hand its key to anyone reading the SIP: 488, and a Warning
/// that says why.
#[tokio::test]
async fn an_srtp_offer_over_udp_is_refused_with_a_warning_naming_tls() {
    let server = TestServer::start().await;
    let mut ua = Ua::udp(server.sip).await;
    let offer = savp_offer(&ua, &rand::random());
    let refused = invite_with(&mut ua, &offer).await;
    assert_eq!(refused.status_code.code(), 488, "{refused}");
    let warning = warning(&refused);
    assert!(
        warning.starts_with("399 ") && warning.contains("TLS") && warning.contains("clear text"),
        "{warning}"
    );
}

/// `sip.tls_require_srtp`: plain RTP over TLS gets 488 saying SRTP is required; SRTP is
/// answered.
#[tokio::test]
async fn plain_rtp_over_tls_is_refused_when_srtp_is_required() {
    let dir = tempfile::tempdir().unwrap();
    let pki = TestPki::new(dir.path());
    let server = tls_server(&pki, |c| c.sip.tls_require_srtp = true).await;
    let tls = server.sip_tls.unwrap();
    let mut plain = Ua::tls(pki.connect(tls, &[]).await).await;
    let refused = plain.invite().await;
    assert_eq!(refused.status_code.code(), 488, "{refused}");
    assert!(warning(&refused).contains("must use SRTP"), "{refused}");

    let mut secure = Ua::tls(pki.connect(tls, &[]).await).await;
    let offer = savp_offer(&secure, &rand::random());
    let ok = invite_with(&mut secure, &offer).await;
    assert_eq!(ok.status_code.code(), 200, "{ok}");
    secure.ack().await;
    assert_eq!(secure.bye().await.status_code.code(), 200);
}

/// Sends `hz` in 200 ms chunks and keeps what arrives, until `until` says stop.
async fn talk(ua: &mut Ua, hz: f64, mut until: impl FnMut() -> bool) -> Vec<Received> {
    let chunk = tone(hz, 200);
    let mut heard = Vec::new();
    let deadline = tokio::time::Instant::now() + Duration::from_secs(40);
    while !until() && tokio::time::Instant::now() < deadline {
        ua.send_audio(&chunk).await;
        heard.extend(ua.collect_rtp(Duration::from_millis(1)).await);
    }
    heard
}

/// bob, a network technician whose phone is registered over TLS, on a server over TLS
/// (`adjust`ed).
struct Bob {
    server: TestServer,
    store: hotline::store::Store,
    phone: Ua,
    _dir: tempfile::TempDir,
}

async fn bob_on_tls(adjust: impl FnOnce(&mut hotline::config::Config)) -> Bob {
    let dir = tempfile::tempdir().unwrap();
    let pki = TestPki::new(dir.path());
    let server = tls_server(&pki, adjust).await;
    let store = server.server.as_ref().unwrap().store().clone();
    support::oncall::sip_technician(&server, "bob", "correct horse").await;
    support::oncall::network_team(&store, &["bob"], None).await;
    let mut phone = Ua::tls(pki.connect(server.sip_tls.unwrap(), &[]).await).await;
    let contact = format!("<sip:bob@{};transport=tls>", phone.local());
    let registered = register_over_tls(&mut phone, "bob", "correct horse", &contact).await;
    assert_eq!(registered.status_code.code(), 200, "{registered}");
    Bob {
        server,
        store,
        phone,
        _dir: dir,
    }
}

/// A P1 network caller on plain UDP: English, network, everyone, down.
async fn p1_caller(server: &TestServer) -> Ua {
    Ua::dial_keyed(server.sip, &['#', '1', '3', '1', '1']).await
}

/// What a call bob took said and carried.
struct Taken {
    /// The INVITE bob answered, and those he refused before it.
    invite: rsip::Request,
    refused: Vec<rsip::Request>,
    /// bob's 600 Hz as the caller heard it, and the caller's 1000 Hz as bob heard it: the
    /// share of each tone in what was heard.
    caller_hears_bob: f64,
    bob_hears_caller: f64,
    packets_to_bob: usize,
}

/// A P1 caller is routed to bob, who takes the call with a 1 (over SRTP when the leg is), and
/// each side sends its tone for 3 s; checks that bob took the ticket.
async fn bob_takes_a_p1_call(bob: Bob) -> Taken {
    let Bob {
        server,
        store,
        phone: mut bob,
        _dir,
    } = bob;
    let technician = tokio::spawn(async move {
        let invite = bob.answer_incoming(Duration::from_secs(40)).await;
        bob.send_silence(300).await;
        bob.press_rfc4733('1').await;
        let started = tokio::time::Instant::now();
        let heard = talk(&mut bob, 600.0, || {
            started.elapsed() > Duration::from_secs(3)
        })
        .await;
        assert_eq!(bob.bye().await.status_code.code(), 200);
        (invite, bob.refused, heard)
    });
    let mut caller = p1_caller(&server).await;
    let heard_by_caller = talk(&mut caller, 1000.0, || technician.is_finished()).await;
    let (invite, refused, heard_by_bob) = technician.await.unwrap();
    let ticket = support::tickets::settled_ticket(&store, &caller.call_id).await;
    assert_eq!(ticket.assignee.as_deref(), Some("bob"));
    Taken {
        invite,
        refused,
        caller_hears_bob: best_share_at(&decode(&heard_by_caller, caller.codec), 600.0),
        bob_hears_caller: best_share_at(&decode(&heard_by_bob, G711::Ulaw), 1000.0),
        packets_to_bob: heard_by_bob.len(),
    }
}

/// The outgoing side: bob's phone, registered over TLS, is rung with RTP/SAVP and Hotline's
/// key; it answers with a key of its own, takes the call with an SRTP-protected 1, and each
/// side hears the other's tone through the bridge (bob's leg SRTP, the caller's plain UDP).
#[tokio::test]
async fn a_technician_registered_over_tls_is_rung_with_srtp_and_both_sides_hear_each_other() {
    let taken = bob_takes_a_p1_call(bob_on_tls(|_| {}).await).await;
    let offer = String::from_utf8_lossy(&taken.invite.body).to_string();
    assert!(
        offer.contains(" RTP/SAVP 0 8 101\r\n")
            && offer.contains("a=crypto:1 AES_CM_128_HMAC_SHA1_80 inline:"),
        "an SRTP offer to a phone on TLS: {offer}"
    );
    assert!(
        taken.bob_hears_caller > 0.6,
        "bob decrypts the caller's 1000 Hz (share {:.2}, {} packets)",
        taken.bob_hears_caller,
        taken.packets_to_bob
    );
    assert!(
        taken.caller_hears_bob > 0.6,
        "Hotline decrypted bob's 600 Hz for the caller (share {:.2})",
        taken.caller_hears_bob
    );
}

/// A technician's phone on TLS that cannot do SRTP: it answers the SRTP offer 488, Hotline
/// offers plain RTP in a new INVITE at once, and the call is bridged with plain RTP on that leg.
#[tokio::test]
async fn a_phone_on_tls_that_refuses_srtp_is_offered_plain_rtp_and_takes_the_call() {
    let mut bob = bob_on_tls(|_| {}).await;
    bob.phone.refuse_srtp = true;
    let taken = bob_takes_a_p1_call(bob).await;
    assert_eq!(taken.refused.len(), 1, "one SRTP offer refused");
    let offer = String::from_utf8_lossy(&taken.invite.body).to_string();
    assert!(
        offer.contains(" RTP/AVP 0 8 101\r\n") && !offer.contains("a=crypto"),
        "plain RTP offered after the 488: {offer}"
    );
    assert!(
        taken.bob_hears_caller > 0.6,
        "bob hears the caller's 1000 Hz (share {:.2}, {} packets)",
        taken.bob_hears_caller,
        taken.packets_to_bob
    );
    assert!(
        taken.caller_hears_bob > 0.6,
        "the caller hears bob's 600 Hz (share {:.2})",
        taken.caller_hears_bob
    );
}

/// With `sip.tls_require_srtp`, a phone that refuses SRTP is not offered plain RTP: its 488
/// ends that attempt, and no second INVITE comes.
#[tokio::test]
async fn with_srtp_required_a_phone_that_refuses_it_is_not_offered_plain_rtp() {
    let Bob {
        server,
        phone: mut bob,
        _dir,
        ..
    } = bob_on_tls(|c| c.sip.tls_require_srtp = true).await;
    let mut caller = p1_caller(&server).await;
    let offer = bob
        .next_invite(Duration::from_secs(40))
        .await
        .expect("bob is rung");
    assert!(
        String::from_utf8_lossy(&offer.body).contains(" RTP/SAVP "),
        "an SRTP offer first"
    );
    bob.respond(&offer, rsip::StatusCode::NotAcceptableHere)
        .await;
    let again = bob.next_invite(Duration::from_secs(5)).await;
    assert!(again.is_none(), "offered again without SRTP: {again:?}");
    let _ = caller.bye().await;
}
