//! The registrar's rules (RFC 3261 §10.3), sans-IO.
//!
//! [`process_register`] takes an authenticated REGISTER, the technician's current bindings and
//! the time, and returns the response to send and the binding changes to store. It never
//! touches a socket, a database or a clock, so every rule (423 below the minimum, `Contact: *`,
//! Call-ID/CSeq ordering, listing) is tested with plain values.

use crate::sip::message;
use crate::sip::transport::Flow;
use chrono::{DateTime, Utc};
use rsip::prelude::*;
use rsip::{Header, Request, Response, StatusCode};
use std::net::SocketAddr;
use std::time::Duration;

/// The expiry a registrar grants (seconds), from `[registrar]` in the configuration.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ExpiryLimits {
    /// Shorter requests get 423 Interval Too Brief with `Min-Expires` (§10.3 step 7).
    pub min: u32,
    /// Longer requests are shortened to this.
    pub max: u32,
    /// Granted when the request names none.
    pub default: u32,
    /// Devices one technician may register at once.
    pub max_bindings: usize,
}

impl Default for ExpiryLimits {
    fn default() -> Self {
        ExpiryLimits {
            min: 60,
            max: 3600,
            default: 3600,
            max_bindings: 10,
        }
    }
}

/// How a phone is reached: the transport it registered over.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Transport {
    Udp,
    Tcp,
    Tls,
}

impl Transport {
    pub fn of(flow: Flow) -> Transport {
        match flow {
            Flow::Udp => Transport::Udp,
            Flow::Tcp(_) => Transport::Tcp,
            Flow::Tls(_) => Transport::Tls,
        }
    }

    pub fn as_str(self) -> &'static str {
        match self {
            Transport::Udp => "udp",
            Transport::Tcp => "tcp",
            Transport::Tls => "tls",
        }
    }
}

impl std::str::FromStr for Transport {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match s {
            "udp" => Ok(Transport::Udp),
            "tcp" => Ok(Transport::Tcp),
            "tls" => Ok(Transport::Tls),
            _ => Err(format!(
                "unknown transport `{s}` (expected udp, tcp or tls)"
            )),
        }
    }
}

/// One registered device of a technician (§10: a binding of the address-of-record to a
/// Contact). `source` is where the REGISTER really came from (rport/received, RFC 3581): a
/// phone behind NAT is reached there, not at the private address in its Contact.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Binding {
    pub contact: String,
    pub expires_at: DateTime<Utc>,
    pub call_id: String,
    pub cseq: u32,
    pub source: SocketAddr,
    pub transport: Transport,
    pub user_agent: Option<String>,
}

impl Binding {
    /// Seconds left, rounded down, 0 once expired.
    pub fn remaining(&self, now: DateTime<Utc>) -> u32 {
        u32::try_from((self.expires_at - now).num_seconds().max(0)).unwrap_or(u32::MAX)
    }
}

/// What the store must do after a REGISTER.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum BindingChange {
    /// Add the binding, or replace the one with the same Contact.
    Save(Binding),
    /// Remove the binding with this Contact.
    Remove { contact: String },
}

/// The registrar's answer: a status, the headers that go with it, and the changes to store.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RegisterOutcome {
    pub status: StatusCode,
    /// Contact (the bindings after the change, each with its `expires`), Min-Expires, Date.
    pub headers: Vec<Header>,
    pub changes: Vec<BindingChange>,
}

impl RegisterOutcome {
    fn refuse(status: StatusCode) -> RegisterOutcome {
        RegisterOutcome {
            status,
            headers: Vec::new(),
            changes: Vec::new(),
        }
    }

    /// The SIP response to `request` carrying this outcome.
    pub fn response(&self, request: &Request) -> Response {
        let mut response = message::response(request, self.status.clone(), Some("reg"));
        // Content-Length last, as the other responses write it.
        response
            .headers
            .retain(|h| !matches!(h, Header::ContentLength(_)));
        for h in &self.headers {
            response.headers.push(h.clone());
        }
        response.headers.push(Header::ContentLength(0.into()));
        response
    }
}

/// One Contact of a REGISTER: the URI and its `expires` parameter.
#[derive(Debug, Clone, PartialEq, Eq)]
struct ContactEntry {
    uri: String,
    expires: Option<u32>,
}

/// Splits Contact header values into entries; `None` for `*`.
fn contacts(request: &Request) -> Result<Option<Vec<ContactEntry>>, String> {
    let mut out = Vec::new();
    let mut star = false;
    for header in request.headers.iter() {
        let Header::Contact(c) = header else { continue };
        for item in split_outside_quotes(c.value(), ',') {
            let item = item.trim();
            if item.is_empty() {
                continue;
            }
            if item == "*" {
                star = true;
                continue;
            }
            out.push(contact_entry(item)?);
        }
    }
    match (star, out.is_empty()) {
        (true, true) => Ok(None),
        (true, false) => Err("`*` must be the only Contact".into()),
        (false, _) => Ok(Some(out)),
    }
}

/// `"Name" <sip:u@h;transport=tcp>;expires=60;q=0.5` → the URI and expires.
fn contact_entry(text: &str) -> Result<ContactEntry, String> {
    let (uri, params) = match (text.find('<'), text.rfind('>')) {
        (Some(open), Some(close)) if open < close => (&text[open + 1..close], &text[close + 1..]),
        (None, None) => text.split_once(';').unwrap_or((text, "")),
        _ => return Err(format!("unbalanced <> in `{text}`")),
    };
    let uri = uri.trim();
    if !(uri.starts_with("sip:") || uri.starts_with("sips:")) {
        return Err(format!("`{uri}` is not a SIP URI"));
    }
    let mut expires = None;
    for param in params.split(';') {
        if let Some((name, value)) = param.split_once('=') {
            if name.trim().eq_ignore_ascii_case("expires") {
                expires = Some(
                    value
                        .trim()
                        .parse()
                        .map_err(|_| format!("expires=`{value}` is not a number"))?,
                );
            }
        }
    }
    Ok(ContactEntry {
        uri: uri.to_string(),
        expires,
    })
}

