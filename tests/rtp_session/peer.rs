//! The far end: where our packets go, what re-INVITEs change, silence of packets, stray
//! datagrams, the caller's audio for recording, and the port coming back.

use crate::phone::*;
use hotline::media::g711::G711;
use hotline::media::port_pool::PortPool;
use hotline::media::rtp_session::{MediaEvent, MediaSession, RtpOptions};
use hotline::media::sdp::Direction;
use std::time::Duration;
use tokio::sync::mpsc;
use tokio::time::{timeout, Instant};

#[tokio::test]
async fn replies_go_to_where_the_callers_packets_come_from_not_to_the_sdp_address() {
    // The SDP names one port; the phone (behind a NAT, say) sends from another.
    let sdp_side = Phone::new().await;
    let mut real = Phone::new().await;
    let (session, _events, ours) =
        start_session(negotiated(sdp_side.addr(), G711::Ulaw), NO_TIMEOUT).await;
    let before = sdp_side.recv().await.0;
    assert_eq!(
        session.remote_target(),
        sdp_side.addr(),
        "before any packet: the SDP address"
    );

    real.send_audio(ours, G711::Ulaw, &[0; 160]).await;
    let latched = real.recv().await.0;
    assert_eq!(
        latched.header.ssrc, before.header.ssrc,
        "the same stream, moved"
    );
    assert_eq!(session.remote_target(), real.addr());

    // Nothing more goes to the SDP address (one packet may have been in flight).
    while timeout(Duration::from_millis(5), sdp_side.recv())
        .await
        .is_ok()
    {}
    assert!(
        timeout(Duration::from_millis(100), sdp_side.recv())
            .await
            .is_err(),
        "packets still sent to the SDP address after latching"
    );
}

#[tokio::test]
async fn a_stray_sender_after_latching_does_not_redirect_the_stream() {
    let mut phone = Phone::new().await;
    let mut stray = Phone::new().await;
    let (session, _events, ours) =
        start_session(negotiated(phone.addr(), G711::Ulaw), NO_TIMEOUT).await;
    phone.send_audio(ours, G711::Ulaw, &[0; 160]).await;
    stray.send_audio(ours, G711::Ulaw, &[0; 160]).await;
    wait_until("both packets", || session.stats().packets_received == 2).await;
    assert_eq!(session.remote_target(), phone.addr());
}

#[tokio::test]
async fn a_reinvite_moves_the_stream_to_the_new_address_and_codec() {
    let phone = Phone::new().await;
    let moved = Phone::new().await;
    let (session, _events, _) =
        start_session(negotiated(phone.addr(), G711::Ulaw), NO_TIMEOUT).await;
    let first = phone.recv().await.0;
    session.update_remote(negotiated(moved.addr(), G711::Alaw));
    let after = moved.recv().await.0;
    assert_eq!(after.header.payload_type, 8);
    assert_eq!(after.header.ssrc, first.header.ssrc);
    assert!(after.header.timestamp.wrapping_sub(first.header.timestamp) % 160 == 0);
}

#[tokio::test]
async fn hold_stops_our_stream_and_the_inactivity_clock_and_unhold_resumes_both() {
    let phone = Phone::new().await;
    let timeout_after = Duration::from_millis(300);
    let media = negotiated(phone.addr(), G711::Ulaw);
    let (session, mut events, _) = start_session(media.clone(), timeout_after).await;
    let before = phone.recv().await.0;

    // The phone puts us on hold (a=sendonly; our answer is recvonly) and goes quiet.
    let mut held = media.clone();
    held.remote_direction = Direction::SendOnly;
    held.local_direction = Direction::RecvOnly;
    session.update_remote(held);
    let mut last = before;
    while let Ok((packet, _)) = timeout(Duration::from_millis(30), phone.recv()).await {
        last = packet;
    }
    let quiet = timeout(3 * timeout_after, async {
        tokio::select! {
            p = phone.recv() => format!("packet {:?}", p.0.header),
            e = events.recv() => format!("event {e:?}"),
        }
    })
    .await;
    assert!(quiet.is_err(), "on hold, got {quiet:?}");

    let unheld_at = Instant::now();
    session.update_remote(media);
    let resumed = phone.recv().await.0;
    assert!(resumed.header.marker, "the stream resumes with a talkspurt");
    // Sequence numbers count packets sent (no gap); the timestamp kept the media clock.
    assert_eq!(
        resumed.header.sequence_number,
        last.header.sequence_number.wrapping_add(1)
    );
    let held_samples = resumed.header.timestamp.wrapping_sub(last.header.timestamp);
    assert!(
        held_samples >= 8 * 3 * 300,
        "timestamp moved only {held_samples} samples"
    );
    assert_eq!(next_event(&mut events).await, MediaEvent::RtpTimeout);
    assert!(
        unheld_at.elapsed() >= timeout_after,
        "a full timeout after unhold"
    );
}

