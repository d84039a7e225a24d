//! SDP offer/answer (RFC 3264) for G.711 calls, parsed and written with the `sdp` crate.

use super::g711::G711;
use sdp::description::common::{Address, Attribute, ConnectionInformation};
use sdp::description::media::{MediaDescription, MediaName, RangedPort};
use sdp::description::session::{Origin, SessionDescription, TimeDescription, Timing};
use std::io::Cursor;
use std::net::{IpAddr, SocketAddr};

/// The payload type we offer for telephone-events when we make the offer.
pub const OUR_TELEPHONE_EVENT_PT: u8 = 101;

/// Our side of the media: where we receive RTP.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LocalMedia {
    pub ip: IpAddr,
    pub port: u16,
    pub session_id: u64,
    /// Bumped for every new offer or answer in the session (RFC 3264 §8).
    pub session_version: u64,
}

/// A media direction attribute (RFC 3264 §5.1).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Direction {
    SendRecv,
    SendOnly,
    RecvOnly,
    Inactive,
}

impl Direction {
    fn as_str(self) -> &'static str {
        match self {
            Direction::SendRecv => "sendrecv",
            Direction::SendOnly => "sendonly",
            Direction::RecvOnly => "recvonly",
            Direction::Inactive => "inactive",
        }
    }

    /// The direction we answer to the peer's (§6.1): their sendonly is our recvonly.
    fn answer(self) -> Direction {
        match self {
            Direction::SendOnly => Direction::RecvOnly,
            Direction::RecvOnly => Direction::SendOnly,
            d => d,
        }
    }

    /// Whether we should send audio to the peer.
    pub fn we_send(self) -> bool {
        matches!(self, Direction::SendRecv | Direction::SendOnly)
    }
}

/// What offer/answer agreed on.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NegotiatedMedia {
    /// Where the peer wants our RTP.
    pub remote: SocketAddr,
    pub codec: G711,
    /// The telephone-event payload type, as the offerer numbered it.
    pub telephone_event_pt: Option<u8>,
    pub remote_direction: Direction,
    /// What we do: the answer's direction.
    pub local_direction: Direction,
    pub ptime_ms: u32,
}

impl NegotiatedMedia {
    /// On hold: the peer does not want our audio (sendonly/inactive, or the old c=0.0.0.0 form).
    pub fn on_hold(&self) -> bool {
        !self.local_direction.we_send()
            || self.remote.ip().is_unspecified()
            || self.remote.port() == 0
    }
}

/// Why an SDP body cannot be used.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum SdpError {
    #[error("unparsable SDP: {0}")]
    Parse(String),
    #[error("no audio stream in the SDP")]
    NoAudio,
    #[error("no common codec: offered {offered:?}, we take PCMU or PCMA")]
    NoCommonCodec { offered: Vec<String> },
    #[error("no connection address for the audio stream")]
    NoAddress,
}

fn parse(text: &str) -> Result<SessionDescription, SdpError> {
    // The sdp crate wants CRLF or LF lines and a trailing newline; be lenient with both.
    let mut normalised = text.replace("\r\n", "\n").trim().to_string();
    normalised.push('\n');
    SessionDescription::unmarshal(&mut Cursor::new(normalised.as_bytes()))
        .map_err(|e| SdpError::Parse(e.to_string()))
}

/// The rtpmap of `pt` in a media description: (encoding name, clock rate).
fn rtpmap(media: &MediaDescription, pt: &str) -> Option<(String, u32)> {
    media.attributes.iter().find_map(|a| {
        if a.key != "rtpmap" {
            return None;
        }
        let value = a.value.as_deref()?;
        let (num, rest) = value.split_once(' ')?;
        if num.trim() != pt {
            return None;
        }
        let mut parts = rest.trim().split('/');
        let name = parts.next()?.to_string();
        let rate = parts.next()?.parse().ok()?;
        Some((name, rate))
    })
}

