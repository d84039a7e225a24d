//! A technician's phone dials feature codes: `*0`/`*1` set presence, `*8` picks up the caller
//! waiting in the team's queue, or with nobody waiting calls back one who asked for it. The phone is SIPp answering Hotline's 407 digest challenge
//! with the technician's SIP password, as a desk phone does.

use super::routing::{
    at, best_share_at, free_port, network_team, phone_succeeded, routing_server, settled,
    technician, technician_phone, tone,
};
use crate::support::server::{repo, TestServer};
use crate::support::ua::{decode, Ua};
use chrono::Utc;
use hotline::media::g711::G711;
use hotline::oncall::{Presence, PresenceChoice};
use hotline::sip::digest::Ha1Set;
use hotline::store::{Store, Ticket};
use hotline::tickets::{CallEventKind, Disposition};
use std::process::Command;
use std::time::Duration;

pub(super) const PASSWORD: &str = "correct-horse-battery";

/// The end of the call when Hotline hangs up after its confirmation prompt.
pub(super) const HOTLINE_HANGS_UP: &str = r#"<recv request="BYE"/>
  <send>
    <![CDATA[
SIP/2.0 200 OK
[last_Via:]
[last_From:]
[last_To:]
[last_Call-ID:]
[last_CSeq:]
Content-Length: 0

]]>
  </send>"#;

/// The end of the call when the technician talks for `ms` then hangs up.
pub(super) fn phone_hangs_up(ms: u32) -> String {
    format!(
        r#"<pause milliseconds="{ms}"/>
  <send retrans="500">
    <![CDATA[
BYE [next_url] SIP/2.0
Via: SIP/2.0/[transport] [local_ip]:[local_port];branch=[branch];rport
From: <sip:tess@[remote_ip]:[remote_port]>;tag=[call_number]
[last_To:]
[last_Call-ID:]
CSeq: 3 BYE
Max-Forwards: 70
Content-Length: 0

]]>
  </send>
  <recv response="200"/>"#
    )
}

/// Gives `name` a SIP password in the server's realm.
pub(super) async fn sip_password(server: &TestServer, name: &str) {
    let store = server.server.as_ref().unwrap().store();
    let realm = &server.config.registrar.realm;
    let ha1 = Ha1Set::from_password(name, realm, PASSWORD);
    assert!(store.set_sip_password(name, realm, &ha1).await.unwrap());
}

/// Runs SIPp as tess's phone dialling `code` with `password`, the call ending with `tail`.
fn dial(
    server: &TestServer,
    code: &str,
    password: &str,
    tail: String,
) -> tokio::task::JoinHandle<std::process::Output> {
    dial_as(server, "tess", code, password, tail)
}

/// Runs SIPp as `user`'s phone dialling `code`.
pub(super) fn dial_as(
    server: &TestServer,
    user: &str,
    code: &str,
    password: &str,
    tail: String,
) -> tokio::task::JoinHandle<std::process::Output> {
    let dir = tempfile::tempdir().unwrap();
    let xml = std::fs::read_to_string(repo().join("tests/sipp/uac_feature_code.xml"))
        .unwrap()
        .replace("@CODE@", code)
        .replace("@USER@", user)
        .replace("@PASSWORD@", password)
        .replace("<!-- @TAIL@ -->", &tail);
    std::fs::write(dir.path().join("dial.xml"), xml).unwrap();
    let target = server.sip.to_string();
    tokio::task::spawn_blocking(move || {
        let out = Command::new("sipp")
            .args(["-sf", "dial.xml", &target])
            .args(["-i", "127.0.0.1", "-p", &free_port().to_string()])
            .args(["-mi", "127.0.0.1", "-mp", &free_port().to_string()])
            .args(["-rtp_echo", "-m", "1", "-timeout", "30s", "-timeout_error"])
            .arg("-nostdin")
            .current_dir(dir.path())
            .output()
            .expect("sipp runs (scripts/install-deps.sh --test installs it)");
        drop(dir);
        out
    })
}

/// tess is in the network team with a SIP password but no phone the queue could ring: she
/// dials in (`*8`) rather than being rung.
async fn tess_dials_in_to_network(server: &TestServer, store: &Store) {
    network_team(store, &[], None).await;
    store
        .upsert_user("tess", "not used here", hotline::accounts::Role::Technician)
        .await
        .unwrap();
    store.add_team_member("network", "tess").await.unwrap();
    sip_password(server, "tess").await;
}

