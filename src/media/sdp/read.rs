//! Reading a peer's SDP: parsing with errors that name the line, and choosing the audio stream
//! and codec.

use super::crypto::{self, CryptoAttribute, MasterKey, SrtpKeys, SrtpPolicy};
use super::{Direction, NegotiatedMedia, SdpError, PTIME_MS};
use crate::media::g711::G711;
use sdp::description::common::Attribute;
use sdp::description::media::MediaDescription;
use sdp::description::session::SessionDescription;
use std::io::Cursor;
use std::net::{IpAddr, SocketAddr};

/// Longest excerpt of an offending line quoted in an error.
const QUOTE_LIMIT: usize = 60;

/// Parses an SDP body, accepting CRLF or bare LF line ends.
pub(super) fn parse(text: &str) -> Result<SessionDescription, SdpError> {
    let mut normalised = text.replace("\r\n", "\n").trim().to_string();
    if normalised.is_empty() {
        return Err(SdpError::Parse("empty body".into()));
    }
    normalised.push('\n');
    // The sdp crate reads a line's type up to the first '='; a line without one makes it
    // swallow the rest of the body into its error. Check the shape first to name the line.
    for (n, line) in normalised.lines().enumerate() {
        let well_formed = match line.as_bytes() {
            [] => true,
            [kind, b'=', ..] => kind.is_ascii_lowercase(),
            _ => false,
        };
        if !well_formed {
            return Err(SdpError::Parse(format!(
                "line {} `{}` is not a `<letter>=<value>` SDP line",
                n + 1,
                quote(line)
            )));
        }
    }
    let mut cursor = Cursor::new(normalised.as_bytes());
    match SessionDescription::unmarshal(&mut cursor) {
        Ok(session) => Ok(session),
        Err(e) => Err(located(&normalised, cursor.position() as usize, e)),
    }
}

fn quote(line: &str) -> String {
    match line.char_indices().nth(QUOTE_LIMIT) {
        Some((cut, _)) => format!("{}...", &line[..cut]),
        None => line.to_string(),
    }
}

/// Turns the crate's error into one that names the line it stopped at. The parser reads a
/// line at a time, so where its cursor stopped tells which line it choked on.
fn located(text: &str, position: usize, error: sdp::Error) -> SdpError {
    let consumed = text.get(..position).unwrap_or(text);
    let line_number = consumed
        .strip_suffix('\n')
        .unwrap_or(consumed)
        .matches('\n')
        .count()
        + 1;
    let line = text.lines().nth(line_number - 1).unwrap_or_default();
    let reason = match &error {
        sdp::Error::SdpInvalidSyntax(key) if key.is_empty() => {
            return SdpError::Parse(format!(
                "ends after line {line_number} `{}`: a required line (v=, o=, s= or t=) is missing",
                quote(line)
            ))
        }
        sdp::Error::SdpInvalidSyntax(key) if key.len() == 2 && key.ends_with('=') => format!(
            "`{key}` line out of place (RFC 4566 §5 orders them v o s i u e p c b t r z k a, then m i c b k a per stream)"
        ),
        sdp::Error::SdpInvalidSyntax(what) => format!("invalid syntax `{}`", quote(what)),
        sdp::Error::SdpInvalidValue(what) => format!("invalid value `{}`", quote(what)),
        sdp::Error::ParseInt(e) => format!("bad number ({e})"),
        other => other.to_string(),
    };
    SdpError::Parse(format!("line {line_number} `{}`: {reason}", quote(line)))
}

/// The audio stream a description settles on.
pub(super) struct ChosenAudio {
    /// Index of its m= line.
    pub index: usize,
    pub codec: G711,
    pub codec_pt: u8,
    pub telephone_event_pt: Option<u8>,
    pub remote: SocketAddr,
    pub remote_direction: Direction,
    /// The peer's key when the stream is RTP/SAVP(F).
    pub crypto: Option<CryptoAttribute>,
}

impl ChosenAudio {
    /// The agreed media; `local_key` is ours, used when the stream is SRTP.
    pub fn negotiated(&self, local_key: Option<&MasterKey>) -> NegotiatedMedia {
        let mut local_direction = self.remote_direction.mirrored();
        if self.remote.ip().is_unspecified() || self.remote.port() == 0 {
            local_direction = local_direction.without_send();
        }
        NegotiatedMedia {
            remote: self.remote,
            codec: self.codec,
            codec_pt: self.codec_pt,
            telephone_event_pt: self.telephone_event_pt,
            remote_direction: self.remote_direction,
            local_direction,
            ptime_ms: PTIME_MS,
            srtp: self.crypto.as_ref().and_then(|c| {
                Some(SrtpKeys {
                    suite: c.suite,
                    local: local_key?.clone(),
                    remote: c.key.clone(),
                })
            }),
        }
    }
}

