//! What the caller hears: paced prompt audio, silence in between, barge-in.

use crate::phone::*;
use hotline::media::g711::G711;
use hotline::media::rtp_session::MediaEvent;
use std::time::Duration;
use tokio::time::Instant;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn prompt_audio_is_paced_every_20_ms_with_consecutive_sequence_numbers_and_timestamps() {
    let phone = Phone::new().await;
    let (session, mut events, _) =
        start_session(negotiated(phone.addr(), G711::Ulaw), NO_TIMEOUT).await;
    let prompt_ms = 3_000;
    let playing = session.play(vec![tone_prompt(prompt_ms)]);

    let (first, first_at) = phone.recv_audible(G711::Ulaw).await;
    assert!(
        first.header.marker,
        "the prompt's first packet starts a talkspurt"
    );
    let mut packets = vec![(first, first_at)];
    while packets.len() < prompt_ms / 20 {
        packets.push(phone.recv().await);
    }
    assert_eq!(
        next_event(&mut events).await,
        MediaEvent::PlaybackFinished(playing)
    );

    for pair in packets.windows(2) {
        let (a, b) = (&pair[0].0.header, &pair[1].0.header);
        assert_eq!(b.sequence_number, a.sequence_number.wrapping_add(1));
        assert_eq!(b.timestamp, a.timestamp.wrapping_add(160));
        assert_eq!((b.ssrc, b.payload_type, b.marker), (a.ssrc, 0, false));
    }
    for (packet, _) in &packets {
        assert_eq!(packet.payload.len(), 160);
        assert!(
            loudness(G711::Ulaw, &packet.payload) > 1000.0,
            "prompt audio, not silence"
        );
    }

    let mut gaps: Vec<f64> = packets
        .windows(2)
        .map(|p| (p[1].1 - p[0].1).as_secs_f64() * 1000.0)
        .collect();
    let mean = gaps.iter().sum::<f64>() / gaps.len() as f64;
    let mut jitter: Vec<f64> = gaps.iter().map(|g| (g - 20.0).abs()).collect();
    jitter.sort_by(f64::total_cmp);
    gaps.sort_by(f64::total_cmp);
    let p99 = jitter[jitter.len() * 99 / 100];
    let max = gaps[gaps.len() - 1];
    println!(
        "{} intervals: mean {mean:.3} ms, p99 |interval - 20 ms| {p99:.3} ms, min {:.3} ms, max {max:.3} ms",
        gaps.len(),
        gaps[0]
    );
    // Tolerant enough for a loaded 2-core CI machine; drift or sleep accumulation would show
    // as a mean well above 20 ms over 149 intervals.
    assert!((mean - 20.0).abs() < 1.0, "mean interval {mean:.3} ms");
    assert!(max < 60.0, "a gap of {max:.3} ms");
}

