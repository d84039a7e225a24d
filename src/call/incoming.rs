//! A call that has arrived but is not answered yet: who it is from, its identity, and turning
//! it away.
//!
//! These are read from the INVITE here, so the layers above (the helpdesk, routing) never parse
//! SIP themselves.

use super::answer::Caller;
use crate::sip::endpoint::{EndpointHandle, NewCall};
use crate::sip::message;
use rsip::prelude::*;
use rsip::StatusCode;
use std::time::Duration;

/// What the layers above read from a new call before answering it.
pub trait IncomingCall {
    /// The SIP Call-ID (empty if the INVITE had none, which the endpoint already refuses).
    fn call_id(&self) -> String;
    /// The caller's From tag: with the Call-ID it names the dialog (RFC 3261 §12).
    fn caller_tag(&self) -> String;
    /// Who is calling, from the From header.
    fn caller(&self) -> Caller;
    /// What was dialled: the Request-URI's user part (empty if it has none).
    fn dialled(&self) -> String;
}

impl IncomingCall for NewCall {
    fn call_id(&self) -> String {
        message::header_value(&self.invite.headers, "Call-ID").unwrap_or_default()
    }

    fn caller_tag(&self) -> String {
        self.invite
            .from_header()
            .ok()
            .and_then(|f| f.tag().ok().flatten())
            .map(|t| t.to_string())
            .unwrap_or_default()
    }

    fn caller(&self) -> Caller {
        Caller::of(&self.invite)
    }

    fn dialled(&self) -> String {
        self.invite
            .uri
            .auth
            .as_ref()
            .map(|a| a.user.clone())
            .unwrap_or_default()
    }
}

/// Why a call is turned away before it is answered, as the caller's phone is told.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Refusal {
    /// 503: we cannot take calls right now (a phone may retry after `Retry-After`).
    ServiceUnavailable,
    /// 486: the callee is busy.
    BusyHere,
    /// 480: the callee is not reachable now.
    TemporarilyUnavailable,
}

impl Refusal {
    fn status(self) -> StatusCode {
        match self {
            Refusal::ServiceUnavailable => StatusCode::ServiceUnavailable,
            Refusal::BusyHere => StatusCode::BusyHere,
            Refusal::TemporarilyUnavailable => StatusCode::TemporarilyUnavailable,
        }
    }
}

/// Answers `call` with a final error response and forgets its dialog, so a retransmitted
/// INVITE is answered by the transaction and a new one starts afresh.
pub async fn refuse(
    call: NewCall,
    endpoint: &EndpointHandle,
    refusal: Refusal,
    retry_after: Option<Duration>,
) {
    let mut response = message::response(&call.invite, refusal.status(), Some("refused"));
    if let Some(after) = retry_after {
        // §20.33: whole seconds.
        response.headers.push(rsip::Header::RetryAfter(
            after.as_secs().max(1).to_string().into(),
        ));
    }
    endpoint.respond(&call.transaction, response).await;
    endpoint.forget(&call.call_id(), &call.caller_tag()).await;
}
