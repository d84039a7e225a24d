//! RFC 4733 telephone-event receiver and encoder.

use super::Digit;

/// A telephone-event payload we cannot read.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum TelephoneEventError {
    #[error("telephone-event payload of {0} bytes (at least 4 expected)")]
    TooShort(usize),
}

/// Turns telephone-event packets into key presses, each reported once.
///
/// An event is identified by its RTP timestamp (§2.5.1.3): every packet of one key press, the
/// three retransmitted end packets included (§2.5.1.4), carries the timestamp of its start. So a
/// digit is reported on the first packet with a new timestamp, which also covers a lost first
/// packet (the marker bit is not needed).
#[derive(Debug, Default)]
pub struct TelephoneEventReceiver {
    current: Option<(u32, u8)>,
}

impl TelephoneEventReceiver {
    pub fn new() -> Self {
        Self::default()
    }

    /// Feeds one packet of the negotiated telephone-event payload type.
    pub fn on_packet(
        &mut self,
        rtp_timestamp: u32,
        _marker: bool,
        payload: &[u8],
    ) -> Result<Option<Digit>, TelephoneEventError> {
        if payload.len() < 4 {
            return Err(TelephoneEventError::TooShort(payload.len()));
        }
        let event = payload[0];
        let key = (rtp_timestamp, event);
        if self.current == Some(key) {
            return Ok(None);
        }
        self.current = Some(key);
        // Events above 15 (flash, tones…) are not keys (§3.2).
        Ok(Digit::from_event_code(event))
    }
}

/// A telephone-event payload (§2.3): event, end bit, volume (dBm0 below 0, 0–63), duration in
/// timestamp units.
pub fn encode_telephone_event(digit: Digit, end: bool, volume: u8, duration: u16) -> [u8; 4] {
    let d = duration.to_be_bytes();
    [
        digit.event_code(),
        (if end { 0x80 } else { 0 }) | (volume & 0x3F),
        d[0],
        d[1],
    ]
}

#[cfg(test)]
mod tests {
    use super::*;

    fn d(c: char) -> Digit {
        Digit::from_char(c).unwrap()
    }

    #[test]
    fn end_packet_retransmissions_report_the_digit_once() {
        let mut rx = TelephoneEventReceiver::new();
        let mut seen = Vec::new();
        for dur in [160u16, 320, 480] {
            seen.extend(
                rx.on_packet(
                    1000,
                    dur == 160,
                    &encode_telephone_event(d('5'), false, 10, dur),
                )
                .unwrap(),
            );
        }
        for _ in 0..3 {
            seen.extend(
                rx.on_packet(1000, false, &encode_telephone_event(d('5'), true, 10, 640))
                    .unwrap(),
            );
        }
        assert_eq!(seen, vec![d('5')]);
    }

    #[test]
    fn same_digit_twice_is_two_presses() {
        let mut rx = TelephoneEventReceiver::new();
        let p = encode_telephone_event(d('1'), true, 10, 800);
        assert_eq!(rx.on_packet(100, true, &p).unwrap(), Some(d('1')));
        assert_eq!(rx.on_packet(2000, true, &p).unwrap(), Some(d('1')));
    }

    #[test]
    fn lost_first_packet_still_reports() {
        let mut rx = TelephoneEventReceiver::new();
        let p = encode_telephone_event(d('#'), false, 10, 480);
        assert_eq!(
            rx.on_packet(u32::MAX - 10, false, &p).unwrap(),
            Some(d('#'))
        );
    }

    #[test]
    fn non_key_events_are_ignored_and_short_payloads_are_errors() {
        let mut rx = TelephoneEventReceiver::new();
        assert_eq!(rx.on_packet(1, true, &[16, 0x0A, 0, 160]).unwrap(), None);
        assert_eq!(
            rx.on_packet(2, true, &[1, 2]),
            Err(TelephoneEventError::TooShort(2))
        );
    }
}