async fn presence(store: &Store) -> Presence {
    store.presence("tess", Utc::now()).await.unwrap()
}

/// A caller keyed to the network team's queue (English, network, a team affected, working with
/// difficulty: P3), and their ticket once they have joined it.
pub(super) async fn p3_caller_in_the_queue(server: &TestServer, store: &Store) -> (Ua, Ticket) {
    let mut caller = Ua::udp(server.sip).await;
    caller.connect().await;
    caller.send_silence(200).await;
    for key in ['#', '1', '3', '2', '2'] {
        caller.press_rfc4733(key).await;
    }
    let deadline = tokio::time::Instant::now() + Duration::from_secs(30);
    loop {
        caller.send_silence(200).await;
        if let Some(t) = store.ticket_by_call_id(&caller.call_id).await.unwrap() {
            let events = store.events(t.id).await.unwrap();
            if events.iter().any(|e| e.kind == CallEventKind::Queued) {
                return (caller, t);
            }
        }
        assert!(
            tokio::time::Instant::now() < deadline,
            "the caller never joined the queue"
        );
    }
}

/// How long after `since` the technician's phone was rung for `ticket`'s waiting caller (who
/// keeps talking silence meanwhile); fails after 20 s.
pub(super) async fn rung_after(
    caller: &mut Ua,
    store: &Store,
    ticket: i64,
    since: tokio::time::Instant,
) -> Duration {
    loop {
        caller.send_silence(50).await;
        let events = store.events(ticket).await.unwrap();
        if events.iter().any(|e| e.kind == CallEventKind::Ringing) {
            return since.elapsed();
        }
        assert!(
            since.elapsed() < Duration::from_secs(20),
            "the waiting caller was never offered: {events:?}"
        );
    }
}

/// The head of the queue was offered when it joined, with nobody free; tess, on call, becomes
/// available a second later through `presence_store` (this node's or another's): her phone
/// rings at once, not at the queue's next look 5 s after the first.
pub(super) async fn available_tess_is_offered_the_head_at_once(
    caller_server: &TestServer,
    store: &Store,
    presence_store: &Store,
) {
    let port = free_port();
    network_team(store, &[("tess", at(port))], None).await;
    store
        .set_presence("tess", PresenceChoice::Away)
        .await
        .unwrap();
    let (mut caller, ticket) = p3_caller_in_the_queue(caller_server, store).await;
    caller.send_silence(1000).await;
    let phone = technician_phone(port, "1", 0, 300, 4000);
    let available = tokio::time::Instant::now();
    presence_store
        .set_presence("tess", PresenceChoice::Available)
        .await
        .unwrap();
    let after = rung_after(&mut caller, store, ticket.id, available).await;
    eprintln!("tess's phone rang {after:?} after she became available");
    assert!(
        after < Duration::from_millis(2500),
        "tess's phone rang {after:?} after she became available (the queue's retry is 5 s)"
    );
    talk_to_the_echoing_phone(&mut caller, phone).await;
    answered_by_tess(store, &ticket.call_id, "").await;
}

#[tokio::test]
async fn a_technician_becoming_available_is_offered_the_waiting_caller_at_once() {
    let server = routing_server().await;
    let store = server.server.as_ref().unwrap().store().clone();
    available_tess_is_offered_the_head_at_once(&server, &store, &store).await;
}

/// The caller talks (1000 Hz) until the technician's phone, which echoes what it hears, hangs
/// up; the caller must have heard itself back through the bridge.
pub(super) async fn talk_to_the_echoing_phone(
    caller: &mut Ua,
    phone: tokio::task::JoinHandle<std::process::Output>,
) {
    let chunk = tone(1000.0, 200);
    let mut heard = Vec::new();
    for _ in 0..40 {
        caller.send_audio(&chunk).await;
        heard.extend(caller.collect_rtp(Duration::from_millis(1)).await);
    }
    phone_succeeded(&phone.await.unwrap());
    caller.expect_bye(Duration::from_secs(15)).await;
    let share = best_share_at(&decode(&heard, G711::Ulaw), 1000.0);
    assert!(
        share > 0.6,
        "the caller should hear itself back through the technician's phone (share at 1000 Hz: {share:.2})"
    );
}

