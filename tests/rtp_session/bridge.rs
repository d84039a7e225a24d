//! Two sessions joined by `media::bridge`: each phone hears the other, across codecs, and keys
//! sent on a leg arrive as RFC 4733 events.

use crate::phone::*;
use hotline::media::bridge;
use hotline::media::dtmf::TelephoneEventReceiver;
use hotline::media::g711::G711;
use std::f64::consts::PI;
use std::time::Duration;
use tokio::time::Instant;

/// 20 ms of a sine at `hz`, starting at sample `n0`.
fn sine(hz: f64, n0: usize) -> Vec<i16> {
    (n0..n0 + 160)
        .map(|n| (8000.0 * (2.0 * PI * hz * n as f64 / 8000.0).sin()) as i16)
        .collect()
}

/// Energy of `pcm` at `hz` (Goertzel), normalised by the signal's energy.
fn share_at(pcm: &[i16], hz: f64) -> f64 {
    let k = 2.0 * (2.0 * PI * hz / 8000.0).cos();
    let (mut s1, mut s2) = (0.0, 0.0);
    for &x in pcm {
        let s = f64::from(x) + k * s1 - s2;
        s2 = s1;
        s1 = s;
    }
    let power = s1 * s1 + s2 * s2 - k * s1 * s2;
    let energy: f64 = pcm.iter().map(|&x| f64::from(x).powi(2)).sum();
    power / (energy * pcm.len() as f64 / 2.0).max(1.0)
}

/// Sends `frames` of a tone at `hz` from `phone` to `to`, paced at 20 ms.
async fn talk(phone: &Phone, to: std::net::SocketAddr, codec: G711, hz: f64, frames: usize) {
    use webrtc_util::marshal::Marshal;
    let start = Instant::now();
    let ssrc = rand::random();
    for i in 0..frames {
        let mut payload = Vec::new();
        codec.encode(&sine(hz, i * 160), &mut payload);
        let packet = rtp::packet::Packet {
            header: rtp::header::Header {
                version: 2,
                payload_type: codec.payload_type(),
                sequence_number: i as u16,
                timestamp: (i * 160) as u32,
                ssrc,
                ..Default::default()
            },
            payload: payload.into(),
        };
        phone.send_raw(to, &packet.marshal().unwrap()).await;
        tokio::time::sleep_until(start + Duration::from_millis(20 * (i as u64 + 1))).await;
    }
}

/// Decoded audio `phone` hears over `frames` packets, once it starts being audible.
async fn hear(phone: &Phone, codec: G711, frames: usize) -> Vec<i16> {
    let mut pcm = Vec::new();
    let (first, _) = phone.recv_audible(codec).await;
    codec.decode(&first.payload, &mut pcm);
    for _ in 1..frames {
        let (p, _) = phone.recv().await;
        codec.decode(&p.payload, &mut pcm);
    }
    pcm
}

#[tokio::test]
async fn each_phone_hears_the_other_across_pcmu_and_pcma() {
    let caller = Phone::new().await;
    let technician = Phone::new().await;
    let (a, _a_events, a_port) =
        start_session(negotiated(caller.addr(), G711::Ulaw), NO_TIMEOUT).await;
    let (b, _b_events, b_port) =
        start_session(negotiated(technician.addr(), G711::Alaw), NO_TIMEOUT).await;
    bridge::join(&a, &b);

    let caller_hz = 1000.0;
    let technician_hz = 600.0;
    let (heard_by_technician, heard_by_caller, (), ()) = tokio::join!(
        hear(&technician, G711::Alaw, 20),
        hear(&caller, G711::Ulaw, 20),
        talk(&caller, a_port, G711::Ulaw, caller_hz, 40),
        talk(&technician, b_port, G711::Alaw, technician_hz, 40),
    );
    // Skip the first frame (it may start mid-stream) and judge the rest.
    let t = &heard_by_technician[160..];
    let c = &heard_by_caller[160..];
    assert!(
        share_at(t, caller_hz) > 0.5 && share_at(t, technician_hz) < 0.05,
        "technician should hear the caller's {caller_hz} Hz: {:.3} at it, {:.3} at {technician_hz}",
        share_at(t, caller_hz),
        share_at(t, technician_hz)
    );
    assert!(
        share_at(c, technician_hz) > 0.5 && share_at(c, caller_hz) < 0.05,
        "caller should hear the technician's {technician_hz} Hz: {:.3} at it",
        share_at(c, technician_hz)
    );
}

