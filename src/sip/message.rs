//! Parsing and building SIP messages on top of `rsip`: what rsip leaves to its users.
//!
//! rsip parses the grammar; this module adds what a server needs before it can trust a message:
//! compact header names (RFC 3261 §7.3.3), the mandatory headers of §8.1.1, and responses built per
//! §8.2.6. It also answers messages rsip cannot parse, from their raw text, so that a malformed
//! request still gets its 400 (or 501 for an unknown method) when the headers needed to route a
//! response are readable.

use crate::sip::validate::Refusal;
use rsip::prelude::*;
use rsip::{Header, Headers, Method, Request, Response, SipMessage, StatusCode};

/// Our `Server`/`User-Agent` header value.
/// No version: the `Server` header would tell every scanner which release to attack.
pub const PRODUCT: &str = "Hotline";

/// Methods this server implements (the `Allow` header of every 200 and 405).
pub const ALLOWED_METHODS: &str = "INVITE, ACK, CANCEL, BYE, OPTIONS";

/// Methods an answered call takes inside its dialog, for the `Allow` of the 200 that answers
/// its INVITE (§13.3.1.4): besides the above, INFO (keys) and REFER (a technician's transfer,
/// RFC 3515; refused with 403 until the conversation, as §2.4.2 allows).
pub const DIALOG_METHODS: &str = "INVITE, ACK, CANCEL, BYE, OPTIONS, INFO, REFER";

/// Why a datagram or stream frame is not a SIP message we can act on.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum MessageError {
    #[error("not valid UTF-8 in the start line or headers")]
    NotUtf8,
    #[error("unparsable SIP message: {0}")]
    Syntax(String),
    #[error("missing mandatory header `{0}`")]
    MissingHeader(&'static str),
    #[error("invalid `{header}` header: {reason}")]
    InvalidHeader {
        header: &'static str,
        reason: String,
    },
    #[error("Content-Length {declared} but the body has {actual} bytes")]
    BodyLength { declared: usize, actual: usize },
}

/// Compact header forms (RFC 3261 §7.3.3 and §20), which rsip does not know.
const COMPACT_FORMS: &[(&str, &str)] = &[
    ("i", "Call-ID"),
    ("m", "Contact"),
    ("e", "Content-Encoding"),
    ("l", "Content-Length"),
    ("c", "Content-Type"),
    ("f", "From"),
    ("s", "Subject"),
    ("k", "Supported"),
    ("t", "To"),
    ("v", "Via"),
];

/// Splits raw bytes into the header part (start line + headers) and the body.
fn split_head(raw: &[u8]) -> (&[u8], &[u8]) {
    match raw.windows(4).position(|w| w == b"\r\n\r\n") {
        Some(i) => (&raw[..i + 2], &raw[i + 4..]),
        None => (raw, &[]),
    }
}

/// Rewrites the head of a message: compact names expanded, folded lines (§7.3.1) unfolded, and
/// comma-separated Via values split so the topmost Via is a header of its own.
fn normalise_head(head: &str) -> String {
    let mut lines: Vec<String> = Vec::new();
    for line in head.split("\r\n") {
        if (line.starts_with(' ') || line.starts_with('\t')) && !lines.is_empty() {
            let last = lines.last_mut().expect("checked non-empty");
            last.push(' ');
            last.push_str(line.trim());
            continue;
        }
        lines.push(line.to_string());
    }
    let mut out = String::with_capacity(head.len() + 64);
    for (n, line) in lines.iter().enumerate() {
        if line.is_empty() {
            continue;
        }
        if n == 0 {
            out.push_str(line);
            out.push_str("\r\n");
            continue;
        }
        let Some((name, value)) = line.split_once(':') else {
            out.push_str(line);
            out.push_str("\r\n");
            continue;
        };
        let name = name.trim();
        let value = value.trim();
        let long = COMPACT_FORMS
            .iter()
            .find(|(short, _)| short.eq_ignore_ascii_case(name))
            .map(|(_, long)| *long)
            .unwrap_or(name);
        if long.eq_ignore_ascii_case("Via") {
            for part in split_outside_quotes(value) {
                out.push_str("Via: ");
                out.push_str(&tighten(&collapse_around_slash(part.trim())));
                out.push_str("\r\n");
            }
        } else if ["From", "To", "Contact"]
            .iter()
            .any(|h| h.eq_ignore_ascii_case(long))
        {
            out.push_str(long);
            out.push_str(": ");
            out.push_str(&tighten(value));
            out.push_str("\r\n");
        } else {
            out.push_str(long);
            out.push_str(": ");
            out.push_str(value);
            out.push_str("\r\n");
        }
    }
    out
}

