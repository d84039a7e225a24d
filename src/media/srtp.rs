//! SRTP (RFC 3711) for one direction of a call: our packets protected just before they are
//! sent, the peer's checked and decrypted as they arrive, with the keys SDES put in the SDP
//! (`sdp/crypto.rs`).
//!
//! The RTP session holds an `Option<SrtpTransform>` per direction: a plain-RTP call pays one
//! `None` test per packet. The library returns each packet in a buffer of its own, so an SRTP
//! packet costs one allocation either way; its cipher and HMAC cost far more.

use super::sdp::{MasterKey, SrtpSuite};
use bytes::Bytes;
use webrtc_srtp::context::Context;
use webrtc_srtp::option::srtp_replay_protection;
use webrtc_srtp::protection_profile::ProtectionProfile;

/// How far back a late packet may still be accepted (RFC 3711 §3.3.2 asks for at least 64):
/// 64 packets are 1.28 s of 20 ms audio, far more than any jitter a call lives with.
const REPLAY_WINDOW: usize = 64;

/// RFC 8285's header extension profiles: one-byte (§4.2) and two-byte (§4.3) element headers.
const ONE_BYTE_HEADER: u16 = 0xBEDE;
const TWO_BYTE_HEADER: u16 = 0x1000;

/// Why a key could not be used, or a packet was refused.
#[derive(Debug, thiserror::Error)]
pub enum SrtpError {
    #[error("SRTP key rejected: {0}")]
    Key(webrtc_srtp::Error),
    /// A packet whose authentication tag does not match (forged, corrupted, or sent with
    /// another key), a replay, or a datagram too short to be SRTP.
    #[error("SRTP packet refused: {0}")]
    Packet(webrtc_srtp::Error),
    /// An authentic packet from yet another SSRC when [`MAX_INBOUND_STREAMS`] are in use.
    #[error("SRTP packet refused: SSRC {0:#010x} would be more than {MAX_INBOUND_STREAMS} streams under one key")]
    TooManyStreams(u32),
    /// An RTP header extension (RFC 8285) whose elements run past its declared length, or
    /// that holds the reserved ID 15. webrtc-srtp's header parser (rtp 0.17.2) reads the
    /// first past the end of the datagram and panics, and mis-sizes the header with the
    /// second, so both are refused before it sees them.
    #[error("SRTP packet refused: its RTP header extension overruns its length")]
    BadHeaderExtension,
    /// `protect` on an inbound transform or `unprotect` on an outbound one.
    #[error("SRTP transform used in the wrong direction")]
    WrongDirection,
}

/// Which way a transform works; a context must only ever do one (RFC 3711 §3.2.3: the
/// rollover counter and replay list are per direction).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Direction {
    /// Our packets, protected before sending.
    Outbound,
    /// The peer's, checked and decrypted on arrival, replays refused.
    Inbound,
}

/// How many of the peer's SSRCs one inbound key keeps state for. A phone sends one stream and
/// may start another (a new SSRC) after a hold or a transfer behind it; sixteen is far more
/// than a call uses, and at about 1 KB each it bounds what a call's SRTP state can grow to.
pub const MAX_INBOUND_STREAMS: usize = 16;

/// One direction's SRTP state, and the key it was made with.
pub struct SrtpTransform {
    state: State,
    suite: SrtpSuite,
    key: MasterKey,
}

enum State {
    /// Our own packets: one context, whose per-SSRC state only ever holds our SSRCs.
    Outbound(Context),
    /// The peer's packets: one context per SSRC that has authenticated. webrtc-srtp (0.17.2)
    /// records a packet's SSRC in its context *before* checking the tag, so a single shared
    /// context would keep state for every SSRC anyone sends to the port, forged or not (issue
    /// 15: some 150 bytes per forged packet, for the whole call). A new SSRC is tried in a
    /// context of its own, kept only if the packet authenticates.
    Inbound(Vec<(u32, Context)>),
}