fn codec_of(media: &MediaDescription, pt: &str) -> Option<G711> {
    match rtpmap(media, pt) {
        Some((name, 8000)) if name.eq_ignore_ascii_case("PCMU") => Some(G711::Ulaw),
        Some((name, 8000)) if name.eq_ignore_ascii_case("PCMA") => Some(G711::Alaw),
        Some(_) => None,
        // Static payload types need no rtpmap (RFC 3551 §6).
        None => pt.parse().ok().and_then(G711::from_payload_type),
    }
}

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

fn direction_of(session: &SessionDescription, media: &MediaDescription) -> Direction {
    let find = |attrs: &[Attribute]| {
        attrs.iter().find_map(|a| match a.key.as_str() {
            "sendrecv" => Some(Direction::SendRecv),
            "sendonly" => Some(Direction::SendOnly),
            "recvonly" => Some(Direction::RecvOnly),
            "inactive" => Some(Direction::Inactive),
            _ => None,
        })
    };
    find(&media.attributes)
        .or_else(|| find(&session.attributes))
        .unwrap_or(Direction::SendRecv)
}

fn remote_address(
    session: &SessionDescription,
    media: &MediaDescription,
) -> Result<SocketAddr, SdpError> {
    let info = media
        .connection_information
        .as_ref()
        .or(session.connection_information.as_ref())
        .and_then(|c| c.address.as_ref())
        .ok_or(SdpError::NoAddress)?;
    let ip: IpAddr = info
        .address
        .split('/')
        .next()
        .unwrap_or_default()
        .parse()
        .map_err(|_| {
            SdpError::Parse(format!(
                "connection address `{}` is not an IP address",
                info.address
            ))
        })?;
    let port = u16::try_from(media.media_name.port.value)
        .map_err(|_| SdpError::Parse("bad media port".into()))?;
    Ok(SocketAddr::new(ip, port))
}

/// Picks the audio stream and codec from a description (an offer, or an answer to ours).
fn negotiate(session: &SessionDescription) -> Result<(usize, NegotiatedMedia), SdpError> {
    let (index, media) = session
        .media_descriptions
        .iter()
        .enumerate()
        .find(|(_, m)| m.media_name.media == "audio" && m.media_name.port.value != 0)
        .ok_or(SdpError::NoAudio)?;
    // The offerer's order is its preference (§5.1); take the first we support.
    let codec = media
        .media_name
        .formats
        .iter()
        .find_map(|pt| codec_of(media, pt))
        .ok_or_else(|| SdpError::NoCommonCodec {
            offered: media
                .media_name
                .formats
                .iter()
                .map(|pt| {
                    rtpmap(media, pt)
                        .map(|(n, r)| format!("{n}/{r}"))
                        .unwrap_or_else(|| pt.clone())
                })
                .collect(),
        })?;
    let remote_direction = direction_of(session, media);
    Ok((
        index,
        NegotiatedMedia {
            remote: remote_address(session, media)?,
            codec,
            telephone_event_pt: telephone_event_of(media),
            remote_direction,
            local_direction: remote_direction.answer(),
            ptime_ms: 20,
        },
    ))
}

fn connection(ip: IpAddr) -> ConnectionInformation {
    ConnectionInformation {
        network_type: "IN".into(),
        address_type: if ip.is_ipv4() { "IP4" } else { "IP6" }.into(),
        address: Some(Address {
            address: ip.to_string(),
            ttl: None,
            range: None,
        }),
    }
}

fn attribute(key: &str, value: Option<String>) -> Attribute {
    Attribute {
        key: key.into(),
        value,
    }
}

fn session(local: &LocalMedia, media: Vec<MediaDescription>) -> String {
    let description = SessionDescription {
        origin: Origin {
            username: "hotline".into(),
            session_id: local.session_id,
            session_version: local.session_version,
            network_type: "IN".into(),
            address_type: if local.ip.is_ipv4() { "IP4" } else { "IP6" }.into(),
            unicast_address: local.ip.to_string(),
        },
        session_name: "Hotline".into(),
        connection_information: Some(connection(local.ip)),
        time_descriptions: vec![TimeDescription {
            timing: Timing {
                start_time: 0,
                stop_time: 0,
            },
            repeat_times: vec![],
        }],
        media_descriptions: media,
        ..Default::default()
    };
    description.marshal()
}