/// `SIP / 2.0 / UDP` → `SIP/2.0/UDP`: §25.1 allows LWS around the slashes of a Via's
/// sent-protocol (RFC 4475 wsinv); rsip does not.
fn collapse_around_slash(via: &str) -> String {
    let mut out = String::with_capacity(via.len());
    let mut chars = via.chars().peekable();
    while let Some(c) = chars.next() {
        if c.is_whitespace() {
            let mut run = String::from(c);
            while let Some(&n) = chars.peek().filter(|n| n.is_whitespace()) {
                run.push(n);
                chars.next();
            }
            if out.ends_with('/') || chars.peek() == Some(&'/') {
                continue;
            }
            out.push_str(&run);
        } else {
            out.push(c);
        }
    }
    out
}

/// Removes the LWS §25.1 allows around `;` and `=` of header parameters (`;   tag    = 1`),
/// outside quoted strings; rsip reads parameters only in their tight form.
fn tighten(value: &str) -> String {
    let mut out = String::with_capacity(value.len());
    let (mut quoted, mut escaped) = (false, false);
    let mut chars = value.chars().peekable();
    while let Some(c) = chars.next() {
        if quoted {
            out.push(c);
            match c {
                _ if escaped => escaped = false,
                '\\' => escaped = true,
                '"' => quoted = false,
                _ => {}
            }
            continue;
        }
        match c {
            '"' => {
                quoted = true;
                out.push(c);
            }
            ';' | '=' => {
                while out.ends_with([' ', '\t']) {
                    out.pop();
                }
                out.push(c);
                while chars.peek().is_some_and(|n| *n == ' ' || *n == '\t') {
                    chars.next();
                }
            }
            _ => out.push(c),
        }
    }
    out
}

/// Adjusts a normalised request head where rsip refuses what RFC 3261 allows:
/// - a `;` in the Request-URI's user part (RFC 4475 semiuri) is escaped as `%3B`, which rsip
///   reads; we never route on the user part, so the meaning is kept;
/// - a top Via without `branch` (an RFC 2543 client, RFC 4475 inv2543 and longreq) gets one
///   derived from the fields §17.2.3 matches such requests by (Request-URI, From, Call-ID,
///   CSeq number, top Via), so its retransmissions, ACK and CANCEL find the same transaction.
fn prepare_for_rsip(head: &str) -> String {
    let mut lines: Vec<String> = head.split("\r\n").map(str::to_string).collect();
    let Some(start) = lines.first().cloned() else {
        return head.to_string();
    };
    if start.starts_with("SIP/") {
        return head.to_string();
    }
    let parts: Vec<&str> = start.split(' ').collect();
    let uri = parts.get(1).copied().unwrap_or_default();
    if let (Some((scheme, rest)), [method, _, version]) = (uri.split_once(':'), &parts[..]) {
        if let Some(at) = rest.rfind('@') {
            let (user, host) = rest.split_at(at);
            if user.contains(';') {
                lines[0] = format!(
                    "{method} {scheme}:{}{host} {version}",
                    user.replace(';', "%3B")
                );
            }
        }
    }
    let field = |name: &str| {
        lines
            .iter()
            .skip(1)
            .find_map(|l| {
                let (n, v) = l.split_once(':')?;
                n.trim()
                    .eq_ignore_ascii_case(name)
                    .then(|| v.trim().to_string())
            })
            .unwrap_or_default()
    };
    let cseq_number = field("CSeq")
        .split_whitespace()
        .next()
        .unwrap_or_default()
        .to_string();
    let key = [
        uri.to_string(),
        field("From"),
        field("Call-ID"),
        cseq_number,
    ];
    if let Some(via) = lines.iter_mut().skip(1).find(|l| l.starts_with("Via: ")) {
        if !via.to_ascii_lowercase().contains(";branch=") {
            use std::hash::{Hash, Hasher};
            let mut hasher = std::collections::hash_map::DefaultHasher::new();
            (&key, via.as_str()).hash(&mut hasher);
            via.push_str(&format!(";branch=rfc2543-{:016x}", hasher.finish()));
        }
    }
    lines.join("\r\n")
}

