//! An urgent caller reaches the on-call technician: the technician's phone (SIPp as a UAS
//! with RTP echo) is rung, hears the announcement, presses 1, and both are bridged.

pub(super) use crate::support::audio::{best_share_at, tone};
use crate::support::oncall;
use crate::support::server::TestServer;
use crate::support::ua::{decode, Ua};
use hotline::accounts::Role;
use hotline::media::g711::G711;
use hotline::store::Store;
use hotline::tickets::{CallEventKind, Disposition};
use std::net::SocketAddr;
use std::time::Duration;

pub(super) const PCAPS: &str = "/usr/share/sip-tester";

/// A technician on call for network problems, whose one phone is at `phone`.
async fn on_call_technician(store: &Store, name: &str, phone: SocketAddr) {
    network_team(store, &[(name, phone)], None).await;
}

/// A technician account with one registered phone at `phone`.
pub(super) async fn technician(store: &Store, name: &str, phone: SocketAddr) {
    store
        .upsert_user(name, "not used here", Role::Technician)
        .await
        .unwrap();
    oncall::phone_at(store, name, name, phone).await;
}

/// The network team: `members` take turns on call (the first is on call now, the only one in
/// these tests), `lead` is the last step of the escalation; each with one phone.
pub(super) async fn network_team(
    store: &Store,
    members: &[(&str, SocketAddr)],
    lead: Option<(&str, SocketAddr)>,
) {
    for (name, phone) in members.iter().chain(lead.iter()) {
        technician(store, name, *phone).await;
    }
    let names: Vec<&str> = members.iter().map(|(n, _)| *n).collect();
    oncall::network_team(store, &names, lead.map(|(n, _)| n)).await;
}

/// The ticket of `call_id` once its call has ended, woken by the store's change broadcast.
pub(super) async fn settled(store: &Store, call_id: &str) -> hotline::store::Ticket {
    let mut changes = store.subscribe();
    let deadline = tokio::time::Instant::now() + Duration::from_secs(20);
    loop {
        if let Some(t) = store.ticket_by_call_id(call_id).await.unwrap() {
            if t.disposition != Disposition::InProgress {
                return t;
            }
        }
        // Any change may be ours; a lagged receiver just looks again.
        let _ = tokio::time::timeout_at(deadline, changes.recv())
            .await
            .unwrap_or_else(|_| panic!("the ticket of {call_id} never settled"));
    }
}

/// The server with the registrar's OPTIONS keep-alive off: the test phones (SIPp scenarios)
/// expect an INVITE and nothing else, and their bindings are written straight to the store.
pub(super) async fn routing_server() -> TestServer {
    TestServer::start_with(|c| c.registrar.keepalive_secs = 0).await
}

// SIPp phones: the helpers other test binaries share (tests/support/phones.rs).
pub(super) use crate::support::phones::{
    free_udp_port as free_port, phone as phone_scenario, phone_succeeded,
};

/// Runs SIPp as the technician's phone in the background; returns its output when done.
pub(super) fn technician_phone(
    port: u16,
    key: &str,
    codec: u8,
    answer_ms: u32,
    talk_ms: u32,
) -> tokio::task::JoinHandle<std::process::Output> {
    phone_scenario(
        port,
        "uas_technician.xml",
        &[
            ("@KEY@", format!("{PCAPS}/dtmf_2833_{key}.pcap")),
            ("@CODEC@", codec.to_string()),
            ("@ANSWER_MS@", answer_ms.to_string()),
            ("@TALK_MS@", talk_ms.to_string()),
        ],
    )
}

