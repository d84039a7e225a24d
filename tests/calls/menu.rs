//! Calls through the bundled menu end as complete tickets.

use crate::support::server::TestServer;
use crate::support::ua::Ua;
use hotline::tickets::{CallEventKind, Category, Disposition, Impact, Language, Urgency};
use std::time::Duration;

fn speech(name: &str) -> Vec<i16> {
    let path = crate::support::server::repo()
        .join("tests/fixtures/speech")
        .join(name);
    hound::WavReader::open(path)
        .unwrap()
        .samples::<i16>()
        .map(Result::unwrap)
        .collect()
}

/// Waits until the server has finished with the call (its ticket leaves `in_progress`).
async fn settled_ticket(server: &TestServer, call_id: &str) -> hotline::store::Ticket {
    let store = server.server.as_ref().unwrap().store();
    crate::support::tickets::settled_ticket(store, call_id).await
}

/// The call-event timeline of a ticket, oldest first.
async fn timeline(
    server: &TestServer,
    ticket: &hotline::store::Ticket,
) -> Vec<hotline::tickets::CallEvent> {
    let store = server.server.as_ref().unwrap().store();
    store.events(ticket.id).await.unwrap()
}

/// The keys the timeline recorded, in order.
fn digits(events: &[hotline::tickets::CallEvent]) -> Vec<&str> {
    events
        .iter()
        .filter(|e| e.kind == CallEventKind::Digit)
        .map(|e| e.detail.as_str())
        .collect()
}

#[tokio::test]
async fn full_menu_with_rfc4733_and_inband_digits_and_voicemail_makes_a_complete_ticket() {
    // This phone mixes RFC 4733 events and tones (as some gateways do), so tones must be heard
    // after the first event: `always`, not the default `until_rfc4733`.
    let server = TestServer::start_with(|c| {
        c.media.inband_dtmf = hotline::media::dtmf::InbandPolicy::Always;
    })
    .await;
    let mut ua = Ua::udp(server.sip).await;
    ua.connect().await;
    ua.send_silence(300).await;
    ua.press_rfc4733('#').await; // skip the welcome
    ua.press_rfc4733('2').await; // Français
    ua.press_inband('2').await; // software, as an in-band tone
    ua.press_rfc4733('3').await; // only me
    ua.press_inband('2').await; // degraded
    ua.press_rfc4733('#').await; // skip the recording instructions
    ua.send_silence(600).await; // the beep
    ua.send_audio(&speech("fr-imprimante.wav")).await;
    ua.press_rfc4733('#').await; // end of voicemail
                                 // Ticket number, estimate and goodbye, then the server hangs up.
    let bye = ua.expect_bye(Duration::from_secs(60)).await;
    assert_eq!(bye.method, rsip::Method::Bye);

    let ticket = settled_ticket(&server, &ua.call_id).await;
    assert_eq!(ticket.language, Some(Language::French));
    assert_eq!(ticket.category, Some(Category::Software));
    assert_eq!(ticket.impact, Some(Impact::Individual));
    assert_eq!(ticket.urgency, Some(Urgency::Degraded));
    assert_eq!(ticket.priority.unwrap().to_string(), "P4");
    assert_eq!(ticket.disposition, Disposition::Completed);
    assert_eq!(ticket.caller_number, "5551234");
    assert_eq!(ticket.caller_name.as_deref(), Some("Test Caller"));
    let spoken = ticket.estimated_response_secs.expect("estimate stored");
    assert!(spoken >= 300, "{spoken}");
    let recording = ticket.recording_path.clone().expect("voicemail stored");
    let reader = hound::WavReader::open(&recording).unwrap();
    let secs = reader.duration() as f64 / 8000.0;
    assert!((3.0..8.0).contains(&secs), "voicemail of {secs:.1} s");
    assert_eq!(ticket.recording_end_cause.as_deref(), Some("digit"));

    let events = timeline(&server, &ticket).await;
    let digits = digits(&events);
    assert!(
        digits.starts_with(&["# (skipped prompt)", "2", "2", "3", "2"]),
        "{digits:?}"
    );
    for kind in [
        CallEventKind::Answered,
        CallEventKind::RecordingStarted,
        CallEventKind::RecordingStopped,
        CallEventKind::EstimateGiven,
        CallEventKind::Hangup,
    ] {
        assert!(events.iter().any(|e| e.kind == kind), "{kind} in timeline");
    }
    let hangup = events
        .iter()
        .find(|e| e.kind == CallEventKind::Hangup)
        .unwrap();
    assert_eq!(hangup.detail, "by hotline (completed)");
}