/// Splits a header value on commas that are not inside quotes or angle brackets.
fn split_outside_quotes(value: &str) -> Vec<&str> {
    let mut parts = Vec::new();
    let (mut quoted, mut angle, mut start) = (false, false, 0);
    for (i, c) in value.char_indices() {
        match c {
            '"' => quoted = !quoted,
            '<' if !quoted => angle = true,
            '>' if !quoted => angle = false,
            ',' if !quoted && !angle => {
                parts.push(&value[start..i]);
                start = i + 1;
            }
            _ => {}
        }
    }
    parts.push(&value[start..]);
    parts.into_iter().filter(|p| !p.trim().is_empty()).collect()
}

/// Parses one complete SIP message (a UDP datagram or one framed TCP message) and checks the
/// headers every transaction needs, so later layers can rely on them.
pub fn parse(raw: &[u8]) -> Result<SipMessage, MessageError> {
    let (head, body) = split_head(raw);
    let head = std::str::from_utf8(head).map_err(|_| MessageError::NotUtf8)?;
    let mut normalised = prepare_for_rsip(&normalise_head(head)).into_bytes();
    normalised.extend_from_slice(b"\r\n");
    let declared = content_length_of(head)?;
    let body = match declared {
        // §18.3: over a datagram transport, bytes past Content-Length are discarded; a body
        // shorter than declared is an error.
        Some(n) if n > body.len() => {
            return Err(MessageError::BodyLength {
                declared: n,
                actual: body.len(),
            })
        }
        Some(n) => &body[..n],
        None => body,
    };
    normalised.extend_from_slice(body);
    let message = SipMessage::try_from(normalised.as_slice())
        .map_err(|e| MessageError::Syntax(e.to_string()))?;
    check_mandatory(&message)?;
    Ok(message)
}

fn content_length_of(head: &str) -> Result<Option<usize>, MessageError> {
    for line in head.split("\r\n").skip(1) {
        if let Some((name, value)) = line.split_once(':') {
            let name = name.trim();
            if name.eq_ignore_ascii_case("Content-Length") || name.eq_ignore_ascii_case("l") {
                return value
                    .trim()
                    .parse()
                    .map(Some)
                    .map_err(|_| MessageError::InvalidHeader {
                        header: "Content-Length",
                        reason: format!("`{}` is not a number", value.trim()),
                    });
            }
        }
    }
    Ok(None)
}

fn check_mandatory(message: &SipMessage) -> Result<(), MessageError> {
    let invalid = |header: &'static str| {
        move |e: rsip::Error| MessageError::InvalidHeader {
            header,
            reason: e.to_string(),
        }
    };
    let via = message
        .via_header()
        .map_err(|_| MessageError::MissingHeader("Via"))?;
    let via = via.typed().map_err(invalid("Via"))?;
    if message.is_request() && via.branch().is_none() {
        return Err(MessageError::InvalidHeader {
            header: "Via",
            reason: "no branch parameter".into(),
        });
    }
    message
        .from_header()
        .map_err(|_| MessageError::MissingHeader("From"))?
        .typed()
        .map_err(invalid("From"))?;
    message
        .to_header()
        .map_err(|_| MessageError::MissingHeader("To"))?
        .typed()
        .map_err(invalid("To"))?;
    message
        .call_id_header()
        .map_err(|_| MessageError::MissingHeader("Call-ID"))?;
    let cseq = message
        .cseq_header()
        .map_err(|_| MessageError::MissingHeader("CSeq"))?
        .typed()
        .map_err(invalid("CSeq"))?;
    if let SipMessage::Request(request) = message {
        if cseq.method != request.method {
            return Err(MessageError::InvalidHeader {
                header: "CSeq",
                reason: format!(
                    "method {} does not match the request's {}",
                    cseq.method, request.method
                ),
            });
        }
    }
    Ok(())
}

/// Builds a response to `request` per RFC 3261 §8.2.6: Via (all, in order), From, To, Call-ID and
/// CSeq copied, a To tag added when the request had none and one is given.
pub fn response(request: &Request, status: StatusCode, to_tag: Option<&str>) -> Response {
    let mut headers = Headers::default();
    for header in request.headers.iter() {
        match header {
            Header::Via(_) | Header::From(_) | Header::CallId(_) | Header::CSeq(_) => {
                headers.push(header.clone())
            }
            Header::To(to) => {
                let with_tag = match (to.typed(), to_tag) {
                    (Ok(typed), Some(tag)) if typed.tag().is_none() => {
                        Header::To(typed.with_tag(tag.into()).into())
                    }
                    _ => header.clone(),
                };
                headers.push(with_tag);
            }
            _ => {}
        }
    }
    headers.push(Header::Server(PRODUCT.into()));
    headers.push(Header::ContentLength(0.into()));
    Response {
        status_code: status,
        version: rsip::Version::V2,
        headers,
        body: Vec::new(),
    }
}