#[tokio::test]
async fn an_idle_session_sends_a_continuous_stream_of_silence() {
    let phone = Phone::new().await;
    let (_session, _events, _) =
        start_session(negotiated(phone.addr(), G711::Ulaw), NO_TIMEOUT).await;
    let mut packets = Vec::new();
    for _ in 0..10 {
        packets.push(phone.recv().await.0);
    }
    assert!(
        packets[0].header.marker,
        "the stream's first packet starts a talkspurt"
    );
    for (i, p) in packets.iter().enumerate() {
        assert_eq!(&p.payload[..], &[G711::Ulaw.silence(); 160][..]);
        assert_eq!(p.header.marker, i == 0);
    }
    // Random starting points (RFC 3550 §5.1): a second session starts elsewhere.
    let other = Phone::new().await;
    let (_s2, _e2, _) = start_session(negotiated(other.addr(), G711::Ulaw), NO_TIMEOUT).await;
    let q = other.recv().await.0;
    assert_ne!(
        (q.header.ssrc, q.header.sequence_number),
        (packets[0].header.ssrc, packets[0].header.sequence_number)
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn barge_in_silences_the_prompt_within_40_ms_and_reports_no_playback_end() {
    let phone = Phone::new().await;
    let (session, mut events, _) =
        start_session(negotiated(phone.addr(), G711::Ulaw), NO_TIMEOUT).await;
    let playing = session.play(vec![tone_prompt(5_000)]);
    for _ in 0..5 {
        phone.recv_audible(G711::Ulaw).await;
    }
    let pressed = Instant::now();
    session.stop_playback();
    let silenced_at = loop {
        let (packet, at) = phone.recv().await;
        if loudness(G711::Ulaw, &packet.payload) == 0.0 {
            break at;
        }
    };
    let delay = silenced_at - pressed;
    println!(
        "barge-in: silence {:.3} ms after stop_playback",
        delay.as_secs_f64() * 1000.0
    );
    assert!(
        delay < Duration::from_millis(40),
        "silence only after {delay:?}"
    );

    // The next playback is the one that finishes; the stopped one never reports.
    let next = session.play(vec![tone_prompt(40)]);
    assert_ne!(next, playing);
    assert_eq!(
        next_event(&mut events).await,
        MediaEvent::PlaybackFinished(next)
    );
}

#[tokio::test]
async fn pcma_calls_get_a_law_packets_with_payload_type_8() {
    let phone = Phone::new().await;
    let (session, mut events, _) =
        start_session(negotiated(phone.addr(), G711::Alaw), NO_TIMEOUT).await;
    let idle = phone.recv().await.0;
    assert_eq!(idle.header.payload_type, 8);
    assert_eq!(&idle.payload[..], &[G711::Alaw.silence(); 160][..]);

    let prompt = tone_prompt(100);
    let playing = session.play(vec![prompt.clone()]);
    let (first, _) = phone.recv_audible(G711::Alaw).await;
    let mut expected = Vec::new();
    G711::Alaw.encode(&prompt.samples[..160], &mut expected);
    assert_eq!(first.header.payload_type, 8);
    assert_eq!(
        &first.payload[..],
        &expected[..],
        "the prompt's first 20 ms, A-law encoded"
    );
    assert_eq!(
        next_event(&mut events).await,
        MediaEvent::PlaybackFinished(playing)
    );
}

#[tokio::test]
async fn prompts_queued_together_play_back_to_back_and_each_playback_reports_its_end() {
    let phone = Phone::new().await;
    let (session, mut events, _) =
        start_session(negotiated(phone.addr(), G711::Ulaw), NO_TIMEOUT).await;
    let a = session.play(vec![tone_prompt(60), tone_prompt(60)]);
    let b = session.play(vec![tone_prompt(40)]);
    let mut audible = 0;
    let mut markers = 0;
    while audible < 8 {
        let (packet, _) = phone.recv().await;
        if loudness(G711::Ulaw, &packet.payload) > 0.0 {
            audible += 1;
            markers += usize::from(packet.header.marker);
        }
    }
    assert_eq!(markers, 2, "one talkspurt per playback");
    assert_eq!(
        next_event(&mut events).await,
        MediaEvent::PlaybackFinished(a)
    );
    assert_eq!(
        next_event(&mut events).await,
        MediaEvent::PlaybackFinished(b)
    );
}

/// The sessions of a runtime share two media loops (one per worker): each session still gets
/// its own unbroken 20 ms stream, and sessions leaving the loops do not disturb the others.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn many_sessions_sharing_the_media_loops_each_get_a_paced_stream() {
    const SESSIONS: usize = 60;
    let mut calls = Vec::new();
    for _ in 0..SESSIONS {
        let phone = Phone::new().await;
        let (session, events, _) =
            start_session(negotiated(phone.addr(), G711::Ulaw), NO_TIMEOUT).await;
        calls.push((phone, session, events));
    }
    // Half the sessions leave; the rest must keep their pace.
    for (_, session, _) in calls.drain(SESSIONS / 2..) {
        session.close().await;
    }
    // What queued while the others were set up is thrown away; then one second is counted
    // from each phone's queue (the kernel keeps it: 50 small datagrams).
    let queued = |phone: &Phone| {
        let mut buf = [0u8; 2048];
        std::iter::from_fn(|| phone.socket.try_recv_from(&mut buf).ok()).count()
    };
    for (phone, _, _) in &calls {
        queued(phone);
    }
    tokio::time::sleep(Duration::from_secs(1)).await;
    let counts: Vec<usize> = calls.iter().map(|(phone, _, _)| queued(phone)).collect();
    let (min, max) = (counts.iter().min().unwrap(), counts.iter().max().unwrap());
    assert!(
        *min >= 45 && *max <= 55,
        "packets per session in 1 s: {counts:?}"
    );
}