fn audio_media(
    port: u16,
    formats: Vec<(u8, String)>,
    te: Option<u8>,
    direction: Direction,
) -> MediaDescription {
    let mut attributes = Vec::new();
    let mut pts = Vec::new();
    for (pt, map) in formats {
        pts.push(pt.to_string());
        attributes.push(attribute("rtpmap", Some(format!("{pt} {map}"))));
    }
    if let Some(te) = te {
        pts.push(te.to_string());
        attributes.push(attribute(
            "rtpmap",
            Some(format!("{te} telephone-event/8000")),
        ));
        attributes.push(attribute("fmtp", Some(format!("{te} 0-15"))));
    }
    attributes.push(attribute("ptime", Some("20".into())));
    attributes.push(attribute(direction.as_str(), None));
    MediaDescription {
        media_name: MediaName {
            media: "audio".into(),
            port: RangedPort {
                value: port as isize,
                range: None,
            },
            protos: vec!["RTP".into(), "AVP".into()],
            formats: pts,
        },
        attributes,
        ..Default::default()
    }
}

/// Answers an offer: the first codec of the offerer's list that we support, its
/// telephone-event payload type echoed, other streams rejected with port 0 (§6).
pub fn answer(offer: &str, local: &LocalMedia) -> Result<(NegotiatedMedia, String), SdpError> {
    let offer = parse(offer)?;
    let (chosen, negotiated) = negotiate(&offer)?;
    let media = offer
        .media_descriptions
        .iter()
        .enumerate()
        .map(|(i, m)| {
            if i == chosen {
                let map = format!("{}/8000", negotiated.codec.encoding_name());
                let pt = m
                    .media_name
                    .formats
                    .iter()
                    .find(|pt| codec_of(m, pt) == Some(negotiated.codec))
                    .and_then(|pt| pt.parse().ok())
                    .unwrap_or(negotiated.codec.payload_type());
                audio_media(
                    local.port,
                    vec![(pt, map)],
                    negotiated.telephone_event_pt,
                    negotiated.local_direction,
                )
            } else {
                MediaDescription {
                    media_name: MediaName {
                        port: RangedPort {
                            value: 0,
                            range: None,
                        },
                        ..m.media_name.clone()
                    },
                    ..Default::default()
                }
            }
        })
        .collect();
    Ok((negotiated, session(local, media)))
}

/// Our offer, for an INVITE that came without one: PCMU, PCMA and telephone-events.
pub fn offer(local: &LocalMedia) -> String {
    let formats = vec![(0, "PCMU/8000".to_string()), (8, "PCMA/8000".to_string())];
    session(
        local,
        vec![audio_media(
            local.port,
            formats,
            Some(OUR_TELEPHONE_EVENT_PT),
            Direction::SendRecv,
        )],
    )
}