/// A Warning header (§20.43) with code 399 (miscellaneous) and `text` as a quoted string: why
/// a request was refused, in words a phone can show or log.
pub fn warning(text: &str) -> Header {
    // A quoted-string cannot hold a bare `"` or `\`, nor line breaks.
    let text: String = text
        .chars()
        .map(|c| match c {
            '"' => '\'',
            '\\' => '/',
            c if c.is_control() => ' ',
            c => c,
        })
        .collect();
    Header::Warning(format!("399 {} \"{text}\"", PRODUCT.to_lowercase()).into())
}

/// 503 with Retry-After for a new call over the admission limits (§21.5.4).
pub fn over_limits(request: &Request, refused: &crate::sip::admission::Refused) -> Response {
    let tag = crate::sip::dialog::random_token();
    let mut r = response(request, StatusCode::ServiceUnavailable, Some(&tag));
    r.headers.push(Header::RetryAfter(
        refused.retry_after_secs().to_string().into(),
    ));
    r
}

/// Sets a body and its Content-Type/Content-Length on a message's headers.
pub fn set_body(headers: &mut Headers, body: &mut Vec<u8>, content_type: &str, content: Vec<u8>) {
    headers.retain(|h| !matches!(h, Header::ContentLength(_) | Header::ContentType(_)));
    headers.push(Header::ContentType(content_type.into()));
    headers.push(Header::ContentLength((content.len() as u32).into()));
    *body = content;
}

/// The value of the first header named `name` (case-insensitive), for headers rsip keeps as
/// `Other` (e.g. `Allow`, `Supported` and extension headers) or that it types.
pub fn header_value(headers: &Headers, name: &str) -> Option<String> {
    headers.iter().find_map(|h| {
        let text = h.to_string();
        let (n, v) = text.split_once(':')?;
        n.trim()
            .eq_ignore_ascii_case(name)
            .then(|| v.trim().to_string())
    })
}

/// The method of a request rsip could not parse, when its start line is otherwise well formed.
fn raw_request_method(head: &str) -> Option<&str> {
    let line = head.split("\r\n").next()?;
    let mut parts = line.split(' ');
    let method = parts.next()?;
    let _uri = parts.next()?;
    let version = parts.next()?;
    (version == "SIP/2.0" && !method.is_empty() && method.bytes().all(|b| b.is_ascii_alphabetic()))
        .then_some(method)
}

/// A response for a request that failed to parse, built from its raw header lines: 501 for a
/// well-formed request with a method we do not know, 400 otherwise. `None` when the message is a
/// response, or lacks what a response needs (Via, From, To, Call-ID, CSeq): such a message can
/// only be dropped (§16.3, §18.1.2).
pub fn raw_error_response(raw: &[u8], error: &MessageError) -> Option<Vec<u8>> {
    let head = normalised_head(raw);
    let known = raw_request_method(&head).map(|m| m.parse::<Method>().is_ok());
    let refusal = match known {
        Some(false) => Refusal {
            status: 501,
            reason: "Not Implemented".into(),
            headers: vec![("Allow", ALLOWED_METHODS.into())],
        },
        _ => Refusal {
            status: 400,
            reason: reason_phrase(error),
            headers: vec![],
        },
    };
    raw_response(raw, &refusal)
}

/// The start line and headers of a raw message, unfolded and with compact names expanded, as
/// [`crate::sip::validate::check_raw`] reads them.
pub fn normalised_head(raw: &[u8]) -> String {
    let (head, _) = split_head(raw);
    normalise_head(&String::from_utf8_lossy(head))
}

