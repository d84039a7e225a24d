//! The UAS side of an INVITE dialog (RFC 3261 §12): identifiers, CSeq spaces, route set and remote
//! target, and building the requests we send inside it.

use crate::sip::message::{self, PRODUCT};
use crate::sip::transport::Flow;
use rand::Rng;
use rsip::prelude::*;
use rsip::{Header, Request, SipMessage};
use std::net::SocketAddr;

/// Why a dialog could not be formed from a request.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum DialogError {
    #[error("INVITE has no usable Contact header")]
    Contact,
    #[error("INVITE has no From tag")]
    FromTag,
    #[error("built an invalid request: {0}")]
    Build(String),
}

/// A dialog where we are the UAS (every call into the helpdesk).
#[derive(Debug, Clone)]
pub struct Dialog {
    pub call_id: String,
    pub local_tag: String,
    pub remote_tag: String,
    /// The caller's From header value: the To of requests we send.
    remote_party: String,
    /// The INVITE's To header value, with our tag: the From of requests we send.
    local_party: String,
    /// Where in-dialog requests are addressed (the caller's Contact, §12.1.1).
    pub remote_target: String,
    /// Record-Route values in order: our Route set as UAS (§12.1.1).
    route_set: Vec<String>,
    local_cseq: u32,
    remote_cseq: u32,
    /// The transport flow and address the caller used. In-dialog requests go back there, like
    /// Asterisk's `force_rport`: the Contact of a phone behind NAT is often unreachable, and a
    /// proxy on the path is that address anyway.
    pub flow: Flow,
    pub peer: SocketAddr,
}

/// A random token for tags and branches (§19.3: at least 32 bits of randomness).
pub fn random_token() -> String {
    format!("{:016x}", rand::rng().random::<u64>())
}

/// A new branch with the RFC 3261 magic cookie (§8.1.1.7).
pub fn new_branch() -> String {
    format!("z9hG4bK{}", random_token())
}

impl Dialog {
    /// The dialog an INVITE creates once we answer it with `local_tag` (§12.1.1).
    pub fn from_invite(
        invite: &Request,
        local_tag: String,
        flow: Flow,
        peer: SocketAddr,
    ) -> Result<Dialog, DialogError> {
        let from = invite.from_header().map_err(|_| DialogError::FromTag)?;
        let remote_tag = from
            .tag()
            .ok()
            .flatten()
            .ok_or(DialogError::FromTag)?
            .to_string();
        let contact = invite
            .contact_header()
            .map_err(|_| DialogError::Contact)?
            .typed()
            .map_err(|_| DialogError::Contact)?;
        let to = invite.to_header().map_err(|_| DialogError::Contact)?;
        let route_set = invite
            .headers
            .iter()
            .filter_map(|h| match h {
                Header::RecordRoute(rr) => Some(rr.value().to_string()),
                _ => None,
            })
            .collect();
        Ok(Dialog {
            call_id: invite
                .call_id_header()
                .map(|c| c.value().to_string())
                .unwrap_or_default(),
            local_party: format!("{};tag={}", to.value(), local_tag),
            local_tag,
            remote_tag,
            remote_party: from.value().to_string(),
            remote_target: contact.uri.to_string(),
            route_set,
            local_cseq: 0,
            remote_cseq: invite.cseq_header().and_then(|c| c.seq()).unwrap_or(0),
            flow,
            peer,
        })
    }

    /// Checks the CSeq of a request inside the dialog (§12.2.2): lower than the last one means a
    /// stale or reordered request, which gets a 500.
    pub fn accept_remote_cseq(&mut self, request: &Request) -> bool {
        let Ok(seq) = request.cseq_header().and_then(|c| c.seq()) else {
            return false;
        };
        if request.method == rsip::Method::Ack || request.method == rsip::Method::Cancel {
            return true;
        }
        if seq < self.remote_cseq {
            return false;
        }
        self.remote_cseq = seq;
        true
    }

