//! Blind transfer (RFC 3515): reading the target of a REFER Hotline receives, writing the
//! headers of one the browser phone sends, and the NOTIFYs that tell the transferor how the
//! transfer went. Sans-IO: headers in, a name out; a status in, a NOTIFY's headers and body out.

use rsip::{Header, Headers, Request};

/// Why a REFER names no target Hotline can use; the message names the header at fault.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ReferError {
    #[error("REFER without a Refer-To header")]
    Missing,
    #[error("Refer-To is not a SIP URI with a user part: {0}")]
    NotSipUser(String),
}

/// The user part of the REFER's `Refer-To` (also its compact form `r`): the name of whom to
/// transfer to. `<sip:bob@hotline;transport=udp>`, `"Bob" <sip:bob@10.0.0.1>` and
/// `sip:bob@hotline` all give `bob`; `%20` and the like are decoded.
pub fn refer_to_user(headers: &Headers) -> Result<String, ReferError> {
    let value = super::message::header_value(headers, "Refer-To")
        .or_else(|| super::message::header_value(headers, "r"))
        .ok_or(ReferError::Missing)?;
    let uri = match (value.find('<'), value.find('>')) {
        (Some(open), Some(close)) if open < close => &value[open + 1..close],
        _ => value.split(';').next().unwrap_or(""),
    };
    let uri = uri.trim();
    let rest = uri
        .strip_prefix("sip:")
        .or_else(|| uri.strip_prefix("sips:"))
        .ok_or_else(|| ReferError::NotSipUser(value.clone()))?;
    let user = match rest.split_once('@') {
        Some((user, _host)) => user,
        None => return Err(ReferError::NotSipUser(value.clone())),
    };
    // Parameters of the user part (`;phone-context=…`) are not part of the name.
    let user = percent_decode(user.split(';').next().unwrap_or(""));
    if user.trim().is_empty() {
        return Err(ReferError::NotSipUser(value));
    }
    Ok(user)
}

/// The `Refer-To` (and `Referred-By`, RFC 3892) a transfer of the dialog to `name` at `host`
/// carries; `name` is escaped as a URI's user part requires (RFC 3261 §25.1).
pub fn refer_headers(name: &str, host: &str, referred_by: &str) -> Headers {
    let mut headers = Headers::default();
    headers.push(Header::Other(
        "Refer-To".into(),
        format!("<sip:{}@{host}>", percent_encode(name)),
    ));
    headers.push(Header::Other(
        "Referred-By".into(),
        format!("<sip:{}@{host}>", percent_encode(referred_by)),
    ));
    headers
}

/// How a transfer stands, as one NOTIFY of the REFER's implicit subscription tells the
/// transferor (RFC 3515 §2.4.4): a `message/sipfrag` of the status line the transfer target's
/// INVITE got. `100 Trying` first, right after the 202; the target's final status last, which
/// ends the subscription (§2.4.7: `terminated;reason=noresource`, nothing more to report).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct TransferProgress {
    status: u16,
}

impl TransferProgress {
    /// The transfer is under way: the first NOTIFY, sent as soon as the REFER is accepted.
    pub fn trying() -> TransferProgress {
        TransferProgress { status: 100 }
    }

    /// The transfer target's INVITE got `status`: 200 when it answered, a failure when it
    /// could not be reached (both final), or a provisional one such as 180 while it rings.
    pub fn status(status: u16) -> TransferProgress {
        TransferProgress { status }
    }

    /// Whether this NOTIFY ends the subscription (a final status).
    pub fn is_final(self) -> bool {
        self.status >= 200
    }

    /// The sipfrag body: the status line alone (RFC 3420 allows a bare start line).
    pub fn body(self) -> String {
        let reason = super::message::rfc_reason_phrase(self.status).unwrap_or("Unknown");
        format!("SIP/2.0 {} {reason}\r\n", self.status)
    }

    /// Makes `notify` (a NOTIFY in the REFER's dialog) carry this progress: `Event: refer`,
    /// the subscription's state, and the sipfrag body.
    pub fn apply(self, notify: &mut Request) {
        notify
            .headers
            .push(Header::Other("Event".into(), "refer".into()));
        let state = if self.is_final() {
            "terminated;reason=noresource"
        } else {
            // RFC 6665 §4.1.3 wants an expiry on an active subscription; ours ends long before.
            "active;expires=60"
        };
        notify
            .headers
            .push(Header::Other("Subscription-State".into(), state.into()));
        super::message::set_body(
            &mut notify.headers,
            &mut notify.body,
            "message/sipfrag;version=2.0",
            self.body().into_bytes(),
        );
    }
}