/// Which RTP profiles a description may settle on.
#[derive(Debug, Clone, Copy)]
pub(super) struct Accept {
    plain: bool,
    secure: bool,
}

impl Accept {
    /// What a peer's offer may use under our policy.
    pub fn offer(policy: &SrtpPolicy) -> Accept {
        Accept {
            plain: policy.takes_plain(),
            secure: policy.local_key().is_some(),
        }
    }

    /// What the answer to our offer must use: the profile we offered (`super::offer`).
    pub fn answer(policy: &SrtpPolicy) -> Accept {
        let secure = policy.local_key().is_some();
        Accept {
            plain: !secure,
            secure,
        }
    }
}

/// Picks the audio stream and codec from a description (an offer, or an answer to ours).
///
/// The first audio stream in a profile we `accept` with a codec we support wins, live streams
/// before disabled ones (port 0): a phone that offers only a disabled stream is putting us on
/// hold. SRTP before plain RTP when both are offered (a phone's "best effort" pair of m-lines).
/// Within the stream the offerer's order is its preference (§5.1), for codecs and keys alike.
pub(super) fn choose_audio(
    session: &SessionDescription,
    accept: Accept,
) -> Result<ChosenAudio, SdpError> {
    let audio: Vec<(usize, &MediaDescription)> = session
        .media_descriptions
        .iter()
        .enumerate()
        .filter(|(_, m)| m.media_name.media == "audio")
        .collect();
    if audio.is_empty() {
        return Err(SdpError::NoAudio);
    }
    let mut usable: Vec<(usize, &MediaDescription, bool)> = audio
        .iter()
        .filter_map(|&(i, m)| match profile(m)? {
            Profile::Plain if accept.plain => Some((i, m, false)),
            Profile::Secure if accept.secure => Some((i, m, true)),
            _ => None,
        })
        .collect();
    if usable.is_empty() {
        let offered = |wanted: Profile| audio.iter().any(|(_, m)| profile(m) == Some(wanted));
        let protos = audio
            .iter()
            .map(|(_, m)| m.media_name.protos.join("/"))
            .collect();
        return Err(if offered(Profile::Secure) && !accept.secure {
            SdpError::SrtpWithoutTls
        } else if offered(Profile::Plain) && !accept.plain {
            SdpError::SrtpRequired { protos }
        } else {
            SdpError::NoPlainRtp { protos }
        });
    }
    // Stable: the offer's order stays within each group.
    usable.sort_by_key(|&(_, m, secure)| (m.media_name.port.value == 0, !secure));
    let mut crypto_fault = None;
    for &(index, media, secure) in &usable {
        let Some((codec_pt, codec)) = media
            .media_name
            .formats
            .iter()
            .find_map(|pt| Some((pt.parse().ok()?, codec_of(media, pt)?)))
        else {
            continue;
        };
        let crypto = if secure {
            match choose_crypto(media) {
                Ok(c) => Some(c),
                Err(e) => {
                    crypto_fault.get_or_insert(e);
                    continue;
                }
            }
        } else {
            None
        };
        return Ok(ChosenAudio {
            index,
            codec,
            codec_pt,
            telephone_event_pt: telephone_event_of(media),
            remote: remote_address(session, media)?,
            remote_direction: direction_of(session, media),
            crypto,
        });
    }
    if let Some(fault) = crypto_fault {
        return Err(fault);
    }
    Err(SdpError::NoCommonCodec {
        offered: usable
            .iter()
            .flat_map(|(_, m, _)| m.media_name.formats.iter().map(|pt| describe(m, pt)))
            .collect(),
    })
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Profile {
    /// RTP/AVP, or RTP/AVPF whose feedback messages we can ignore.
    Plain,
    /// RTP/SAVP or RTP/SAVPF: SRTP, keyed by `a=crypto` (not DTLS's UDP/TLS/RTP/SAVP).
    Secure,
}

fn profile(media: &MediaDescription) -> Option<Profile> {
    match media.media_name.protos.as_slice() {
        [rtp, p] if rtp == "RTP" && (p == "AVP" || p == "AVPF") => Some(Profile::Plain),
        [rtp, p] if rtp == "RTP" && (p == "SAVP" || p == "SAVPF") => Some(Profile::Secure),
        _ => None,
    }
}

/// The first `a=crypto` line of the stream we can use (the offerer lists its preferred first,
/// RFC 4568 §7.1.1); if none, every line's fault.
fn choose_crypto(media: &MediaDescription) -> Result<CryptoAttribute, SdpError> {
    let mut faults = Vec::new();
    for value in media
        .attributes
        .iter()
        .filter(|a| a.key == "crypto")
        .map(|a| a.value.as_deref().unwrap_or_default())
    {
        match crypto::parse(value) {
            Ok(c) => return Ok(c),
            // Named by tag and suite only: the key is a secret, even a refused one.
            Err(e) => faults.push((
                quote(
                    &value
                        .split_ascii_whitespace()
                        .take(2)
                        .collect::<Vec<_>>()
                        .join(" "),
                ),
                e,
            )),
        }
    }
    if faults.is_empty() {
        return Err(SdpError::NoCrypto);
    }
    Err(SdpError::BadCrypto { faults })
}

/// The rtpmap of `pt` in a media description: (encoding name, clock rate).
fn rtpmap(media: &MediaDescription, pt: &str) -> Option<(String, u32)> {
    media.attributes.iter().find_map(|a| {
        if a.key != "rtpmap" {
            return None;
        }
        let (num, rest) = a.value.as_deref()?.split_once(' ')?;
        if num.trim() != pt {
            return None;
        }
        let mut parts = rest.trim().split('/');
        let name = parts.next()?.to_string();
        let rate = parts.next()?.trim().parse().ok()?;
        Some((name, rate))
    })
}

/// The static payload types of RFC 3551 §6 a phone may list without an rtpmap.
fn static_name(pt: &str) -> Option<&'static str> {
    Some(match pt {
        "0" => "PCMU",
        "3" => "GSM",
        "4" => "G723",
        "8" => "PCMA",
        "9" => "G722",
        "13" => "CN",
        "18" => "G729",
        _ => return None,
    })
}

