//! Which local address a peer can reach us at, for Contact, Via and SDP.

use std::net::{IpAddr, SocketAddr, UdpSocket};

/// The local IP the kernel would use to reach `peer`, or `configured` when set. Connecting a UDP
/// socket sends nothing; it only asks the routing table. Needed because we usually listen on
/// 0.0.0.0, which is no address to give a caller.
pub fn local_ip_towards(peer: IpAddr, listen: IpAddr, configured: Option<IpAddr>) -> IpAddr {
    if let Some(ip) = configured {
        return ip;
    }
    if !listen.is_unspecified() {
        return listen;
    }
    let bind: SocketAddr = if peer.is_ipv4() {
        "0.0.0.0:0".parse().expect("valid")
    } else {
        "[::]:0".parse().expect("valid")
    };
    UdpSocket::bind(bind)
        .and_then(|s| {
            s.connect(SocketAddr::new(peer, 9))?;
            s.local_addr()
        })
        .map(|a| a.ip())
        .unwrap_or(peer)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn loopback_peer_is_reached_from_loopback() {
        let ip = local_ip_towards(
            "127.0.0.1".parse().unwrap(),
            "0.0.0.0".parse().unwrap(),
            None,
        );
        assert_eq!(ip, "127.0.0.1".parse::<IpAddr>().unwrap());
    }

    #[test]
    fn configured_address_wins() {
        let public: IpAddr = "192.0.2.10".parse().unwrap();
        assert_eq!(
            local_ip_towards(
                "127.0.0.1".parse().unwrap(),
                "0.0.0.0".parse().unwrap(),
                Some(public)
            ),
            public
        );
    }
}
