//! Where responses go: the top Via as the request really arrived (RFC 3261 §18.2.1, RFC 3581).

use rsip::prelude::*;
use rsip::Header;
use std::net::SocketAddr;

/// Records where the request really came from in its top Via (`received`, and `rport` when the
/// client asked for it) and returns where responses must go (§18.2.2). Phones behind NAT put a
/// private address in their Via; only the source address reaches them.
pub fn annotate_via(request: &mut rsip::Request, source: SocketAddr) -> SocketAddr {
    let Some(Header::Via(via)) = request
        .headers
        .iter_mut()
        .find(|h| matches!(h, Header::Via(_)))
    else {
        return source;
    };
    let Ok(mut typed) = via.typed() else {
        return source;
    };
    let is_rport = |p: &rsip::Param| matches!(p, rsip::Param::Other(name, _) if name.value().eq_ignore_ascii_case("rport"));
    let wants_rport = typed.params.iter().any(is_rport);
    let sent_by_port = typed
        .uri
        .host_with_port
        .port
        .map(|p| *p.value())
        .unwrap_or(5060);
    typed
        .params
        .retain(|p| !matches!(p, rsip::Param::Received(_)) && !is_rport(p));
    typed
        .params
        .push(rsip::Param::Received(rsip::param::Received::new(
            source.ip().to_string(),
        )));
    let dest = if wants_rport {
        typed.params.push(rsip::Param::Other(
            "rport".into(),
            Some(source.port().to_string().into()),
        ));
        source
    } else {
        SocketAddr::new(source.ip(), sent_by_port)
    };
    *via = typed.into();
    dest
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::sip::message;

    fn options(via: &str) -> rsip::Request {
        let raw = format!(
            "OPTIONS sip:hd@127.0.0.1 SIP/2.0\r\nVia: {via}\r\nFrom: <sip:a@x>;tag=1\r\n\
             To: <sip:hd@127.0.0.1>\r\nCall-ID: v1\r\nCSeq: 1 OPTIONS\r\nContent-Length: 0\r\n\r\n"
        );
        match message::parse(raw.as_bytes()).unwrap() {
            rsip::SipMessage::Request(r) => r,
            _ => unreachable!(),
        }
    }

    #[test]
    fn rport_sends_responses_to_the_source_port_and_records_it() {
        let mut r = options("SIP/2.0/UDP 10.0.0.5:5060;branch=z9hG4bK-1;rport");
        let source: SocketAddr = "192.0.2.7:40000".parse().unwrap();
        assert_eq!(annotate_via(&mut r, source), source);
        let via = r.to_string();
        assert!(via.contains("received=192.0.2.7"), "{via}");
        assert!(via.contains("rport=40000"), "{via}");
    }

    #[test]
    fn without_rport_responses_go_to_the_sent_by_port_at_the_source_address() {
        let mut r = options("SIP/2.0/UDP 10.0.0.5:5070;branch=z9hG4bK-1");
        let source: SocketAddr = "192.0.2.7:40000".parse().unwrap();
        assert_eq!(
            annotate_via(&mut r, source),
            "192.0.2.7:5070".parse::<std::net::SocketAddr>().unwrap()
        );
        assert!(!r.to_string().contains("rport"));
    }
}