fn codec_of(media: &MediaDescription, pt: &str) -> Option<G711> {
    let (name, rate) = match rtpmap(media, pt) {
        Some(map) => map,
        // Static payload types need no rtpmap (RFC 3551 §6).
        None => (static_name(pt)?.to_string(), 8000),
    };
    if rate != 8000 {
        return None;
    }
    [G711::Ulaw, G711::Alaw]
        .into_iter()
        .find(|codec| name.eq_ignore_ascii_case(codec.encoding_name()))
}

/// A format as an error message shows it: `opus/48000`, `G722/8000`, or `PT 120`.
fn describe(media: &MediaDescription, pt: &str) -> String {
    match (rtpmap(media, pt), static_name(pt)) {
        (Some((name, rate)), _) => format!("{name}/{rate}"),
        (None, Some(name)) => format!("{name}/8000"),
        (None, None) => format!("PT {pt}"),
    }
}

/// The telephone-event payload type at 8000 Hz: events at another clock rate belong to a
/// wideband codec we do not use (RFC 4733 §2.1).
fn telephone_event_of(media: &MediaDescription) -> Option<u8> {
    media
        .media_name
        .formats
        .iter()
        .find_map(|pt| match rtpmap(media, pt) {
            Some((name, 8000)) if name.eq_ignore_ascii_case("telephone-event") => pt.parse().ok(),
            _ => None,
        })
}

/// The stream's direction attribute, else the session's, else sendrecv (RFC 3264 §5.1).
fn direction_of(session: &SessionDescription, media: &MediaDescription) -> Direction {
    let find = |attributes: &[Attribute]| {
        attributes
            .iter()
            .find_map(|a| Direction::from_attribute(&a.key))
    };
    find(&media.attributes)
        .or_else(|| find(&session.attributes))
        .unwrap_or(Direction::SendRecv)
}

/// The stream's c= (else the session's) address with its m= port.
fn remote_address(
    session: &SessionDescription,
    media: &MediaDescription,
) -> Result<SocketAddr, SdpError> {
    let address = media
        .connection_information
        .as_ref()
        .or(session.connection_information.as_ref())
        .and_then(|c| c.address.as_ref())
        .ok_or(SdpError::NoAddress)?;
    // A multicast address may carry /ttl; a host name is not something RTP can send to.
    let text = address.address.split('/').next().unwrap_or_default();
    let ip: IpAddr = text.parse().map_err(|_| {
        SdpError::Parse(format!(
            "c= address `{}` is not an IP address",
            quote(&address.address)
        ))
    })?;
    let port = u16::try_from(media.media_name.port.value).map_err(|_| {
        SdpError::Parse(format!(
            "m={} port {} is out of range",
            media.media_name.media, media.media_name.port.value
        ))
    })?;
    Ok(SocketAddr::new(ip, port))
}