impl std::fmt::Debug for SrtpTransform {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SrtpTransform")
            .field("suite", &self.suite)
            .finish_non_exhaustive()
    }
}

fn profile(suite: SrtpSuite) -> ProtectionProfile {
    match suite {
        SrtpSuite::AesCm128HmacSha1_80 => ProtectionProfile::Aes128CmHmacSha1_80,
        SrtpSuite::AesCm128HmacSha1_32 => ProtectionProfile::Aes128CmHmacSha1_32,
    }
}

/// Refuses a header extension whose RFC 8285 elements do not fit in it (§4.2, §4.3), the
/// shape webrtc-srtp's parser (rtp 0.17.2 `Header::unmarshal`) panics on when an element also
/// runs past the datagram: found while writing the `srtp` fuzz target (issue 15), one such
/// datagram to an SRTP call's port ended that call's media. The library checks everything else itself.
fn check_extension(packet: &[u8]) -> Result<(), SrtpError> {
    let Some(&first) = packet.first() else {
        return Ok(());
    };
    let start = 12 + 4 * usize::from(first & 0x0F);
    let Some(head) = packet.get(start..start + 4).filter(|_| first & 0x10 != 0) else {
        return Ok(());
    };
    let profile = u16::from_be_bytes([head[0], head[1]]);
    let end = start + 4 + 4 * usize::from(u16::from_be_bytes([head[2], head[3]]));
    let Some(elements) = packet.get(start + 4..end) else {
        return Ok(());
    };
    let two_byte = match profile {
        ONE_BYTE_HEADER => false,
        TWO_BYTE_HEADER => true,
        _ => return Ok(()),
    };
    let mut at = 0;
    while let Some(&id) = elements.get(at) {
        at += 1;
        if id == 0 {
            continue; // padding
        }
        let len = if two_byte {
            let len = *elements.get(at).ok_or(SrtpError::BadHeaderExtension)?;
            at += 1;
            usize::from(len)
        } else if id >> 4 == 15 {
            // Reserved (§4.2). webrtc-srtp sizes the header by the elements before it and
            // so encrypts the rest of the extension, which the receiver then reads as header
            // and decrypts at another offset: garbage that authenticates (`srtp` fuzz target).
            return Err(SrtpError::BadHeaderExtension);
        } else {
            usize::from(id & 0x0F) + 1
        };
        at += len;
    }
    if at <= elements.len() {
        Ok(())
    } else {
        Err(SrtpError::BadHeaderExtension)
    }
}

/// A fresh context for `direction`: its rollover counters at zero, its replay list empty.
fn context(direction: Direction, suite: SrtpSuite, key: &MasterKey) -> Result<Context, SrtpError> {
    // The library's default is no replay protection; inbound, a replayed packet must be
    // refused like a forged one (RFC 3711 §3.3.2).
    let replay = match direction {
        Direction::Inbound => Some(srtp_replay_protection(REPLAY_WINDOW)),
        Direction::Outbound => None,
    };
    Context::new(key.key(), key.salt(), profile(suite), replay, None).map_err(SrtpError::Key)
}

impl SrtpTransform {
    pub fn new(
        direction: Direction,
        suite: SrtpSuite,
        key: &MasterKey,
    ) -> Result<SrtpTransform, SrtpError> {
        let context = context(direction, suite, key)?;
        let state = match direction {
            Direction::Outbound => State::Outbound(context),
            // Made above only to check the key: each SSRC gets a context of its own.
            Direction::Inbound => State::Inbound(Vec::new()),
        };
        Ok(SrtpTransform {
            state,
            suite,
            key: key.clone(),
        })
    }

    /// How many of the peer's SSRCs this transform keeps state for (0 outbound): only those
    /// whose packets authenticated, at most [`MAX_INBOUND_STREAMS`].
    pub fn inbound_streams(&self) -> usize {
        match &self.state {
            State::Outbound(_) => 0,
            State::Inbound(streams) => streams.len(),
        }
    }