#[tokio::test]
async fn a_key_pressed_during_the_welcome_chooses_the_language_without_pressing_again() {
    let server = TestServer::start().await;
    let store = server.server.as_ref().unwrap().store();
    let mut ua = Ua::udp(server.sip).await;
    ua.connect().await;
    ua.send_silence(200).await;
    ua.press_rfc4733('1').await; // during the welcome: English
    crate::support::tickets::ticket_when(
        store,
        &ua.call_id,
        Duration::from_secs(10),
        "language",
        |t| t.language.is_some(),
    )
    .await;
    ua.press_rfc4733('2').await; // software: the category menu is the next one heard
    crate::support::tickets::ticket_when(
        store,
        &ua.call_id,
        Duration::from_secs(10),
        "category",
        |t| t.category.is_some(),
    )
    .await;
    assert_eq!(ua.bye().await.status_code.code(), 200);
    let ticket = settled_ticket(&server, &ua.call_id).await;
    assert_eq!(ticket.language, Some(Language::English));
    assert_eq!(ticket.category, Some(Category::Software));
    assert_eq!(ticket.disposition_detail.as_deref(), Some("impact"));
    let events = timeline(&server, &ticket).await;
    assert_eq!(digits(&events), ["1", "2"], "each key counted once");
    let prompts: Vec<&str> = events
        .iter()
        .filter(|e| e.kind == CallEventKind::PromptPlayed)
        .map(|e| e.detail.as_str())
        .collect();
    assert!(
        !prompts.contains(&"choose_language"),
        "the language menu was answered by the key pressed during the welcome: {prompts:?}"
    );
}

#[tokio::test]
async fn hang_up_mid_menu_leaves_an_abandoned_ticket_with_the_step() {
    let server = TestServer::start().await;
    let mut ua = Ua::udp(server.sip).await;
    ua.connect().await;
    ua.send_silence(200).await;
    ua.press_rfc4733('#').await;
    ua.press_rfc4733('1').await;
    ua.send_silence(500).await;
    assert_eq!(ua.bye().await.status_code.code(), 200);
    let ticket = settled_ticket(&server, &ua.call_id).await;
    assert_eq!(ticket.disposition, Disposition::Abandoned);
    assert_eq!(ticket.disposition_detail.as_deref(), Some("category"));
    assert_eq!(ticket.language, Some(Language::English));
}

#[tokio::test]
async fn a_call_cancelled_while_ringing_still_has_a_ticket() {
    let server = TestServer::start_with(|c| c.sip.ring_ms = 3000).await;
    let mut ua = Ua::udp(server.sip).await;
    let offer = ua.offer();
    let invite = ua.request("INVITE", Some(("application/sdp", &offer)), None);
    let branch = invite
        .split("branch=")
        .nth(1)
        .unwrap()
        .split(';')
        .next()
        .unwrap()
        .to_string();
    ua.send_raw(invite.as_bytes()).await;
    while let Some(r) = ua.response(Duration::from_secs(3)).await {
        if r.status_code.code() == 180 {
            break;
        }
    }
    let cancel = ua.request("CANCEL", None, Some(&branch));
    ua.send_raw(cancel.as_bytes()).await;
    let ticket = settled_ticket(&server, &ua.call_id).await;
    assert_eq!(ticket.disposition, Disposition::Abandoned);
    assert_eq!(ticket.disposition_detail.as_deref(), Some("ringing"));
}