fn percent_encode(name: &str) -> String {
    let mut out = String::with_capacity(name.len());
    for b in name.bytes() {
        if b.is_ascii_alphanumeric() || b"-_.!~*'()&=+$,?/".contains(&b) {
            out.push(b as char);
        } else {
            out.push_str(&format!("%{b:02X}"));
        }
    }
    out
}

fn percent_decode(s: &str) -> String {
    let bytes = s.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        let hex = bytes
            .get(i + 1..i + 3)
            .and_then(|h| std::str::from_utf8(h).ok())
            .and_then(|h| u8::from_str_radix(h, 16).ok());
        match (bytes[i], hex) {
            (b'%', Some(b)) => {
                out.push(b);
                i += 3;
            }
            (b, _) => {
                out.push(b);
                i += 1;
            }
        }
    }
    String::from_utf8_lossy(&out).into_owned()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn with(name: &str, value: &str) -> Headers {
        let mut h = Headers::default();
        h.push(Header::Other(name.into(), value.into()));
        h
    }

    #[test]
    fn the_user_part_names_the_target_in_every_usual_form() {
        for value in [
            "<sip:bob@hotline>",
            "\"Bob\" <sip:bob@10.0.0.1:5060;transport=udp>",
            "sip:bob@hotline;method=INVITE",
            "<sips:bob;phone-context=x@hotline>",
        ] {
            assert_eq!(refer_to_user(&with("Refer-To", value)), Ok("bob".into()));
        }
        assert_eq!(
            refer_to_user(&with("r", "<sip:service%20desk@h>")),
            Ok("service desk".into())
        );
    }

    #[test]
    fn a_refer_without_a_usable_target_names_the_header() {
        assert_eq!(refer_to_user(&Headers::default()), Err(ReferError::Missing));
        let e = refer_to_user(&with("Refer-To", "<tel:+15551234>")).unwrap_err();
        assert!(e.to_string().contains("Refer-To"), "{e}");
        assert!(refer_to_user(&with("Refer-To", "<sip:hotline>")).is_err());
    }

    #[test]
    fn written_headers_read_back() {
        let headers = refer_headers("service desk", "127.0.0.1:5070", "tom");
        assert_eq!(refer_to_user(&headers), Ok("service desk".into()));
        assert!(headers
            .iter()
            .any(|h| h.to_string() == "Referred-By: <sip:tom@127.0.0.1:5070>"));
    }

    fn notify_with(progress: TransferProgress) -> String {
        let mut notify = rsip::Request {
            method: rsip::Method::Notify,
            uri: rsip::Uri::try_from("sip:tom@127.0.0.1:5070").unwrap(),
            version: rsip::Version::V2,
            headers: Headers::default(),
            body: Vec::new(),
        };
        progress.apply(&mut notify);
        notify.to_string()
    }

    #[test]
    fn the_first_notify_says_trying_and_keeps_the_subscription_active() {
        let text = notify_with(TransferProgress::trying());
        assert!(text.contains("Event: refer\r\n"), "{text}");
        assert!(
            text.contains("Subscription-State: active;expires=60\r\n"),
            "{text}"
        );
        assert!(
            text.contains("Content-Type: message/sipfrag;version=2.0\r\n"),
            "{text}"
        );
        assert!(text.ends_with("\r\n\r\nSIP/2.0 100 Trying\r\n"), "{text}");
        assert!(!TransferProgress::trying().is_final());
    }

    #[test]
    fn the_last_notify_carries_the_targets_final_status_and_ends_the_subscription() {
        for (status, line) in [
            (200, "SIP/2.0 200 OK\r\n"),
            (480, "SIP/2.0 480 Temporarily Unavailable\r\n"),
            (487, "SIP/2.0 487 Request Terminated\r\n"),
        ] {
            let progress = TransferProgress::status(status);
            assert!(progress.is_final());
            let text = notify_with(progress);
            assert!(
                text.contains("Subscription-State: terminated;reason=noresource\r\n"),
                "{text}"
            );
            assert!(text.ends_with(&format!("\r\n\r\n{line}")), "{text}");
            assert!(
                text.contains(&format!("Content-Length: {}\r\n", line.len())),
                "{text}"
            );
        }
        let ringing = TransferProgress::status(180);
        assert!(!ringing.is_final(), "a 180 keeps the subscription going");
        assert!(notify_with(ringing).contains("Subscription-State: active"));
    }
}
