//! What one received datagram means: audio, a key press, or something to drop. Sans-IO.
//!
//! This runs for every packet of every call (50 a second each), so it parses the RTP header in
//! place and decodes into a buffer it keeps: nothing is allocated per packet unless a key press
//! is found or the caller asks for the decoded audio.

use super::DigitSource;
use crate::media::dtmf::{
    Digit, DigitMerger, InbandDetector, InbandPolicy, TelephoneEventReceiver,
};
use crate::media::g711::G711;
use crate::media::sdp::NegotiatedMedia;

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
pub struct Accepted<'a> {
    /// The decoded audio (valid until the next datagram), for the tap.
    pub audio: Option<&'a [i16]>,
    /// Key presses it completed, already merged across the two sources.
    pub digits: Vec<(Digit, DigitSource)>,
}

/// The RTP fields the receive path reads, and the payload (RFC 3550 §5.1).
#[derive(Debug, PartialEq, Eq)]
pub struct RtpView<'a> {
    pub payload_type: u8,
    pub marker: bool,
    pub timestamp: u32,
    pub payload: &'a [u8],
}

impl<'a> RtpView<'a> {
    /// Reads an RTP version 2 packet: CSRCs, a header extension and padding are skipped.
    /// `None` for anything truncated or inconsistent.
    pub fn parse(bytes: &'a [u8]) -> Option<RtpView<'a>> {
        let first = *bytes.first()?;
        if bytes.len() < 12 || first >> 6 != 2 {
            return None;
        }
        let mut start = 12 + 4 * usize::from(first & 0x0F);
        if first & 0x10 != 0 {
            let words = bytes.get(start + 2..start + 4)?;
            start += 4 + 4 * usize::from(u16::from_be_bytes([words[0], words[1]]));
        }
        let mut end = bytes.len();
        if first & 0x20 != 0 {
            // The last octet counts the padding, itself included (RFC 3550 §5.1).
            let padding = usize::from(bytes[end - 1]);
            if padding == 0 {
                return None;
            }
            end = end.checked_sub(padding)?;
        }
        if start > end {
            return None;
        }
        Some(RtpView {
            payload_type: bytes[1] & 0x7F,
            marker: bytes[1] & 0x80 != 0,
            timestamp: u32::from_be_bytes([bytes[4], bytes[5], bytes[6], bytes[7]]),
            payload: &bytes[start..end],
        })
    }
}

/// The receive side's detectors, fed packet by packet in arrival order.
#[derive(Debug)]
pub struct InboundPath {
    telephone_events: TelephoneEventReceiver,
    inband: InbandDetector,
    policy: InbandPolicy,
    /// A well-formed telephone-event arrived: the phone sends its keys as RFC 4733.
    rfc4733_used: bool,
    merger: DigitMerger,
    /// The last packet's decoded audio; kept so that decoding allocates nothing.
    pcm: Vec<i16>,
}

impl Default for InboundPath {
    fn default() -> Self {
        InboundPath::new(InbandPolicy::default())
    }
}

impl InboundPath {
    pub fn new(policy: InbandPolicy) -> Self {
        InboundPath {
            telephone_events: TelephoneEventReceiver::new(),
            inband: InbandDetector::new(),
            policy,
            rfc4733_used: false,
            merger: DigitMerger::new(DIGIT_MERGE_WINDOW_MS),
            // 20 ms is what phones send; a longer packet grows it once.
            pcm: Vec::with_capacity(320),
        }
    }

    /// Whether the caller's audio is searched for tones now.
    pub fn inband_listening(&self) -> bool {
        match self.policy {
            InbandPolicy::Always => true,
            InbandPolicy::UntilRfc4733 => !self.rfc4733_used,
            InbandPolicy::Never => false,
        }
    }

    /// Reads one datagram that arrived `at_ms` into the session, decoding its audio.
    #[cfg(test)]
    pub fn on_datagram(
        &mut self,
        bytes: &[u8],
        media: &NegotiatedMedia,
        at_ms: u64,
    ) -> Result<Accepted<'_>, Dropped> {
        self.read(bytes, media, at_ms, true)
    }

