//! The recordings disk fills up during a voicemail: the call goes on (ticket number, estimate,
//! goodbye), the ticket keeps a readable partial recording and says why it stopped, the next
//! call is not recorded at all, and recording resumes once space returns.
//!
//! The recordings directory is a real 512 KiB tmpfs, so the writer gets the kernel's ENOSPC.
//! Mounting needs root: the test says SKIPPED loudly without it. Its own binary, as it reads
//! the process-wide metrics.

#[path = "support/mod.rs"]
mod support;

use hotline::store::Ticket;
use hotline::tickets::{CallEvent, CallEventKind, Disposition};
use std::time::Duration;
use support::disk::{fill_leaving, free_bytes, Tmpfs};
use support::http::metric;
use support::server::{is_root, repo, TestServer};
use support::ua::Ua;

fn speech() -> Vec<i16> {
    hound::WavReader::open(repo().join("tests/fixtures/speech/en-printer.wav"))
        .unwrap()
        .samples::<i16>()
        .map(Result::unwrap)
        .collect()
}

/// One caller through the English menu into a voicemail of the printer sentence (5.8 s),
/// ended with `#`; returns the call's settled ticket and timeline once the server hung up.
async fn leave_voicemail(server: &TestServer) -> (Ticket, Vec<CallEvent>) {
    let mut ua = Ua::udp(server.sip).await;
    ua.connect().await;
    ua.send_silence(200).await;
    for key in ['#', '1', '2', '3', '2', '#'] {
        ua.press_rfc4733(key).await; // English, software, only me, degraded, skip instructions
    }
    ua.send_silence(600).await;
    ua.send_audio(&speech()).await;
    ua.press_rfc4733('#').await;
    // The call goes on after the recording: ticket number, estimate, goodbye, then BYE.
    ua.expect_bye(Duration::from_secs(60)).await;
    let store = server.server.as_ref().unwrap().store();
    let ticket = support::tickets::settled_ticket(store, &ua.call_id).await;
    let events = store.events(ticket.id).await.unwrap();
    (ticket, events)
}

fn errors(events: &[CallEvent]) -> Vec<&str> {
    events
        .iter()
        .filter(|e| e.kind == CallEventKind::Error)
        .map(|e| e.detail.as_str())
        .collect()
}

fn went_on_after_the_recording(events: &[CallEvent]) -> bool {
    events
        .iter()
        .any(|e| e.kind == CallEventKind::EstimateGiven)
        && events.iter().any(|e| e.kind == CallEventKind::Hangup)
}

#[tokio::test]
async fn a_full_recordings_disk_costs_the_recording_not_the_call_and_recording_resumes() {
    if !is_root() {
        eprintln!("SKIPPED: mounting a small tmpfs as the recordings disk needs root");
        return;
    }
    let data = tempfile::tempdir().unwrap();
    let recordings = data.path().join("recordings");
    let _disk = Tmpfs::mount(&recordings, "512k");
    // 80 KiB left: the recording starts (32 KiB floor) and fills it after about 5 s of audio.
    let filler = fill_leaving(&recordings, 80 * 1024);
    let free = free_bytes(&recordings);
    assert!((70 * 1024..=90 * 1024).contains(&free), "{free}");

    let server = TestServer::start_with(|c| {
        c.data_dir = data.path().to_path_buf();
        c.recordings.min_free_kib = 32;
    })
    .await;

    // 1. The disk fills during the voicemail.
    let (ticket, events) = leave_voicemail(&server).await;
    assert_ne!(ticket.disposition, Disposition::InProgress);
    assert_eq!(ticket.recording_end_cause.as_deref(), Some("disk_full"));
    let path = ticket
        .recording_path
        .clone()
        .expect("the partial recording");
    let reader = hound::WavReader::open(&path).expect("a readable partial WAV");
    let secs = reader.duration() as f64 / 8000.0;
    assert!(
        (2.0..5.8).contains(&secs),
        "kept what fitted before the disk filled: {secs:.2} s"
    );
    let recorded = reader
        .into_samples::<i16>()
        .collect::<Result<Vec<_>, _>>()
        .expect("every sample readable");
    assert_eq!(recorded.len() as f64 / 8000.0, secs);
    let errors1 = errors(&events);
    assert!(
        errors1
            .iter()
            .any(|e| e.starts_with("recording stopped: disk full after")),
        "{errors1:?}"
    );
    assert!(went_on_after_the_recording(&events), "{events:#?}");
    assert_eq!(
        metric(
            server.http,
            r#"hotline_recordings_disk_full_total{stage="cut_short"}"#
        )
        .await,
        1.0
    );
    assert_eq!(
        metric(server.http, "hotline_recordings_disk_full").await,
        1.0
    );

    // 2. Still full: the next caller is not recorded, and hears the rest of the call.
    let (ticket, events) = leave_voicemail(&server).await;
    assert_ne!(ticket.disposition, Disposition::InProgress);
    assert_eq!(ticket.recording_path, None);
    let errors2 = errors(&events);
    assert!(
        errors2
            .iter()
            .any(|e| e.starts_with("recording not started: disk full (")),
        "{errors2:?}"
    );
    assert!(went_on_after_the_recording(&events), "{events:#?}");
    assert_eq!(
        metric(
            server.http,
            r#"hotline_recordings_disk_full_total{stage="not_started"}"#
        )
        .await,
        1.0
    );

    // 3. Space returns: the next voicemail is recorded whole.
    std::fs::remove_file(&filler).unwrap();
    let (ticket, _) = leave_voicemail(&server).await;
    assert_eq!(ticket.recording_end_cause.as_deref(), Some("digit"));
    let reader = hound::WavReader::open(ticket.recording_path.unwrap()).unwrap();
    assert!(reader.duration() as f64 / 8000.0 > 5.8);
    assert_eq!(
        metric(server.http, "hotline_recordings_disk_full").await,
        0.0
    );
}