#[tokio::test]
async fn a_p1_caller_reaches_the_on_call_technician_who_takes_the_call_and_both_talk() {
    let server = routing_server().await;
    let store = server.server.as_ref().unwrap().store().clone();
    let port = free_port();
    on_call_technician(&store, "tess", format!("127.0.0.1:{port}").parse().unwrap()).await;
    // The technician's phone speaks PCMA, the caller PCMU: the bridge transcodes.
    let phone = technician_phone(port, "1", 8, 300, 4000);

    let mut caller = Ua::udp(server.sip).await;
    caller.connect().await;
    caller.send_silence(200).await;
    caller.press_rfc4733('#').await; // skip the welcome
    caller.press_rfc4733('1').await; // English
    caller.press_rfc4733('3').await; // network
    caller.press_rfc4733('1').await; // the whole company
    caller.press_rfc4733('1').await; // cannot work: P1
                                     // The caller talks (a 1000 Hz tone) through the ticket number, the ringing, the
                                     // announcement and the conversation; the technician's phone echoes what it hears.
                                     // Read as we go: the socket would otherwise only keep the first few seconds.
    let chunk = tone(1000.0, 200);
    let mut heard = Vec::new();
    for _ in 0..80 {
        caller.send_audio(&chunk).await;
        heard.extend(caller.collect_rtp(Duration::from_millis(1)).await);
    }
    phone_succeeded(&phone.await.unwrap());
    let bye = caller.expect_bye(Duration::from_secs(10)).await;
    assert_eq!(
        bye.method,
        rsip::Method::Bye,
        "the technician's hang-up ends the caller's leg"
    );

    let pcm = decode(&heard, G711::Ulaw);
    let share = best_share_at(&pcm, 1000.0);
    assert!(
        share > 0.6,
        "the caller should hear its own voice back through the technician's phone (share at 1000 Hz: {share:.2})"
    );

    let ticket = settled(&store, &caller.call_id).await;
    assert_eq!(ticket.disposition, Disposition::Answered);
    assert_eq!(ticket.disposition_detail.as_deref(), Some("tess"));
    assert_eq!(ticket.assignee.as_deref(), Some("tess"));
    let events = store.events(ticket.id).await.unwrap();
    let kinds: Vec<CallEventKind> = events.iter().map(|e| e.kind).collect();
    for kind in [
        CallEventKind::Ringing,
        CallEventKind::TechnicianAnswered,
        CallEventKind::TalkEnded,
    ] {
        assert!(kinds.contains(&kind), "{kind} in the timeline: {events:?}");
    }
    let talk = events
        .iter()
        .find(|e| e.kind == CallEventKind::TalkEnded)
        .unwrap();
    assert!(
        talk.detail.contains("hung up by technician"),
        "{}",
        talk.detail
    );
}

/// Dials in and keys a P1 network call: skip the welcome, English, network, whole company,
/// cannot work.
pub(super) async fn p1_network_call(server: &TestServer) -> Ua {
    Ua::dial_keyed(server.sip, &P1_NETWORK).await
}

/// Skip the welcome, English, network, whole company, cannot work: P1.
const P1_NETWORK: [char; 5] = ['#', '1', '3', '1', '1'];

/// tess is the network team's primary and her phone declines; lea, the lead, takes the call
/// with 1 and hangs up a second later. A caller keys `keys` and waits: their settled ticket
/// and its timeline.
async fn declined_by_tess_taken_by_lea(
    keys: &[char],
) -> (hotline::store::Ticket, Vec<hotline::store::CallEvent>) {
    let server = routing_server().await;
    let store = server.server.as_ref().unwrap().store().clone();
    let (primary, lead) = (free_port(), free_port());
    network_team(&store, &[("tess", at(primary))], Some(("lea", at(lead)))).await;
    let declines = phone_scenario(primary, "uas_decline.xml", &[]);
    let takes = technician_phone(lead, "1", 0, 200, 1000);
    let mut caller = Ua::dial_keyed(server.sip, keys).await;
    caller.send_silence(14_000).await;
    phone_succeeded(&declines.await.unwrap());
    phone_succeeded(&takes.await.unwrap());
    caller.expect_bye(Duration::from_secs(10)).await;
    let ticket = settled(&store, &caller.call_id).await;
    let events = store.events(ticket.id).await.unwrap();
    (ticket, events)
}

pub(super) fn at(port: u16) -> SocketAddr {
    format!("127.0.0.1:{port}").parse().unwrap()
}

