//! Key presses: RFC 4733 events, in-band tones, and both at once, each reported once.
//!
//! Each test ends with a different key as a sentinel: events arrive in order, so seeing the
//! sentinel next proves no duplicate of the key before it was reported.

use crate::phone::*;
use hotline::media::dtmf::synthesize_tone;
use hotline::media::g711::G711;
use hotline::media::rtp_session::{DigitSource, MediaEvent};
use std::time::Duration;

fn key(c: char, source: DigitSource) -> MediaEvent {
    MediaEvent::Digit {
        digit: digit(c),
        source,
    }
}

#[tokio::test]
async fn an_rfc4733_key_press_with_three_end_retransmissions_is_reported_once() {
    let mut phone = Phone::new().await;
    let (session, mut events, ours) =
        start_session(negotiated(phone.addr(), G711::Ulaw), NO_TIMEOUT).await;
    phone.press_rfc4733(ours, digit('5'), 100).await;
    phone.press_rfc4733(ours, digit('#'), 60).await;
    assert_eq!(
        next_event(&mut events).await,
        key('5', DigitSource::Rfc4733)
    );
    assert_eq!(
        next_event(&mut events).await,
        key('#', DigitSource::Rfc4733)
    );
    // 5 + 3 and 3 + 3 packets, all well-formed and used.
    wait_until("14 packets", || session.stats().packets_received == 14).await;
    assert_eq!(session.stats().packets_dropped, 0);
}

#[tokio::test]
async fn the_same_key_pressed_twice_is_two_presses() {
    let mut phone = Phone::new().await;
    let (_session, mut events, ours) =
        start_session(negotiated(phone.addr(), G711::Ulaw), NO_TIMEOUT).await;
    phone.press_rfc4733(ours, digit('1'), 80).await;
    phone.press_rfc4733(ours, digit('1'), 80).await;
    assert_eq!(
        next_event(&mut events).await,
        key('1', DigitSource::Rfc4733)
    );
    assert_eq!(
        next_event(&mut events).await,
        key('1', DigitSource::Rfc4733)
    );
}

/// Sends `key`'s tone (µ-law, as a phone with in-band DTMF does) for `ms`, then 60 ms of
/// silence, in 20 ms packets paced like a phone's.
async fn press_inband(phone: &mut Phone, to: std::net::SocketAddr, key: char, ms: u32) {
    let mut audio = synthesize_tone(digit(key), ms, -10.0);
    audio.extend(std::iter::repeat_n(0, 480));
    let mut clock = tokio::time::interval(Duration::from_millis(20));
    for frame in audio.chunks(160) {
        clock.tick().await;
        phone.send_audio(to, G711::Ulaw, frame).await;
    }
}

#[tokio::test]
async fn an_inband_tone_in_ulaw_audio_is_reported_once() {
    let mut phone = Phone::new().await;
    let (_session, mut events, ours) =
        start_session(negotiated(phone.addr(), G711::Ulaw), NO_TIMEOUT).await;
    press_inband(&mut phone, ours, '3', 100).await;
    phone.press_rfc4733(ours, digit('9'), 60).await;
    assert_eq!(next_event(&mut events).await, key('3', DigitSource::Inband));
    assert_eq!(
        next_event(&mut events).await,
        key('9', DigitSource::Rfc4733)
    );
}

#[tokio::test]
async fn a_key_sent_both_as_event_and_as_tone_is_reported_once() {
    let mut phone = Phone::new().await;
    let (_session, mut events, ours) =
        start_session(negotiated(phone.addr(), G711::Ulaw), NO_TIMEOUT).await;
    // As a phone that does both: every 20 ms an event update and the tone's audio frame.
    let eight = digit('8');
    let start = phone.timestamp();
    let tone = synthesize_tone(eight, 100, -10.0);
    let mut clock = tokio::time::interval(Duration::from_millis(20));
    for (i, frame) in tone.chunks(160).enumerate() {
        clock.tick().await;
        let duration = 160 * (i as u16 + 1);
        phone
            .send_event(ours, eight, start, i == 0, false, duration)
            .await;
        phone.send_audio(ours, G711::Ulaw, frame).await;
    }
    for _ in 0..3 {
        phone.send_event(ours, eight, start, false, true, 800).await;
    }
    for _ in 0..3 {
        clock.tick().await;
        phone.send_audio(ours, G711::Ulaw, &[0; 160]).await;
    }
    phone.press_rfc4733(ours, digit('0'), 60).await;
    assert_eq!(
        next_event(&mut events).await,
        key('8', DigitSource::Rfc4733)
    );
    assert_eq!(
        next_event(&mut events).await,
        key('0', DigitSource::Rfc4733)
    );
}
