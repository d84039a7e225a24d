//! The phone in the browser, end to end: headless Chromium with a fake microphone playing a
//! 1 kHz tone logs in as a technician; the home page becomes one of their phones (a binding in
//! the store); a P1 call from the Rust test UA (sending 440 Hz) is routed to it, announced,
//! taken with the page's keypad and talked over WebRTC. Each side checks it hears the other's
//! tone: the caller with Goertzel on the RTP it receives, the page with a WebAudio analyser.
//! Decline and no answer in the page escalate like a desk phone; the same call is taken over the
//! web log's own HTTPS with the phone on wss://.

use super::browser::{start_driver_with, Driver};
use super::support::audio::{best_share_at, tone};
use super::support::oncall::{network_team, phone_at};
use super::support::tls::TestPki;
use super::support::ua::{decode, Ua};
use super::{Web, PASSWORD};
use hotline::media::g711::G711;
use hotline::oncall::{EscalationStep, Position, Presence, PresenceChoice};
use hotline::store::Store;
use hotline::tickets::CallEventKind;
use serde_json::Value;
use std::path::Path;
use std::time::{Duration, Instant};

/// Ten seconds of `hz` at 48 kHz (Chromium loops the file as its microphone).
fn microphone_wav(path: &Path, hz: f64) {
    let spec = hound::WavSpec {
        channels: 1,
        sample_rate: 48_000,
        bits_per_sample: 16,
        sample_format: hound::SampleFormat::Int,
    };
    let mut w = hound::WavWriter::create(path, spec).unwrap();
    for n in 0..48_000 * 10 {
        let s = 8000.0 * (2.0 * std::f64::consts::PI * hz * f64::from(n) / 48_000.0).sin();
        w.write_sample(s as i16).unwrap();
    }
    w.finalize().unwrap();
}

/// Chromium as a technician's workstation: a fake microphone playing `wav`, no permission
/// prompt, loopback ICE candidates allowed (server and browser share the machine), and `extra`.
async fn browser_with_microphone(wav: &Path, extra: &[String]) -> Driver {
    let mut args = vec![
        "--use-fake-ui-for-media-stream".to_string(),
        "--use-fake-device-for-media-stream".to_string(),
        format!("--use-file-for-fake-audio-capture={}", wav.display()),
        "--allow-loopback-in-peer-connection".to_string(),
        "--autoplay-policy=no-user-gesture-required".to_string(),
    ];
    args.extend_from_slice(extra);
    start_driver_with(&args).await.expect("browser")
}

/// tom logged in to the web log in Chromium, whose microphone plays 1 kHz; the file lives as
/// long as the returned directory.
async fn tom_at_his_workstation(web: &Web) -> (Driver, tempfile::TempDir) {
    tom_at(&format!("http://{}", web.server.http), &[]).await
}

/// tom logged in to the web log at `site` (scheme and authority) in a Chromium started with
/// `extra` arguments, its microphone playing 1 kHz.
async fn tom_at(site: &str, extra: &[String]) -> (Driver, tempfile::TempDir) {
    let dir = tempfile::tempdir().unwrap();
    let wav = dir.path().join("microphone.wav");
    microphone_wav(&wav, 1000.0);
    let driver = browser_with_microphone(&wav, extra).await;
    log_in(&driver, site, "tom").await;
    (driver, dir)
}

async fn log_in(driver: &Driver, site: &str, name: &str) {
    driver.go(&format!("{site}/login")).await;
    driver.type_into("input[name=name]", name).await;
    driver.type_into("input[name=password]", PASSWORD).await;
    driver.click("form[action='/login'] button").await;
    driver.wait_for_page("/", "Calls now").await;
}

async fn softphone_state(driver: &Driver) -> String {
    driver
        .script("return window.hotlineSoftphone ? window.hotlineSoftphone.state() || '' : ''")
        .await
        .as_str()
        .unwrap_or("")
        .to_string()
}