#[tokio::test]
async fn a_technician_who_declines_passes_the_call_to_the_team_lead() {
    let (ticket, events) = declined_by_tess_taken_by_lea(&P1_NETWORK).await;
    assert_eq!(ticket.disposition, Disposition::Answered);
    assert_eq!(ticket.assignee.as_deref(), Some("lea"));
    let said = |kind: CallEventKind| -> Vec<String> {
        events
            .iter()
            .filter(|e| e.kind == kind)
            .map(|e| e.detail.clone())
            .collect()
    };
    assert!(
        said(CallEventKind::RingResult)
            .iter()
            .any(|d| d.starts_with("tess: ") && d.ends_with(": declined")),
        "{events:?}"
    );
    assert_eq!(said(CallEventKind::Escalated), ["to lea (lead)"]);
}

/// The head of a queue is offered by the team's escalation as a routed call is: the primary
/// declines, the lead takes it, and the timeline says it was escalated.
#[tokio::test]
async fn a_queued_caller_declined_by_the_primary_is_escalated_to_the_lead() {
    // English, network, a team affected, working with difficulty: P3, queued.
    let (ticket, events) = declined_by_tess_taken_by_lea(&['#', '1', '3', '2', '2']).await;
    assert_eq!(ticket.priority.map(|p| p.level()), Some(3));
    assert_eq!(ticket.disposition, Disposition::Answered);
    assert_eq!(ticket.assignee.as_deref(), Some("lea"));
    let escalated: Vec<&str> = events
        .iter()
        .filter(|e| e.kind == CallEventKind::Escalated)
        .map(|e| e.detail.as_str())
        .collect();
    assert_eq!(escalated, ["to lea (lead)"], "{events:?}");
}

#[tokio::test]
async fn a_caller_who_hangs_up_while_the_phone_rings_cancels_it() {
    let server = routing_server().await;
    let store = server.server.as_ref().unwrap().store().clone();
    let port = free_port();
    on_call_technician(&store, "tess", at(port)).await;
    let rings = phone_scenario(port, "uas_ring_forever.xml", &[]);
    let mut caller = p1_network_call(&server).await;
    // Long enough for the ticket number, the urgent prompt and the first ring.
    caller.send_silence(8_000).await;
    assert_eq!(caller.bye().await.status_code.code(), 200);
    phone_succeeded(&rings.await.unwrap());
    let ticket = settled(&store, &caller.call_id).await;
    assert_eq!(ticket.disposition, Disposition::Abandoned);
    let events = store.events(ticket.id).await.unwrap();
    assert!(
        events
            .iter()
            .any(|e| e.kind == CallEventKind::RingResult && e.detail.ends_with(": cancelled")),
        "{events:?}"
    );
}

#[tokio::test]
async fn a_p3_caller_waits_in_the_queue_and_can_ask_to_be_called_back() {
    let server = routing_server().await;
    let store = server.server.as_ref().unwrap().store().clone();
    // A team with nobody reachable: the caller waits.
    network_team(&store, &[], None).await;
    let mut caller = Ua::udp(server.sip).await;
    caller.connect().await;
    caller.send_silence(200).await;
    // English, network, a team affected, working with difficulty: P3.
    for key in ['#', '1', '3', '2', '2'] {
        caller.press_rfc4733(key).await;
    }
    caller.send_silence(9_000).await;
    caller.press_rfc4733('1').await; // call me back instead
    caller.expect_bye(Duration::from_secs(60)).await;
    let ticket = settled(&store, &caller.call_id).await;
    assert_eq!(ticket.priority.map(|p| p.level()), Some(3));
    assert_eq!(ticket.disposition, Disposition::CallbackRequested);
    let events = store.events(ticket.id).await.unwrap();
    let queued: Vec<&str> = events
        .iter()
        .filter(|e| e.kind == CallEventKind::Queued)
        .map(|e| e.detail.as_str())
        .collect();
    assert_eq!(queued, ["network, position 1", "call-back requested"]);
    let network = ["network".to_string()];
    let requests = store.callback_requests_of(&network, None).await.unwrap();
    assert_eq!(
        requests.iter().map(|t| t.id).collect::<Vec<_>>(),
        [ticket.id],
        "the request is the network team's to take with *8"
    );
}