fn split_outside_quotes(text: &str, separator: char) -> Vec<&str> {
    let mut parts = Vec::new();
    let (mut quoted, mut angle, mut start) = (false, false, 0);
    for (i, c) in text.char_indices() {
        match c {
            '"' => quoted = !quoted,
            '<' if !quoted => angle = true,
            '>' if !quoted => angle = false,
            c if c == separator && !quoted && !angle => {
                parts.push(&text[start..i]);
                start = i + c.len_utf8();
            }
            _ => {}
        }
    }
    parts.push(&text[start..]);
    parts
}

/// The user part of the To URI: the address-of-record being registered.
pub fn aor_user(request: &Request) -> Option<String> {
    let to = request.to_header().ok()?.typed().ok()?;
    to.uri.auth.map(|a| a.user)
}

/// Applies an authenticated REGISTER from `user` to `current` (that user's bindings) at `now`.
///
/// The To header must name `user` (403 otherwise: one technician cannot register another's
/// phones). Without Contact, the bindings are listed; `Contact: *` with `Expires: 0` removes
/// them all; otherwise each Contact is added, refreshed or (expires 0) removed.
pub fn process_register(
    request: &Request,
    user: &str,
    current: &[Binding],
    source: SocketAddr,
    flow: Flow,
    now: DateTime<Utc>,
    limits: ExpiryLimits,
) -> RegisterOutcome {
    if aor_user(request).as_deref() != Some(user) {
        return RegisterOutcome::refuse(StatusCode::Forbidden);
    }
    let Some(call_id) = request.call_id_header().ok().map(|c| c.value().to_string()) else {
        return RegisterOutcome::refuse(StatusCode::BadRequest);
    };
    let Some(cseq) = request
        .cseq_header()
        .ok()
        .and_then(|c| c.typed().ok())
        .map(|c| c.seq)
    else {
        return RegisterOutcome::refuse(StatusCode::BadRequest);
    };
    let expires_header = match message::header_value(&request.headers, "Expires") {
        Some(v) => match v.trim().parse::<u32>() {
            Ok(n) => Some(n),
            Err(_) => return RegisterOutcome::refuse(StatusCode::BadRequest),
        },
        None => None,
    };
    let user_agent = message::header_value(&request.headers, "User-Agent");
    let entries = match contacts(request) {
        Ok(entries) => entries,
        Err(_) => return RegisterOutcome::refuse(StatusCode::BadRequest),
    };
    let mut bindings: Vec<Binding> = current
        .iter()
        .filter(|b| b.expires_at > now)
        .cloned()
        .collect();
    let mut changes = Vec::new();
    match entries {
        // §10.3 step 6: `*` only with Expires: 0, and it removes every binding (unless one of
        // them comes from this Call-ID with a newer CSeq: that REGISTER is out of order).
        None => {
            if expires_header != Some(0) {
                return RegisterOutcome::refuse(StatusCode::BadRequest);
            }
            if bindings
                .iter()
                .any(|b| b.call_id == call_id && b.cseq >= cseq)
            {
                return RegisterOutcome::refuse(StatusCode::ServerInternalError);
            }
            changes.extend(
                bindings
                    .drain(..)
                    .map(|b| BindingChange::Remove { contact: b.contact }),
            );
        }
        Some(entries) => {
            for entry in &entries {
                let asked = entry.expires.or(expires_header).unwrap_or(limits.default);
                if asked != 0 && asked < limits.min {
                    return RegisterOutcome {
                        status: StatusCode::IntervalTooBrief,
                        headers: vec![Header::Other("Min-Expires".into(), limits.min.to_string())],
                        changes: Vec::new(),
                    };
                }
                let existing = bindings.iter().position(|b| b.contact == entry.uri);
                if let Some(i) = existing {
                    if bindings[i].call_id == call_id && bindings[i].cseq >= cseq {
                        return RegisterOutcome::refuse(StatusCode::ServerInternalError);
                    }
                }
                if asked == 0 {
                    if let Some(i) = existing {
                        bindings.remove(i);
                        changes.push(BindingChange::Remove {
                            contact: entry.uri.clone(),
                        });
                    }
                    continue;
                }
                let binding = Binding {
                    contact: entry.uri.clone(),
                    expires_at: now + Duration::from_secs(u64::from(asked.min(limits.max))),
                    call_id: call_id.clone(),
                    cseq,
                    source,
                    transport: Transport::of(flow),
                    user_agent: user_agent.clone(),
                };
                match existing {
                    Some(i) => bindings[i] = binding.clone(),
                    None => bindings.push(binding.clone()),
                }
                changes.push(BindingChange::Save(binding));
            }
            if bindings.len() > limits.max_bindings {
                return RegisterOutcome::refuse(StatusCode::Forbidden);
            }
        }
    }
    let mut headers: Vec<Header> = bindings
        .iter()
        .map(|b| Header::Contact(format!("<{}>;expires={}", b.contact, b.remaining(now)).into()))
        .collect();
    headers.push(Header::Other(
        "Date".into(),
        now.format("%a, %d %b %Y %H:%M:%S GMT").to_string(),
    ));
    RegisterOutcome {
        status: StatusCode::OK,
        headers,
        changes,
    }
}

#[cfg(test)]
mod tests;