    /// Updates the remote target from a re-INVITE's Contact (§12.2.2).
    pub fn refresh_target(&mut self, request: &Request) {
        if let Ok(contact) = request.contact_header().and_then(|c| c.typed()) {
            self.remote_target = contact.uri.to_string();
        }
    }

    /// Builds a new request inside the dialog (BYE, …) sent from `local` (§12.2.1.1).
    pub fn request(
        &mut self,
        method: rsip::Method,
        local: SocketAddr,
    ) -> Result<Request, DialogError> {
        self.local_cseq += 1;
        let mut text = format!(
            "{method} {target} SIP/2.0\r\n\
             Via: SIP/2.0/{transport} {local};branch={branch};rport\r\n\
             Max-Forwards: 70\r\n\
             From: {from}\r\nTo: {to}\r\nCall-ID: {call_id}\r\nCSeq: {cseq} {method}\r\n\
             User-Agent: {PRODUCT}\r\n",
            target = self.remote_target,
            transport = self.flow.via_transport(),
            branch = new_branch(),
            from = self.local_party,
            to = self.remote_party,
            call_id = self.call_id,
            cseq = self.local_cseq,
        );
        for route in &self.route_set {
            text.push_str(&format!("Route: {route}\r\n"));
        }
        text.push_str("Content-Length: 0\r\n\r\n");
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

    fn invite() -> Request {
        let raw = "INVITE sip:hd@127.0.0.1 SIP/2.0\r\nVia: SIP/2.0/UDP 127.0.0.1:5070;branch=z9hG4bK-x\r\n\
            Record-Route: <sip:proxy1;lr>\r\nRecord-Route: <sip:proxy2;lr>\r\n\
            From: \"Alice\" <sip:alice@127.0.0.1>;tag=a1\r\nTo: <sip:hd@127.0.0.1>\r\nCall-ID: c1\r\n\
            CSeq: 7 INVITE\r\nContact: <sip:alice@127.0.0.1:5070>\r\nContent-Length: 0\r\n\r\n";
        match message::parse(raw.as_bytes()).unwrap() {
            SipMessage::Request(r) => r,
            _ => unreachable!(),
        }
    }

    #[test]
    fn bye_swaps_parties_keeps_route_set_and_uses_own_cseq_space() {
        let peer: SocketAddr = "127.0.0.1:5070".parse().unwrap();
        let mut d = Dialog::from_invite(&invite(), "srv".into(), Flow::Udp, peer).unwrap();
        let bye = d
            .request(rsip::Method::Bye, "127.0.0.1:5060".parse().unwrap())
            .unwrap();
        let text = bye.to_string();
        assert!(
            text.starts_with("BYE sip:alice@127.0.0.1:5070 SIP/2.0\r\n"),
            "{text}"
        );
        assert!(text.contains("From: <sip:hd@127.0.0.1>;tag=srv"));
        assert!(text.contains("To: \"Alice\" <sip:alice@127.0.0.1>;tag=a1"));
        assert!(text.contains("CSeq: 1 BYE"));
        let routes: Vec<_> = text.lines().filter(|l| l.starts_with("Route:")).collect();
        assert_eq!(routes, ["Route: <sip:proxy1;lr>", "Route: <sip:proxy2;lr>"]);
    }

    #[test]
    fn stale_remote_cseq_is_refused() {
        let peer: SocketAddr = "127.0.0.1:5070".parse().unwrap();
        let mut d = Dialog::from_invite(&invite(), "srv".into(), Flow::Udp, peer).unwrap();
        let mut old = invite();
        old.method = rsip::Method::Bye;
        for h in old.headers.iter_mut() {
            if let Header::CSeq(c) = h {
                *c = rsip::headers::CSeq::new("3 BYE");
            }
        }
        assert!(!d.accept_remote_cseq(&old));
    }
}