#[tokio::test]
async fn a_silent_line_times_out_once_and_packets_keep_it_alive() {
    let mut phone = Phone::new().await;
    let timeout_after = Duration::from_millis(200);
    let (session, mut events, ours) =
        start_session(negotiated(phone.addr(), G711::Ulaw), timeout_after).await;
    // 500 ms of packets: more than twice the timeout, and no timeout during them.
    let mut clock = tokio::time::interval(Duration::from_millis(20));
    for _ in 0..25 {
        clock.tick().await;
        phone.send_audio(ours, G711::Ulaw, &[0; 160]).await;
        assert!(events.try_recv().is_err(), "event while packets flow");
    }
    let stopped = Instant::now();
    assert_eq!(next_event(&mut events).await, MediaEvent::RtpTimeout);
    let after = stopped.elapsed();
    assert!(
        after >= timeout_after - Duration::from_millis(25),
        "timed out after {after:?}"
    );
    assert!(
        timeout(4 * timeout_after, events.recv()).await.is_err(),
        "RtpTimeout reported more than once"
    );
    assert!(session.stats().last_received.is_some());
}

#[tokio::test]
async fn garbage_and_unexpected_payload_types_are_counted_and_dropped() {
    let mut phone = Phone::new().await;
    let (session, mut events, ours) =
        start_session(negotiated(phone.addr(), G711::Ulaw), NO_TIMEOUT).await;
    phone.send_raw(ours, b"").await;
    phone.send_raw(ours, b"OPTIONS sip:x SIP/2.0\r\n\r\n").await;
    phone.send_raw(ours, &[0x80, 0x00]).await;
    // Comfort noise (PT 13), never negotiated.
    phone
        .send_raw(ours, &[0x80, 13, 0, 1, 0, 0, 0, 0, 0, 0, 0, 1, 0x40])
        .await;
    phone
        .press_rfc4733(ours, crate::phone::digit('2'), 40)
        .await;
    assert!(matches!(
        next_event(&mut events).await,
        MediaEvent::Digit { .. }
    ));
    wait_until("the whole key press", || {
        session.stats().packets_received == 6
    })
    .await;
    let stats = session.stats();
    assert_eq!(stats.packets_dropped, 4);
    assert_eq!(
        stats.packets_received,
        1 + 5,
        "the CN packet and the key press"
    );
    // The stream latched on RTP only and still flows.
    assert_eq!(session.remote_target(), phone.addr());
    phone.recv().await;
}

#[tokio::test]
async fn the_audio_tap_gets_the_callers_decoded_audio_in_arrival_order() {
    let mut phone = Phone::new().await;
    let (session, _events, ours) =
        start_session(negotiated(phone.addr(), G711::Ulaw), NO_TIMEOUT).await;
    let (tx, mut tap) = mpsc::channel(64);
    session.set_audio_tap(Some(tx));
    for level in 1..=10i16 {
        phone
            .send_audio(ours, G711::Ulaw, &[level * 1000; 160])
            .await;
    }
    // A-law from the same phone is decoded too (by its static payload type).
    phone.send_audio(ours, G711::Alaw, &[-4000; 160]).await;
    for level in 1..=10i16 {
        let frame = timeout(PATIENCE, tap.recv()).await.unwrap().unwrap();
        assert_eq!(frame.len(), 160);
        assert!(
            frame.iter().all(|&s| (s - level * 1000).abs() < level * 40),
            "frame {level}"
        );
    }
    let alaw = timeout(PATIENCE, tap.recv()).await.unwrap().unwrap();
    assert!(alaw.iter().all(|&s| (s + 4000).abs() < 200));
    session.set_audio_tap(None);
    phone.send_audio(ours, G711::Ulaw, &[0; 160]).await;
    assert_eq!(
        timeout(PATIENCE, tap.recv()).await.unwrap(),
        None,
        "tap closed on removal"
    );
}

#[tokio::test]
async fn closing_or_dropping_the_session_returns_its_port() {
    let base = 20_000 + 2 * (rand::random::<u16>() % 5_000);
    let pool = PortPool::new(base..=base + 8, "127.0.0.1".parse().unwrap());
    let phone = Phone::new().await;
    let socket = pool.bind().await.unwrap();
    let port = socket.port();
    let media = negotiated(phone.addr(), G711::Ulaw);
    let (session, _events) = MediaSession::start(socket, media.clone(), RtpOptions::default());
    phone.recv().await;
    assert_eq!(pool.available(), pool.capacity() - 1);
    let stats = session.close().await;
    assert!(stats.packets_sent >= 1 && stats.bytes_sent == 172 * stats.packets_sent);
    assert_eq!(
        pool.available(),
        pool.capacity(),
        "port {port} back on close"
    );

    let (session, _events) =
        MediaSession::start(pool.bind().await.unwrap(), media, RtpOptions::default());
    drop(session);
    wait_until("the port back after drop", || {
        pool.available() == pool.capacity()
    })
    .await;
}
