//! Sans-IO checks that decide whether a request is refused before anything acts on it, and with
//! which status (RFC 3261 §8.2, RFC 4475's torture messages).
//!
//! Two passes. [`check_raw`] reads the raw head before rsip does: some faults make rsip fail
//! (a bad version, an unknown method with unusual characters, a URI scheme it does not know) and
//! the status they deserve (505, 501, 416) would be lost behind a generic 400; others are faults
//! rsip forgives (a second `To`, two `Content-Length`s, an unterminated quote) that must not
//! become calls. [`check_request`] then looks at a parsed request for what an endpoint does not
//! support (`Require`, a body that is not SDP, an `Accept` that excludes SDP).

use rsip::{Method, Request};

/// Why a request is refused: the status, the reason phrase sent with it (naming the fault for a
/// 400, RFC 3261 §21.4.1 lets us choose it), and headers the RFC asks for with that status.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Refusal {
    pub status: u16,
    pub reason: String,
    pub headers: Vec<(&'static str, String)>,
}

impl Refusal {
    fn new(status: u16, reason: impl Into<String>) -> Refusal {
        Refusal {
            status,
            reason: reason.into(),
            headers: Vec::new(),
        }
    }

    fn with(mut self, name: &'static str, value: impl Into<String>) -> Refusal {
        self.headers.push((name, value.into()));
        self
    }
}

/// Headers that may appear once only (RFC 3261 §7.3.1: only comma-list headers may repeat).
const SINGLE_VALUED: &[&str] = &[
    "Call-ID",
    "CSeq",
    "From",
    "To",
    "Max-Forwards",
    "Content-Length",
    "Content-Type",
];

/// Headers whose display names may be quoted: an odd number of unescaped quotes is a fault.
const WITH_DISPLAY_NAMES: &[&str] = &["From", "To", "Contact", "Reply-To"];

/// Request-URI schemes we can act on (§19.1; `tel` goes through a gateway we are not).
const SCHEMES: &[&str] = &["sip", "sips"];

/// The `token` characters of RFC 3261 §25.1, which a method name is made of.
fn is_token(s: &str) -> bool {
    !s.is_empty()
        && s.bytes()
            .all(|b| b.is_ascii_alphanumeric() || b"-.!%*_+`'~".contains(&b))
}

