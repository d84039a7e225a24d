//! A real browser: headless Chromium driven through chromedriver (WebDriver over HTTP, spoken
//! with the same minimal client) logs in with the form, sees a real call arrive live, plays its
//! voicemail, reads the transcript as it arrives, and acknowledges and resolves the ticket.
//! `scripts/install-deps.sh --test` installs Chromium and chromedriver; without them it fails.

use super::support::http::request;
use super::{Web, PASSWORD};
use hotline::tickets::TicketStatus;
use serde_json::{json, Value};
use std::net::SocketAddr;
use std::process::{Child, Command, Stdio};
use std::time::Duration;

const ELEMENT: &str = "element-6066-11e4-a52e-4f735466cecf";

/// Kills chromedriver (and with it the browser) however the test ends.
pub(super) struct Driver {
    child: Child,
    addr: SocketAddr,
    session: String,
}

impl Drop for Driver {
    fn drop(&mut self) {
        // Ask chromedriver to quit the browser first (also when the test panicked): killing
        // chromedriver alone would leave Chromium running.
        if !self.session.is_empty() {
            use std::io::{Read, Write};
            if let Ok(mut s) = std::net::TcpStream::connect(self.addr) {
                let _ = s.set_read_timeout(Some(Duration::from_secs(10)));
                let _ = write!(
                    s,
                    "DELETE /session/{} HTTP/1.1\r\nHost: {}\r\nContent-Length: 0\r\nConnection: close\r\n\r\n",
                    self.session, self.addr
                );
                let _ = s.read(&mut [0u8; 1024]);
            }
        }
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

impl Driver {
    pub(super) async fn call(&self, method: &str, path: &str, body: Value) -> Value {
        let body = if method == "GET" {
            Vec::new()
        } else {
            body.to_string().into_bytes()
        };
        let r = request(
            self.addr,
            method,
            &format!("/session/{}{path}", self.session),
            &[("Content-Type", "application/json")],
            &body,
        )
        .await;
        assert_eq!(r.status, 200, "{method} {path}: {}", r.text());
        r.json()["value"].clone()
    }

    pub(super) async fn find(&self, css: &str) -> String {
        let v = self
            .call(
                "POST",
                "/element",
                json!({"using": "css selector", "value": css}),
            )
            .await;
        v[ELEMENT].as_str().expect("element id").to_string()
    }

    pub(super) async fn type_into(&self, css: &str, text: &str) {
        let e = self.find(css).await;
        self.call(
            "POST",
            &format!("/element/{e}/value"),
            json!({ "text": text }),
        )
        .await;
    }

    pub(super) async fn click(&self, css: &str) {
        let e = self.find(css).await;
        self.call("POST", &format!("/element/{e}/click"), json!({}))
            .await;
    }

    /// Runs `body` as a function in the page and returns its result.
    pub(super) async fn script(&self, body: &str) -> Value {
        self.call(
            "POST",
            "/execute/sync",
            json!({ "script": body, "args": [] }),
        )
        .await
    }

    /// The length the page's voicemail player found in the WAV (waits up to 10 s for the
    /// browser to load its header; 0 if it never does).
    async fn voicemail_duration(&self) -> f64 {
        for _ in 0..100 {
            let d = self
                .script("var a = document.getElementById('voicemail'); return a && a.readyState >= 1 ? a.duration : 0")
                .await;
            if let Some(d) = d.as_f64().filter(|d| *d > 0.0) {
                return d;
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
        0.0
    }

    pub(super) async fn go(&self, url: &str) {
        self.call("POST", "/url", json!({ "url": url })).await;
    }

    /// Waits (up to 10 s) for the page at `path` whose source contains `text`: a click that
    /// submits a form may return before the navigation it started is done.
    pub(super) async fn wait_for_page(&self, path: &str, text: &str) {
        for _ in 0..100 {
            if self.path().await == path {
                let source = self.call("GET", "/source", Value::Null).await;
                if source.as_str().unwrap_or("").contains(text) {
                    return;
                }
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
        panic!(
            "no page {path} containing {text:?}; at {}",
            self.path().await
        );
    }

    /// Saves the page as `target/screenshots/{name}-1280x800.png` and `{name}-390x844.png`
    /// (desktop and phone width) for a reviewer to look at, then restores the desktop size.
    pub(super) async fn screenshots(&self, name: &str) {
        let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("target/screenshots");
        std::fs::create_dir_all(&dir).unwrap();
        for (w, h) in [(390, 844), (1280, 800)] {
            self.call("POST", "/window/rect", json!({"width": w, "height": h}))
                .await;
            let png = self.call("GET", "/screenshot", Value::Null).await;
            let png = base64_decode(png.as_str().expect("base64 PNG"));
            assert!(png.starts_with(b"\x89PNG"), "{name}: not a PNG");
            std::fs::write(dir.join(format!("{name}-{w}x{h}.png")), png).unwrap();
        }
    }

    pub(super) async fn path(&self) -> String {
        let url = self.call("GET", "/url", Value::Null).await;
        let url = url.as_str().unwrap().to_string();
        url.splitn(4, '/')
            .nth(3)
            .map(|p| format!("/{p}"))
            .unwrap_or_default()
    }
}

/// Standard base64 (WebDriver screenshots), without pulling a crate in for the tests.
fn base64_decode(text: &str) -> Vec<u8> {
    let value = |c: u8| match c {
        b'A'..=b'Z' => c - b'A',
        b'a'..=b'z' => c - b'a' + 26,
        b'0'..=b'9' => c - b'0' + 52,
        b'+' => 62,
        b'/' => 63,
        _ => panic!("not base64: {c}"),
    };
    let digits: Vec<u8> = text
        .bytes()
        .filter(|c| !c.is_ascii_whitespace() && *c != b'=')
        .map(value)
        .collect();
    let mut out = Vec::with_capacity(digits.len() * 3 / 4);
    for chunk in digits.chunks(4) {
        let n = chunk
            .iter()
            .enumerate()
            .fold(0u32, |n, (i, d)| n | (u32::from(*d) << (18 - 6 * i)));
        out.extend_from_slice(&n.to_be_bytes()[1..chunk.len()]);
    }
    out
}

async fn start_driver() -> Option<Driver> {
    start_driver_with(&[]).await
}

/// A browser started with `extra` command-line switches besides the headless ones.
pub(super) async fn start_driver_with(extra: &[String]) -> Option<Driver> {
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let child = match Command::new("chromedriver")
        .arg(format!("--port={port}"))
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
    {
        Ok(c) => c,
        // `make test` installs it (scripts/install-deps.sh --test): a missing driver is a broken
        // set-up, not a reason to pass.
        Err(e) => panic!("chromedriver not available ({e}): run scripts/install-deps.sh --test"),
    };
    let addr: SocketAddr = format!("127.0.0.1:{port}").parse().unwrap();
    let mut driver = Driver {
        child,
        addr,
        session: String::new(),
    };
    for _ in 0..100 {
        if tokio::net::TcpStream::connect(addr).await.is_ok() {
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    let mut args: Vec<String> = [
        "--headless=new",
        "--no-sandbox",
        "--disable-gpu",
        "--disable-dev-shm-usage",
    ]
    .map(String::from)
    .to_vec();
    args.extend_from_slice(extra);
    let caps = json!({"capabilities": {"alwaysMatch": {"goog:chromeOptions": {
        "args": args
    }}}});
    let r = request(
        addr,
        "POST",
        "/session",
        &[("Content-Type", "application/json")],
        caps.to_string().as_bytes(),
    )
    .await;
    assert_eq!(r.status, 200, "new browser session: {}", r.text());
    driver.session = r.json()["value"]["sessionId"].as_str().unwrap().to_string();
    Some(driver)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn browser_logs_in_and_resolves_a_ticket() {
    let web = Web::start().await;
    let (reference, _) = web.seed_ticket("800").await;
    let Some(driver) = start_driver().await else {
        return;
    };
    let base = format!("http://{}", web.server.http);

    driver.go(&format!("{base}/tickets")).await;
    assert_eq!(driver.path().await, "/login", "anonymous → login page");
    driver.type_into("input[name=name]", "alice").await;
    driver.type_into("input[name=password]", PASSWORD).await;
    driver.click("form[action='/login'] button").await;
    // Login lands on the home page; the new call is on the board.
    driver.wait_for_page("/", &reference).await;
    driver.screenshots("home").await;
    // The presence control works from the keyboard-reachable button.
    driver.click("button.presence-toggle").await;
    driver.wait_for_page("/", "Go available").await;
    assert_eq!(
        web.store().presence_choice("alice").await.unwrap(),
        hotline::oncall::PresenceChoice::Away
    );
    driver.go(&format!("{base}/tickets")).await;
    driver.wait_for_page("/tickets", &reference).await;
    driver.screenshots("call_log").await;
    // The call log's filters are laid out as a grid, not one crowded line.
    let display = driver
        .script("return getComputedStyle(document.querySelector('form.filters')).display")
        .await;
    assert_eq!(display, "grid", "call log filters layout");

    driver
        .click(&format!("a[href='/tickets/{reference}']"))
        .await;
    let page = format!("/tickets/{reference}");
    driver.wait_for_page(&page, "Add note").await;
    driver.screenshots("ticket").await;

    // The served style sheet applies under the Content-Security-Policy (no inline style left).
    let badge = driver
        .script("return getComputedStyle(document.querySelector('.prio.p1')).backgroundColor")
        .await;
    assert_eq!(
        badge, "rgb(176, 0, 32)",
        "P1 badge colour from /assets/hotline.css"
    );

    // The voicemail loads in the player and a click on a transcript segment plays from there.
    let transcript = driver
        .script("return document.querySelector('.transcript').innerText")
        .await;
    assert!(
        transcript
            .as_str()
            .unwrap()
            .contains("My printer is on fire."),
        "{transcript}"
    );
    let duration = driver.voicemail_duration().await;
    assert!(
        duration > 3.0,
        "voicemail duration in the player: {duration}"
    );
    driver.click(".transcript tr[data-start] a").await;
    let at = driver
        .script("return document.getElementById('voicemail').currentTime")
        .await;
    assert!(
        at.as_f64().unwrap() >= 1.4,
        "player position after the click: {at}"
    );
    driver.click("button[value=resolved]").await;
    driver.wait_for_page(&page, "status → resolved").await;

    let t = web
        .store()
        .ticket_by_ref(&reference.parse().unwrap())
        .await
        .unwrap()
        .unwrap();
    assert_eq!(t.status, TicketStatus::Resolved);
    let trail = web.store().activity(t.id).await.unwrap();
    assert_eq!(trail[0].actor, "alice");
}

/// A lead adds an override with the edit page's form in a real browser (typed names, the
/// browser's date-time inputs, the CSRF field), and the on-call page shows it, styled by the
/// served style sheet.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_lead_adds_an_override_in_the_browser_and_the_on_call_page_shows_it() {
    let web = Web::start().await;
    super::oncall::seed_rota(&web).await;
    let Some(driver) = start_driver().await else {
        return;
    };
    let base = format!("http://{}", web.server.http);
    driver.go(&format!("{base}/login")).await;
    driver.type_into("input[name=name]", "alice").await;
    driver.type_into("input[name=password]", PASSWORD).await;
    driver.click("form[action='/login'] button").await;
    driver.wait_for_page("/", "Calls now").await;
    driver.click("a[href='/oncall']").await;
    driver.wait_for_page("/oncall", "id=\"phones\"").await;
    driver.click("a[href='/oncall/teams/network']").await;
    driver
        .wait_for_page("/oncall/teams/network", "New override")
        .await;

    let form = "form[action='/oncall/teams/network/overrides']";
    driver
        .type_into(&format!("{form} input[name=covering]"), "cid")
        .await;
    driver
        .type_into(&format!("{form} input[name=covered]"), "ana")
        .await;
    // A date-time input takes its value as the browser's picker would set it.
    driver
        .script(&format!(
            "document.querySelector(\"{form} input[name=from]\").value = '2026-12-03T08:00'; \
             document.querySelector(\"{form} input[name=until]\").value = '2026-12-04T08:00';"
        ))
        .await;
    driver.click(&format!("{form} button")).await;
    driver
        .wait_for_page("/oncall/teams/network", "cid covers ana")
        .await;
    driver.screenshots("oncall_team").await;
    let overrides = web
        .store()
        .rota(chrono::Utc::now() - chrono::Duration::days(365))
        .await
        .unwrap()
        .overrides;
    assert!(
        overrides.iter().any(|o| o.covering == "cid"
            && o.covered.as_deref() == Some("ana")
            && o.from.to_rfc3339() == "2026-12-03T07:00:00+00:00"),
        "{overrides:?}"
    );

    driver
        .go(&format!("{base}/oncall?at=2026-12-02T09:00:00Z"))
        .await;
    driver
        .wait_for_page("/oncall?at=2026-12-02T09:00:00Z", "cid covers ana")
        .await;
    driver.screenshots("oncall").await;
    let badge = driver
        .script("return getComputedStyle(document.querySelector('span.override')).backgroundColor")
        .await;
    assert_eq!(
        badge, "rgb(138, 75, 0)",
        "override badge colour from /assets/hotline.css"
    );
}

/// The story end to end: a caller leaves a spoken voicemail through the real SIP/RTP
/// path while a technician has the call log open; the call appears live, its transcript arrives
/// on the open ticket page without a reload, and the technician plays it and resolves it.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_technician_sees_a_call_arrive_live_and_resolves_it() {
    use super::support::ua::Ua;
    let web = Web::start_with(|c| {
        c.transcription.enabled = true;
        c.transcription.workers = 1;
        c.transcription.threads = 2;
    })
    .await;
    let driver = start_driver().await.expect("browser");
    let base = format!("http://{}", web.server.http);
    driver.go(&format!("{base}/login")).await;
    driver.type_into("input[name=name]", "alice").await;
    driver.type_into("input[name=password]", PASSWORD).await;
    driver.click("form[action='/login'] button").await;
    driver.wait_for_page("/", "Calls now").await;
    driver.go(&format!("{base}/tickets")).await;
    driver.wait_for_page("/tickets", "No tickets.").await;

    // A caller: English, hardware, only me, degraded, skips the hint and the instructions, then
    // speaks and hangs up.
    let mut ua = Ua::udp(web.server.sip).await;
    ua.connect().await;
    ua.send_silence(200).await;
    for key in ['#', '1', '1', '3', '2', '#', '#'] {
        ua.press_rfc4733(key).await;
    }
    ua.send_silence(600).await;
    let speech: Vec<i16> = hound::WavReader::open(
        super::support::server::repo().join("tests/fixtures/speech/en-printer.wav"),
    )
    .unwrap()
    .samples::<i16>()
    .map(Result::unwrap)
    .collect();

    // The open call log announces the call while it is still going on.
    let mut announced = false;
    for _ in 0..100 {
        if driver
            .script("return !document.getElementById('live').hidden")
            .await
            == Value::Bool(true)
        {
            announced = true;
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    assert!(announced, "the call log did not announce the new call");
    let reference = web
        .store()
        .ticket_by_call_id(&ua.call_id)
        .await
        .unwrap()
        .expect("ticket written when the call arrived")
        .reference
        .to_string();
    driver.click("#live a").await;
    driver.wait_for_page("/tickets", &reference).await;
    driver
        .click(&format!("a[href='/tickets/{reference}']"))
        .await;
    let page = format!("/tickets/{reference}");
    driver.wait_for_page(&page, "Add note").await;

    ua.send_audio(&speech).await;
    ua.send_silence(300).await;
    assert_eq!(ua.bye().await.status_code.code(), 200);

    // The page was opened before the transcript existed: it arrives through /events.
    let mut transcript = String::new();
    for _ in 0..900 {
        let text = driver
            .script("var s = document.getElementById('transcript'); return s ? s.innerText : ''")
            .await;
        transcript = text.as_str().unwrap_or("").to_lowercase();
        if transcript.contains("printer") {
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    assert!(
        transcript.contains("printer"),
        "transcript on the open page: {transcript:?}"
    );

    // The voicemail player was not on the page when it was opened; after a reload it plays.
    driver.go(&format!("{base}{page}")).await;
    driver.wait_for_page(&page, "Add note").await;
    let duration = driver.voicemail_duration().await;
    assert!(
        duration > 3.0,
        "voicemail duration in the player: {duration}"
    );

    driver.click("button[value=acknowledged]").await;
    driver.wait_for_page(&page, "status → acknowledged").await;
    driver.click("button[value=resolved]").await;
    driver.wait_for_page(&page, "status → resolved").await;
    let t = web
        .store()
        .ticket_by_ref(&reference.parse().unwrap())
        .await
        .unwrap()
        .unwrap();
    assert_eq!(t.status, TicketStatus::Resolved);
    let trail: Vec<String> = web
        .store()
        .activity(t.id)
        .await
        .unwrap()
        .into_iter()
        .map(|a| format!("{} {}", a.actor, a.detail))
        .collect();
    assert_eq!(trail, ["alice acknowledged", "alice resolved"]);
}

/// Puts `name` on call for network problems, with one phone: SIPp at `phone`.
async fn on_call_for_network(store: &hotline::store::Store, name: &str, phone: SocketAddr) {
    super::support::oncall::phone_at(store, name, name, phone).await;
    super::support::oncall::network_team(store, &[name], None).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_call_ringing_the_technicians_phone_pops_up_on_their_page_and_taking_it_opens_the_ticket()
{
    use super::support::ua::Ua;
    let web = Web::start_with(|c| c.registrar.keepalive_secs = 0).await;
    let store = web.store().clone();
    let port = std::net::UdpSocket::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    on_call_for_network(&store, "tom", format!("127.0.0.1:{port}").parse().unwrap()).await;

    // tom's phone (SIPp) rings for 4 s, answers, takes the call with 1 and talks for 2 s.
    let dir = tempfile::tempdir().unwrap();
    let xml = std::fs::read_to_string(
        super::support::server::repo().join("tests/sipp/uas_technician.xml"),
    )
    .unwrap()
    .replace("@KEY@", "/usr/share/sip-tester/dtmf_2833_1.pcap")
    .replace("@CODEC@", "0")
    .replace("@ANSWER_MS@", "4000")
    .replace("@TALK_MS@", "2000");
    std::fs::write(dir.path().join("phone.xml"), &xml).unwrap();
    let media_port = std::net::UdpSocket::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let phone_dir = dir.path().to_path_buf();
    let phone = tokio::task::spawn_blocking(move || {
        Command::new("sipp")
            .args([
                "-sf",
                "phone.xml",
                "-i",
                "127.0.0.1",
                "-p",
                &port.to_string(),
            ])
            .args(["-mi", "127.0.0.1", "-mp", &media_port.to_string()])
            .args([
                "-rtp_echo",
                "-m",
                "1",
                "-timeout",
                "60s",
                "-timeout_error",
                "-nostdin",
            ])
            .current_dir(phone_dir)
            .output()
            .expect("sipp runs")
    });

    let driver = start_driver().await.expect("browser");
    let base = format!("http://{}", web.server.http);
    driver.go(&format!("{base}/login")).await;
    driver.type_into("input[name=name]", "tom").await;
    driver.type_into("input[name=password]", PASSWORD).await;
    driver.click("form[action='/login'] button").await;
    driver.wait_for_page("/", "Calls now").await;

    // The same caller rang yesterday about something still open.
    let earlier = store
        .create_ticket(&hotline::store::NewTicket {
            call_id: "yesterday".into(),
            caller_number: "5551234".into(),
            caller_name: None,
        })
        .await
        .unwrap()
        .reference
        .to_string();
    // A P1 network call: skip the welcome, English, network, the whole company, cannot work.
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

    // The card appears on tom's open home page while his phone rings, with the caller on it.
    let mut card = Value::Null;
    for _ in 0..100 {
        card = driver
            .script("var c = document.getElementById('ringing'); return c ? [c.dataset.reference, c.textContent] : null")
            .await;
        if card[1]
            .as_str()
            .is_some_and(|text| text.contains("5551234") && text.contains(&earlier))
        {
            break;
        }
        caller.send_silence(100).await;
    }
    assert_eq!(card[0], Value::String(reference.clone()), "{card}");
    let text = card[1].as_str().unwrap();
    assert!(text.contains("P1"), "priority on the card: {card}");
    assert!(
        text.contains(&format!("Open tickets of this caller {earlier}")),
        "the caller's other open ticket on the card: {card}"
    );
    driver.screenshots("screen-pop").await;

    // He takes the call on his phone: the page opens the ticket.
    let ticket_path = format!("/tickets/{reference}");
    let mut opened = false;
    for _ in 0..150 {
        if driver.path().await == ticket_path {
            opened = true;
            break;
        }
        caller.send_silence(100).await;
    }
    assert!(
        opened,
        "the ticket page did not open; at {}",
        driver.path().await
    );
    // The open ticket page follows the call: a note typed meanwhile stays, and the timeline
    // gains the end of the conversation without a reload.
    driver
        .type_into("textarea[name=body]", "VPN down in building B")
        .await;
    driver
        .script("document.body.dataset.loaded = 'once'; return null")
        .await;
    let mut ended = false;
    for _ in 0..150 {
        let timeline = driver
            .script("return document.getElementById('timeline').textContent")
            .await;
        if timeline.as_str().is_some_and(|t| t.contains("talk_ended")) {
            ended = true;
            break;
        }
        caller.send_silence(100).await;
    }
    assert!(ended, "the timeline never showed the end of the talk");
    let kept = driver
        .script("return [document.body.dataset.loaded, document.querySelector('textarea[name=body]').value]")
        .await;
    assert_eq!(
        kept,
        json!(["once", "VPN down in building B"]),
        "no reload, the note kept"
    );
    let output = phone.await.unwrap();
    assert!(
        output.status.success(),
        "tom's phone (SIPp) failed: {}",
        String::from_utf8_lossy(&output.stdout)
    );
}
