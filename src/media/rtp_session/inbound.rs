//! What one received datagram means: audio, a key press, or something to drop. Sans-IO.

use super::DigitSource;
use crate::media::dtmf::{Digit, DigitMerger, InbandDetector, TelephoneEventReceiver};
use crate::media::g711::G711;
use crate::media::sdp::NegotiatedMedia;
use rtp::packet::Packet;
use webrtc_util::marshal::Unmarshal;

/// A key press seen both as RFC 4733 and in-band within this window counts once. A phone that
/// sends both starts them together (in-band detection lags by ~25 ms); a person cannot press
/// the same key twice within 120 ms, so a longer window would swallow real presses.
pub const DIGIT_MERGE_WINDOW_MS: u64 = 120;

/// A datagram that is read and then dropped.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Dropped {
    /// Not an RTP version 2 packet, or truncated: nothing from the phone can be trusted in it.
    NotRtp,
    /// RTP with a payload type we did not negotiate (comfort noise, RTCP sent to the RTP port).
    UnexpectedPayloadType(u8),
    /// A telephone-event packet too short to read.
    BadTelephoneEvent,
}

/// A well-formed packet we used.
#[derive(Debug, Default, PartialEq, Eq)]
pub struct Accepted {
    /// The decoded audio, for the tap.
    pub audio: Option<Vec<i16>>,
    /// Key presses it completed, already merged across the two sources.
    pub digits: Vec<(Digit, DigitSource)>,
}

/// The receive side's detectors, fed packet by packet in arrival order.
#[derive(Debug)]
pub struct InboundPath {
    telephone_events: TelephoneEventReceiver,
    inband: InbandDetector,
    merger: DigitMerger,
}

impl Default for InboundPath {
    fn default() -> Self {
        InboundPath {
            telephone_events: TelephoneEventReceiver::new(),
            inband: InbandDetector::new(),
            merger: DigitMerger::new(DIGIT_MERGE_WINDOW_MS),
        }
    }
}

impl InboundPath {
    /// Reads one datagram that arrived `at_ms` into the session.
    pub fn on_datagram(
        &mut self,
        bytes: &[u8],
        media: &NegotiatedMedia,
        at_ms: u64,
    ) -> Result<Accepted, Dropped> {
        let mut slice = bytes;
        let packet = Packet::unmarshal(&mut slice).map_err(|_| Dropped::NotRtp)?;
        if packet.header.version != 2 {
            return Err(Dropped::NotRtp);
        }
        let pt = packet.header.payload_type;
        let mut accepted = Accepted::default();
        if Some(pt) == media.telephone_event_pt {
            let digit = self
                .telephone_events
                .on_packet(
                    packet.header.timestamp,
                    packet.header.marker,
                    &packet.payload,
                )
                .map_err(|_| Dropped::BadTelephoneEvent)?;
            if let Some(d) = digit.and_then(|d| self.merger.rfc4733(d, at_ms)) {
                accepted.digits.push((d, DigitSource::Rfc4733));
            }
            return Ok(accepted);
        }
        // The negotiated number first (it may be dynamic), then the static ones: a phone may
        // switch between PCMU and PCMA without asking, and decoding it costs nothing.
        let codec = if pt == media.codec_pt {
            Some(media.codec)
        } else {
            G711::from_payload_type(pt)
        };
        let codec = codec.ok_or(Dropped::UnexpectedPayloadType(pt))?;
        let mut pcm = Vec::with_capacity(packet.payload.len());
        codec.decode(&packet.payload, &mut pcm);
        for digit in self.inband.push(&pcm) {
            if let Some(d) = self.merger.inband(digit, at_ms) {
                accepted.digits.push((d, DigitSource::Inband));
            }
        }
        accepted.audio = Some(pcm);
        Ok(accepted)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::media::dtmf::{encode_telephone_event, synthesize_tone};
    use crate::media::sdp::Direction;
    use bytes::Bytes;
    use rtp::header::Header;
    use webrtc_util::marshal::Marshal;

    fn media(codec: G711) -> NegotiatedMedia {
        NegotiatedMedia {
            remote: "127.0.0.1:4000".parse().unwrap(),
            codec,
            codec_pt: codec.payload_type(),
            telephone_event_pt: Some(101),
            remote_direction: Direction::SendRecv,
            local_direction: Direction::SendRecv,
            ptime_ms: 20,
        }
    }

    fn rtp(pt: u8, ts: u32, marker: bool, payload: &[u8]) -> Vec<u8> {
        Packet {
            header: Header {
                version: 2,
                payload_type: pt,
                timestamp: ts,
                marker,
                ..Default::default()
            },
            payload: Bytes::copy_from_slice(payload),
        }
        .marshal()
        .unwrap()
        .to_vec()
    }

    fn digit(c: char) -> Digit {
        Digit::from_char(c).unwrap()
    }

    #[test]
    fn garbage_and_unexpected_payload_types_are_dropped() {
        let mut path = InboundPath::default();
        let m = media(G711::Ulaw);
        assert_eq!(path.on_datagram(&[], &m, 0), Err(Dropped::NotRtp));
        assert_eq!(
            path.on_datagram(b"INVITE sip:", &m, 0),
            Err(Dropped::NotRtp)
        );
        let mut v1 = rtp(0, 0, false, &[0xFF; 160]);
        v1[0] = (v1[0] & 0x3F) | 0x40;
        assert_eq!(path.on_datagram(&v1, &m, 0), Err(Dropped::NotRtp));
        assert_eq!(
            path.on_datagram(&rtp(13, 0, false, &[0x40]), &m, 0),
            Err(Dropped::UnexpectedPayloadType(13))
        );
        assert_eq!(
            path.on_datagram(&rtp(101, 0, true, &[1, 2]), &m, 0),
            Err(Dropped::BadTelephoneEvent)
        );
    }

    #[test]
    fn audio_is_decoded_by_its_payload_type() {
        let mut path = InboundPath::default();
        let m = media(G711::Ulaw);
        let mut alaw = Vec::new();
        G711::Alaw.encode(&[1000; 160], &mut alaw);
        let accepted = path.on_datagram(&rtp(8, 0, false, &alaw), &m, 0).unwrap();
        let audio = accepted.audio.unwrap();
        assert_eq!(audio.len(), 160);
        assert!(audio.iter().all(|&s| (s - 1000).abs() < 64));
    }

    #[test]
    fn a_digit_sent_both_ways_is_reported_once_with_the_first_source() {
        let mut path = InboundPath::default();
        let m = media(G711::Ulaw);
        let event = encode_telephone_event(digit('7'), false, 10, 160);
        let first = path
            .on_datagram(&rtp(101, 800, true, &event), &m, 1000)
            .unwrap();
        assert_eq!(first.digits, [(digit('7'), DigitSource::Rfc4733)]);
        let tone = synthesize_tone(digit('7'), 100, -10.0);
        let mut alone = InboundPath::default();
        let (mut found, mut found_alone) = (Vec::new(), Vec::new());
        for (i, chunk) in tone.chunks(160).enumerate() {
            let mut payload = Vec::new();
            G711::Ulaw.encode(chunk, &mut payload);
            let packet = rtp(0, 0, false, &payload);
            let at = 1000 + 20 * i as u64;
            found.extend(path.on_datagram(&packet, &m, at).unwrap().digits);
            found_alone.extend(alone.on_datagram(&packet, &m, at).unwrap().digits);
        }
        assert_eq!(
            found_alone,
            [(digit('7'), DigitSource::Inband)],
            "the tone alone is a key"
        );
        assert!(found.is_empty(), "in-band copy swallowed, got {found:?}");
    }
}
