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

/// Why a key could not be used, or a packet was refused.
#[derive(Debug, thiserror::Error)]
pub enum SrtpError {
    #[error("SRTP key rejected: {0}")]
    Key(webrtc_srtp::Error),
    /// A packet whose authentication tag does not match (forged, corrupted, or sent with
    /// another key), a replay, or a datagram too short to be SRTP.
    #[error("SRTP packet refused: {0}")]
    Packet(webrtc_srtp::Error),
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

/// One direction's SRTP context, and the key it was made with.
pub struct SrtpTransform {
    context: Context,
    suite: SrtpSuite,
    key: MasterKey,
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

impl SrtpTransform {
    pub fn new(
        direction: Direction,
        suite: SrtpSuite,
        key: &MasterKey,
    ) -> Result<SrtpTransform, SrtpError> {
        // The library's default is no replay protection; inbound, a replayed packet must be
        // refused like a forged one (RFC 3711 §3.3.2).
        let replay = match direction {
            Direction::Inbound => Some(srtp_replay_protection(REPLAY_WINDOW)),
            Direction::Outbound => None,
        };
        let context = Context::new(key.key(), key.salt(), profile(suite), replay, None)
            .map_err(SrtpError::Key)?;
        Ok(SrtpTransform {
            context,
            suite,
            key: key.clone(),
        })
    }

    /// Encrypts and authenticates one RTP packet (header in clear, payload encrypted, tag
    /// appended).
    pub fn protect(&mut self, rtp: &[u8]) -> Result<Bytes, SrtpError> {
        self.context.encrypt_rtp(rtp).map_err(SrtpError::Packet)
    }

    /// Checks one SRTP packet's tag and replay window, and returns the plain RTP packet.
    pub fn unprotect(&mut self, srtp: &[u8]) -> Result<Bytes, SrtpError> {
        self.context.decrypt_rtp(srtp).map_err(SrtpError::Packet)
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
        rtp::packet::Packet {
            header: rtp::header::Header {
                version: 2,
                payload_type: 0,
                sequence_number: sequence,
                timestamp: 160 * sequence as u32,
                ssrc: 0x1234_5678,
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
