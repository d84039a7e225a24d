//! SDES keys in SDP (RFC 4568): reading a peer's `a=crypto` lines and writing ours.
//!
//! An SDES key travels in the SDP in clear text, so it is only as secret as the signalling that
//! carries it: which transports may use it is the call layer's decision ([`SrtpPolicy`]); this
//! file only reads and writes the attribute.

use base64::engine::general_purpose::{GeneralPurpose, GeneralPurposeConfig};
use base64::engine::DecodePaddingMode;
use base64::Engine;
use std::fmt;

/// The 128-bit AES-CM suites' master key (16 bytes) and salt (14 bytes), concatenated as the
/// `inline:` key carries them (RFC 4568 §6.1).
pub const MASTER_LEN: usize = 30;
const KEY_LEN: usize = 16;

/// Key material is base64 (RFC 4568 §9.2, RFC 4648 alphabet). 30 bytes need no padding, but
/// a longer wrong key may come padded or not: decode either to report its real length.
const BASE64: GeneralPurpose = GeneralPurpose::new(
    &base64::alphabet::STANDARD,
    GeneralPurposeConfig::new().with_decode_padding_mode(DecodePaddingMode::Indifferent),
);

/// The crypto suites we take (RFC 4568 §6.2): AES in counter mode with a 128-bit key and
/// HMAC-SHA1 authentication, with an 80- or 32-bit tag. The two every SDES phone offers.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SrtpSuite {
    AesCm128HmacSha1_80,
    AesCm128HmacSha1_32,
}

impl SrtpSuite {
    /// The suite's name in `a=crypto`.
    pub fn name(self) -> &'static str {
        match self {
            SrtpSuite::AesCm128HmacSha1_80 => "AES_CM_128_HMAC_SHA1_80",
            SrtpSuite::AesCm128HmacSha1_32 => "AES_CM_128_HMAC_SHA1_32",
        }
    }

    fn from_name(name: &str) -> Option<SrtpSuite> {
        [
            SrtpSuite::AesCm128HmacSha1_80,
            SrtpSuite::AesCm128HmacSha1_32,
        ]
        .into_iter()
        .find(|s| s.name() == name)
    }
}

/// An SRTP master key and salt for one direction of a call.
#[derive(Clone, PartialEq, Eq)]
pub struct MasterKey([u8; MASTER_LEN]);

impl MasterKey {
    /// A fresh key from the thread's CSPRNG: every call, and every direction, has its own
    /// (RFC 4568 §6.1: the answerer's key is its own, never the offerer's echoed back).
    pub fn random() -> MasterKey {
        MasterKey(rand::random())
    }

    pub fn from_bytes(bytes: [u8; MASTER_LEN]) -> MasterKey {
        MasterKey(bytes)
    }

    /// The 16-byte master key.
    pub fn key(&self) -> &[u8] {
        &self.0[..KEY_LEN]
    }

    /// The 14-byte master salt.
    pub fn salt(&self) -> &[u8] {
        &self.0[KEY_LEN..]
    }

    fn to_base64(&self) -> String {
        BASE64.encode(self.0)
    }
}

/// Keys stay out of logs, even at trace level.
impl fmt::Debug for MasterKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("MasterKey(..)")
    }
}

/// Whether this leg may use SRTP with SDES keys, which depends on the SIP transport.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub enum SrtpPolicy {
    /// SIP in clear text (UDP, TCP): an SDES key would be readable by anyone on the path, so
    /// SRTP offers are refused and we offer plain RTP.
    #[default]
    Refused,
    /// SIP over TLS: SRTP with our key `0` is taken and offered, plain RTP still accepted.
    Allowed(MasterKey),
    /// SIP over TLS with `sip.tls_require_srtp`: plain RTP is refused.
    Required(MasterKey),
}

impl SrtpPolicy {
    /// Our key, if SRTP is possible at all.
    pub fn local_key(&self) -> Option<&MasterKey> {
        match self {
            SrtpPolicy::Refused => None,
            SrtpPolicy::Allowed(key) | SrtpPolicy::Required(key) => Some(key),
        }
    }

    pub(super) fn takes_plain(&self) -> bool {
        !matches!(self, SrtpPolicy::Required(_))
    }
}

/// The SRTP keys of a call, one per direction, as offer/answer agreed on.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SrtpKeys {
    pub suite: SrtpSuite,
    /// What we protect our packets with (the key in our SDP).
    pub local: MasterKey,
    /// What the peer protects its packets with (the key in its SDP).
    pub remote: MasterKey,
}