/// Checks a request's raw head (start line and headers, already unfolded and with compact
/// names expanded). `None` for responses and for requests that pass.
pub fn check_raw(head: &str) -> Option<Refusal> {
    let mut lines = head.split("\r\n");
    let start = lines.next()?;
    if start.starts_with("SIP/") {
        return None;
    }
    let parts: Vec<&str> = start.split(' ').collect();
    // The version is read first, wherever it is: a request from SIP/7.0 deserves 505 (§8.2.2.1
    // leaves the rest unread), even when its other fields look odd to a 2.0 parser.
    if let Some(version) = parts
        .last()
        // Bytes, not a `str` slice: byte 4 may fall inside a non-ASCII character (cargo-fuzz
        // found `SIP\xB72.0`, whose replacement character spans bytes 3..6).
        .filter(|v| v.len() > 4 && v.as_bytes()[..4].eq_ignore_ascii_case(b"SIP/"))
    {
        if *version != "SIP/2.0" {
            return Some(Refusal::new(505, "Version Not Supported"));
        }
    }
    let [method, uri, _version] = parts[..] else {
        return Some(Refusal::new(400, "Malformed Request-Line"));
    };
    if !is_token(method) || uri.is_empty() || uri.starts_with('<') {
        return Some(Refusal::new(400, "Malformed Request-Line"));
    }

    let mut counts = [0usize; SINGLE_VALUED.len()];
    let mut cseq_method = None;
    for line in lines {
        let Some((name, value)) = line.split_once(':') else {
            continue;
        };
        let (name, value) = (name.trim(), value.trim());
        if let Some(i) = SINGLE_VALUED
            .iter()
            .position(|h| h.eq_ignore_ascii_case(name))
        {
            counts[i] += 1;
            if counts[i] > 1 {
                return Some(Refusal::new(
                    400,
                    format!("Multiple {} Headers", SINGLE_VALUED[i]),
                ));
            }
        }
        if let Some(h) = WITH_DISPLAY_NAMES
            .iter()
            .find(|h| h.eq_ignore_ascii_case(name))
        {
            if !quotes_balanced(value) {
                return Some(Refusal::new(
                    400,
                    format!("Unterminated Quote in {h} Header"),
                ));
            }
            if !name_addr_well_formed(value, *h != "Contact") {
                return Some(Refusal::new(400, format!("Invalid {h} Header")));
            }
        }
        if let Some(h) = ["Via", "From", "To", "Contact"]
            .iter()
            .find(|h| h.eq_ignore_ascii_case(name))
        {
            let via_ok = *h != "Via"
                || value
                    .get(..4)
                    .is_some_and(|p| p.eq_ignore_ascii_case("SIP/"));
            if !via_ok || !params_well_formed(value) {
                return Some(Refusal::new(400, format!("Invalid {h} Header")));
            }
        }
        // §20.17: an HTTP-date, always in GMT.
        if name.eq_ignore_ascii_case("Date") && !value.trim_end().ends_with(" GMT") {
            return Some(Refusal::new(400, "Invalid Date Header"));
        }
        if name.eq_ignore_ascii_case("CSeq") {
            cseq_method = value.split_whitespace().nth(1).map(str::to_string);
        }
    }
    if let Some(cseq) = &cseq_method {
        if cseq != method {
            return Some(Refusal::new(400, "CSeq Method Does Not Match Request-Line"));
        }
    }
    // An unknown method is 501 whatever its Request-URI (§8.2.1), so it is looked at first.
    if method.parse::<Method>().is_err() {
        return Some(
            Refusal::new(501, "Not Implemented")
                .with("Allow", crate::sip::message::ALLOWED_METHODS),
        );
    }
    let scheme = uri.split_once(':').map(|(s, _)| s).unwrap_or(uri);
    if !SCHEMES.iter().any(|s| s.eq_ignore_ascii_case(scheme)) {
        return Some(Refusal::new(416, "Unsupported URI Scheme"));
    }
    // §19.1.1: header components are not allowed in a Request-URI. They follow the host; a `?`
    // in the user part (before the last `@`) is legal.
    let host_part = uri.rsplit_once('@').map_or(uri, |(_, host)| host);
    if host_part.contains('?') {
        return Some(Refusal::new(400, "Headers in Request-URI"));
    }
    None
}

/// Whether quotes in a header value pair up (a backslash escapes the next character, §25.1).
fn quotes_balanced(value: &str) -> bool {
    let (mut quoted, mut escaped) = (false, false);
    for c in value.chars() {
        match c {
            _ if escaped => escaped = false,
            '\\' if quoted => escaped = true,
            '"' => quoted = !quoted,
            _ => {}
        }
    }
    !quoted
}

/// The name-addr rules rsip forgives (§25.1): no space just inside `<` and `>` (LAQUOT is
/// `SWS "<"`, RAQUOT is `">" SWS`), and an unquoted display name made of tokens only (a comma
/// there, as in `From: Bell, Alexander <sip:…>`, is not one). `single` when the header holds
/// one value, so a comma cannot separate values.
fn name_addr_well_formed(value: &str, single: bool) -> bool {
    let mut quoted = false;
    let mut escaped = false;
    let mut previous = ' ';
    let mut display = String::new();
    let mut seen_angle = false;
    for c in value.chars() {
        if escaped {
            escaped = false;
        } else if quoted {
            match c {
                '\\' => escaped = true,
                '"' => quoted = false,
                _ => {}
            }
        } else {
            match c {
                '"' => quoted = true,
                '<' => {
                    seen_angle = true;
                    if single && !display.trim().is_empty() && !is_display_tokens(&display) {
                        return false;
                    }
                }
                '>' if previous.is_whitespace() => return false,
                // §20.10: a URI with headers or parameters of its own must be in `<>`.
                '?' if !seen_angle => return false,
                ' ' | '\t' if previous == '<' => return false,
                _ if !seen_angle => display.push(c),
                _ => {}
            }
        }
        previous = c;
    }
    true
}