/// Waits (keeping the caller's RTP flowing) until the page's phone is in `state`.
async fn wait_for_state(driver: &Driver, caller: Option<&mut Ua>, state: &str) {
    let mut caller = caller;
    for _ in 0..150 {
        if softphone_state(driver).await == state {
            return;
        }
        match caller.as_deref_mut() {
            Some(c) => c.send_silence(100).await,
            None => tokio::time::sleep(Duration::from_millis(100)).await,
        }
    }
    panic!(
        "the softphone never reached {state:?}; it is {:?}",
        softphone_state(driver).await
    );
}

/// Dials in and keys a P1 network call; returns the caller and its ticket's reference.
async fn p1_network_call(web: &Web) -> (Ua, String) {
    let store = web.store();
    let mut caller = Ua::udp(web.server.sip).await;
    caller.connect().await;
    caller.send_silence(200).await;
    for key in ['#', '1', '3', '1', '1'] {
        caller.press_rfc4733(key).await;
    }
    let reference = loop {
        if let Some(t) = store.ticket_by_call_id(&caller.call_id).await.unwrap() {
            break t.reference.to_string();
        }
        caller.send_silence(100).await;
    };
    (caller, reference)
}

/// Two seconds of what the caller receives, after half a second to let what was already on its
/// way drain (the caller keeps sending silence meanwhile).
async fn listen(caller: &mut Ua) -> Vec<super::support::ua::Received> {
    for _ in 0..5 {
        caller.send_silence(100).await;
        caller.collect_rtp(Duration::from_millis(1)).await;
    }
    let mut heard = Vec::new();
    for _ in 0..20 {
        caller.send_silence(100).await;
        heard.extend(caller.collect_rtp(Duration::from_millis(1)).await);
    }
    heard
}

fn rms(pcm: &[i16]) -> f64 {
    if pcm.is_empty() {
        return 0.0;
    }
    let sum: f64 = pcm.iter().map(|&s| f64::from(s) * f64::from(s)).sum();
    (sum / pcm.len() as f64).sqrt()
}

async fn has_event(store: &Store, reference: &str, kind: CallEventKind) -> bool {
    event_where(store, reference, kind, |_| true).await
}

/// Whether the ticket's timeline has an event of `kind` whose detail passes `detail`.
async fn event_where(
    store: &Store,
    reference: &str,
    kind: CallEventKind,
    detail: impl Fn(&str) -> bool,
) -> bool {
    let ticket = store
        .ticket_by_ref(&reference.parse().unwrap())
        .await
        .unwrap()
        .unwrap();
    store
        .events(ticket.id)
        .await
        .unwrap()
        .iter()
        .any(|e| e.kind == kind && detail(&e.detail))
}

/// Four seconds of talk: the caller sends 440 Hz while the page's microphone plays 1 kHz; the
/// caller must receive mostly 1 kHz and the page's analyser must report 440 Hz.
async fn talk(driver: &Driver, caller: &mut Ua) {
    let chunk = tone(440.0, 200);
    let mut heard = Vec::new();
    let mut page_heard = Vec::new();
    for i in 0..20 {
        caller.send_audio(&chunk).await;
        heard.extend(caller.collect_rtp(Duration::from_millis(1)).await);
        if i % 4 == 3 {
            let hz = driver
                .script("return window.hotlineSoftphone.heardHz()")
                .await;
            page_heard.push(hz.as_f64().unwrap_or(0.0));
        }
    }
    let share = best_share_at(&decode(&heard, G711::Ulaw), 1000.0);
    assert!(
        share > 0.5,
        "the caller hears the page's microphone (share at 1 kHz: {share:.2})"
    );
    assert!(
        page_heard.iter().any(|hz| (hz - 440.0).abs() < 25.0),
        "the page hears the caller's 440 Hz; its analyser's loudest frequency: {page_heard:?}"
    );
}