#[tokio::test]
async fn star_0_and_star_1_set_presence_once_the_phone_answers_the_challenge() {
    let server = routing_server().await;
    let store = server.server.as_ref().unwrap().store().clone();
    // tess has a reachable phone, so her own choice is what routing sees.
    technician(&store, "tess", "127.0.0.1:5999".parse().unwrap()).await;
    sip_password(&server, "tess").await;
    assert_eq!(presence(&store).await, Presence::Available);

    phone_succeeded(
        &dial(&server, "*0", PASSWORD, HOTLINE_HANGS_UP.into())
            .await
            .unwrap(),
    );
    assert_eq!(presence(&store).await, Presence::Away);

    // The wrong password is challenged again and changes nothing (SIPp then gives up).
    let wrong = dial(&server, "*1", "guess", HOTLINE_HANGS_UP.into())
        .await
        .unwrap();
    assert!(
        !wrong.status.success(),
        "a wrong password must not get the call answered"
    );
    assert_eq!(presence(&store).await, Presence::Away);

    phone_succeeded(
        &dial(&server, "*1", PASSWORD, HOTLINE_HANGS_UP.into())
            .await
            .unwrap(),
    );
    assert_eq!(presence(&store).await, Presence::Available);

    // Feature codes make no tickets: they are not helpdesk calls.
    assert!(store
        .list_tickets(&Default::default())
        .await
        .unwrap()
        .is_empty());
}

#[tokio::test]
async fn star_8_with_nobody_waiting_says_so_and_hangs_up() {
    let server = routing_server().await;
    let store = server.server.as_ref().unwrap().store().clone();
    network_team(&store, &[("tess", "127.0.0.1:5999".parse().unwrap())], None).await;
    sip_password(&server, "tess").await;
    phone_succeeded(
        &dial(&server, "*8", PASSWORD, HOTLINE_HANGS_UP.into())
            .await
            .unwrap(),
    );
}

#[tokio::test]
async fn a_p3_caller_waiting_in_the_queue_is_picked_up_with_star_8_and_both_talk() {
    let server = routing_server().await;
    let store = server.server.as_ref().unwrap().store().clone();
    tess_dials_in_to_network(&server, &store).await;

    let (mut caller, ticket) = p3_caller_in_the_queue(&server, &store).await;

    let phone = dial(&server, "*8", PASSWORD, phone_hangs_up(4000));
    talk_to_the_echoing_phone(&mut caller, phone).await;
    let ticket = settled(&store, &ticket.call_id).await;
    assert_eq!(ticket.disposition, Disposition::Answered);
    assert_eq!(ticket.assignee.as_deref(), Some("tess"));
    let events = store.events(ticket.id).await.unwrap();
    assert!(
        events.iter().any(
            |e| e.kind == CallEventKind::TechnicianAnswered && e.detail == "tess on *8 pick-up"
        ),
        "{events:?}"
    );
}

/// CPU time this thread has used (the test's runtime is single-threaded: the server runs here).
fn thread_cpu() -> Duration {
    let stat = std::fs::read_to_string("/proc/thread-self/stat").unwrap();
    // Fields after the command name (which may hold spaces): utime and stime are the 12th and
    // 13th, in clock ticks (100 per second on Linux).
    let fields: Vec<u64> = stat[stat.rfind(')').unwrap() + 2..]
        .split(' ')
        .map(|f| f.parse().unwrap_or(0))
        .collect();
    Duration::from_millis((fields[11] + fields[12]) * 10)
}

/// Waits until `name` took the call of `ticket` (the timeline says so).
async fn answered_by(store: &Store, ticket: i64, name: &str) {
    let mut changes = store.subscribe();
    let deadline = tokio::time::Instant::now() + Duration::from_secs(20);
    let expected = format!("{name} on *8 pick-up");
    loop {
        let events = store.events(ticket).await.unwrap();
        if events
            .iter()
            .any(|e| e.kind == CallEventKind::TechnicianAnswered && e.detail == expected)
        {
            return;
        }
        let _ = tokio::time::timeout_at(deadline, changes.recv())
            .await
            .unwrap_or_else(|_| panic!("{name} never took ticket {ticket}: {events:?}"));
    }
}

