//! A voicemail is cut into parts at the caller's pauses and transcribed while the caller still
//! speaks: its text is on the ticket before the call is over, assembled in order, and the
//! final pass over the whole recording replaces it after hang-up.

use crate::support::server::TestServer;
use crate::support::tickets::{settled_ticket, ticket_when};
use crate::support::ua::Ua;
use hotline::tickets::Disposition;
use std::process::Command;
use std::time::Duration;
use std::time::Instant;

/// A sentence spoken by an MBROLA voice, as 8 kHz 16-bit audio (the phone's rate).
fn spoken(text: &str) -> Vec<i16> {
    let dir = tempfile::tempdir().unwrap();
    let (raw, pcm) = (dir.path().join("raw.wav"), dir.path().join("pcm.wav"));
    let status = Command::new("espeak-ng")
        .args(["-v", "mb-us1", "-s", "140", "-w"])
        .arg(&raw)
        .arg(text)
        .status()
        .expect("espeak-ng installed");
    assert!(
        status.success(),
        "espeak-ng -v mb-us1 (scripts/install-deps.sh --test)"
    );
    assert!(Command::new("sox")
        .arg(&raw)
        .args(["-r", "8000", "-c", "1", "-b", "16", "-e", "signed-integer"])
        .arg(&pcm)
        .status()
        .unwrap()
        .success());
    hound::WavReader::open(&pcm)
        .unwrap()
        .samples::<i16>()
        .map(Result::unwrap)
        .collect()
}

const SENTENCES: [(&str, &str); 3] = [
    (
        "My printer on the third floor stopped working this morning.",
        "printer",
    ),
    (
        "My password expired and I cannot log in to my laptop.",
        "password",
    ),
    ("Please call me back before five o'clock today.", "call"),
];

#[tokio::test]
async fn a_voicemail_is_transcribed_in_parts_cut_at_pauses_while_the_caller_speaks() {
    let server = TestServer::start_with(|c| {
        c.transcription.enabled = true;
        c.transcription.workers = 1;
        c.transcription.decoding = "greedy".parse().unwrap();
        // Pause-cutting on (the defaults cut 30 s parts): parts of 3–10 s at 0.5 s pauses.
        c.transcription.part_secs = 10;
        c.transcription.part_min_secs = 3;
        c.transcription.audio_window = "fitted10".parse().unwrap();
    })
    .await;
    let store = server.server.as_ref().unwrap().store().clone();
    let speech: Vec<Vec<i16>> = SENTENCES.iter().map(|(s, _)| spoken(s)).collect();
    let mut ua = Ua::udp(server.sip).await;
    ua.connect().await;
    ua.send_silence(200).await;
    for key in ['#', '1', '1', '3', '2', '#', '#'] {
        ua.press_rfc4733(key).await; // English, hardware, only me, degraded, skip hint and instructions
    }
    ua.send_silence(600).await;
    let call_id = ua.call_id.clone();
    // The caller speaks the three sentences, a second's pause after each, and goes on (from
    // the first again) until the first sentence's text is on the ticket, for at most 90 s: a
    // loaded machine transcribes slowly, but the text must come while the caller still speaks.
    let started = Instant::now();
    let mut said = 0;
    let first_seen = loop {
        let ticket = store.ticket_by_call_id(&call_id).await.unwrap().unwrap();
        if let Some(text) = ticket
            .transcript
            .filter(|t| t.to_lowercase().contains(SENTENCES[0].1))
        {
            break Some((said, text));
        }
        if started.elapsed() > Duration::from_secs(90) {
            break None;
        }
        ua.send_audio(&speech[said % speech.len()]).await;
        ua.send_silence(1000).await;
        said += 1;
    };
    let (said, early) = first_seen.expect("no text on the ticket after 90 s of speech");
    assert!(said >= 1, "text before any speech: {early}");
    // The caller finishes the message if the text came early, so every sentence is in it.
    for s in speech.iter().skip(said) {
        ua.send_audio(s).await;
        ua.send_silence(1000).await;
    }
    assert_eq!(ua.bye().await.status_code.code(), 200);
    let ticket = settled_ticket(&store, &call_id).await;
    assert_eq!(ticket.disposition, Disposition::Voicemail);
    // The draft is there; after hang-up the whole recording's final pass (full window, the
    // default with parts in a shorter one) replaces it.
    let id = ticket.id;
    let deadline = Instant::now() + Duration::from_secs(120);
    while !store.transcript_final(id).await.unwrap() {
        assert!(
            Instant::now() < deadline,
            "no final pass 120 s after hang-up"
        );
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    let ticket = ticket_when(
        &store,
        &call_id,
        Duration::from_secs(90),
        "whole transcript",
        |t| {
            t.transcript.as_deref().is_some_and(|x| {
                let x = x.to_lowercase();
                SENTENCES.iter().all(|(_, key)| x.contains(key))
            })
        },
    )
    .await;
    let text = ticket.transcript.unwrap().to_lowercase();
    let at: Vec<usize> = SENTENCES
        .iter()
        .map(|(_, key)| text.find(key).unwrap())
        .collect();
    assert!(at[0] < at[1] && at[1] < at[2], "out of order: {text}");
    // One part per sentence (cut at the pauses), not one 30 s window, and the final pass.
    let parts = store.transcript_parts_done(ticket.id).await.unwrap();
    assert!(parts >= 3, "{parts} parts: {text}");
    let counts = store.transcription_counts().await.unwrap();
    assert_eq!(counts.done, parts + 1, "{counts:?}");
    // The final pass's segments: the whole recording split at words into sentence-long
    // segments with their times (the parts' offsets are checked in tests/store/queue.rs).
    let segments = ticket.transcript_segments.unwrap();
    let starts: Vec<u64> = segments
        .as_array()
        .unwrap()
        .iter()
        .map(|s| s["start_ms"].as_u64().unwrap())
        .collect();
    assert!(starts.windows(2).all(|w| w[0] <= w[1]), "{starts:?}");
    assert!(
        starts.last().is_some_and(|&last| last >= 7000),
        "the last sentence starts past 7 s: {starts:?}"
    );
}
