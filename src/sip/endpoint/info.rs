//! Digits sent as SIP INFO, as some phones do instead of RFC 4733 events.

use crate::media::dtmf::Digit;
use crate::sip::message;

/// The key in an INFO body of type `application/dtmf-relay` (`Signal=5`) or `application/dtmf`
/// (the key alone). Anything else, or a value that is not one DTMF key, is no digit.
pub fn dtmf_relay_digit(request: &rsip::Request) -> Option<Digit> {
    let content_type = message::header_value(&request.headers, "Content-Type")?;
    let body = String::from_utf8_lossy(&request.body);
    let value = if content_type.eq_ignore_ascii_case("application/dtmf-relay") {
        body.lines()
            .find_map(|l| {
                l.split_once('=')
                    .filter(|(k, _)| k.trim().eq_ignore_ascii_case("signal"))
            })
            .map(|(_, v)| v.trim().to_string())?
    } else if content_type.eq_ignore_ascii_case("application/dtmf") {
        body.trim().to_string()
    } else {
        return None;
    };
    value.parse().ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn info(content_type: &str, body: &str) -> rsip::Request {
        let raw = format!(
            "INFO sip:hd@127.0.0.1 SIP/2.0\r\nVia: SIP/2.0/UDP 127.0.0.1:5070;branch=z9hG4bK-i\r\n\
             From: <sip:a@x>;tag=1\r\nTo: <sip:hd@127.0.0.1>;tag=2\r\nCall-ID: i1\r\nCSeq: 3 INFO\r\n\
             Content-Type: {content_type}\r\nContent-Length: {}\r\n\r\n{body}",
            body.len()
        );
        match message::parse(raw.as_bytes()).unwrap() {
            rsip::SipMessage::Request(r) => r,
            _ => unreachable!(),
        }
    }

    #[test]
    fn dtmf_relay_signal_is_a_digit() {
        let r = info("application/dtmf-relay", "Signal=5\r\nDuration=160\r\n");
        assert_eq!(dtmf_relay_digit(&r), "5".parse().ok());
        let r = info("application/dtmf", "#");
        assert_eq!(dtmf_relay_digit(&r), "#".parse().ok());
    }

    #[test]
    fn other_bodies_and_long_values_are_no_digit() {
        assert_eq!(dtmf_relay_digit(&info("text/plain", "5")), None);
        assert_eq!(
            dtmf_relay_digit(&info("application/dtmf-relay", "Signal=12")),
            None
        );
        assert_eq!(
            dtmf_relay_digit(&info("application/dtmf-relay", "Signal=x")),
            None
        );
    }
}