    /// As [`InboundPath::on_datagram`], decoding the audio only when it is used: for the tap
    /// (`want_audio`) or for the in-band detector.
    pub fn read(
        &mut self,
        bytes: &[u8],
        media: &NegotiatedMedia,
        at_ms: u64,
        want_audio: bool,
    ) -> Result<Accepted<'_>, Dropped> {
        let packet = RtpView::parse(bytes).ok_or(Dropped::NotRtp)?;
        let pt = packet.payload_type;
        let mut accepted = Accepted::default();
        if Some(pt) == media.telephone_event_pt {
            let digit = self
                .telephone_events
                .on_packet(packet.timestamp, packet.marker, packet.payload)
                .map_err(|_| Dropped::BadTelephoneEvent)?;
            self.rfc4733_used = true;
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
        let listening = self.inband_listening();
        if !listening && !want_audio {
            return Ok(accepted);
        }
        self.pcm.clear();
        codec.decode(packet.payload, &mut self.pcm);
        if listening {
            for digit in self.inband.push(&self.pcm) {
                if let Some(d) = self.merger.inband(digit, at_ms) {
                    accepted.digits.push((d, DigitSource::Inband));
                }
            }
        }
        accepted.audio = Some(&self.pcm);
        Ok(accepted)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::media::dtmf::{encode_telephone_event, synthesize_tone};
    use bytes::Bytes;
    use rtp::header::Header;
    use rtp::packet::Packet;
    use webrtc_util::marshal::Marshal;

    fn media(codec: G711) -> NegotiatedMedia {
        NegotiatedMedia::plain("127.0.0.1:4000".parse().unwrap(), codec)
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
        // Always: the in-band detector keeps listening after the event, so the merger is
        // what swallows the tone's copy.
        let mut path = InboundPath::new(InbandPolicy::Always);
        let m = media(G711::Ulaw);
        let event = encode_telephone_event(digit('7'), false, 10, 160);
        let first = path
            .on_datagram(&rtp(101, 800, true, &event), &m, 1000)
            .unwrap();
        assert_eq!(first.digits, [(digit('7'), DigitSource::Rfc4733)]);
        let tone = synthesize_tone(digit('7'), 100, -10.0);
        let mut alone = InboundPath::new(InbandPolicy::Always);
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

    /// The digits a path finds in `ms` of a key's tone sent as 20 ms µ-law packets from `at`.
    fn tone_packets(path: &mut InboundPath, key: char, at: u64) -> Vec<(Digit, DigitSource)> {
        let m = media(G711::Ulaw);
        let tone = synthesize_tone(digit(key), 100, -10.0);
        let mut found = Vec::new();
        for (i, chunk) in tone.chunks(160).chain([&[0i16; 160][..]; 4]).enumerate() {
            let mut payload = Vec::new();
            G711::Ulaw.encode(chunk, &mut payload);
            let packet = rtp(0, 0, false, &payload);
            found.extend(
                path.on_datagram(&packet, &m, at + 20 * i as u64)
                    .unwrap()
                    .digits,
            );
        }
        found
    }

    fn event(path: &mut InboundPath, key: char, ts: u32, at: u64) -> Vec<(Digit, DigitSource)> {
        let m = media(G711::Ulaw);
        let payload = encode_telephone_event(digit(key), false, 10, 160);
        path.on_datagram(&rtp(101, ts, true, &payload), &m, at)
            .unwrap()
            .digits
    }

    #[test]
    fn until_rfc4733_tones_count_until_the_phone_sends_its_first_event() {
        let mut path = InboundPath::new(InbandPolicy::UntilRfc4733);
        assert_eq!(
            tone_packets(&mut path, '4', 0),
            [(digit('4'), DigitSource::Inband)]
        );
        assert_eq!(
            event(&mut path, '5', 800, 1000),
            [(digit('5'), DigitSource::Rfc4733)]
        );
        assert!(!path.inband_listening());
        assert!(tone_packets(&mut path, '6', 2000).is_empty());
        assert_eq!(
            event(&mut path, '6', 2400, 3000),
            [(digit('6'), DigitSource::Rfc4733)],
            "events still count"
        );
    }

    #[test]
    fn always_keeps_listening_after_events_and_never_does_not_listen_at_all() {
        let mut always = InboundPath::new(InbandPolicy::Always);
        event(&mut always, '5', 800, 0);
        assert_eq!(
            tone_packets(&mut always, '6', 1000),
            [(digit('6'), DigitSource::Inband)]
        );
        let mut never = InboundPath::new(InbandPolicy::Never);
        assert!(tone_packets(&mut never, '6', 0).is_empty());
        assert_eq!(
            event(&mut never, '7', 800, 1000),
            [(digit('7'), DigitSource::Rfc4733)]
        );
    }

    #[test]
    fn headers_with_csrcs_an_extension_and_padding_are_read_to_their_payload() {
        // V=2, P, X, CC=1; M, PT=8; then seq, ts, ssrc, one CSRC, a one-word extension,
        // a 3-byte payload and 2 bytes of padding.
        let mut bytes = vec![0xB1, 0x88, 0, 1, 0, 0, 0, 160, 0, 0, 0, 7, 0, 0, 0, 9];
        bytes.extend([0xBE, 0xDE, 0, 1, 1, 2, 3, 4]);
        bytes.extend([0x11, 0x22, 0x33, 0, 2]);
        let view = RtpView::parse(&bytes).unwrap();
        assert_eq!(
            (view.payload_type, view.marker, view.timestamp, view.payload),
            (8, true, 160, &[0x11, 0x22, 0x33][..])
        );
        assert_eq!(RtpView::parse(&bytes[..18]), None, "extension cut short");
        // An extension announcing more words than the packet holds: the `rtp` crate's
        // unmarshal panics on this shape (cargo-fuzz); ours drops it.
        let mut long_extension = bytes.clone();
        long_extension[19] = 0x1F;
        assert_eq!(RtpView::parse(&long_extension), None, "extension too long");
        let mut too_much_padding = bytes.clone();
        *too_much_padding.last_mut().unwrap() = 40;
        assert_eq!(RtpView::parse(&too_much_padding), None);
    }

    #[test]
    fn reading_audio_packets_allocates_nothing() {
        let mut path = InboundPath::default();
        let m = media(G711::Ulaw);
        let speech: Vec<i16> = (0..160 * 200)
            .map(|n| (3000.0 * (n as f64 * 0.05).sin() * (n as f64 * 0.0031).sin()) as i16)
            .collect();
        let packets: Vec<Vec<u8>> = speech
            .chunks(160)
            .map(|c| {
                let mut payload = Vec::new();
                G711::Ulaw.encode(c, &mut payload);
                rtp(0, 0, false, &payload)
            })
            .collect();
        let allocations = crate::media::alloc_count::counting(|| {
            for (i, packet) in packets.iter().enumerate() {
                let accepted = path.read(packet, &m, 20 * i as u64, false).unwrap();
                assert!(accepted.digits.is_empty());
            }
        });
        assert_eq!(allocations, 0);
    }
}
