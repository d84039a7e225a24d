//! Writing our SDP: the session wrapper and the audio stream we offer or answer.

use super::{Direction, LocalMedia, PTIME_MS};
use crate::media::g711::G711;
use sdp::description::common::{Address, Attribute, ConnectionInformation};
use sdp::description::media::{MediaDescription, MediaName, RangedPort};
use sdp::description::session::{Origin, SessionDescription, TimeDescription, Timing};
use std::net::IpAddr;

fn address_type(ip: IpAddr) -> &'static str {
    if ip.is_ipv4() {
        "IP4"
    } else {
        "IP6"
    }
}

fn attribute(key: &str, value: Option<String>) -> Attribute {
    Attribute {
        key: key.into(),
        value,
    }
}

/// A whole description around `media`, with our origin and a session-level c= line.
pub(super) fn session(local: &LocalMedia, media: Vec<MediaDescription>) -> String {
    let description = SessionDescription {
        origin: Origin {
            username: "hotline".into(),
            session_id: local.session_id,
            session_version: local.session_version,
            network_type: "IN".into(),
            address_type: address_type(local.ip).into(),
            unicast_address: local.ip.to_string(),
        },
        session_name: "Hotline".into(),
        connection_information: Some(ConnectionInformation {
            network_type: "IN".into(),
            address_type: address_type(local.ip).into(),
            address: Some(Address {
                address: local.ip.to_string(),
                ttl: None,
                range: None,
            }),
        }),
        // `t=0 0`: the session is not bounded in time (RFC 4566 §5.9).
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

/// An audio stream: the codecs under their payload types, then telephone-events (digits 0-9,
/// *, #, A-D: events 0-15), the SRTP key (`a=crypto` value), the packet time and the direction.
pub(super) fn audio(
    port: u16,
    protos: Vec<String>,
    codecs: &[(u8, G711)],
    telephone_event_pt: Option<u8>,
    crypto: Option<String>,
    direction: Direction,
) -> MediaDescription {
    let mut attributes = Vec::new();
    let mut formats = Vec::new();
    for &(pt, codec) in codecs {
        formats.push(pt.to_string());
        attributes.push(attribute(
            "rtpmap",
            Some(format!("{pt} {}/8000", codec.encoding_name())),
        ));
    }
    if let Some(te) = telephone_event_pt {
        formats.push(te.to_string());
        attributes.push(attribute(
            "rtpmap",
            Some(format!("{te} telephone-event/8000")),
        ));
        attributes.push(attribute("fmtp", Some(format!("{te} 0-15"))));
    }
    if let Some(crypto) = crypto {
        attributes.push(attribute("crypto", Some(crypto)));
    }
    attributes.push(attribute("ptime", Some(PTIME_MS.to_string())));
    attributes.push(attribute(direction.as_str(), None));
    MediaDescription {
        media_name: MediaName {
            media: "audio".into(),
            port: RangedPort {
                value: port as isize,
                range: None,
            },
            protos,
            formats,
        },
        attributes,
        ..Default::default()
    }
}

/// A stream we do not take: its m= line with port 0 and the offered formats (RFC 3264 §6
/// wants at least one listed), nothing else.
pub(super) fn rejected(offered: &MediaDescription) -> MediaDescription {
    MediaDescription {
        media_name: MediaName {
            port: RangedPort {
                value: 0,
                range: None,
            },
            ..offered.media_name.clone()
        },
        ..Default::default()
    }
}
