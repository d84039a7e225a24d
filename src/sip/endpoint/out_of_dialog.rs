//! The policy for requests that no dialog of ours claims: what Hotline answers by itself, and
//! what it hands to the layer above (REGISTER, once a registrar is wired).

use crate::sip::admission::{AdmissionControl, Permit};
use crate::sip::dialog::random_token;
use crate::sip::message::{self, ALLOWED_METHODS};
use rsip::prelude::*;
use rsip::{Header, Method, Request, Response, StatusCode};
use std::net::SocketAddr;
use std::time::Instant;

/// What to do with a request outside any known dialog (CANCEL and ACK are matched to
/// transactions before this policy is asked).
#[derive(Debug, Clone, PartialEq)]
pub enum Disposition {
    /// Answer at once with this final response.
    Answer(Response),
    /// Hand the request to the transaction user, which answers it through its transaction.
    HandUp,
}

/// The `Allow` header value (§20.5): REGISTER only when a registrar is there to take it, so a
/// phone never reads that we accept what we then refuse.
pub fn allowed_methods(register: bool) -> String {
    if register {
        format!("{ALLOWED_METHODS}, REGISTER")
    } else {
        ALLOWED_METHODS.to_string()
    }
}

/// Decides for a request that matched no transaction and no dialog. `register` says whether a
/// registrar consumes REGISTER.
pub fn outside_dialog(request: &Request, register: bool) -> Disposition {
    let in_dialog = request
        .to_header()
        .ok()
        .and_then(|t| t.tag().ok().flatten())
        .is_some();
    match request.method {
        Method::Options => Disposition::Answer(options_ok(request, register)),
        Method::Register if register => Disposition::HandUp,
        // A BYE or INFO for a dialog we do not have (or no longer have): §12.2.2.
        Method::Bye => Disposition::Answer(no_such_dialog(request)),
        Method::Info | Method::Refer if in_dialog => Disposition::Answer(no_such_dialog(request)),
        _ => Disposition::Answer(method_not_allowed(request, register)),
    }
}

/// 200 to OPTIONS (§11.2): what we allow and that we take SDP.
pub fn options_ok(request: &Request, register: bool) -> Response {
    let mut r = message::response(request, StatusCode::OK, Some(&random_token()));
    r.headers
        .push(Header::Other("Allow".into(), allowed_methods(register)));
    r.headers
        .push(Header::Other("Accept".into(), "application/sdp".into()));
    r.headers
        .push(Header::Other("Supported".into(), String::new()));
    r
}

/// 405 with the `Allow` header §21.4.6 requires.
pub fn method_not_allowed(request: &Request, register: bool) -> Response {
    let mut r = message::response(request, StatusCode::MethodNotAllowed, Some(&random_token()));
    r.headers
        .push(Header::Other("Allow".into(), allowed_methods(register)));
    r
}

/// Admission of a new INVITE outside any dialog (docs/sip.md, "Admission control"): its
/// permit, held by the dialog until it ends, or the 503 + Retry-After refusing it.
pub fn admit_new_call(
    admission: Option<&AdmissionControl>,
    invite: &Request,
    source: SocketAddr,
    now: Instant,
) -> Result<Option<Permit>, Response> {
    let Some(admission) = admission else {
        return Ok(None);
    };
    admission
        .admit_at(source.ip(), now)
        .map(Some)
        .map_err(|refused| message::over_limits(invite, &refused))
}

/// 481: the request names a dialog or transaction we do not have.
pub fn no_such_dialog(request: &Request) -> Response {
    message::response(request, StatusCode::CallTransactionDoesNotExist, None)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::sip::message;

    fn request(method: &str, to_tag: bool) -> Request {
        let tag = if to_tag { ";tag=x" } else { "" };
        let raw = format!(
            "{method} sip:hd@127.0.0.1 SIP/2.0\r\nVia: SIP/2.0/UDP 127.0.0.1:5070;branch=z9hG4bK-o\r\n\
             From: <sip:a@x>;tag=1\r\nTo: <sip:hd@127.0.0.1>{tag}\r\nCall-ID: o1\r\nCSeq: 1 {method}\r\n\
             Content-Length: 0\r\n\r\n"
        );
        match message::parse(raw.as_bytes()).unwrap() {
            rsip::SipMessage::Request(r) => r,
            _ => unreachable!(),
        }
    }

    fn answer(d: Disposition) -> Response {
        match d {
            Disposition::Answer(r) => r,
            Disposition::HandUp => panic!("handed up"),
        }
    }

    #[test]
    fn options_is_answered_with_allow_and_accept() {
        let r = answer(outside_dialog(&request("OPTIONS", false), false));
        assert_eq!(r.status_code, StatusCode::OK);
        let text = r.to_string();
        assert!(
            text.contains("Allow: INVITE, ACK, CANCEL, BYE, OPTIONS\r\n"),
            "{text}"
        );
        assert!(text.contains("Accept: application/sdp"), "{text}");
    }

    #[test]
    fn a_new_call_over_the_limits_gets_503_with_retry_after() {
        let limits = crate::sip::limits::Limits {
            max_calls_per_source: 1,
            ..Default::default()
        };
        let admission = AdmissionControl::new(limits);
        let invite = request("INVITE", false);
        let source: SocketAddr = "127.0.0.2:5060".parse().unwrap();
        let now = Instant::now();
        let permit = admit_new_call(Some(&admission), &invite, source, now).unwrap();
        assert!(permit.is_some());
        let refused = admit_new_call(Some(&admission), &invite, source, now).unwrap_err();
        assert_eq!(refused.status_code.code(), 503);
        assert_eq!(
            message::header_value(&refused.headers, "Retry-After").as_deref(),
            Some("30")
        );
        drop(permit);
        assert!(admit_new_call(Some(&admission), &invite, source, now).is_ok());
    }

    #[test]
    fn stray_bye_and_in_dialog_info_get_481() {
        for (method, tag) in [("BYE", true), ("BYE", false), ("INFO", true)] {
            let r = answer(outside_dialog(&request(method, tag), false));
            assert_eq!(r.status_code.code(), 481, "{method}");
        }
    }

    #[test]
    fn register_gets_405_without_a_registrar_and_is_handed_up_with_one() {
        let register = request("REGISTER", false);
        let r = answer(outside_dialog(&register, false));
        assert_eq!(r.status_code.code(), 405);
        let allow = message::header_value(&r.headers, "Allow").unwrap();
        assert_eq!(
            allow, "INVITE, ACK, CANCEL, BYE, OPTIONS",
            "Allow stays honest"
        );
        assert_eq!(outside_dialog(&register, true), Disposition::HandUp);
    }

    #[test]
    fn subscribe_and_message_stay_405_even_with_a_registrar() {
        for method in ["SUBSCRIBE", "MESSAGE"] {
            let r = answer(outside_dialog(&request(method, false), true));
            assert_eq!(r.status_code.code(), 405);
            assert!(r
                .to_string()
                .contains("Allow: INVITE, ACK, CANCEL, BYE, OPTIONS, REGISTER"));
        }
    }
}
