//! The softphone's signalling: small JSON messages over the web log's WebSocket.
//!
//! The page never speaks SIP. It is told a call rings, answers with its WebRTC offer (made
//! only when the technician presses Answer, so no microphone is opened for a call they
//! decline), gets the gateway's answer back, and says when it declines or hangs up. Each
//! message is one JSON object with a `type`; a call is named by the `call` the gateway gave.

use serde::{Deserialize, Serialize};

/// What the gateway tells the page.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(tag = "type", rename_all = "snake_case")]
pub enum ToBrowser {
    /// The page is a phone now: `contact` is the binding routing rings.
    Ready { contact: String },
    /// A call rings this page. `caller` is what routing presents (priority, category, number).
    /// `outgoing`: the technician's own call (a "Call back"): the page answers it by itself.
    Incoming {
        call: String,
        caller: String,
        #[serde(skip_serializing_if = "std::ops::Not::not")]
        outgoing: bool,
    },
    /// The gateway's SDP answer to the page's offer.
    Answer { call: String, sdp: String },
    /// Media flows: the caller's leg is answered.
    Connected { call: String },
    /// The call is on hold (`on_hold`: Hotline plays the caller music) or talking again.
    Hold { call: String, on_hold: bool },
    /// The call is over (or stopped ringing): `reason` says why.
    Ended { call: String, reason: EndReason },
    /// A message the page sent could not be used; nothing changed.
    Error { message: String },
}

/// Why a call left the page.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum EndReason {
    /// The ringing stopped: routing gave up on this device, or another device answered.
    Cancelled,
    /// The technician declined.
    Declined,
    /// The far end hung up.
    RemoteHangup,
    /// The technician hung up.
    LocalHangup,
    /// The technician transferred the call; Hotline hung up this leg.
    Transferred,
    /// The browser's media could not be set up (no common codec, ICE or DTLS failed).
    MediaFailed,
}

/// What the page asks for.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(tag = "type", rename_all = "snake_case", deny_unknown_fields)]
pub enum FromBrowser {
    /// Answer the ringing call with this WebRTC offer (ICE candidates gathered, not trickled).
    Answer {
        call: String,
        sdp: String,
    },
    Decline {
        call: String,
    },
    Hangup {
        call: String,
    },
    /// Put the connected call on hold: the caller hears music on hold.
    Hold {
        call: String,
    },
    /// Take the call off hold.
    Resume {
        call: String,
    },
    /// Transfer the connected call to `to`: a technician's account name or a team's name.
    Transfer {
        call: String,
        to: String,
    },
}

impl FromBrowser {
    /// Reads one message; the error names what is wrong with it.
    pub fn parse(text: &str) -> Result<FromBrowser, ProtocolError> {
        serde_json::from_str(text).map_err(|e| ProtocolError(e.to_string()))
    }

    /// The call the message is about.
    pub fn call(&self) -> &str {
        match self {
            FromBrowser::Answer { call, .. }
            | FromBrowser::Decline { call }
            | FromBrowser::Hangup { call }
            | FromBrowser::Hold { call }
            | FromBrowser::Resume { call }
            | FromBrowser::Transfer { call, .. } => call,
        }
    }
}

/// A message from the page that is not one of ours.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("bad softphone message: {0}")]
pub struct ProtocolError(pub String);

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn page_messages_parse_by_type() {
        assert_eq!(
            FromBrowser::parse(r#"{"type":"decline","call":"7"}"#).unwrap(),
            FromBrowser::Decline { call: "7".into() }
        );
        let answer = FromBrowser::parse(r#"{"type":"answer","call":"7","sdp":"v=0"}"#).unwrap();
        assert_eq!(answer.call(), "7");
        assert_eq!(
            FromBrowser::parse(r#"{"type":"hold","call":"7"}"#).unwrap(),
            FromBrowser::Hold { call: "7".into() }
        );
        assert_eq!(
            FromBrowser::parse(r#"{"type":"resume","call":"7"}"#).unwrap(),
            FromBrowser::Resume { call: "7".into() }
        );
        assert_eq!(
            FromBrowser::parse(r#"{"type":"transfer","call":"7","to":"bob"}"#).unwrap(),
            FromBrowser::Transfer {
                call: "7".into(),
                to: "bob".into()
            }
        );
    }

    #[test]
    fn unknown_or_incomplete_messages_name_the_fault() {
        let e = FromBrowser::parse(r#"{"type":"park","call":"7"}"#).unwrap_err();
        assert!(e.0.contains("park"), "{e}");
        let e = FromBrowser::parse(r#"{"type":"transfer","call":"7"}"#).unwrap_err();
        assert!(e.0.contains("`to`"), "{e}");
        let e = FromBrowser::parse(r#"{"type":"answer","call":"7"}"#).unwrap_err();
        assert!(e.0.contains("sdp"), "{e}");
        assert!(FromBrowser::parse("not json").is_err());
    }

    #[test]
    fn gateway_messages_are_tagged_json() {
        let text = serde_json::to_string(&ToBrowser::Ended {
            call: "7".into(),
            reason: EndReason::RemoteHangup,
        })
        .unwrap();
        assert_eq!(
            text,
            r#"{"type":"ended","call":"7","reason":"remote_hangup"}"#
        );
        let text = serde_json::to_string(&ToBrowser::Hold {
            call: "7".into(),
            on_hold: true,
        })
        .unwrap();
        assert_eq!(text, r#"{"type":"hold","call":"7","on_hold":true}"#);
    }
}