/// No empty parameter (`;;`, a trailing `;`, `;,`) outside quotes and angle brackets: §25.1's
/// `*( SEMI generic-param )` has a name after every semicolon (RFC 4475 badinv01).
fn params_well_formed(value: &str) -> bool {
    let (mut quoted, mut escaped, mut angle) = (false, false, false);
    let mut previous: Option<char> = None;
    for c in value.chars() {
        if escaped {
            escaped = false;
            continue;
        }
        if quoted {
            match c {
                '\\' => escaped = true,
                '"' => quoted = false,
                _ => {}
            }
            continue;
        }
        match c {
            '"' => quoted = true,
            '<' => angle = true,
            '>' => angle = false,
            _ if angle || c.is_whitespace() => continue,
            ';' | ',' if matches!(previous, None | Some(';') | Some(',')) => return false,
            _ => {}
        }
        previous = Some(c);
    }
    previous != Some(';') && previous != Some(',')
}

/// Whether an unquoted display name is tokens separated by LWS.
fn is_display_tokens(display: &str) -> bool {
    display.split_whitespace().all(is_token)
}

/// Checks a parsed request for what this endpoint does not support. `None` when it can go on.
pub fn check_request(request: &Request) -> Option<Refusal> {
    // §8.2.2.3: ACK and CANCEL never carry requirements we could refuse.
    if matches!(request.method, Method::Ack | Method::Cancel) {
        return None;
    }
    // We support no extension, so every option in Require is unsupported (§8.2.2.3: 420).
    let required: Vec<String> = values(request, "Require")
        .flat_map(|v| {
            v.split(',')
                .map(|o| o.trim().to_string())
                .collect::<Vec<_>>()
        })
        .filter(|o| !o.is_empty())
        .collect();
    if !required.is_empty() {
        return Some(Refusal::new(420, "Bad Extension").with("Unsupported", required.join(", ")));
    }
    if request.method != Method::Invite {
        return None;
    }
    // §8.1.1.8: without a Contact the dialog has no remote target (RFC 2543 allowed that).
    if values(request, "Contact").next().is_none() {
        return Some(Refusal::new(400, "Missing Contact Header"));
    }
    // §8.2.3: a body we cannot read is 415, with Accept saying what we can.
    if !request.body.is_empty() {
        let content_type = values(request, "Content-Type").next().unwrap_or_default();
        if media_type(&content_type) != "application/sdp" {
            return Some(
                Refusal::new(415, "Unsupported Media Type").with("Accept", "application/sdp"),
            );
        }
    }
    // §21.4.7: our answer is SDP; a caller that accepts no SDP cannot read it.
    let accept: Vec<String> = values(request, "Accept")
        .flat_map(|v| v.split(',').map(media_type).collect::<Vec<_>>())
        .collect();
    if !accept.is_empty()
        && !accept
            .iter()
            .any(|t| matches!(t.as_str(), "application/sdp" | "application/*" | "*/*"))
    {
        return Some(Refusal::new(406, "Not Acceptable").with("Accept", "application/sdp"));
    }
    None
}

/// The values of every header called `name` (case-insensitive; rsip keeps unknown ones as text).
fn values<'a>(request: &'a Request, name: &'a str) -> impl Iterator<Item = String> + 'a {
    request.headers.iter().filter_map(move |h| {
        let text = h.to_string();
        let (n, v) = text.split_once(':')?;
        n.trim()
            .eq_ignore_ascii_case(name)
            .then(|| v.trim().to_string())
    })
}