/// Answers the ringing page and takes the call with the keypad's 1 at the announcement.
async fn answer_and_take(driver: &Driver, caller: &mut Ua, store: &Store, reference: &str) {
    driver.click("#softphone button.answer").await;
    wait_for_state(driver, Some(&mut *caller), "in-call").await;
    for _ in 0..4 {
        driver
            .click("#softphone .keypad button[data-key='1']")
            .await;
        for _ in 0..20 {
            caller.send_silence(100).await;
            if has_event(store, reference, CallEventKind::TechnicianAnswered).await {
                return;
            }
        }
    }
    panic!("the keypad's 1 never took the call");
}

#[tokio::test]
async fn the_softphone_socket_refuses_other_sites_pages() {
    let web = Web::start().await;
    let (cookie, _) = web.session_of("tom").await;
    let upgrade = [
        ("Cookie", cookie.as_str()),
        ("Upgrade", "websocket"),
        ("Sec-WebSocket-Version", "13"),
        ("Sec-WebSocket-Key", "dGhlIHNhbXBsZSBub25jZQ=="),
    ];
    let mut evil = upgrade.to_vec();
    evil.push(("Origin", "https://evil.example"));
    let r = web.get("/phone", &evil).await;
    assert_eq!(r.status, 403, "{}", r.text());
    assert!(r.text().contains("Origin"), "{}", r.text());
    // From our own page, a request that is not a WebSocket upgrade is a 400, not a phone.
    let origin = format!("http://{}", web.server.http);
    let r = web
        .get("/phone", &[("Cookie", &cookie), ("Origin", &origin)])
        .await;
    assert_eq!(r.status, 400, "{}", r.text());
    let phones = web
        .store()
        .bindings("tom", chrono::Utc::now())
        .await
        .unwrap();
    assert!(phones.is_empty(), "no page became a phone: {phones:?}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_technician_takes_a_p1_call_in_the_browser_with_two_way_audio() {
    let web = Web::start_with(|c| c.registrar.keepalive_secs = 0).await;
    let store = web.store().clone();
    network_team(&store, &["tom"], None).await;
    let (driver, _microphone) = tom_at_his_workstation(&web).await;

    // The open home page is one of tom's phones.
    wait_for_state(&driver, None, "ready").await;
    let phones = store.bindings("tom", chrono::Utc::now()).await.unwrap();
    assert_eq!(phones.len(), 1, "{phones:?}");
    assert!(
        phones[0].binding.contact.starts_with("sip:tom-web-"),
        "{:?}",
        phones[0].binding
    );

    let (mut caller, reference) = p1_network_call(&web).await;
    wait_for_state(&driver, Some(&mut caller), "ringing").await;
    let card = driver
        .script("var c = document.getElementById('ringing'); return c ? c.dataset.reference : null")
        .await;
    assert_eq!(card, Value::String(reference.clone()), "the screen pop");
    driver.screenshots("softphone-ringing").await;

    driver.click("#softphone button.answer").await;
    wait_for_state(&driver, Some(&mut caller), "in-call").await;
    // Answering opened the ticket in a second tab; this one keeps the call.
    let handles = driver.call("GET", "/window/handles", Value::Null).await;
    assert_eq!(
        handles.as_array().map(Vec::len),
        Some(2),
        "the ticket tab: {handles}"
    );

    // Routing announces the call to the browser; 1 on the page's keypad takes it.
    let mut taken = false;
    for _ in 0..4 {
        driver
            .click("#softphone .keypad button[data-key='1']")
            .await;
        for _ in 0..20 {
            caller.send_silence(100).await;
            if has_event(&store, &reference, CallEventKind::TechnicianAnswered).await {
                taken = true;
                break;
            }
        }
        if taken {
            break;
        }
    }
    assert!(taken, "the keypad's 1 never took the call");

    // They talk: the caller sends 440 Hz, the browser's microphone 1 kHz.
    talk(&driver, &mut caller).await;
    driver.screenshots("softphone-in-call").await;

    // Hold in the panel: the gateway re-INVITEs Hotline with a=sendonly and routing plays the
    // caller music on hold (low notes, nothing at 1 kHz) instead of the browser's microphone.
    driver.click("#softphone button.hold").await;
    wait_for_state(&driver, Some(&mut caller), "on-hold").await;
    let raw = listen(&mut caller).await;
    let held = decode(&raw, G711::Ulaw);
    let share = best_share_at(&held, 1000.0);
    assert!(
        share < 0.2,
        "on hold the caller no longer hears the browser (share at 1 kHz: {share:.2})"
    );
    assert!(
        rms(&held) > 100.0,
        "on hold the caller hears music, not silence (RMS {:.0})",
        rms(&held)
    );
    let label = driver
        .script("return document.querySelector('#softphone button.hold').textContent")
        .await;
    assert_eq!(label, Value::String("Resume".into()));
    driver.screenshots("softphone-on-hold").await;

    assert!(
        event_where(&store, &reference, CallEventKind::Hold, |d| d
            == "tom put the caller on hold")
        .await,
        "the hold is on the ticket's timeline"
    );

    // Resume: the browser's tone is back.
    driver.click("#softphone button.hold").await;
    wait_for_state(&driver, Some(&mut caller), "in-call").await;
    let share = best_share_at(&decode(&listen(&mut caller).await, G711::Ulaw), 1000.0);
    assert!(
        share > 0.5,
        "after Resume the caller hears the browser again (share at 1 kHz: {share:.2})"
    );
    assert!(
        event_where(&store, &reference, CallEventKind::Hold, |d| d
            == "tom took the caller off hold")
        .await
    );

    // Hang up in the browser: the caller's leg ends too.
    driver.click("#softphone button.hangup").await;
    caller.expect_bye(Duration::from_secs(10)).await;
    wait_for_state(&driver, None, "ready").await;
    let ticket = super::support::tickets::settled_ticket(&store, &caller.call_id).await;
    assert_eq!(ticket.assignee.as_deref(), Some("tom"));
    assert!(has_event(&store, &reference, CallEventKind::TalkEnded).await);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn declining_in_the_browser_passes_the_call_on_and_the_caller_hanging_up_ends_the_ringing() {
    let web = Web::start_with(|c| c.registrar.keepalive_secs = 0).await;
    let store = web.store().clone();
    network_team(&store, &["tom"], Some("alice")).await;
    let (driver, _microphone) = tom_at_his_workstation(&web).await;
    wait_for_state(&driver, None, "ready").await;

    let (mut caller, reference) = p1_network_call(&web).await;
    wait_for_state(&driver, Some(&mut caller), "ringing").await;
    driver.click("#softphone button.decline").await;
    let mut declined = false;
    for _ in 0..50 {
        caller.send_silence(100).await;
        let ticket = store
            .ticket_by_ref(&reference.parse().unwrap())
            .await
            .unwrap()
            .unwrap();
        declined = store.events(ticket.id).await.unwrap().iter().any(|e| {
            e.kind == CallEventKind::RingResult
                && e.detail.starts_with("tom")
                && e.detail.ends_with(": declined")
        });
        if declined {
            break;
        }
    }
    assert!(declined, "routing saw the browser decline (603)");
    assert_eq!(softphone_state(&driver).await, "ready");
    assert_eq!(caller.bye().await.status_code.code(), 200);

    // A second call rings the page; the caller gives up while it rings: the ringing stops.
    let (mut caller, _) = p1_network_call(&web).await;
    wait_for_state(&driver, Some(&mut caller), "ringing").await;
    assert_eq!(caller.bye().await.status_code.code(), 200);
    wait_for_state(&driver, None, "ready").await;
}

/// Nobody answers the page: after the step's ring time the page stops ringing (the card goes)
/// and routing rings the next step, bob the lead on his desk phone (the Rust test UA), with the
/// no-answer on the ticket's timeline.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_call_left_ringing_in_the_browser_escalates_after_the_ring_time() {
    const RING: Duration = Duration::from_secs(4);
    let web = Web::start_with(|c| c.registrar.keepalive_secs = 0).await;
    let store = web.store().clone();
    // bob, the lead, has a desk phone: the Rust test UA.
    hotline::web::add_user(&store, "bob", hotline::accounts::Role::Technician, PASSWORD)
        .await
        .unwrap();
    let mut bob = Ua::udp(web.server.sip).await;
    phone_at(&store, "bob", "bob", bob.local()).await;
    network_team(&store, &["tom"], Some("bob")).await;
    store
        .set_escalation(
            "network",
            &[
                EscalationStep {
                    position: Position::Primary,
                    ring: RING,
                },
                EscalationStep {
                    position: Position::Lead,
                    ring: Duration::from_secs(30),
                },
            ],
        )
        .await
        .unwrap();
    let (driver, _microphone) = tom_at_his_workstation(&web).await;
    wait_for_state(&driver, None, "ready").await;

    let (mut caller, reference) = p1_network_call(&web).await;
    wait_for_state(&driver, Some(&mut caller), "ringing").await;
    let rang = Instant::now();
    let bob_rung = tokio::spawn(async move {
        loop {
            match bob.recv(Duration::from_secs(30)).await {
                Some(rsip::SipMessage::Request(r)) if r.method == rsip::Method::Invite => {
                    break Instant::now();
                }
                Some(_) => {}
                None => panic!("bob's phone was never rung"),
            }
        }
    });

    // Nobody clicks Answer: the page goes back to ready by itself once tom's step is over.
    wait_for_state(&driver, Some(&mut caller), "ready").await;
    let stopped = rang.elapsed();
    assert!(
        stopped >= RING - Duration::from_secs(1),
        "the page rang its step's {RING:?}, not {stopped:?}"
    );
    let card = driver
        .script("return document.getElementById('ringing') !== null")
        .await;
    assert_eq!(card, Value::Bool(false), "the ringing card is gone");

    while !bob_rung.is_finished() {
        caller.send_silence(100).await;
    }
    let bob_rung = bob_rung.await.unwrap() - rang;
    assert!(
        bob_rung >= RING - Duration::from_secs(1),
        "bob is the next step, rung after tom's, not alongside ({bob_rung:?})"
    );
    assert!(
        event_where(&store, &reference, CallEventKind::RingResult, |d| d
            .starts_with("tom")
            && d.ends_with(": no answer"))
        .await,
        "the no-answer is on the timeline"
    );
    assert!(
        event_where(&store, &reference, CallEventKind::Escalated, |d| d
            .starts_with("to bob"))
        .await,
        "the escalation to bob is on the timeline"
    );
    assert_eq!(caller.bye().await.status_code.code(), 200);
}

/// The web log serving HTTPS itself (`[http] tls_cert`/`tls_key`), as docs/web.md advises for
/// technicians on other machines. Chromium opens https://hotline.test (mapped to loopback, so
/// the page is a secure context only thanks to HTTPS, unlike 127.0.0.1) and trusts the test
/// certificate by its key's pin; the page's phone connects over wss:// (the Origin check
/// passes with the https scheme) and takes a P1 call, the caller hearing its microphone.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn over_https_the_page_is_a_phone_on_wss_and_takes_a_call_with_two_way_audio() {
    let dir = tempfile::tempdir().unwrap();
    let pki = TestPki::new(dir.path());
    let (cert, key) = (pki.cert.clone(), pki.key.clone());
    let web = Web::start_with(|c| {
        c.registrar.keepalive_secs = 0;
        c.http.tls_cert = Some(cert);
        c.http.tls_key = Some(key);
    })
    .await;
    let store = web.store().clone();
    network_team(&store, &["tom"], None).await;
    let site = format!("https://hotline.test:{}", web.server.http.port());
    let chromium = [
        "--host-resolver-rules=MAP hotline.test 127.0.0.1".to_string(),
        format!(
            "--ignore-certificate-errors-spki-list={}",
            pki.spki_sha256()
        ),
    ];
    let (driver, _microphone) = tom_at(&site, &chromium).await;

    // "ready" comes from the server over the page's socket: a wss:// one on an https page.
    wait_for_state(&driver, None, "ready").await;
    let page = driver
        .script("return [location.protocol, window.isSecureContext]")
        .await;
    assert_eq!(page, serde_json::json!(["https:", true]));
    let phones = store.bindings("tom", chrono::Utc::now()).await.unwrap();
    assert_eq!(phones.len(), 1, "the https page is tom's phone: {phones:?}");

    let (mut caller, reference) = p1_network_call(&web).await;
    wait_for_state(&driver, Some(&mut caller), "ringing").await;
    answer_and_take(&driver, &mut caller, &store, &reference).await;

    talk(&driver, &mut caller).await;

    assert_eq!(caller.bye().await.status_code.code(), 200);
    wait_for_state(&driver, None, "ready").await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_phone_panel_switches_presence_without_reloading_and_shows_the_microphone() {
    let web = Web::start_with(|c| c.registrar.keepalive_secs = 0).await;
    let store = web.store().clone();
    network_team(&store, &["tom"], None).await;
    store
        .set_presence("tom", PresenceChoice::Available)
        .await
        .unwrap();
    let (driver, _microphone) = tom_at_his_workstation(&web).await;
    wait_for_state(&driver, None, "ready").await;
    // The page was served before it was a phone (tom had none: offline); once it is one, the
    // badge says what routing sees, without a toggle.
    wait_for_script(
        &driver,
        "return document.querySelector('#softphone .mystate .presence').textContent",
        "available",
    )
    .await;

    // The toggle and the microphone permission are in the phone panel.
    let permission = driver
        .script(
            "var m = document.querySelector('#softphone .mic-state'); \
             return m && m.dataset.permission ? m.dataset.permission : ''",
        )
        .await;
    assert!(
        ["granted", "prompt", "denied"].contains(&permission.as_str().unwrap_or("")),
        "the panel shows the microphone permission: {permission}"
    );
    let in_panel = driver
        .script("return !!document.querySelector('#softphone .mystate .presence-toggle')")
        .await;
    assert_eq!(
        in_panel,
        Value::Bool(true),
        "the toggle is in the phone panel"
    );
    // A page reload would lose this.
    driver
        .script("window.presenceMarker = 'same page'; return null")
        .await;

    driver.click("#softphone .presence-toggle").await;
    wait_for_presence(&store, PresenceChoice::Away).await;
    assert_eq!(
        store.presence("tom", chrono::Utc::now()).await.unwrap(),
        Presence::Away,
        "routing sees tom away (the page is a reachable phone, so not offline)"
    );
    wait_for_script(
        &driver,
        "return document.querySelector('#softphone .mystate .presence').textContent",
        "away",
    )
    .await;
    driver.screenshots("softphone-away").await;

    driver.click("#softphone .presence-toggle").await;
    wait_for_presence(&store, PresenceChoice::Available).await;
    assert_eq!(
        store.presence("tom", chrono::Utc::now()).await.unwrap(),
        Presence::Available
    );
    wait_for_script(
        &driver,
        "return document.querySelector('#softphone .mystate .presence').textContent",
        "available",
    )
    .await;
    let marker = driver.script("return window.presenceMarker || null").await;
    assert_eq!(marker, Value::String("same page".into()), "no reload");
    assert_eq!(
        softphone_state(&driver).await,
        "ready",
        "the phone stayed up"
    );
}

async fn wait_for_presence(store: &Store, want: PresenceChoice) {
    for _ in 0..100 {
        if store.presence_choice("tom").await.unwrap() == want {
            return;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    panic!("tom's presence never became {want:?}");
}

async fn wait_for_script(driver: &Driver, script: &str, want: &str) {
    let mut last = Value::Null;
    for _ in 0..100 {
        last = driver.script(script).await;
        if last.as_str() == Some(want) {
            return;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    panic!("{script} never gave {want:?}; last {last}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_technician_transfers_a_call_from_the_browser_to_a_colleagues_desk_phone() {
    let web = Web::start_with(|c| c.registrar.keepalive_secs = 0).await;
    let store = web.store().clone();
    network_team(&store, &["tom"], None).await;
    // bob is not on call, but available with a desk phone: the Rust test UA.
    hotline::web::add_user(&store, "bob", hotline::accounts::Role::Technician, PASSWORD)
        .await
        .unwrap();
    let mut bob = Ua::udp(web.server.sip).await;
    phone_at(&store, "bob", "bob", bob.local()).await;
    let (driver, _microphone) = tom_at_his_workstation(&web).await;
    wait_for_state(&driver, None, "ready").await;

    let (mut caller, reference) = p1_network_call(&web).await;
    wait_for_state(&driver, Some(&mut caller), "ringing").await;
    answer_and_take(&driver, &mut caller, &store, &reference).await;

    // The panel offers bob and the team, not tom himself.
    let options = "return Array.from(document.querySelectorAll('#softphone select.transfer-to option')).map(o => o.value).join(',')";
    wait_for_script(&driver, options, "bob,network").await;
    let visible = driver
        .script("return !document.querySelector('#softphone .transfer-box').hidden")
        .await;
    assert_eq!(visible, Value::Bool(true), "the Transfer control shows");

    // A target Hotline does not know: refused, the page says so, the call goes on.
    driver
        .script(
            "var s = document.querySelector('#softphone select.transfer-to'); \
             s.append(new Option('nobody', 'nobody')); s.value = 'nobody'; return null",
        )
        .await;
    driver.click("#softphone button.transfer").await;
    let mut refused = String::new();
    for _ in 0..50 {
        caller.send_silence(100).await;
        refused = driver
            .script("return document.querySelector('#softphone .phone-error').textContent")
            .await
            .as_str()
            .unwrap_or("")
            .to_string();
        if !refused.is_empty() {
            break;
        }
    }
    assert!(
        refused.contains("404, no technician or team of that name"),
        "the page shows the refusal: {refused:?}"
    );
    assert_eq!(softphone_state(&driver).await, "in-call");
    assert!(
        event_where(&store, &reference, CallEventKind::Transferred, |d| d
            .contains("transfer refused"))
        .await
    );
    let share = best_share_at(&decode(&listen(&mut caller).await, G711::Ulaw), 1000.0);
    assert!(
        share > 0.5,
        "after the refusal the caller still hears tom (share at 1 kHz: {share:.2})"
    );

    // To bob: his phone rings (the caller hears ringback meanwhile) and says who transferred.
    driver
        .script(
            "document.querySelector('#softphone select.transfer-to').value = 'bob'; return null",
        )
        .await;
    driver.click("#softphone button.transfer").await;
    let answering = tokio::spawn(async move {
        let invite = bob.answer_incoming(Duration::from_secs(20)).await;
        (bob, invite)
    });
    while !answering.is_finished() {
        caller.send_silence(100).await;
    }
    let (mut bob, invite) = answering.await.unwrap();
    let from = invite.to_string();
    assert!(from.contains("transfer from tom"), "{from}");
    // tom's page is done with the call.
    wait_for_state(&driver, Some(&mut caller), "ready").await;
    let reason = driver
        .script("return window.hotlineSoftphone.lastEnded()")
        .await;
    assert_eq!(reason, Value::String("transferred".into()));
    assert!(
        event_where(&store, &reference, CallEventKind::Transferred, |d| d
            == "tom → bob")
        .await,
        "the timeline has the transfer"
    );

    // bob takes it with 1 at the announcement, and hears the caller's 440 Hz.
    let mut taken = false;
    for _ in 0..4 {
        bob.press_rfc4733('1').await;
        for _ in 0..20 {
            caller.send_silence(100).await;
            bob.collect_rtp(Duration::from_millis(1)).await;
            if event_where(&store, &reference, CallEventKind::TechnicianAnswered, |d| {
                d.starts_with("bob on ")
            })
            .await
            {
                taken = true;
                break;
            }
        }
        if taken {
            break;
        }
    }
    assert!(taken, "bob's 1 never took the transferred call");
    let chunk = tone(440.0, 200);
    for _ in 0..3 {
        caller.send_audio(&chunk).await;
        bob.collect_rtp(Duration::from_millis(1)).await;
    }
    let mut heard = Vec::new();
    for _ in 0..10 {
        caller.send_audio(&chunk).await;
        heard.extend(bob.collect_rtp(Duration::from_millis(1)).await);
    }
    let share = best_share_at(&decode(&heard, G711::Ulaw), 440.0);
    assert!(
        share > 0.5,
        "bob hears the caller (share at 440 Hz: {share:.2})"
    );

    assert_eq!(caller.bye().await.status_code.code(), 200);
    bob.expect_bye(Duration::from_secs(10)).await;
    let ticket = super::support::tickets::settled_ticket(&store, &caller.call_id).await;
    assert_eq!(ticket.assignee.as_deref(), Some("bob"));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn call_back_with_the_browser_phone_open_dials_the_caller_from_the_page() {
    use hotline::tickets::Disposition;
    // The caller, reached through the outbound gateway: the Rust test UA, which answers.
    let mut caller = Ua::udp("127.0.0.1:9".parse().unwrap()).await;
    let gateway = caller.local();
    let web = Web::start_with(|c| {
        c.registrar.keepalive_secs = 0;
        c.sip.outbound_gateway = Some(gateway);
    })
    .await;
    caller.server = web.server.sip;
    let store = web.store().clone();
    network_team(&store, &["tom"], None).await;
    // tom also has a desk phone: with the page open, the page is his leg and the desk phone
    // is left alone (nothing listens there: ringing it would show as a ring on the timeline).
    let desk = std::net::UdpSocket::bind("127.0.0.1:0").unwrap();
    phone_at(&store, "tom", "tom-desk", desk.local_addr().unwrap()).await;
    let earlier = super::support::tickets::callback_requested(&store, "1001").await;
    let reference = earlier.reference.to_string();
    let (driver, _microphone) = tom_at_his_workstation(&web).await;
    wait_for_state(&driver, None, "ready").await;

    // tom presses "Call back" on the ticket (his session, the ticket page's form).
    let (cookie, csrf) = web.session_of("tom").await;
    let r = web
        .post_form(
            &format!("/tickets/{reference}/callback"),
            &cookie,
            &[("csrf", &csrf)],
        )
        .await;
    assert_eq!(r.status, 303, "{}", r.text());

    // The page answers by itself, says whom it calls, and Hotline dials the caller.
    let answering = tokio::spawn(async move {
        let invite = caller.answer_incoming(Duration::from_secs(30)).await;
        (caller, invite)
    });
    let mut status = String::new();
    for _ in 0..100 {
        status = driver
            .script("return document.querySelector('#softphone .phone-state').textContent")
            .await
            .as_str()
            .unwrap_or("")
            .to_string();
        if status.starts_with("Calling") {
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    assert!(
        status.starts_with("Calling") && status.contains("1001"),
        "the panel says whom it calls: {status:?}"
    );
    let (mut caller, invite) = answering.await.unwrap();
    assert!(
        invite.uri.to_string().starts_with("sip:1001@"),
        "{}",
        invite.uri
    );
    assert_eq!(softphone_state(&driver).await, "in-call");

    // They talk: the caller hears the browser's 1 kHz, the page the caller's 440 Hz.
    talk(&driver, &mut caller).await;

    // The caller hangs up: the page is free again and the ticket is called back.
    assert_eq!(caller.bye().await.status_code.code(), 200);
    wait_for_state(&driver, None, "ready").await;
    let mut done = false;
    for _ in 0..50 {
        let t = store.ticket(earlier.id).await.unwrap().unwrap();
        if t.disposition == Disposition::CallbackDone {
            done = true;
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    assert!(done, "the ticket is marked called back");
    assert!(
        event_where(&store, &reference, CallEventKind::RoutingAttempt, |d| d
            .contains("from their browser phone"))
        .await
    );
    assert!(
        !event_where(&store, &reference, CallEventKind::Ringing, |d| d
            .contains("tom-desk"))
        .await,
        "the desk phone was not rung"
    );
}