#[tokio::test]
async fn silence_in_a_menu_times_out_retries_and_falls_back() {
    let dir = tempfile::tempdir().unwrap();
    let plan = dir.path().join("short.toml");
    std::fs::write(
        &plan,
        r#"[dialplan]
start = "category"
languages = ["en"]
[defaults]
timeout_secs = 1
retries = 1
invalid_prompt = "invalid_choice"
timeout_prompt = "no_input"
[nodes.category]
kind = "menu"
prompts = ["n1"]
options."1" = { next = "bye", set = { category = "hardware" } }
fallback = "bye"
fallback_set = { category = "other" }
[nodes.bye]
kind = "hangup"
prompts = ["goodbye"]
"#,
    )
    .unwrap();
    let server = TestServer::start_with(|c| c.dialplan = plan.clone()).await;
    let mut ua = Ua::udp(server.sip).await;
    ua.connect().await;
    // Press nothing: two timeouts, the fallback, goodbye, and the server hangs up.
    let bye = ua.expect_bye(Duration::from_secs(30)).await;
    assert_eq!(bye.method, rsip::Method::Bye);
    let ticket = settled_ticket(&server, &ua.call_id).await;
    assert_eq!(ticket.category, Some(Category::Other));
    let events = timeline(&server, &ticket).await;
    let timeouts = events
        .iter()
        .filter(|e| e.kind == CallEventKind::Timeout)
        .count();
    assert_eq!(timeouts, 2, "first try and one retry");
    assert!(events
        .iter()
        .any(|e| e.kind == CallEventKind::RetriesExhausted));
}

#[tokio::test]
async fn a_key_sent_both_as_event_and_tone_counts_once() {
    let server = TestServer::start().await;
    let mut ua = Ua::udp(server.sip).await;
    ua.connect().await;
    ua.send_silence(200).await;
    ua.press_rfc4733('#').await;
    ua.press_both('2').await; // French, once
    ua.press_rfc4733('1').await; // hardware
    ua.send_silence(300).await;
    assert_eq!(ua.bye().await.status_code.code(), 200);
    let ticket = settled_ticket(&server, &ua.call_id).await;
    assert_eq!(ticket.language, Some(Language::French));
    assert_eq!(
        ticket.category,
        Some(Category::Hardware),
        "the second copy of 2 was not taken as the category"
    );
    let events = timeline(&server, &ticket).await;
    let digits = digits(&events);
    assert_eq!(digits, ["# (skipped prompt)", "2", "1"]);
}

#[tokio::test]
async fn a_spoken_voicemail_becomes_a_transcript_on_the_ticket() {
    let server = TestServer::start_with(|c| {
        c.transcription.enabled = true;
        c.transcription.workers = 1;
        c.transcription.threads = 2;
    })
    .await;
    let mut ua = Ua::udp(server.sip).await;
    ua.connect().await;
    ua.send_silence(200).await;
    for key in ['#', '1', '1', '3', '2', '#', '#'] {
        ua.press_rfc4733(key).await; // English, hardware, only me, degraded, skip hint and instructions
    }
    ua.send_silence(600).await;
    ua.send_audio(&speech("en-printer.wav")).await;
    ua.send_silence(300).await;
    // The caller hangs up instead of pressing #: the voicemail is kept and transcribed anyway.
    assert_eq!(ua.bye().await.status_code.code(), 200);
    let store = server.server.as_ref().unwrap().store();
    let ticket = settled_ticket(&server, &ua.call_id).await;
    assert_eq!(ticket.disposition, Disposition::Voicemail);
    let ticket = crate::support::tickets::ticket_when(
        store,
        &ua.call_id,
        Duration::from_secs(60),
        "transcript",
        |t| t.transcript.is_some(),
    )
    .await;
    let (text, language) = (ticket.transcript.unwrap(), ticket.transcript_language);
    let lower = text.to_lowercase();
    assert!(
        lower.contains("printer") && lower.contains("floor"),
        "{text}"
    );
    assert_eq!(language.as_deref(), Some("en"));
}

#[tokio::test]
async fn an_invalid_key_is_explained_and_the_next_valid_key_is_taken() {
    let server = TestServer::start().await;
    let mut ua = Ua::udp(server.sip).await;
    ua.connect().await;
    ua.send_silence(200).await;
    ua.press_rfc4733('#').await;
    ua.press_rfc4733('1').await; // English
    ua.press_rfc4733('9').await; // not a category
    ua.send_silence(1500).await; // "Sorry, that is not a valid choice."
    ua.press_rfc4733('4').await; // account
    ua.send_silence(300).await;
    assert_eq!(ua.bye().await.status_code.code(), 200);
    let ticket = settled_ticket(&server, &ua.call_id).await;
    assert_eq!(ticket.category, Some(Category::Account));
    let events = timeline(&server, &ticket).await;
    assert!(events
        .iter()
        .any(|e| e.kind == CallEventKind::InvalidInput && e.detail == "9 at category"));
    assert!(events
        .iter()
        .any(|e| e.kind == CallEventKind::PromptPlayed && e.detail == "invalid_choice"));
}