/// `type/subtype` in lower case, without parameters.
fn media_type(value: &str) -> String {
    value
        .split(';')
        .next()
        .unwrap_or_default()
        .trim()
        .to_ascii_lowercase()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn head(start: &str, headers: &[&str]) -> String {
        let mut h = format!("{start}\r\n");
        for line in headers {
            h.push_str(line);
            h.push_str("\r\n");
        }
        h
    }

    const OK: &[&str] = &[
        "Via: SIP/2.0/UDP 192.0.2.1;branch=z9hG4bK1",
        "From: \"A \\\"quoted\\\" name\" <sip:a@example.com>;tag=1",
        "To: <sip:b@example.com>",
        "Call-ID: c1",
        "CSeq: 1 OPTIONS",
    ];

    #[test]
    fn well_formed_request_passes() {
        assert_eq!(
            check_raw(&head("OPTIONS sip:b@example.com SIP/2.0", OK)),
            None
        );
    }

    #[test]
    fn other_sip_version_gets_505() {
        let r = check_raw(&head("OPTIONS sip:b@example.com SIP/7.0", OK)).unwrap();
        assert_eq!(r.status, 505);
    }

    #[test]
    fn unknown_method_gets_501_with_allow() {
        let mut headers = OK.to_vec();
        headers[4] = "CSeq: 1 RE%47IST%45R";
        let r = check_raw(&head("RE%47IST%45R sip:b@example.com SIP/2.0", &headers)).unwrap();
        assert_eq!(r.status, 501);
        assert!(r.headers.iter().any(|(n, _)| *n == "Allow"));
    }

    #[test]
    fn unknown_method_whose_cseq_differs_is_malformed_not_unimplemented() {
        let mut headers = OK.to_vec();
        headers[4] = "CSeq: 1 INVITE";
        let r = check_raw(&head("NEWMETHOD sip:b@example.com SIP/2.0", &headers)).unwrap();
        assert_eq!(r.status, 400);
    }

    #[test]
    fn non_sip_request_uri_gets_416() {
        let r = check_raw(&head("OPTIONS soap.beep://192.0.2.103:3002 SIP/2.0", OK)).unwrap();
        assert_eq!(r.status, 416);
    }

    #[test]
    fn second_to_header_is_named_in_the_400() {
        let mut headers = OK.to_vec();
        headers.push("To: <sip:c@example.net>");
        let r = check_raw(&head("OPTIONS sip:b@example.com SIP/2.0", &headers)).unwrap();
        assert_eq!((r.status, r.reason.as_str()), (400, "Multiple To Headers"));
    }

    #[test]
    fn unterminated_quote_is_named_in_the_400() {
        let mut headers = OK.to_vec();
        headers[2] = "To: \"Mr. J. User <sip:j.user@example.com>";
        let r = check_raw(&head("OPTIONS sip:b@example.com SIP/2.0", &headers)).unwrap();
        assert_eq!(r.reason, "Unterminated Quote in To Header");
    }

    #[test]
    fn extra_spaces_in_the_request_line_are_malformed() {
        let r = check_raw(&head("OPTIONS  sip:b@example.com SIP/2.0", OK)).unwrap();
        assert_eq!(r.status, 400);
        let r = check_raw(&head("OPTIONS <sip:b@example.com> SIP/2.0", OK)).unwrap();
        assert_eq!(r.status, 400);
    }

    #[test]
    fn spaces_inside_angle_brackets_and_a_comma_in_a_bare_display_name_are_refused() {
        let mut headers = OK.to_vec();
        headers[2] = "To: \"Watson, Thomas\" < sip:t.watson@example.org >";
        let r = check_raw(&head("OPTIONS sip:b@example.com SIP/2.0", &headers)).unwrap();
        assert_eq!(r.reason, "Invalid To Header");
        headers[2] = "To: Watson, Thomas <sip:t.watson@example.org>";
        let r = check_raw(&head("OPTIONS sip:b@example.com SIP/2.0", &headers)).unwrap();
        assert_eq!(r.reason, "Invalid To Header");
        headers[2] = "To: caller<sip:caller@example.com>";
        assert_eq!(
            check_raw(&head("OPTIONS sip:b@example.com SIP/2.0", &headers)),
            None
        );
    }

    #[test]
    fn a_date_not_in_gmt_and_headers_in_the_request_uri_are_refused() {
        let mut headers = OK.to_vec();
        headers.push("Date: Fri, 01 Jan 2010 16:00:00 EST");
        let r = check_raw(&head("OPTIONS sip:b@example.com SIP/2.0", &headers)).unwrap();
        assert_eq!(r.reason, "Invalid Date Header");
        let r = check_raw(&head(
            "OPTIONS sip:b@example.com?Route=%3Csip:x%3E SIP/2.0",
            OK,
        ));
        assert_eq!(r.unwrap().reason, "Headers in Request-URI");
        // A `?` in the user part is legal (RFC 4475 intmeth).
        assert_eq!(
            check_raw(&head("OPTIONS sip:crazy?,/@example.com SIP/2.0", OK)),
            None
        );
    }

    #[test]
    fn empty_parameters_are_refused() {
        let mut headers = OK.to_vec();
        headers[0] = "Via: SIP/2.0/UDP 192.0.2.15;;";
        let r = check_raw(&head("OPTIONS sip:b@example.com SIP/2.0", &headers)).unwrap();
        assert_eq!(r.reason, "Invalid Via Header");
        headers[0] = "Via: ;";
        assert_eq!(
            check_raw(&head("OPTIONS sip:b@example.com SIP/2.0", &headers))
                .unwrap()
                .status,
            400
        );
        let mut headers = OK.to_vec();
        headers.push("Contact: \"Joe\" <sip:joe@example.org>;;;;");
        let r = check_raw(&head("OPTIONS sip:b@example.com SIP/2.0", &headers)).unwrap();
        assert_eq!(r.reason, "Invalid Contact Header");
    }

    #[test]
    fn responses_are_not_checked() {
        assert_eq!(check_raw("SIP/2.0 200 OK\r\n"), None);
    }

    fn request(method: &str, extra: &str, body: &str) -> Request {
        let text = format!(
            "{method} sip:b@example.com SIP/2.0\r\n\
             Via: SIP/2.0/UDP 192.0.2.1;branch=z9hG4bK1\r\n\
             From: <sip:a@example.com>;tag=1\r\nTo: <sip:b@example.com>\r\n\
             Call-ID: c1\r\nCSeq: 1 {method}\r\nMax-Forwards: 70\r\n\
             Contact: <sip:a@192.0.2.1>\r\n{extra}\
             Content-Length: {}\r\n\r\n{body}",
            body.len()
        );
        match crate::sip::message::parse(text.as_bytes()).unwrap() {
            rsip::SipMessage::Request(r) => r,
            _ => unreachable!(),
        }
    }

    #[test]
    fn require_gets_420_listing_every_unsupported_option() {
        let r = check_request(&request("OPTIONS", "Require: foo, bar\r\n", "")).unwrap();
        assert_eq!(r.status, 420);
        assert_eq!(r.headers, vec![("Unsupported", "foo, bar".to_string())]);
    }

    #[test]
    fn invite_with_a_body_that_is_not_sdp_gets_415() {
        let req = request(
            "INVITE",
            "Content-Type: application/unknownformat\r\n",
            "xyz",
        );
        let r = check_request(&req).unwrap();
        assert_eq!(r.status, 415);
        assert_eq!(r.headers, vec![("Accept", "application/sdp".to_string())]);
    }

    #[test]
    fn invite_that_accepts_no_sdp_gets_406() {
        let req = request(
            "INVITE",
            "Accept: text/nobodyKnowsThis\r\nContent-Type: application/sdp\r\n",
            "v=0\r\n",
        );
        assert_eq!(check_request(&req).unwrap().status, 406);
    }

    #[test]
    fn a_non_ascii_byte_in_the_version_is_left_to_the_parser_not_a_panic() {
        // Found by cargo-fuzz (sip_message); tests/fuzz_regressions.rs replays the datagram.
        // Not `SIP/` followed by a wrong version, so no 505: the parser refuses it (400).
        let raw = b"OPTIONS sip:user@example.org SIP\xb72.0\r\nVia: SIP/2.0/UDP h;branch=z9hG4bKx\r\n\r\n";
        let head = crate::sip::message::normalised_head(raw);
        assert_eq!(check_raw(&head).map(|r| r.status), None);
        assert!(crate::sip::message::parse(raw).is_err());
        assert_eq!(
            check_raw("OPTIONS sip:a@b \u{e9}IP/2.0\r\n").map(|r| r.status),
            None
        );
    }

    #[test]
    fn ordinary_invite_passes() {
        let req = request(
            "INVITE",
            "Accept: application/sdp\r\nContent-Type: application/sdp\r\n",
            "v=0\r\n",
        );
        assert_eq!(check_request(&req), None);
    }
}