    /// Encrypts and authenticates one RTP packet (header in clear, payload encrypted, tag
    /// appended).
    pub fn protect(&mut self, rtp: &[u8]) -> Result<Bytes, SrtpError> {
        check_extension(rtp)?;
        match &mut self.state {
            State::Outbound(context) => context.encrypt_rtp(rtp).map_err(SrtpError::Packet),
            State::Inbound(_) => Err(SrtpError::WrongDirection),
        }
    }

    /// Checks one SRTP packet's tag and replay window, and returns the plain RTP packet.
    pub fn unprotect(&mut self, srtp: &[u8]) -> Result<Bytes, SrtpError> {
        let State::Inbound(streams) = &mut self.state else {
            return Err(SrtpError::WrongDirection);
        };
        let ssrc = match srtp.get(8..12) {
            Some(b) => u32::from_be_bytes([b[0], b[1], b[2], b[3]]),
            None => return Err(SrtpError::Packet(webrtc_srtp::Error::ErrTooShortRtp)),
        };
        check_extension(srtp)?;
        if let Some((_, context)) = streams.iter_mut().find(|(s, _)| *s == ssrc) {
            return context.decrypt_rtp(srtp).map_err(SrtpError::Packet);
        }
        if streams.len() >= MAX_INBOUND_STREAMS {
            return Err(SrtpError::TooManyStreams(ssrc));
        }
        // Deriving a context's session keys costs a few AES blocks, less than the HMAC that
        // checks the packet: a flood of new SSRCs costs CPU it would cost anyway, and no memory.
        let mut context = context(Direction::Inbound, self.suite, &self.key)?;
        let plain = context.decrypt_rtp(srtp).map_err(SrtpError::Packet)?;
        streams.push((ssrc, context));
        Ok(plain)
    }