/// One `a=crypto` line we can use.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CryptoAttribute {
    pub tag: u32,
    pub suite: SrtpSuite,
    pub key: MasterKey,
}

/// Why an `a=crypto` line cannot be used.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum CryptoError {
    #[error("not `<tag> <suite> inline:<key>` (RFC 4568 §9.1)")]
    Malformed,
    #[error("tag `{0}` is not a number of 1 to 9 digits")]
    BadTag(String),
    #[error(
        "suite {0} is not supported (we take AES_CM_128_HMAC_SHA1_80 or AES_CM_128_HMAC_SHA1_32)"
    )]
    UnknownSuite(String),
    #[error("key method `{0}` is not `inline:`")]
    NotInline(String),
    #[error("key `{0}` is not base64")]
    BadBase64(String),
    #[error("key and salt are {0} bytes; the suite needs 30 (16-byte key, 14-byte salt)")]
    KeyLength(usize),
    #[error("lifetime `{0}` is not a number or a power of 2 (2^n)")]
    BadLifetime(String),
    #[error("MKI `{0}` is not supported: we take keys without a master key identifier")]
    Mki(String),
    #[error("several keys in one line (`;`) are not supported")]
    SeveralKeys,
    #[error("session parameter `{0}` is not supported")]
    SessionParameter(String),
    #[error("tag {tag} with {suite} is not what we offered")]
    NotOffered { tag: u32, suite: String },
}

/// Reads the value of an `a=crypto` attribute:
/// `<tag> <suite> inline:<base64 key||salt>[|lifetime][|MKI:length] [session params]`.
pub(super) fn parse(value: &str) -> Result<CryptoAttribute, CryptoError> {
    let mut fields = value.split_ascii_whitespace();
    let (Some(tag), Some(suite), Some(key_params)) = (fields.next(), fields.next(), fields.next())
    else {
        return Err(CryptoError::Malformed);
    };
    // Tags are 1 to 9 digits (§9.1): the answer must name the same one.
    let tag = match tag.parse::<u32>() {
        Ok(t) if tag.len() <= 9 && tag.bytes().all(|b| b.is_ascii_digit()) => t,
        _ => return Err(CryptoError::BadTag(tag.into())),
    };
    let suite =
        SrtpSuite::from_name(suite).ok_or_else(|| CryptoError::UnknownSuite(suite.into()))?;
    for param in fields {
        // A window size hint only sizes the replay list (§6.3.7); anything else would change
        // the transform (UNENCRYPTED_SRTP, KDR=...) or needs FEC we do not do.
        if !param.starts_with("WSH=") {
            return Err(CryptoError::SessionParameter(param.into()));
        }
    }
    if key_params.contains(';') {
        return Err(CryptoError::SeveralKeys);
    }
    let info = key_params
        .strip_prefix("inline:")
        .ok_or_else(|| CryptoError::NotInline(key_params.split(':').next().unwrap_or("").into()))?;
    let mut parts = info.split('|');
    let encoded = parts.next().unwrap_or_default();
    let bytes = BASE64
        .decode(encoded)
        .map_err(|_| CryptoError::BadBase64(encoded.into()))?;
    let key: [u8; MASTER_LEN] = bytes
        .as_slice()
        .try_into()
        .map_err(|_| CryptoError::KeyLength(bytes.len()))?;
    for part in parts {
        if part.contains(':') {
            // With an MKI, every packet carries the key's identifier after the payload (RFC
            // 3711 §3.1); our SRTP library has no place for it.
            return Err(CryptoError::Mki(part.into()));
        }
        // The lifetime caps the packets one key may protect; a call never comes close to
        // 2^31, and the library enforces SRTP's own 2^48.
        let digits = part.strip_prefix("2^").unwrap_or(part);
        if digits.is_empty() || !digits.bytes().all(|b| b.is_ascii_digit()) {
            return Err(CryptoError::BadLifetime(part.into()));
        }
    }
    Ok(CryptoAttribute {
        tag,
        suite,
        key: MasterKey(key),
    })
}

/// Our `a=crypto` value: the tag and suite chosen, our own key.
pub(super) fn write(tag: u32, suite: SrtpSuite, key: &MasterKey) -> String {
    format!("{tag} {} inline:{}", suite.name(), key.to_base64())
}
