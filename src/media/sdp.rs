//! SDP offer/answer (RFC 3264) for G.711 calls, parsed and written with the `sdp` crate.
//!
//! Hotline speaks one audio stream of PCMU or PCMA plus RFC 4733 telephone-events. Whatever a
//! phone offers, the answer names exactly one codec (the first of the offerer's list we can
//! use, §6.1) so neither side has to guess what the other will send, and every stream we do
//! not take is rejected with port 0 (§6) rather than left out, which would break the m-line
//! pairing of offer and answer.
//!
//! Over TLS a call may use SRTP keyed with SDES (RFC 4568, `crypto.rs`): the answer then keeps
//! RTP/SAVP and carries the chosen tag and suite with a key of our own.
//!
//! `read` turns a description into the chosen stream, `write` builds ours; this file holds
//! the types and the three operations the call layer needs.

mod crypto;
#[cfg(test)]
mod crypto_tests;
mod read;
#[cfg(test)]
mod tests;
mod write;

pub use crypto::{CryptoError, MasterKey, SrtpKeys, SrtpPolicy, SrtpSuite, MASTER_LEN};

use super::g711::G711;
use std::net::{IpAddr, SocketAddr};

/// The tag of the one `a=crypto` line in our offers.
pub const OUR_CRYPTO_TAG: u32 = 1;

/// The payload type we offer for telephone-events when we make the offer.
pub const OUR_TELEPHONE_EVENT_PT: u8 = 101;

/// Packetisation time we send and announce: 160 G.711 samples per RTP packet.
pub const PTIME_MS: u32 = 20;

/// Our side of the media: where we receive RTP.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LocalMedia {
    pub ip: IpAddr,
    pub port: u16,
    pub session_id: u64,
    /// Bumped by the caller for every new offer or answer in the session (RFC 3264 §8).
    pub session_version: u64,
    /// Whether SRTP may be used, with our key: decided by the SIP transport.
    pub srtp: SrtpPolicy,
}

/// A media direction attribute (RFC 3264 §5.1), as one side states it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Direction {
    SendRecv,
    SendOnly,
    RecvOnly,
    Inactive,
}

impl Direction {
    /// The attribute name (`a=sendrecv`, ...).
    pub fn as_str(self) -> &'static str {
        match self {
            Direction::SendRecv => "sendrecv",
            Direction::SendOnly => "sendonly",
            Direction::RecvOnly => "recvonly",
            Direction::Inactive => "inactive",
        }
    }

    fn from_attribute(key: &str) -> Option<Direction> {
        match key {
            "sendrecv" => Some(Direction::SendRecv),
            "sendonly" => Some(Direction::SendOnly),
            "recvonly" => Some(Direction::RecvOnly),
            "inactive" => Some(Direction::Inactive),
            _ => None,
        }
    }

    /// The direction that matches the peer's (§6.1): their sendonly is our recvonly.
    fn mirrored(self) -> Direction {
        match self {
            Direction::SendOnly => Direction::RecvOnly,
            Direction::RecvOnly => Direction::SendOnly,
            d => d,
        }
    }

    /// The same direction without its sending half: what we can do when the peer gave us no
    /// address to send to.
    fn without_send(self) -> Direction {
        match self {
            Direction::SendRecv | Direction::RecvOnly => Direction::RecvOnly,
            Direction::SendOnly | Direction::Inactive => Direction::Inactive,
        }
    }

    /// Whether this side sends audio.
    pub fn we_send(self) -> bool {
        matches!(self, Direction::SendRecv | Direction::SendOnly)
    }
}