    /// Keeps `slot` in step with the negotiated keys: made when SRTP starts, remade when a
    /// re-INVITE brings a new key, dropped if the call falls back to plain RTP. An unchanged
    /// key keeps its context, and with it the rollover counter and replay list.
    pub fn follow(
        slot: &mut Option<SrtpTransform>,
        direction: Direction,
        wanted: Option<(SrtpSuite, &MasterKey)>,
    ) {
        let current = slot.as_ref().map(|t| (t.suite, &t.key));
        if current == wanted {
            return;
        }
        *slot = wanted.and_then(
            |(suite, key)| match SrtpTransform::new(direction, suite, key) {
                Ok(t) => Some(t),
                Err(e) => {
                    // Cannot happen for the suites SDP lets through (their key sizes are checked
                    // there); sending in clear instead would be worse than sending nothing.
                    tracing::error!(error = %e, ?direction, "SRTP context not made");
                    None
                }
            },
        );
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use webrtc_util::marshal::Marshal;

    fn rtp(sequence: u16, payload: &[u8]) -> Vec<u8> {
        rtp_from(0x1234_5678, sequence, payload)
    }

    fn rtp_from(ssrc: u32, sequence: u16, payload: &[u8]) -> Vec<u8> {
        rtp::packet::Packet {
            header: rtp::header::Header {
                version: 2,
                payload_type: 0,
                sequence_number: sequence,
                timestamp: 160 * sequence as u32,
                ssrc,
                ..Default::default()
            },
            payload: Bytes::copy_from_slice(payload),
        }
        .marshal()
        .unwrap()
        .to_vec()
    }

    fn pair(suite: SrtpSuite) -> (SrtpTransform, SrtpTransform) {
        let key = MasterKey::random();
        (
            SrtpTransform::new(Direction::Outbound, suite, &key).unwrap(),
            SrtpTransform::new(Direction::Inbound, suite, &key).unwrap(),
        )
    }

    #[test]
    fn a_protected_packet_hides_its_payload_and_unprotects_to_the_original() {
        for (suite, tag) in [
            (SrtpSuite::AesCm128HmacSha1_80, 10),
            (SrtpSuite::AesCm128HmacSha1_32, 4),
        ] {
            let (mut out, mut inb) = pair(suite);
            let plain = rtp(7, &[0x55; 160]);
            let protected = out.protect(&plain).unwrap();
            assert_eq!(protected.len(), plain.len() + tag, "{suite:?}");
            assert_eq!(protected[..12], plain[..12], "the header stays in clear");
            assert_ne!(protected[12..172], plain[12..], "the payload is encrypted");
            assert_eq!(inb.unprotect(&protected).unwrap(), plain);
        }
    }

    #[test]
    fn a_broken_tag_a_replay_or_another_key_is_refused() {
        let (mut out, mut inb) = pair(SrtpSuite::AesCm128HmacSha1_80);
        let first = out.protect(&rtp(1, &[1; 160])).unwrap();
        let mut broken = first.to_vec();
        *broken.last_mut().unwrap() ^= 1;
        assert!(matches!(inb.unprotect(&broken), Err(SrtpError::Packet(_))));
        inb.unprotect(&first)
            .expect("the intact packet still passes");
        assert!(inb.unprotect(&first).is_err(), "a replay is refused");
        let (mut stranger, _) = pair(SrtpSuite::AesCm128HmacSha1_80);
        let forged = stranger.protect(&rtp(2, &[1; 160])).unwrap();
        assert!(inb.unprotect(&forged).is_err(), "another key's packet");
        let second = out.protect(&rtp(2, &[2; 160])).unwrap();
        assert!(inb.unprotect(&second).is_ok(), "the stream goes on");
    }

    #[test]
    fn forged_packets_from_many_ssrcs_leave_no_state_behind() {
        // Anyone can send to a call's RTP port; webrtc-srtp records each packet's SSRC before
        // checking its tag (issue 15). 5,000 forged packets, each from an SSRC of its own.
        let suite = SrtpSuite::AesCm128HmacSha1_80;
        let (mut out, mut inb) = pair(suite);
        let (mut stranger, _) = pair(suite);
        let forged: Vec<Bytes> = (0..5000u32)
            .map(|ssrc| stranger.protect(&rtp_from(ssrc, 1, &[0; 160])).unwrap())
            .collect();
        inb.unprotect(&out.protect(&rtp(1, &[1; 160])).unwrap())
            .unwrap();
        let kept = crate::media::alloc_count::retained(|| {
            for packet in &forged {
                assert!(inb.unprotect(packet).is_err());
            }
        });
        assert!(kept < 4096, "{kept} bytes kept for 5,000 forged packets");
        assert_eq!(inb.inbound_streams(), 1, "only the authentic SSRC");
        let next = out.protect(&rtp(2, &[2; 160])).unwrap();
        assert!(inb.unprotect(&next).is_ok(), "the real stream goes on");
    }

    #[test]
    fn authentic_streams_beyond_the_limit_are_refused_and_the_others_go_on() {
        let (mut out, mut inb) = pair(SrtpSuite::AesCm128HmacSha1_32);
        for ssrc in 0..MAX_INBOUND_STREAMS as u32 {
            let packet = out.protect(&rtp_from(ssrc, 1, &[1; 160])).unwrap();
            inb.unprotect(&packet).unwrap();
        }
        let one_more = out.protect(&rtp_from(999, 1, &[1; 160])).unwrap();
        assert!(matches!(
            inb.unprotect(&one_more),
            Err(SrtpError::TooManyStreams(999))
        ));
        let first_again = out.protect(&rtp_from(0, 2, &[2; 160])).unwrap();
        assert!(inb.unprotect(&first_again).is_ok());
        assert_eq!(inb.inbound_streams(), MAX_INBOUND_STREAMS);
    }

    /// Datagrams whose header extension runs past its end (`tests/fixtures/fuzz/srtp/`).
    fn overrunning_extensions() -> Vec<(String, Vec<u8>)> {
        let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/fuzz/srtp");
        let mut files: Vec<_> = std::fs::read_dir(&dir)
            .unwrap()
            .map(|e| e.unwrap().path())
            .map(|p| (p.display().to_string(), std::fs::read(&p).unwrap()))
            .collect();
        files.sort();
        assert!(files.len() >= 3, "{}", dir.display());
        files
    }

    #[test]
    fn a_header_extension_overrunning_the_datagram_is_refused_not_a_panic() {
        for suite in [
            SrtpSuite::AesCm128HmacSha1_80,
            SrtpSuite::AesCm128HmacSha1_32,
        ] {
            let (mut out, mut inb) = pair(suite);
            for (name, datagram) in overrunning_extensions() {
                assert!(
                    matches!(inb.unprotect(&datagram), Err(SrtpError::BadHeaderExtension)),
                    "{name}"
                );
                assert!(matches!(
                    out.protect(&datagram),
                    Err(SrtpError::BadHeaderExtension)
                ));
            }
            // Well-formed extensions of both kinds still pass, both ways.
            for (sequence, extension) in [
                (3, [0xBE, 0xDE, 0, 1, 0x10, 0xAA, 0, 0]),
                (4, [0x10, 0x00, 0, 1, 0x05, 0x01, 0xAA, 0]),
            ] {
                let mut plain = rtp(sequence, &[]);
                plain[0] |= 0x10;
                plain.extend(extension);
                plain.extend([0x55; 160]);
                let protected = out.protect(&plain).unwrap();
                assert_eq!(inb.unprotect(&protected).unwrap(), plain);
            }
        }
    }

    /// `fuzz/artifacts/srtp/crash-42be9eaf…`: with ID 15 in a one-byte extension (reserved,
    /// RFC 8285 §4.2) webrtc-srtp sizes the header by the elements before it, so it encrypts
    /// part of the extension and the receiver, parsing the encrypted bytes, decrypts at another
    /// offset: the packet authenticates and decrypts to garbage.
    #[test]
    fn a_one_byte_extension_holding_id_15_is_refused_both_ways() {
        let key = MasterKey::random();
        let suite = SrtpSuite::AesCm128HmacSha1_80;
        let mut out = SrtpTransform::new(Direction::Outbound, suite, &key).unwrap();
        let mut inb = SrtpTransform::new(Direction::Inbound, suite, &key).unwrap();
        let mut plain = rtp(5, &[]);
        plain[0] |= 0x10;
        plain.extend([0xBE, 0xDE, 0, 1, 0xFF, 0xFF, 0xFF, 0xFF]);
        plain.extend([0x55; 160]);
        assert!(matches!(
            out.protect(&plain),
            Err(SrtpError::BadHeaderExtension)
        ));
        let mut phone = context(Direction::Outbound, suite, &key).unwrap();
        let protected = phone.encrypt_rtp(&plain).unwrap();
        assert!(matches!(
            inb.unprotect(&protected),
            Err(SrtpError::BadHeaderExtension)
        ));
    }

    #[test]
    fn following_the_same_key_keeps_the_context_and_a_new_key_replaces_it() {
        let key = MasterKey::random();
        let suite = SrtpSuite::AesCm128HmacSha1_80;
        let mut out = SrtpTransform::new(Direction::Outbound, suite, &key).unwrap();
        let mut slot = None;
        SrtpTransform::follow(&mut slot, Direction::Inbound, Some((suite, &key)));
        let first = out.protect(&rtp(1, &[1; 160])).unwrap();
        slot.as_mut().unwrap().unprotect(&first).unwrap();
        SrtpTransform::follow(&mut slot, Direction::Inbound, Some((suite, &key)));
        assert!(
            slot.as_mut().unwrap().unprotect(&first).is_err(),
            "same context: the replay list remembers the packet"
        );
        let other = MasterKey::random();
        SrtpTransform::follow(&mut slot, Direction::Inbound, Some((suite, &other)));
        assert!(slot.as_mut().unwrap().unprotect(&first).is_err());
        SrtpTransform::follow(&mut slot, Direction::Inbound, None);
        assert!(slot.is_none(), "back to plain RTP");
    }
}