/// Two phones ring at once; the desk phone answers, the mobile keeps ringing and is cancelled.
/// (Both answering within the same milliseconds — the second 200 ACKed and hung up — is decided
/// by the sans-IO fork and unit-tested there: SIPp cannot script a phone that may see a CANCEL
/// just before or just after its own 200.)
#[tokio::test]
async fn two_phones_ring_at_once_the_first_to_answer_takes_it_and_the_other_is_cancelled() {
    let server = routing_server().await;
    let store = server.server.as_ref().unwrap().store().clone();
    let (mobile, desk) = (free_port(), free_port());
    on_call_technician(&store, "tess", at(mobile)).await;
    oncall::phone_at(&store, "tess", "tess-desk", at(desk)).await;
    let rings = phone_scenario(mobile, "uas_ring_forever.xml", &[]);
    let answers = technician_phone(desk, "1", 0, 300, 2000);
    let mut caller = p1_network_call(&server).await;
    caller.send_silence(12_000).await;
    phone_succeeded(&rings.await.unwrap());
    phone_succeeded(&answers.await.unwrap());
    caller.expect_bye(Duration::from_secs(10)).await;
    let ticket = settled(&store, &caller.call_id).await;
    assert_eq!(ticket.disposition, Disposition::Answered);
    assert_eq!(ticket.assignee.as_deref(), Some("tess"));
    let events = store.events(ticket.id).await.unwrap();
    let rung = events
        .iter()
        .filter(|e| e.kind == CallEventKind::Ringing)
        .count();
    assert_eq!(rung, 2, "both phones rang at once: {events:?}");
    assert!(
        events
            .iter()
            .any(|e| e.kind == CallEventKind::TechnicianAnswered
                && e.detail == format!("tess on sip:tess-desk@127.0.0.1:{desk}")),
        "{events:?}"
    );
    assert!(
        events.iter().any(|e| e.kind == CallEventKind::RingResult
            && e.detail == format!("tess: sip:tess@127.0.0.1:{mobile}: cancelled")),
        "{events:?}"
    );
}

#[tokio::test]
async fn a_phone_answering_503_escalates_at_once_without_waiting_for_the_ring_time() {
    let server = routing_server().await;
    let store = server.server.as_ref().unwrap().store().clone();
    let (primary, lead) = (free_port(), free_port());
    network_team(&store, &[("tess", at(primary))], Some(("lea", at(lead)))).await;
    let unavailable = phone_scenario(
        primary,
        "uas_decline.xml",
        &[("603 Decline", "503 Service Unavailable".into())],
    );
    let takes = technician_phone(lead, "1", 0, 200, 1000);
    let mut caller = p1_network_call(&server).await;
    caller.send_silence(12_000).await;
    phone_succeeded(&unavailable.await.unwrap());
    phone_succeeded(&takes.await.unwrap());
    caller.expect_bye(Duration::from_secs(10)).await;
    let ticket = settled(&store, &caller.call_id).await;
    assert_eq!(ticket.assignee.as_deref(), Some("lea"));
    let events = store.events(ticket.id).await.unwrap();
    let first_ring = events
        .iter()
        .find(|e| e.kind == CallEventKind::Ringing)
        .unwrap();
    let unreachable = events
        .iter()
        .find(|e| e.kind == CallEventKind::RingResult && e.detail.starts_with("tess: "))
        .unwrap_or_else(|| panic!("tess's phone's end in the timeline: {events:?}"));
    assert!(
        unreachable.detail.ends_with(": unreachable"),
        "{}",
        unreachable.detail
    );
    let waited = unreachable.at - first_ring.at;
    assert!(
        waited < chrono::Duration::seconds(3),
        "escalated after {waited} (the step rings 30 s)"
    );
}