/// What offer/answer agreed on.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NegotiatedMedia {
    /// Where the peer wants our RTP: its c= address and m= port. Port 0 (stream disabled,
    /// §8.2) or address 0.0.0.0 (the RFC 2543 way to hold) mean: send nothing.
    pub remote: SocketAddr,
    pub codec: G711,
    /// The payload type the peer numbered the codec with: the static 0/8 in practice, but an
    /// offer may map PCMU/PCMA on a dynamic number, and the answer keeps that number (§6.1).
    pub codec_pt: u8,
    /// The telephone-event payload type (8000 Hz only), as the offerer numbered it.
    pub telephone_event_pt: Option<u8>,
    /// What the peer said.
    pub remote_direction: Direction,
    /// What we do: the direction of our answer.
    pub local_direction: Direction,
    pub ptime_ms: u32,
    /// The SRTP keys when the stream is RTP/SAVP; `None`: plain RTP.
    pub srtp: Option<SrtpKeys>,
}

impl NegotiatedMedia {
    /// What a typical phone at `remote` negotiates in `codec`: plain RTP both ways, the
    /// codec's static payload type, telephone-events on 101, 20 ms packets. For tests,
    /// benchmarks and fuzz targets, which start media without an offer.
    pub fn plain(remote: SocketAddr, codec: G711) -> NegotiatedMedia {
        NegotiatedMedia {
            remote,
            codec,
            codec_pt: codec.payload_type(),
            telephone_event_pt: Some(101),
            remote_direction: Direction::SendRecv,
            local_direction: Direction::SendRecv,
            ptime_ms: 20,
            srtp: None,
        }
    }

    /// On hold: the peer does not want our audio (sendonly/inactive, or the old c=0.0.0.0
    /// form, or a disabled stream).
    pub fn on_hold(&self) -> bool {
        !self.local_direction.we_send()
            || self.remote.ip().is_unspecified()
            || self.remote.port() == 0
    }
}

/// Why an SDP body cannot be used.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum SdpError {
    /// Not SDP, or SDP the parser cannot read; the message names the line.
    #[error("unparsable SDP: {0}")]
    Parse(String),
    #[error("no audio stream (m=audio) in the SDP")]
    NoAudio,
    /// Audio only over a transport we do not speak (DTLS-SRTP's UDP/TLS/RTP/SAVPF, ...).
    #[error("audio offered only over {protos:?}, we take RTP/AVP or RTP/AVPF, and RTP/SAVP or RTP/SAVPF over TLS")]
    NoPlainRtp { protos: Vec<String> },
    /// SRTP offered on a call whose SIP is not encrypted: its SDES key is on the wire in clear.
    #[error("SRTP (RTP/SAVP) with SDES keys is only accepted over SIP over TLS (sips: or transport=tls): over this transport the keys in the SDP travel in clear text")]
    SrtpWithoutTls,
    /// Plain RTP offered where the configuration asks for SRTP (`sip.tls_require_srtp`).
    #[error("audio offered as plain RTP ({protos:?}), but calls over TLS must use SRTP (RTP/SAVP with a=crypto)")]
    SrtpRequired { protos: Vec<String> },
    #[error(
        "RTP/SAVP audio without an a=crypto line (we key SRTP with SDES, RFC 4568; not DTLS-SRTP)"
    )]
    NoCrypto,
    /// Every `a=crypto` line had a fault; each is named with its line.
    #[error("no usable a=crypto line: {}", describe_faults(faults))]
    BadCrypto { faults: Vec<(String, CryptoError)> },
    #[error("no common codec: offered {offered:?}, we take PCMU/8000 or PCMA/8000")]
    NoCommonCodec { offered: Vec<String> },
    #[error("no connection address (c=) for the audio stream, neither in it nor at session level")]
    NoAddress,
}

impl SdpError {
    /// Whether the SDP was fine but asks for media we cannot do: the answer to such an
    /// INVITE is 488 Not Acceptable Here (RFC 3261 §13.3.1.3), not 400.
    pub fn is_not_acceptable(&self) -> bool {
        matches!(
            self,
            SdpError::NoAudio
                | SdpError::NoPlainRtp { .. }
                | SdpError::NoCommonCodec { .. }
                | SdpError::SrtpWithoutTls
                | SdpError::SrtpRequired { .. }
                | SdpError::NoCrypto
                | SdpError::BadCrypto { .. }
        )
    }
}