/// A response to a raw request (one rsip may not be able to parse) per §8.2.6: the Via, From,
/// To, Call-ID and CSeq lines copied as they came, a To tag added when there was none, and the
/// refusal's status, reason and headers. `None` for a response, or when a header a response
/// needs is missing: then the message can only be dropped (§18.1.2).
pub fn raw_response(raw: &[u8], refusal: &Refusal) -> Option<Vec<u8>> {
    let head = normalised_head(raw);
    let first = head.split("\r\n").next()?;
    if first.starts_with("SIP/") {
        return None;
    }
    let mut copied = String::new();
    let mut seen = [false; 5];
    for line in head.split("\r\n").skip(1) {
        let Some((name, _)) = line.split_once(':') else {
            continue;
        };
        let name = name.trim();
        for (i, wanted) in ["Via", "From", "To", "Call-ID", "CSeq"].iter().enumerate() {
            if name.eq_ignore_ascii_case(wanted) {
                seen[i] = true;
                copied.push_str(line);
                let compact: String = line.chars().filter(|c| !c.is_whitespace()).collect();
                if *wanted == "To" && !compact.to_ascii_lowercase().contains(";tag=") {
                    // §8.2.6.2: a response outside a dialog carries our tag.
                    copied.push_str(";tag=");
                    copied.push_str(&crate::sip::dialog::random_token());
                }
                copied.push_str("\r\n");
            }
        }
    }
    if seen.iter().any(|s| !s) {
        return None;
    }
    let reason: String = refusal
        .reason
        .chars()
        .filter(|c| *c != '\r' && *c != '\n')
        .collect();
    let mut extra = String::new();
    for (name, value) in &refusal.headers {
        extra.push_str(&format!("{name}: {value}\r\n"));
    }
    Some(
        format!(
            "SIP/2.0 {} {reason}\r\n{copied}Server: {PRODUCT}\r\n{extra}Content-Length: 0\r\n\r\n",
            refusal.status
        )
        .into_bytes(),
    )
}

/// A message as bytes on the wire. rsip writes the reason phrase of a response as its enum
/// variant's name (`405 MethodNotAllowed`); this writes the phrase RFC 3261 §21 gives.
pub fn encode(message: &SipMessage) -> Vec<u8> {
    let text = message.to_string();
    let SipMessage::Response(response) = message else {
        return text.into_bytes();
    };
    let Some(phrase) = rfc_reason_phrase(response.status_code.code()) else {
        return text.into_bytes();
    };
    if matches!(response.status_code, StatusCode::Other(..)) {
        return text.into_bytes();
    }
    let rest = text.split_once("\r\n").map_or("", |(_, rest)| rest);
    format!("SIP/2.0 {} {phrase}\r\n{rest}", response.status_code.code()).into_bytes()
}

/// The reason phrases of RFC 3261 §21 (and RFC 3261's successors for the few we send).
pub(crate) fn rfc_reason_phrase(code: u16) -> Option<&'static str> {
    Some(match code {
        100 => "Trying",
        180 => "Ringing",
        181 => "Call Is Being Forwarded",
        182 => "Queued",
        183 => "Session Progress",
        200 => "OK",
        202 => "Accepted",
        300 => "Multiple Choices",
        301 => "Moved Permanently",
        302 => "Moved Temporarily",
        305 => "Use Proxy",
        380 => "Alternative Service",
        400 => "Bad Request",
        401 => "Unauthorized",
        402 => "Payment Required",
        403 => "Forbidden",
        404 => "Not Found",
        405 => "Method Not Allowed",
        406 => "Not Acceptable",
        407 => "Proxy Authentication Required",
        408 => "Request Timeout",
        410 => "Gone",
        413 => "Request Entity Too Large",
        414 => "Request-URI Too Long",
        415 => "Unsupported Media Type",
        416 => "Unsupported URI Scheme",
        420 => "Bad Extension",
        421 => "Extension Required",
        423 => "Interval Too Brief",
        480 => "Temporarily Unavailable",
        481 => "Call/Transaction Does Not Exist",
        482 => "Loop Detected",
        483 => "Too Many Hops",
        484 => "Address Incomplete",
        485 => "Ambiguous",
        486 => "Busy Here",
        487 => "Request Terminated",
        488 => "Not Acceptable Here",
        491 => "Request Pending",
        493 => "Undecipherable",
        500 => "Server Internal Error",
        501 => "Not Implemented",
        502 => "Bad Gateway",
        503 => "Service Unavailable",
        504 => "Server Time-out",
        505 => "Version Not Supported",
        513 => "Message Too Large",
        600 => "Busy Everywhere",
        603 => "Decline",
        604 => "Does Not Exist Anywhere",
        606 => "Not Acceptable",
        _ => return None,
    })
}