#[tokio::test]
async fn the_relay_adds_at_most_a_couple_of_frames_of_delay() {
    let mut caller = Phone::new().await;
    let technician = Phone::new().await;
    let (a, _a_events, a_port) =
        start_session(negotiated(caller.addr(), G711::Ulaw), NO_TIMEOUT).await;
    let (b, _b_events, _) =
        start_session(negotiated(technician.addr(), G711::Ulaw), NO_TIMEOUT).await;
    bridge::join(&a, &b);
    // Drain the silence already queued at the technician's socket (the relay sends a packet
    // every 20 ms, so drain for a while rather than until a gap).
    let drained = Instant::now() + Duration::from_millis(100);
    while Instant::now() < drained {
        technician.recv().await;
    }
    let sent = Instant::now();
    caller
        .send_audio(a_port, G711::Ulaw, &sine(1000.0, 0))
        .await;
    let (_, heard) = technician.recv_audible(G711::Ulaw).await;
    let delay = heard - sent;
    // One 20 ms tick at most on an idle machine; the bound leaves room for a loaded CI host.
    assert!(delay < Duration::from_millis(250), "relay took {delay:?}");
}

#[tokio::test]
async fn separated_legs_hear_silence_again() {
    let mut caller = Phone::new().await;
    let technician = Phone::new().await;
    let (a, _a_events, a_port) =
        start_session(negotiated(caller.addr(), G711::Ulaw), NO_TIMEOUT).await;
    let (b, _b_events, _) =
        start_session(negotiated(technician.addr(), G711::Ulaw), NO_TIMEOUT).await;
    bridge::join(&a, &b);
    caller
        .send_audio(a_port, G711::Ulaw, &sine(1000.0, 0))
        .await;
    technician.recv_audible(G711::Ulaw).await;
    bridge::separate(&a, &b);
    for i in 0..10 {
        caller
            .send_audio(a_port, G711::Ulaw, &sine(1000.0, i * 160))
            .await;
    }
    // Whatever was in flight drains within a few frames; after that only silence.
    for _ in 0..5 {
        technician.recv().await;
    }
    for _ in 0..10 {
        let (p, _) = technician.recv().await;
        assert!(
            loudness(G711::Ulaw, &p.payload) < 1.0,
            "audio after separate"
        );
    }
}

#[tokio::test]
async fn a_key_sent_on_a_leg_arrives_as_one_rfc4733_event() {
    let phone = Phone::new().await;
    let (session, _events, _) =
        start_session(negotiated(phone.addr(), G711::Ulaw), NO_TIMEOUT).await;
    session.send_digit(digit('5'));
    let mut rx = TelephoneEventReceiver::new();
    let mut keys = Vec::new();
    let mut event_packets = 0;
    let mut ssrcs = std::collections::HashSet::new();
    for _ in 0..40 {
        let (p, _) = phone.recv().await;
        ssrcs.insert(p.header.ssrc);
        if p.header.payload_type == TELEPHONE_EVENT_PT {
            event_packets += 1;
            keys.extend(
                rx.on_packet(p.header.timestamp, p.header.marker, &p.payload)
                    .unwrap(),
            );
        }
    }
    assert_eq!(keys, [digit('5')]);
    assert_eq!(
        event_packets, 7,
        "5 tone packets and the end packet 3 times"
    );
    assert_eq!(ssrcs.len(), 1, "events travel in the leg's own stream");
}