#[tokio::test]
async fn a_caller_who_hangs_up_as_the_technician_answers_ends_the_technicians_call_too() {
    let server = routing_server().await;
    let store = server.server.as_ref().unwrap().store().clone();
    let port = free_port();
    on_call_technician(&store, "tess", at(port)).await;
    // Answers at once and waits for Hotline's BYE.
    let phone = phone_scenario(port, "uas_answers.xml", &[]);
    let mut caller = p1_network_call(&server).await;
    // Hang up just after the phone is rung: it answers within microseconds of the INVITE, so
    // 200 ms later the technician is hearing the announcement. (Hanging up at the very instant
    // of the Ringing event could cancel the INVITE between SIPp's 180 and 200, which SIPp treats
    // as an unexpected CANCEL and fails on.)
    let deadline = tokio::time::Instant::now() + Duration::from_secs(20);
    loop {
        caller.send_silence(20).await;
        let rung = match store.ticket_by_call_id(&caller.call_id).await.unwrap() {
            Some(t) => store
                .events(t.id)
                .await
                .unwrap()
                .iter()
                .any(|e| e.kind == CallEventKind::Ringing),
            None => false,
        };
        if rung {
            break;
        }
        assert!(tokio::time::Instant::now() < deadline, "never rang");
    }
    caller.send_silence(200).await;
    assert_eq!(caller.bye().await.status_code.code(), 200);
    phone_succeeded(&phone.await.unwrap());
    let ticket = settled(&store, &caller.call_id).await;
    assert_eq!(ticket.disposition, Disposition::Abandoned);
    assert_eq!(ticket.assignee, None, "nobody took the call");
}

#[tokio::test]
async fn a_recorded_teams_conversation_is_attached_to_the_ticket_in_stereo() {
    let server = TestServer::start_with(|c| {
        c.registrar.keepalive_secs = 0;
        c.routing.record_teams = vec!["network".into()];
    })
    .await;
    let store = server.server.as_ref().unwrap().store().clone();
    let port = free_port();
    on_call_technician(&store, "tess", at(port)).await;
    let phone = technician_phone(port, "1", 0, 300, 4000);
    let mut caller = p1_network_call(&server).await;
    let chunk = tone(1000.0, 200);
    for _ in 0..80 {
        caller.send_audio(&chunk).await;
        let _ = caller.collect_rtp(Duration::from_millis(1)).await;
    }
    phone_succeeded(&phone.await.unwrap());
    caller.expect_bye(Duration::from_secs(10)).await;
    let ticket = settled(&store, &caller.call_id).await;
    assert_eq!(ticket.disposition, Disposition::Answered);

    // The conversation is on the ticket: stereo, as long as the talk, the caller's voice on the
    // left, the technician's phone (echoing it) on the right.
    let path = ticket
        .conversation_path
        .clone()
        .unwrap_or_else(|| panic!("no conversation on the ticket: {ticket:?}"));
    let ms = ticket.conversation_duration_ms.unwrap();
    assert!(
        (3000..=6000).contains(&ms),
        "recorded {ms} ms of a ~4 s talk"
    );
    let mut wav = hound::WavReader::open(&path).unwrap();
    assert_eq!(wav.spec().channels, 2);
    assert_eq!(wav.spec().sample_rate, 8000);
    let samples: Vec<i16> = wav.samples::<i16>().map(Result::unwrap).collect();
    let left: Vec<i16> = samples.iter().step_by(2).copied().collect();
    let right: Vec<i16> = samples.iter().skip(1).step_by(2).copied().collect();
    assert!(best_share_at(&left, 1000.0) > 0.6, "the caller on the left");
    assert!(
        best_share_at(&right, 1000.0) > 0.6,
        "the technician's phone on the right"
    );
    let events = store.events(ticket.id).await.unwrap();
    assert!(
        events
            .iter()
            .any(|e| e.kind == CallEventKind::RecordingStopped
                && e.detail.starts_with("conversation, ")),
        "{events:?}"
    );

    // The web log serves it to a logged-in technician.
    hotline::web::add_user(
        &store,
        "tess",
        hotline::accounts::Role::Technician,
        "a-long-password",
    )
    .await
    .unwrap();
    let (cookie, _) = super::features::web_session(&server, "tess", "a-long-password").await;
    let reply = crate::support::http::request(
        server.http,
        "GET",
        &format!("/tickets/{}/conversation", ticket.reference),
        &[("Cookie", &cookie)],
        b"",
    )
    .await;
    assert_eq!(reply.status, 200);
    assert_eq!(reply.header("content-type"), Some("audio/wav"));
    let page = crate::support::http::request(
        server.http,
        "GET",
        &format!("/tickets/{}", ticket.reference),
        &[("Cookie", &cookie)],
        b"",
    )
    .await;
    assert!(page.text().contains(r#"<audio id="conversation""#));
}
