//! INVITE dialogs (RFC 3261 §12): identifiers, CSeq spaces, route set and remote target, and
//! building the requests we send inside them.
//!
//! One [`Dialog`] type serves both sides; they differ only in how the dialog is formed:
//! [`uas`] from an INVITE we answer, [`uac`] from the 2xx to an INVITE we sent (built with
//! [`invite::InviteBuilder`]).

pub mod invite;
pub mod uac;
pub mod uas;

pub use invite::InviteBuilder;

use crate::sip::message::{self, PRODUCT};
use crate::sip::transport::Flow;
use rand::Rng;
use rsip::prelude::*;
use rsip::{Header, Request, SipMessage};
use std::net::SocketAddr;

/// Why a dialog could not be formed, or a request in it built.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum DialogError {
    #[error("INVITE has no usable Contact header")]
    Contact,
    #[error("INVITE has no From tag")]
    FromTag,
    #[error("2xx has no To tag")]
    ToTag,
    #[error("built an invalid request: {0}")]
    Build(String),
}

/// A dialog: a call into the helpdesk (we are the UAS) or one Hotline placed (we are the UAC).
#[derive(Debug, Clone)]
pub struct Dialog {
    pub call_id: String,
    pub local_tag: String,
    pub remote_tag: String,
    /// The far end's party with its tag: the To of requests we send.
    remote_party: String,
    /// Our party with our tag: the From of requests we send.
    local_party: String,
    /// Where in-dialog requests are addressed (the far end's Contact, §12.1.1, §12.1.2).
    pub remote_target: String,
    /// The Route set: Record-Route in order as UAS (§12.1.1), reversed as UAC (§12.1.2).
    route_set: Vec<String>,
    local_cseq: u32,
    remote_cseq: u32,
    /// The transport flow and address of the far end: where the caller's INVITE came from, or
    /// where we sent ours. In-dialog requests go there, like Asterisk's `force_rport`: the
    /// Contact of a phone behind NAT is often unreachable, and a proxy on the path is that
    /// address anyway.
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

    /// Builds a new request inside the dialog (BYE, …) sent from `local` (§12.2.1.1), with the
    /// next number of our CSeq space.
    pub fn request(
        &mut self,
        method: rsip::Method,
        local: SocketAddr,
    ) -> Result<Request, DialogError> {
        self.local_cseq += 1;
        self.build(method, self.local_cseq, local)
    }

    /// A re-INVITE (§14.1): a new offer (or none, asking the far end for one) in our CSeq space,
    /// with our Contact. Its 2xx is acknowledged with [`ack`](Self::ack) for its CSeq number.
    pub fn reinvite(
        &mut self,
        local: SocketAddr,
        sdp: Option<&str>,
    ) -> Result<Request, DialogError> {
        let mut request = self.request(rsip::Method::Invite, local)?;
        request
            .headers
            .push(Header::Contact(contact(local, self.flow).into()));
        if let Some(sdp) = sdp {
            message::set_body(
                &mut request.headers,
                &mut request.body,
                "application/sdp",
                sdp.as_bytes().to_vec(),
            );
        }
        Ok(request)
    }

    /// The ACK for a 2xx to our INVITE or re-INVITE with CSeq number `cseq` (§13.2.2.4): a
    /// transaction of its own (new branch), same CSeq number, method ACK. Keep it: each
    /// retransmission of that 2xx gets the same ACK again.
    pub fn ack(&self, cseq: u32, local: SocketAddr) -> Result<Request, DialogError> {
        self.build(rsip::Method::Ack, cseq, local)
    }

    /// The CSeq number of the last request we sent in this dialog.
    pub fn local_cseq(&self) -> u32 {
        self.local_cseq
    }

    fn build(
        &self,
        method: rsip::Method,
        cseq: u32,
        local: SocketAddr,
    ) -> Result<Request, DialogError> {
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

/// Our Contact for `local` over the flow's transport (§8.1.1.8): where the far end sends its
/// requests in the dialog.
pub fn contact(local: SocketAddr, flow: Flow) -> String {
    format!("<sip:hotline@{local}{}>", flow.uri_parameter())
}

/// The values of every `header` named `name` (Record-Route), one per URI: a header may carry
/// several, comma-separated (§7.3.1).
fn route_values(headers: &rsip::Headers) -> Vec<String> {
    let mut routes = Vec::new();
    for header in headers.iter() {
        if let Header::RecordRoute(rr) = header {
            let value = rr.value();
            let (mut angle, mut start) = (false, 0);
            for (i, c) in value.char_indices() {
                match c {
                    '<' => angle = true,
                    '>' => angle = false,
                    ',' if !angle => {
                        routes.push(value[start..i].trim().to_string());
                        start = i + 1;
                    }
                    _ => {}
                }
            }
            routes.push(value[start..].trim().to_string());
        }
    }
    routes.retain(|r| !r.is_empty());
    routes
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
