//! The recordings disk fills up during a recorded conversation with a technician: the two keep
//! hearing each other to the end, the ticket keeps a readable partial recording and says why
//! it stopped; the next conversation, under the disk's floor, is not recorded at all and the
//! timeline says why.
//!
//! The recordings directory is a real 512 KiB tmpfs (root only: SKIPPED without), the
//! technician's phone SIPp echoing what it hears. Its own binary: it reads process-wide
//! metrics.

#[path = "support/mod.rs"]
mod support;

use chrono::{DateTime, Utc};
use hotline::accounts::Role;
use hotline::media::g711::G711;
use hotline::store::{Store, Ticket};
use hotline::tickets::{CallEvent, CallEventKind, Disposition};
use std::time::Duration;
use support::audio::{best_share_at, tone};
use support::disk::{fill_leaving, Tmpfs};
use support::http::metric;
use support::phones::{free_udp_port, phone_succeeded, technician_phone};
use support::server::{is_root, TestServer};
use support::ua::{decode, Ua};

/// What the caller heard, by when it arrived.
type Heard = Vec<(DateTime<Utc>, Vec<i16>)>;

/// A P1 network caller talking (a 1000 Hz tone) to tess, whose phone echoes it and hangs up
/// after `talk_ms`; the settled ticket, its timeline and what the caller heard.
async fn p1_call_to_tess(
    server: &TestServer,
    phone_port: u16,
    talk_ms: u32,
) -> (Ticket, Vec<CallEvent>, Heard) {
    let phone = technician_phone(phone_port, 300, talk_ms);
    let mut caller = Ua::udp(server.sip).await;
    caller.connect().await;
    caller.send_silence(200).await;
    for key in ['#', '1', '3', '1', '1'] {
        caller.press_rfc4733(key).await; // English, network, whole company, cannot work
    }
    let chunk = tone(1000.0, 200);
    let mut heard = Vec::new();
    for _ in 0..90 {
        caller.send_audio(&chunk).await;
        let packets = caller.collect_rtp(Duration::from_millis(1)).await;
        heard.push((Utc::now(), decode(&packets, G711::Ulaw)));
    }
    phone_succeeded(&phone.await.unwrap());
    caller.expect_bye(Duration::from_secs(10)).await;
    let store = server.server.as_ref().unwrap().store();
    let ticket = support::tickets::settled_ticket(store, &caller.call_id).await;
    let events = store.events(ticket.id).await.unwrap();
    (ticket, events, heard)
}

fn errors(events: &[CallEvent]) -> Vec<&str> {
    events
        .iter()
        .filter(|e| e.kind == CallEventKind::Error)
        .map(|e| e.detail.as_str())
        .collect()
}

/// When the talk ended, from the timeline.
fn talk_ended(events: &[CallEvent]) -> DateTime<Utc> {
    events
        .iter()
        .find(|e| e.kind == CallEventKind::TalkEnded)
        .unwrap_or_else(|| panic!("the talk ended: {events:#?}"))
        .at
}

async fn tess_on_call(store: &Store, port: u16) {
    store
        .upsert_user("tess", "not used here", Role::Technician)
        .await
        .unwrap();
    let phone = format!("127.0.0.1:{port}").parse().unwrap();
    support::oncall::phone_at(store, "tess", "tess", phone).await;
    support::oncall::network_team(store, &["tess"], None).await;
}

#[tokio::test]
async fn a_full_recordings_disk_costs_the_conversation_recording_not_the_conversation() {
    if !is_root() {
        eprintln!("SKIPPED: mounting a small tmpfs as the recordings disk needs root");
        return;
    }
    let data = tempfile::tempdir().unwrap();
    let recordings = data.path().join("recordings");
    let _disk = Tmpfs::mount(&recordings, "512k");
    // 80 KiB left: the recording starts (32 KiB floor) and fills it after about 2.5 s of
    // stereo audio (32 KB/s).
    fill_leaving(&recordings, 80 * 1024);

    let server = TestServer::start_with(|c| {
        c.data_dir = data.path().to_path_buf();
        c.recordings.min_free_kib = 32;
        c.routing.record_teams = vec!["network".into()];
        c.registrar.keepalive_secs = 0; // the SIPp phone expects an INVITE and nothing else
    })
    .await;
    let store = server.server.as_ref().unwrap().store().clone();
    let port = free_udp_port();
    tess_on_call(&store, port).await;

    // 1. The disk fills 2.5 s into a 6 s conversation.
    let (ticket, events, heard) = p1_call_to_tess(&server, port, 6000).await;
    assert_eq!(ticket.disposition, Disposition::Answered);
    let errors1 = errors(&events);
    assert!(
        errors1
            .iter()
            .any(|e| e.starts_with("conversation recording stopped: disk full after")),
        "{errors1:?}"
    );
    let path = ticket
        .conversation_path
        .clone()
        .expect("the partial recording");
    let reader = hound::WavReader::open(&path).expect("a readable partial WAV");
    assert_eq!(reader.spec().channels, 2);
    let secs = reader.duration() as f64 / 8000.0;
    assert!((1.0..5.0).contains(&secs), "kept what fitted: {secs:.2} s");
    let samples = reader
        .into_samples::<i16>()
        .collect::<Result<Vec<_>, _>>()
        .expect("every sample readable");
    assert_eq!(samples.len() as f64 / 16000.0, secs);
    // The bridge outlived the recording: the caller hears themselves back until the end.
    let ended = talk_ended(&events);
    let tail: Vec<i16> = heard
        .iter()
        .filter(|(at, _)| {
            let before_end = ended - *at;
            before_end > chrono::Duration::milliseconds(300)
                && before_end < chrono::Duration::milliseconds(2000)
        })
        .flat_map(|(_, pcm)| pcm.iter().copied())
        .collect();
    let share = best_share_at(&tail, 1000.0);
    assert!(
        share > 0.6,
        "the caller still hears the technician's echo in the last seconds ({} samples, share {share:.2})",
        tail.len()
    );
    assert_eq!(
        metric(
            server.http,
            r#"hotline_recordings_disk_full_total{stage="cut_short"}"#
        )
        .await,
        1.0
    );

    // 2. Now under the floor: the next conversation is held unrecorded.
    let (ticket, events, _) = p1_call_to_tess(&server, port, 2000).await;
    assert_eq!(ticket.disposition, Disposition::Answered);
    assert_eq!(ticket.conversation_path, None);
    let errors2 = errors(&events);
    assert!(
        errors2
            .iter()
            .any(|e| e.starts_with("conversation not recorded: disk full (")),
        "{errors2:?}"
    );
    assert!(
        events.iter().any(|e| e.kind == CallEventKind::TalkEnded),
        "{events:#?}"
    );
    assert_eq!(
        metric(
            server.http,
            r#"hotline_recordings_disk_full_total{stage="not_started"}"#
        )
        .await,
        1.0
    );
    eprintln!("conversation cut after {secs:.2} s by a full disk; the caller's echo share at the end {share:.2}");
}
