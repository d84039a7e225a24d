//! The INVITE that starts a call Hotline places (§8.1.1): outside any dialog, CSeq 1.

use super::{contact, new_branch, random_token, DialogError};
use crate::sip::message::{self, PRODUCT};
use crate::sip::transport::Flow;
use rsip::{Request, SipMessage};
use std::net::SocketAddr;

/// What an outbound INVITE says. [`build`](Self::build) picks a fresh Call-ID, From tag and
/// branch each time, so one builder serves each attempt of a call (a retry is a new call).
#[derive(Debug, Clone)]
pub struct InviteBuilder {
    /// The Request-URI: where the call goes (a registered Contact, or the callee's address).
    pub request_uri: String,
    /// The To header value, without tag: whom we call.
    pub to: String,
    /// The From header value, without tag: who calls (e.g. `"Helpdesk" <sip:helpdesk@host>`).
    pub from: String,
    /// Our address: the Via sent-by and the Contact.
    pub local: SocketAddr,
    /// The transport the INVITE will go over: its Via token, and `transport=tcp` in the Contact.
    pub flow: Flow,
    /// The SDP offer; `None` lets the callee offer in its 2xx and we answer in the ACK (§13.2.1).
    pub sdp: Option<String>,
}

impl InviteBuilder {
    /// An INVITE to `request_uri` from `local` over `flow`, with no SDP; To and From default to
    /// the Request-URI and the helpdesk.
    pub fn new(request_uri: &str, local: SocketAddr, flow: Flow) -> InviteBuilder {
        InviteBuilder {
            request_uri: request_uri.to_string(),
            to: format!("<{request_uri}>"),
            from: format!("\"Helpdesk\" <sip:helpdesk@{local}>"),
            local,
            flow,
            sdp: None,
        }
    }

    /// Builds the request: Via with a new branch and `rport` (RFC 3581, so responses find us
    /// through NAT), Max-Forwards 70, From with our new tag, To, a new Call-ID, CSeq 1, Contact.
    pub fn build(&self) -> Result<Request, DialogError> {
        let local = self.local;
        let mut text = format!(
            "INVITE {uri} SIP/2.0\r\n\
             Via: SIP/2.0/{transport} {local};branch={branch};rport\r\n\
             Max-Forwards: 70\r\n\
             From: {from};tag={tag}\r\nTo: {to}\r\nCall-ID: {call_id}@{ip}\r\nCSeq: 1 INVITE\r\n\
             Contact: {contact}\r\nUser-Agent: {PRODUCT}\r\n",
            uri = self.request_uri,
            transport = self.flow.via_transport(),
            branch = new_branch(),
            from = self.from,
            tag = random_token(),
            to = self.to,
            call_id = random_token(),
            ip = local.ip(),
            contact = contact(local, self.flow),
        );
        match &self.sdp {
            Some(sdp) => text.push_str(&format!(
                "Content-Type: application/sdp\r\nContent-Length: {}\r\n\r\n{sdp}",
                sdp.len()
            )),
            None => text.push_str("Content-Length: 0\r\n\r\n"),
        }
        match message::parse(text.as_bytes()) {
            Ok(SipMessage::Request(r)) => Ok(r),
            Ok(_) => Err(DialogError::Build("not a request".into())),
            Err(e) => Err(DialogError::Build(e.to_string())),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use rsip::prelude::*;

    #[test]
    fn invite_has_every_header_a_new_request_needs() {
        let local = "127.0.0.1:5060".parse().unwrap();
        let mut b = InviteBuilder::new("sip:bob@127.0.0.1:5070", local, Flow::Tcp(3));
        b.sdp = Some("v=0\r\no=- 1 1 IN IP4 127.0.0.1\r\n".into());
        let invite = b.build().unwrap();
        assert_eq!(invite.uri.to_string(), "sip:bob@127.0.0.1:5070");
        let via = invite.via_header().unwrap().typed().unwrap();
        assert!(via.branch().unwrap().to_string().starts_with("z9hG4bK"));
        let text = invite.to_string();
        assert!(
            text.contains("Via: SIP/2.0/TCP 127.0.0.1:5060;branch="),
            "{text}"
        );
        assert!(text.contains(";rport"), "{text}");
        assert!(text.contains("Max-Forwards: 70"), "{text}");
        assert!(invite.from_header().unwrap().tag().unwrap().is_some());
        assert!(invite.to_header().unwrap().tag().unwrap().is_none());
        assert!(text.contains("CSeq: 1 INVITE"), "{text}");
        assert!(
            text.contains("Contact: <sip:hotline@127.0.0.1:5060;transport=tcp>"),
            "{text}"
        );
        assert!(text.contains("Content-Type: application/sdp"), "{text}");
        assert_eq!(invite.body, b"v=0\r\no=- 1 1 IN IP4 127.0.0.1\r\n");
    }

    #[test]
    fn each_build_is_a_new_call() {
        let b = InviteBuilder::new(
            "sip:bob@127.0.0.1",
            "127.0.0.1:5060".parse().unwrap(),
            Flow::Udp,
        );
        let (a, c) = (b.build().unwrap(), b.build().unwrap());
        assert_ne!(
            a.call_id_header().unwrap().value(),
            c.call_id_header().unwrap().value()
        );
    }
}