/// Reads the answer to our offer (from the ACK).
pub fn accept_answer(answer: &str) -> Result<NegotiatedMedia, SdpError> {
    let answer = parse(answer)?;
    let (_, mut negotiated) = negotiate(&answer)?;
    // In an answer the peer's direction already is the agreed one, seen from its side.
    negotiated.local_direction = negotiated.remote_direction.answer();
    Ok(negotiated)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn local() -> LocalMedia {
        LocalMedia {
            ip: "127.0.0.1".parse().unwrap(),
            port: 10000,
            session_id: 42,
            session_version: 1,
        }
    }

    const SOFTPHONE: &str = "v=0\r\no=- 3900 3900 IN IP4 192.0.2.5\r\ns=Talk\r\nc=IN IP4 192.0.2.5\r\nt=0 0\r\n\
        m=audio 7078 RTP/AVP 96 9 0 8 97 101\r\na=rtpmap:96 opus/48000/2\r\na=rtpmap:9 G722/8000\r\n\
        a=rtpmap:97 speex/8000\r\na=rtpmap:101 telephone-event/8000\r\na=fmtp:101 0-16\r\n\
        m=video 9078 RTP/AVP 102\r\na=rtpmap:102 H264/90000\r\n";

    #[test]
    fn softphone_offer_gets_pcmu_and_its_telephone_event_pt_and_video_rejected() {
        let (n, answer) = answer(SOFTPHONE, &local()).unwrap();
        assert_eq!(n.codec, G711::Ulaw);
        assert_eq!(n.telephone_event_pt, Some(101));
        assert_eq!(n.remote, "192.0.2.5:7078".parse().unwrap());
        assert!(
            answer.contains("m=audio 10000 RTP/AVP 0 101\r\n"),
            "{answer}"
        );
        assert!(answer.contains("a=fmtp:101 0-15"));
        assert!(answer.contains("m=video 0 RTP/AVP 102"), "{answer}");
        assert!(answer.contains("a=sendrecv"));
        assert!(answer.contains("o=hotline 42 1 IN IP4 127.0.0.1"));
    }

    #[test]
    fn pcma_first_is_honoured_and_dynamic_te_pt_echoed() {
        let offer = "v=0\r\no=- 1 1 IN IP4 10.0.0.1\r\ns=-\r\nc=IN IP4 10.0.0.1\r\nt=0 0\r\n\
            m=audio 4000 RTP/AVP 8 0 96\r\na=rtpmap:96 telephone-event/8000\r\n";
        let (n, answer) = answer(offer, &local()).unwrap();
        assert_eq!(n.codec, G711::Alaw);
        assert_eq!(n.telephone_event_pt, Some(96));
        assert!(answer.contains("m=audio 10000 RTP/AVP 8 96"), "{answer}");
    }

    #[test]
    fn hold_offer_is_answered_recvonly_and_marks_hold() {
        let offer = SOFTPHONE.replace("a=fmtp:101 0-16\r\n", "a=fmtp:101 0-16\r\na=sendonly\r\n");
        let (n, answer) = answer(&offer, &local()).unwrap();
        assert_eq!(n.remote_direction, Direction::SendOnly);
        assert!(n.on_hold());
        assert!(answer.contains("a=recvonly"));
        let old_style = SOFTPHONE.replace("c=IN IP4 192.0.2.5", "c=IN IP4 0.0.0.0");
        assert!(super::answer(&old_style, &local()).unwrap().0.on_hold());
    }

    #[test]
    fn no_common_codec_lists_what_was_offered() {
        let offer = "v=0\r\no=- 1 1 IN IP4 10.0.0.1\r\ns=-\r\nc=IN IP4 10.0.0.1\r\nt=0 0\r\n\
            m=audio 4000 RTP/AVP 9\r\na=rtpmap:9 G722/8000\r\n";
        assert_eq!(
            answer(offer, &local()).unwrap_err(),
            SdpError::NoCommonCodec {
                offered: vec!["G722/8000".into()]
            }
        );
    }

    #[test]
    fn garbage_is_a_parse_error_not_a_panic() {
        assert!(matches!(
            answer("hello world", &local()),
            Err(SdpError::Parse(_))
        ));
        assert!(matches!(answer("", &local()), Err(SdpError::Parse(_))));
        let video_only = "v=0\r\no=- 1 1 IN IP4 10.0.0.1\r\ns=-\r\nc=IN IP4 10.0.0.1\r\nt=0 0\r\nm=video 4000 RTP/AVP 96\r\n";
        assert_eq!(answer(video_only, &local()).unwrap_err(), SdpError::NoAudio);
    }

    #[test]
    fn our_offer_round_trips_through_accept_answer() {
        let ours = offer(&local());
        assert!(ours.contains("m=audio 10000 RTP/AVP 0 8 101"), "{ours}");
        let n = accept_answer(&ours).unwrap();
        assert_eq!(n.codec, G711::Ulaw);
        assert_eq!(n.telephone_event_pt, Some(101));
    }
}