/// A reason phrase that tells the sender what was wrong (§21.4.1 lets us choose it).
fn reason_phrase(error: &MessageError) -> String {
    let text = match error {
        MessageError::MissingHeader(h) => format!("Missing {h} Header"),
        MessageError::InvalidHeader { header, .. } => format!("Invalid {header} Header"),
        MessageError::BodyLength { .. } => "Content-Length Mismatch".into(),
        _ => "Bad Request".into(),
    };
    text.chars().filter(|c| *c != '\r' && *c != '\n').collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    const INVITE: &str = "INVITE sip:helpdesk@127.0.0.1 SIP/2.0\r\n\
        v: SIP/2.0/UDP 127.0.0.1:5070;branch=z9hG4bK-1;rport\r\n\
        Max-Forwards: 70\r\n\
        f: \"Alice\" <sip:alice@127.0.0.1>;tag=a1\r\n\
        t: <sip:helpdesk@127.0.0.1>\r\n\
        i: call-1@127.0.0.1\r\n\
        CSeq: 1 INVITE\r\n\
        m: <sip:alice@127.0.0.1:5070>\r\n\
        c: application/sdp\r\n\
        l: 4\r\n\r\nv=0\r\nextra";

    #[test]
    fn compact_headers_are_expanded_and_body_cut_at_content_length() {
        let SipMessage::Request(req) = parse(INVITE.as_bytes()).unwrap() else {
            panic!("not a request")
        };
        assert_eq!(req.method, Method::Invite);
        assert_eq!(req.call_id_header().unwrap().value(), "call-1@127.0.0.1");
        assert_eq!(req.body, b"v=0\r");
    }

    #[test]
    fn comma_separated_vias_become_separate_headers() {
        let raw = INVITE.replace(
            "v: SIP/2.0/UDP 127.0.0.1:5070;branch=z9hG4bK-1;rport",
            "Via: SIP/2.0/UDP 127.0.0.1:5070;branch=z9hG4bK-1, SIP/2.0/UDP 10.0.0.1;branch=z9hG4bK-0",
        );
        let msg = parse(raw.as_bytes()).unwrap();
        let vias: Vec<_> = msg
            .headers()
            .iter()
            .filter(|h| matches!(h, Header::Via(_)))
            .collect();
        assert_eq!(vias.len(), 2);
    }

    #[test]
    fn missing_call_id_is_named() {
        let raw = INVITE.replace("i: call-1@127.0.0.1\r\n", "");
        assert_eq!(
            parse(raw.as_bytes()).unwrap_err(),
            MessageError::MissingHeader("Call-ID")
        );
    }

    #[test]
    fn cseq_method_mismatch_is_rejected() {
        let raw = INVITE.replace("CSeq: 1 INVITE", "CSeq: 1 BYE");
        assert!(matches!(
            parse(raw.as_bytes()).unwrap_err(),
            MessageError::InvalidHeader { header: "CSeq", .. }
        ));
    }

    #[test]
    fn short_body_is_an_error() {
        let raw = INVITE.replace("l: 4", "l: 400");
        assert!(matches!(
            parse(raw.as_bytes()).unwrap_err(),
            MessageError::BodyLength { declared: 400, .. }
        ));
    }

    #[test]
    fn response_copies_dialog_headers_and_adds_to_tag() {
        let SipMessage::Request(req) = parse(INVITE.as_bytes()).unwrap() else {
            panic!()
        };
        let resp = response(&req, StatusCode::OK, Some("srv1"));
        let text = resp.to_string();
        assert!(text.starts_with("SIP/2.0 200 OK\r\n"));
        assert!(text.contains("Via: SIP/2.0/UDP 127.0.0.1:5070;branch=z9hG4bK-1;rport"));
        assert!(text.contains("tag=srv1"));
        assert!(text.contains("CSeq: 1 INVITE"));
    }

    #[test]
    fn unknown_method_gets_501_from_raw_text() {
        let raw = INVITE
            .replace("INVITE sip:", "FROBNICATE sip:")
            .replace("CSeq: 1 INVITE", "CSeq: 1 FROBNICATE");
        let err = parse(raw.as_bytes()).unwrap_err();
        let resp = raw_error_response(raw.as_bytes(), &err).unwrap();
        let text = String::from_utf8(resp).unwrap();
        assert!(
            text.starts_with("SIP/2.0 501 Not Implemented\r\n"),
            "{text}"
        );
        assert!(text.contains("Call-ID: call-1@127.0.0.1"));
    }

    #[test]
    fn garbage_without_headers_is_dropped_not_answered() {
        let err = parse(b"\x00\x01hello").unwrap_err();
        assert_eq!(raw_error_response(b"\x00\x01hello", &err), None);
    }

    #[test]
    fn responses_are_never_answered() {
        let raw = b"SIP/2.0 200 OK\r\nVia: x\r\n\r\n";
        assert_eq!(
            raw_error_response(raw, &MessageError::Syntax("x".into())),
            None
        );
    }
}