fn describe_faults(faults: &[(String, CryptoError)]) -> String {
    faults
        .iter()
        .map(|(line, fault)| format!("`a=crypto:{line}`: {fault}"))
        .collect::<Vec<_>>()
        .join("; ")
}

/// Answers an offer: the first codec of the offerer's list that we support, its
/// telephone-event payload type echoed, every other stream rejected with port 0 (§6).
///
/// The caller bumps `local.session_version` for each answer after the first (re-INVITEs).
pub fn answer(offer: &str, local: &LocalMedia) -> Result<(NegotiatedMedia, String), SdpError> {
    let offer = read::parse(offer)?;
    let chosen = read::choose_audio(&offer, read::Accept::offer(&local.srtp))?;
    let negotiated = chosen.negotiated(local.srtp.local_key());
    let media = offer
        .media_descriptions
        .iter()
        .enumerate()
        .map(|(i, m)| {
            if i != chosen.index {
                return write::rejected(m);
            }
            // A stream offered with port 0 is answered with port 0 (§6), even the one we keep.
            let port = if negotiated.remote.port() == 0 {
                0
            } else {
                local.port
            };
            // The offerer's tag and suite, our own key (RFC 4568 §7.1.2).
            let crypto = chosen
                .crypto
                .as_ref()
                .zip(negotiated.srtp.as_ref())
                .map(|(offered, keys)| crypto::write(offered.tag, offered.suite, &keys.local));
            write::audio(
                port,
                m.media_name.protos.clone(),
                &[(negotiated.codec_pt, negotiated.codec)],
                negotiated.telephone_event_pt,
                crypto,
                negotiated.local_direction,
            )
        })
        .collect();
    Ok((negotiated, write::session(local, media)))
}

/// Our offer (for an INVITE that came without one, or a call we place): PCMU, PCMA and
/// telephone-events, sendrecv. RTP/SAVP with our key when SRTP is possible: an offer cannot say
/// "SRTP if you can" without capability negotiation (RFC 5939), and a phone reached over TLS
/// is one set up for secure calls.
pub fn offer(local: &LocalMedia) -> String {
    let (protos, crypto) = match local.srtp.local_key() {
        Some(key) => (
            "SAVP",
            Some(crypto::write(
                OUR_CRYPTO_TAG,
                SrtpSuite::AesCm128HmacSha1_80,
                key,
            )),
        ),
        None => ("AVP", None),
    };
    let audio = write::audio(
        local.port,
        vec!["RTP".into(), protos.into()],
        &[(0, G711::Ulaw), (8, G711::Alaw)],
        Some(OUR_TELEPHONE_EVENT_PT),
        crypto,
        Direction::SendRecv,
    );
    write::session(local, vec![audio])
}

/// Our offer in the 200 to an offer-less re-INVITE: the profile the call already uses, so a
/// plain call over TLS is not switched to SRTP by a session refresh.
pub fn reoffer(local: &LocalMedia, srtp_in_use: bool) -> String {
    if srtp_in_use {
        return offer(local);
    }
    offer(&LocalMedia {
        srtp: SrtpPolicy::Refused,
        ..local.clone()
    })
}

/// Reads the answer to our [`offer`] (it arrives in the ACK of an offer-less INVITE, or in
/// the 200 to a call we place): with SRTP offered, it must take our tag and suite.
pub fn accept_answer(answer: &str, local: &LocalMedia) -> Result<NegotiatedMedia, SdpError> {
    let answer = read::parse(answer)?;
    let chosen = read::choose_audio(&answer, read::Accept::answer(&local.srtp))?;
    if let Some(crypto) = &chosen.crypto {
        if crypto.tag != OUR_CRYPTO_TAG || crypto.suite != SrtpSuite::AesCm128HmacSha1_80 {
            return Err(SdpError::BadCrypto {
                faults: vec![(
                    format!("{} {}", crypto.tag, crypto.suite.name()),
                    CryptoError::NotOffered {
                        tag: crypto.tag,
                        suite: crypto.suite.name().into(),
                    },
                )],
            });
        }
    }
    Ok(chosen.negotiated(local.srtp.local_key()))
}