#[tokio::test]
async fn the_next_caller_moves_up_when_the_head_is_taken_and_a_second_star_8_takes_it() {
    let server = routing_server().await;
    let store = server.server.as_ref().unwrap().store().clone();
    network_team(&store, &[], None).await;
    for name in ["tess", "ursula"] {
        store
            .upsert_user(name, "not used here", hotline::accounts::Role::Technician)
            .await
            .unwrap();
        store.add_team_member("network", name).await.unwrap();
        sip_password(&server, name).await;
    }
    let (mut first, first_ticket) = p3_caller_in_the_queue(&server, &store).await;
    let (mut second, second_ticket) = p3_caller_in_the_queue(&server, &store).await;

    // Waiting behind the head costs next to nothing (it used to spin on an expired timer).
    let before = thread_cpu();
    tokio::time::sleep(Duration::from_secs(2)).await;
    let spent = thread_cpu() - before;
    assert!(
        spent < Duration::from_millis(500),
        "two queued callers used {spent:?} of CPU in 2 s"
    );

    // tess takes the head and talks; the second caller is now first, and ursula's *8 reaches
    // them during tess's conversation, not after it.
    let tess = dial_as(&server, "tess", "*8", PASSWORD, phone_hangs_up(8000));
    answered_by(&store, first_ticket.id, "tess").await;
    let ursula = dial_as(&server, "ursula", "*8", PASSWORD, phone_hangs_up(1000));
    answered_by(&store, second_ticket.id, "ursula").await;
    phone_succeeded(&ursula.await.unwrap());
    second.expect_bye(Duration::from_secs(15)).await;
    phone_succeeded(&tess.await.unwrap());
    first.expect_bye(Duration::from_secs(15)).await;
    for (ticket, name) in [(first_ticket, "tess"), (second_ticket, "ursula")] {
        let ticket = settled(&store, &ticket.call_id).await;
        assert_eq!(ticket.disposition, Disposition::Answered);
        assert_eq!(ticket.assignee.as_deref(), Some(name));
    }
}

