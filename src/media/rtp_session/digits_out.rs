//! Key presses we send as RFC 4733 telephone-events, one packet per 20 ms tick. Sans-IO.
//!
//! A bridged technician's keypad, or the browser's, must reach the caller the way phones send
//! keys: an event of [`TONE_FRAMES`] packets with a growing duration, all with the event's start
//! timestamp, the first with the marker bit (§2.5.1.1), the last with the end bit sent three
//! times (§2.5.1.4), then a pause before the next key so the far end sees two presses.

use crate::media::dtmf::{encode_telephone_event, Digit};
use std::collections::VecDeque;

use super::FRAME_SAMPLES;

/// 100 ms of tone: what desk phones send for a short press, and well over the 40 ms a
/// receiver needs (Q.24).
pub const TONE_FRAMES: u16 = 5;
/// Pause between two keys: 60 ms (three frames of audio).
const GAP_FRAMES: u8 = 3;
/// Volume field: -10 dBm0, the usual value.
const VOLUME: u8 = 10;

/// One telephone-event packet to send in place of this tick's audio.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct EventPacket {
    /// The RTP timestamp of the event's start (every packet of the event carries it).
    pub timestamp: u32,
    pub marker: bool,
    pub payload: [u8; 4],
}

#[derive(Debug)]
enum State {
    Idle,
    Tone {
        digit: Digit,
        start: u32,
        sent: u16,
    },
    End {
        digit: Digit,
        start: u32,
        repeats: u8,
    },
    Gap(u8),
}

/// Queued keys and the event being sent.
#[derive(Debug)]
pub struct DigitSender {
    queue: VecDeque<Digit>,
    state: State,
}

impl Default for DigitSender {
    fn default() -> Self {
        DigitSender {
            queue: VecDeque::new(),
            state: State::Idle,
        }
    }
}

impl DigitSender {
    pub fn push(&mut self, digit: Digit) {
        self.queue.push_back(digit);
    }

    /// Whether this tick belongs to a key (or to the pause after one), so no audio goes out.
    pub fn busy(&self) -> bool {
        !matches!(self.state, State::Idle) || !self.queue.is_empty()
    }

    /// The packet for this tick, where `now` is the timestamp the tick's audio would carry.
    /// `None` during the pause between keys and when nothing is queued.
    pub fn next(&mut self, now: u32) -> Option<EventPacket> {
        loop {
            match self.state {
                State::Idle => {
                    let digit = self.queue.pop_front()?;
                    self.state = State::Tone {
                        digit,
                        start: now,
                        sent: 0,
                    };
                }
                State::Tone { digit, start, sent } => {
                    let sent = sent + 1;
                    let duration = sent * FRAME_SAMPLES as u16;
                    if sent == TONE_FRAMES {
                        self.state = State::End {
                            digit,
                            start,
                            repeats: 2,
                        };
                        let payload = encode_telephone_event(digit, true, VOLUME, duration);
                        return Some(EventPacket {
                            timestamp: start,
                            marker: false,
                            payload,
                        });
                    }
                    self.state = State::Tone { digit, start, sent };
                    return Some(EventPacket {
                        timestamp: start,
                        marker: sent == 1,
                        payload: encode_telephone_event(digit, false, VOLUME, duration),
                    });
                }
                State::End {
                    digit,
                    start,
                    repeats,
                } => {
                    self.state = match repeats {
                        1 => State::Gap(GAP_FRAMES),
                        n => State::End {
                            digit,
                            start,
                            repeats: n - 1,
                        },
                    };
                    let duration = TONE_FRAMES * FRAME_SAMPLES as u16;
                    return Some(EventPacket {
                        timestamp: start,
                        marker: false,
                        payload: encode_telephone_event(digit, true, VOLUME, duration),
                    });
                }
                State::Gap(n) => {
                    self.state = if n <= 1 {
                        State::Idle
                    } else {
                        State::Gap(n - 1)
                    };
                    return None;
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::media::dtmf::TelephoneEventReceiver;

    fn d(c: char) -> Digit {
        Digit::from_char(c).unwrap()
    }

    #[test]
    fn a_key_is_five_growing_packets_then_two_end_retransmissions_all_with_the_start_timestamp() {
        let mut tx = DigitSender::default();
        tx.push(d('7'));
        let packets: Vec<_> = (0..7u32)
            .map(|i| tx.next(1000 + i * 160).expect("packet"))
            .collect();
        assert!(packets.iter().all(|p| p.timestamp == 1000));
        assert_eq!(
            packets.iter().map(|p| p.marker).collect::<Vec<_>>(),
            [true, false, false, false, false, false, false]
        );
        let durations: Vec<u16> = packets
            .iter()
            .map(|p| u16::from_be_bytes([p.payload[2], p.payload[3]]))
            .collect();
        assert_eq!(durations, [160, 320, 480, 640, 800, 800, 800]);
        let ends = packets.iter().filter(|p| p.payload[1] & 0x80 != 0).count();
        assert_eq!(ends, 3, "the end packet is sent three times");
        assert!(tx.busy(), "the pause after the key follows");
    }

    #[test]
    fn two_keys_are_separated_by_a_pause_and_read_back_as_two_presses() {
        let mut tx = DigitSender::default();
        tx.push(d('1'));
        tx.push(d('1'));
        let mut rx = TelephoneEventReceiver::new();
        let mut heard = Vec::new();
        let mut silent_ticks = 0;
        for i in 0..40u32 {
            match tx.next(i * 160) {
                Some(p) => {
                    heard.extend(rx.on_packet(p.timestamp, p.marker, &p.payload).unwrap());
                }
                None => silent_ticks += 1,
            }
        }
        assert_eq!(heard, [d('1'), d('1')]);
        assert!(silent_ticks >= 2 * GAP_FRAMES as usize);
        assert!(!tx.busy());
    }
}
