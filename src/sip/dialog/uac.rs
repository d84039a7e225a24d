//! The UAC side: the dialog a 2xx to our INVITE creates (§12.1.2).

use super::{route_values, Dialog, DialogError};
use crate::sip::transport::Flow;
use rsip::prelude::*;
use rsip::{Request, Response};
use std::net::SocketAddr;

impl Dialog {
    /// The dialog that `response` (a 2xx, or a 1xx with a To tag for an early dialog) to our
    /// `invite` creates (§12.1.2): the route set is the response's Record-Route **reversed**,
    /// the remote target its Contact, the remote tag its To tag. Our CSeq space continues from
    /// the INVITE's number. `flow` and `peer` are where the INVITE went; in-dialog requests
    /// follow them.
    pub fn from_response(
        invite: &Request,
        response: &Response,
        flow: Flow,
        peer: SocketAddr,
    ) -> Result<Dialog, DialogError> {
        let from = invite.from_header().map_err(|_| DialogError::FromTag)?;
        let local_tag = from
            .tag()
            .ok()
            .flatten()
            .ok_or(DialogError::FromTag)?
            .to_string();
        let to = response.to_header().map_err(|_| DialogError::ToTag)?;
        let remote_tag = to
            .tag()
            .ok()
            .flatten()
            .ok_or(DialogError::ToTag)?
            .to_string();
        let contact = response
            .contact_header()
            .map_err(|_| DialogError::Contact)?
            .typed()
            .map_err(|_| DialogError::Contact)?;
        let mut route_set = route_values(&response.headers);
        route_set.reverse();
        Ok(Dialog {
            call_id: invite
                .call_id_header()
                .map(|c| c.value().to_string())
                .unwrap_or_default(),
            local_tag,
            remote_tag,
            remote_party: to.value().to_string(),
            local_party: from.value().to_string(),
            remote_target: contact.uri.to_string(),
            route_set,
            local_cseq: invite.cseq_header().and_then(|c| c.seq()).unwrap_or(1),
            // The callee has sent nothing yet: its first request sets its CSeq space (§12.2.2).
            remote_cseq: 0,
            flow,
            peer,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::sip::message;
    use rsip::{Method, SipMessage, StatusCode};

    fn invite() -> Request {
        let raw = "INVITE sip:bob@192.0.2.5:5062 SIP/2.0\r\n\
            Via: SIP/2.0/UDP 127.0.0.1:5060;branch=z9hG4bK-inv;rport\r\nMax-Forwards: 70\r\n\
            From: \"Helpdesk\" <sip:helpdesk@127.0.0.1>;tag=hd1\r\nTo: <sip:bob@example.com>\r\n\
            Call-ID: out-1@127.0.0.1\r\nCSeq: 1 INVITE\r\nContact: <sip:hotline@127.0.0.1:5060>\r\n\
            Content-Length: 0\r\n\r\n";
        match message::parse(raw.as_bytes()).unwrap() {
            SipMessage::Request(r) => r,
            _ => unreachable!(),
        }
    }

    /// The callee's 2xx, through two record-routing proxies.
    fn ok() -> Response {
        let mut r = message::response(&invite(), StatusCode::OK, Some("bob1"));
        r.headers.push(rsip::Header::RecordRoute(
            "<sip:p1.example;lr>, <sip:p2.example;lr>".into(),
        ));
        r.headers
            .push(rsip::Header::RecordRoute("<sip:p3.example;lr>".into()));
        r.headers
            .push(rsip::Header::Contact("<sip:bob@192.0.2.9:5064>".into()));
        r
    }

    fn dialog() -> Dialog {
        let peer = "192.0.2.5:5062".parse().unwrap();
        Dialog::from_response(&invite(), &ok(), Flow::Udp, peer).unwrap()
    }

    fn routes(r: &Request) -> Vec<String> {
        r.to_string()
            .lines()
            .filter_map(|l| l.strip_prefix("Route: ").map(str::to_string))
            .collect()
    }

    #[test]
    fn dialog_takes_callee_tag_contact_and_the_reversed_record_route() {
        let d = dialog();
        assert_eq!(d.remote_tag, "bob1");
        assert_eq!(d.local_tag, "hd1");
        assert_eq!(d.remote_target, "sip:bob@192.0.2.9:5064");
        let bye = dialog()
            .request(Method::Bye, "127.0.0.1:5060".parse().unwrap())
            .unwrap();
        assert_eq!(
            routes(&bye),
            [
                "<sip:p3.example;lr>",
                "<sip:p2.example;lr>",
                "<sip:p1.example;lr>"
            ]
        );
    }

    #[test]
    fn ack_for_the_2xx_has_the_invite_cseq_and_a_new_branch() {
        let ack = dialog().ack(1, "127.0.0.1:5060".parse().unwrap()).unwrap();
        assert_eq!(ack.method, Method::Ack);
        assert_eq!(ack.uri.to_string(), "sip:bob@192.0.2.9:5064");
        let text = ack.to_string();
        assert!(text.contains("CSeq: 1 ACK"), "{text}");
        assert!(
            !text.contains("branch=z9hG4bK-inv"),
            "its own transaction: {text}"
        );
        assert!(
            text.contains("From: \"Helpdesk\" <sip:helpdesk@127.0.0.1>;tag=hd1"),
            "{text}"
        );
        assert!(
            text.contains("To: <sip:bob@example.com>;tag=bob1"),
            "{text}"
        );
        assert_eq!(routes(&ack).len(), 3);
    }

    #[test]
    fn bye_and_reinvite_continue_our_cseq_space_after_the_invite() {
        let mut d = dialog();
        let local = "127.0.0.1:5060".parse().unwrap();
        let reinvite = d.reinvite(local, Some("v=0\r\n")).unwrap();
        let text = reinvite.to_string();
        assert!(text.contains("CSeq: 2 INVITE"), "{text}");
        assert!(
            text.contains("Contact: <sip:hotline@127.0.0.1:5060>"),
            "{text}"
        );
        assert!(text.contains("Content-Type: application/sdp"), "{text}");
        let ack = d.ack(d.local_cseq(), local).unwrap();
        assert!(ack.to_string().contains("CSeq: 2 ACK"));
        let bye = d.request(Method::Bye, local).unwrap();
        assert!(bye.to_string().contains("CSeq: 3 BYE"));
        assert!(bye
            .to_string()
            .starts_with("BYE sip:bob@192.0.2.9:5064 SIP/2.0"));
    }

    #[test]
    fn callee_requests_are_checked_against_its_own_cseq_space() {
        let mut d = dialog();
        let from_callee = |seq: u32| {
            let raw = format!(
                "INFO sip:hotline@127.0.0.1:5060 SIP/2.0\r\nVia: SIP/2.0/UDP 192.0.2.9:5064;branch=z9hG4bK-{seq}\r\n\
                 From: <sip:bob@example.com>;tag=bob1\r\nTo: \"Helpdesk\" <sip:helpdesk@127.0.0.1>;tag=hd1\r\n\
                 Call-ID: out-1@127.0.0.1\r\nCSeq: {seq} INFO\r\nContent-Length: 0\r\n\r\n"
            );
            match message::parse(raw.as_bytes()).unwrap() {
                SipMessage::Request(r) => r,
                _ => unreachable!(),
            }
        };
        // Its first request may start anywhere, even below our INVITE's number.
        assert!(d.accept_remote_cseq(&from_callee(1)));
        assert!(d.accept_remote_cseq(&from_callee(5)));
        assert!(!d.accept_remote_cseq(&from_callee(4)));
    }

    #[test]
    fn a_2xx_without_to_tag_forms_no_dialog() {
        let untagged = message::response(&invite(), StatusCode::OK, None);
        let peer = "192.0.2.5:5062".parse().unwrap();
        assert_eq!(
            Dialog::from_response(&invite(), &untagged, Flow::Udp, peer).unwrap_err(),
            DialogError::ToTag
        );
    }
}