/// Logs `name` in to the web log; returns the session cookie and the home page's CSRF token.
pub(super) async fn web_session(
    server: &TestServer,
    name: &str,
    password: &str,
) -> (String, String) {
    use crate::support::http::{form_escape, request};
    let field = |html: &str| -> String {
        let at = html.find(r#"name="csrf" value=""#).expect("a CSRF field") + 19;
        html[at..at + html[at..].find('"').unwrap()].to_string()
    };
    let form = request(server.http, "GET", "/login", &[], b"").await;
    let login_cookie = format!("hotline_login={}", form.cookie("hotline_login").unwrap());
    let body = format!(
        "name={}&password={}&csrf={}",
        form_escape(name),
        form_escape(password),
        form_escape(&field(&form.text()))
    );
    let headers = [
        ("Content-Type", "application/x-www-form-urlencoded"),
        ("Cookie", login_cookie.as_str()),
    ];
    let reply = request(server.http, "POST", "/login", &headers, body.as_bytes()).await;
    assert_eq!(reply.status, 303, "{}", reply.text());
    let cookie = format!(
        "hotline_session={}",
        reply.cookie("hotline_session").unwrap()
    );
    let home = request(server.http, "GET", "/", &[("Cookie", &cookie)], b"").await;
    assert_eq!(home.status, 200);
    let csrf = field(&home.text());
    (cookie, csrf)
}

/// Presses "Take call" for `reference`; returns the HTTP status.
pub(super) async fn take_call(
    server: &TestServer,
    session: &(String, String),
    reference: &str,
) -> u16 {
    press(server, session, reference, "take").await
}

/// Presses a ticket's button that posts to `/tickets/{reference}/{action}`; the HTTP status.
pub(super) async fn press(
    server: &TestServer,
    session: &(String, String),
    reference: &str,
    action: &str,
) -> u16 {
    press_reply(server, session, reference, action).await.status
}

/// Presses a ticket's button; the whole reply, whose page says why when it is refused.
pub(super) async fn press_reply(
    server: &TestServer,
    session: &(String, String),
    reference: &str,
    action: &str,
) -> crate::support::http::Reply {
    let body = format!("csrf={}", crate::support::http::form_escape(&session.1));
    let headers = [
        ("Content-Type", "application/x-www-form-urlencoded"),
        ("Cookie", session.0.as_str()),
    ];
    let path = format!("/tickets/{reference}/{action}");
    crate::support::http::request(server.http, "POST", &path, &headers, body.as_bytes()).await
}

#[tokio::test]
async fn take_call_on_the_web_log_rings_the_technicians_phone_and_bridges_the_waiting_caller() {
    let server = routing_server().await;
    let store = server.server.as_ref().unwrap().store().clone();
    // tess is in the network team (not on call: the queue does not ring her by itself) and has
    // one registered phone, SIPp answering and echoing.
    network_team(&store, &[], None).await;
    let port = free_port();
    technician(&store, "tess", format!("127.0.0.1:{port}").parse().unwrap()).await;
    store.add_team_member("network", "tess").await.unwrap();
    hotline::web::add_user(
        &store,
        "tess",
        hotline::accounts::Role::Technician,
        PASSWORD,
    )
    .await
    .unwrap();
    let session = web_session(&server, "tess", PASSWORD).await;

    let (mut caller, ticket) = p3_caller_in_the_queue(&server, &store).await;

    let phone = super::routing::technician_phone(port, "1", 0, 300, 4000);
    assert_eq!(
        take_call(&server, &session, &ticket.reference.to_string()).await,
        303
    );
    talk_to_the_echoing_phone(&mut caller, phone).await;
    let ticket = answered_by_tess(&store, &ticket.call_id, "(taken from the web log)").await;
    // The call is over: nothing left to take; and this server has no gateway to call back.
    assert_eq!(
        take_call(&server, &session, &ticket.reference.to_string()).await,
        409
    );
    assert_eq!(
        press(&server, &session, &ticket.reference.to_string(), "callback").await,
        409
    );
}

#[tokio::test]
async fn call_back_rings_the_technician_then_the_caller_through_the_gateway_and_joins_them() {
    let gateway = free_port();
    let server = TestServer::start_with(|c| {
        c.registrar.keepalive_secs = 0;
        c.sip.outbound_gateway = Some(at(gateway));
    })
    .await;
    let store = server.server.as_ref().unwrap().store().clone();
    let phone = free_port();
    technician(&store, "tess", at(phone)).await;
    hotline::web::add_user(
        &store,
        "tess",
        hotline::accounts::Role::Technician,
        PASSWORD,
    )
    .await
    .unwrap();
    // An earlier caller who asked to be called back.
    let earlier = super::support::tickets::callback_requested(&store, "1001").await;
    let session = web_session(&server, "tess", PASSWORD).await;

    // tess answers at once and hangs up after 6 s; the caller (behind the gateway) answers and
    // waits for Hotline's BYE.
    let tess = super::routing::technician_phone(phone, "1", 0, 300, 6000);
    let caller = super::routing::phone_scenario(gateway, "uas_answers.xml", &[]);
    let reference = earlier.reference.to_string();
    let mut changes = store.subscribe();
    assert_eq!(press(&server, &session, &reference, "callback").await, 303);
    phone_succeeded(&tess.await.unwrap());
    phone_succeeded(&caller.await.unwrap());

    let events = called_back_by_tess(&store, earlier.id, &mut changes).await;
    let has = |kind: CallEventKind, detail: &str| {
        events
            .iter()
            .any(|e| e.kind == kind && e.detail.contains(detail))
    };
    assert!(
        has(
            CallEventKind::Ringing,
            &format!("caller: sip:1001@127.0.0.1:{gateway}")
        ),
        "{events:?}"
    );
    assert!(
        has(CallEventKind::TechnicianAnswered, "tess on call-back"),
        "{events:?}"
    );
    assert!(
        has(CallEventKind::TalkEnded, "hung up by technician"),
        "{events:?}"
    );
}

/// Waits (10 s at most) until the call-back of ticket `id` is done, checks tess has it, and
/// returns its timeline.
async fn called_back_by_tess(
    store: &Store,
    id: i64,
    changes: &mut tokio::sync::broadcast::Receiver<hotline::store::TicketChange>,
) -> Vec<hotline::tickets::CallEvent> {
    let deadline = tokio::time::Instant::now() + Duration::from_secs(10);
    let ticket = loop {
        let t = store.ticket(id).await.unwrap().unwrap();
        if t.disposition == Disposition::CallbackDone {
            break t;
        }
        // Any change may be ours; a lagged receiver just looks again.
        if tokio::time::timeout_at(deadline, changes.recv())
            .await
            .is_err()
        {
            panic!(
                "never marked callback_done: {:?}",
                store.events(id).await.unwrap()
            );
        }
    };
    assert_eq!(ticket.assignee.as_deref(), Some("tess"));
    store.events(ticket.id).await.unwrap()
}

/// A server whose outbound gateway is the Rust test UA, returned to play the caller being
/// called back; tess is in the network team with a SIP password and no phone the queue rings.
pub(super) async fn server_with_gateway() -> (TestServer, Store, Ua) {
    let mut gateway = Ua::udp("127.0.0.1:9".parse().unwrap()).await;
    let server = TestServer::start_with(|c| {
        c.registrar.keepalive_secs = 0;
        c.sip.outbound_gateway = Some(gateway.local());
    })
    .await;
    gateway.server = server.sip;
    let store = server.server.as_ref().unwrap().store().clone();
    tess_dials_in_to_network(&server, &store).await;
    (server, store, gateway)
}

/// An earlier caller of `number` who left the network team's queue to be called back: their
/// ticket and timeline as the queue writes them.
pub(super) async fn network_callback_request(store: &Store, number: &str) -> Ticket {
    let ticket = super::support::tickets::callback_requested(store, number).await;
    store.set_queue_team(ticket.id, "network").await.unwrap();
    for detail in ["network, position 1", "call-back requested"] {
        store
            .add_event(ticket.id, CallEventKind::Queued, detail)
            .await
            .unwrap();
    }
    ticket
}

#[tokio::test]
async fn star_8_with_nobody_waiting_calls_back_the_first_caller_who_asked_and_both_talk() {
    let (server, store, mut caller) = server_with_gateway().await;
    let earlier = network_callback_request(&store, "1001").await;
    let mut changes = store.subscribe();

    // tess dials *8 and talks for 5 s once the call is up; the caller, behind the gateway,
    // answers at once and talks to the echoing phone through the bridge.
    let phone = dial(&server, "*8", PASSWORD, phone_hangs_up(5000));
    let invite = caller.answer_incoming(Duration::from_secs(30)).await;
    assert!(
        invite.uri.to_string().starts_with("sip:1001@"),
        "{}",
        invite.uri
    );
    talk_to_the_echoing_phone(&mut caller, phone).await;

    let events = called_back_by_tess(&store, earlier.id, &mut changes).await;
    let has = |kind: CallEventKind, detail: &str| {
        events
            .iter()
            .any(|e| e.kind == kind && e.detail.contains(detail))
    };
    assert!(
        has(CallEventKind::RoutingAttempt, "call-back by tess: *8"),
        "{events:?}"
    );
    assert!(
        has(CallEventKind::TechnicianAnswered, "tess on *8 call-back"),
        "{events:?}"
    );
}

#[tokio::test]
async fn star_8_serves_a_caller_waiting_live_before_one_who_asked_to_be_called_back() {
    let (server, store, mut gateway) = server_with_gateway().await;
    let earlier = network_callback_request(&store, "1001").await;
    let (mut caller, ticket) = p3_caller_in_the_queue(&server, &store).await;

    let phone = dial(&server, "*8", PASSWORD, phone_hangs_up(4000));
    talk_to_the_echoing_phone(&mut caller, phone).await;
    let ticket = settled(&store, &ticket.call_id).await;
    assert_eq!(ticket.disposition, Disposition::Answered);
    assert!(
        gateway.recv(Duration::from_millis(500)).await.is_none(),
        "nobody was called back"
    );
    let waiting = store.ticket(earlier.id).await.unwrap().unwrap();
    assert_eq!(waiting.disposition, Disposition::CallbackRequested);
    // The request is still there for the next *8, and only one *8 can take it.
    assert!(store.claim_callback(earlier.id).await.unwrap());
    assert!(!store.claim_callback(earlier.id).await.unwrap());
}

/// The call `call_id` ended answered by tess on her phone, taken as `how` says; its ticket.
pub(super) async fn answered_by_tess(store: &Store, call_id: &str, how: &str) -> Ticket {
    let ticket = settled(store, call_id).await;
    assert_eq!(ticket.disposition, Disposition::Answered);
    assert_eq!(ticket.assignee.as_deref(), Some("tess"));
    let events = store.events(ticket.id).await.unwrap();
    assert!(
        events
            .iter()
            .any(|e| e.kind == CallEventKind::TechnicianAnswered
                && e.detail.starts_with("tess on sip:tess@")
                && e.detail.ends_with(how)),
        "{events:?}"
    );
    ticket
}
