//! Who is on the other end of a request, as far as the web log can tell: the client's address
//! and whether it reached us over HTTPS.
//!
//! Behind a reverse proxy every TCP peer is the proxy, so the proxy's `X-Forwarded-For` and
//! `X-Forwarded-Proto` are believed — but only from the addresses listed in `[http]
//! trusted_proxies`; from anyone else they are ignored, or a client could pick its own address
//! and dodge the login limiter.

use super::AppState;
use axum::extract::{ConnectInfo, FromRequestParts};
use axum::http::request::Parts;
use axum::http::{Extensions, HeaderMap};
use std::convert::Infallible;
use std::net::{IpAddr, SocketAddr};

/// The client of a request.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Client {
    /// The address the request came from: the TCP peer, or what a trusted proxy says.
    pub ip: IpAddr,
    /// The browser's connection is HTTPS (configured, or said by a trusted proxy): cookies are
    /// `Secure` and HSTS is sent.
    pub https: bool,
}

/// How far forwarded headers are believed.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ProxyPolicy {
    pub trusted_proxies: Vec<IpAddr>,
    /// Every browser reaches the web log over HTTPS (a TLS proxy in front of it, always).
    pub https: bool,
}

impl ProxyPolicy {
    /// The client behind `peer`, reading the forwarded headers only when `peer` is trusted.
    ///
    /// `X-Forwarded-For` is read from the right: each proxy appends the address it got the
    /// request from, so the rightmost address that is not one of our proxies is the client;
    /// anything left of it was written by the client itself and proves nothing.
    pub fn client(&self, peer: IpAddr, headers: &HeaderMap) -> Client {
        let trusted = |ip: &IpAddr| self.trusted_proxies.contains(&canonical(*ip));
        if !trusted(&peer) {
            return Client {
                ip: peer,
                https: self.https,
            };
        }
        let forwarded: Vec<IpAddr> = headers
            .get_all("x-forwarded-for")
            .iter()
            .filter_map(|v| v.to_str().ok())
            .flat_map(|v| v.split(','))
            .map_while(|item| item.trim().parse::<IpAddr>().ok())
            .collect();
        let ip = forwarded
            .iter()
            .rev()
            .find(|ip| !trusted(ip))
            .copied()
            .unwrap_or(peer);
        let proto_https = headers
            .get("x-forwarded-proto")
            .and_then(|v| v.to_str().ok())
            .and_then(|v| v.rsplit(',').next())
            .is_some_and(|p| p.trim().eq_ignore_ascii_case("https"));
        Client {
            ip: canonical(ip),
            https: self.https || proto_https,
        }
    }
}

/// `::ffff:127.0.0.1` is 127.0.0.1: a dual-stack listener reports IPv4 peers that way.
fn canonical(ip: IpAddr) -> IpAddr {
    match ip {
        IpAddr::V6(v6) => v6
            .to_ipv4_mapped()
            .map(IpAddr::V4)
            .unwrap_or(IpAddr::V6(v6)),
        v4 => v4,
    }
}

impl FromRequestParts<AppState> for Client {
    type Rejection = Infallible;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Client, Infallible> {
        Ok(client_of(&parts.extensions, &parts.headers, &state.proxies))
    }
}

/// The client of a request whose connection info the server recorded (every request the web
/// log serves; a request without it, as in a unit test of the router, counts as localhost).
pub fn client_of(extensions: &Extensions, headers: &HeaderMap, proxies: &ProxyPolicy) -> Client {
    let peer = extensions
        .get::<ConnectInfo<SocketAddr>>()
        .map(|ConnectInfo(addr)| addr.ip())
        .unwrap_or(IpAddr::from([127, 0, 0, 1]));
    proxies.client(canonical(peer), headers)
}

#[cfg(test)]
mod tests {
    use super::*;
    use axum::http::HeaderValue;

    fn ip(s: &str) -> IpAddr {
        s.parse().unwrap()
    }

    fn headers(pairs: &[(&'static str, &str)]) -> HeaderMap {
        let mut h = HeaderMap::new();
        for (k, v) in pairs {
            h.append(*k, HeaderValue::from_str(v).unwrap());
        }
        h
    }

    fn behind_proxy() -> ProxyPolicy {
        ProxyPolicy {
            trusted_proxies: vec![ip("10.0.0.1"), ip("10.0.0.2")],
            https: false,
        }
    }

    #[test]
    fn forwarded_headers_from_an_untrusted_peer_are_ignored() {
        let h = headers(&[
            ("x-forwarded-for", "203.0.113.9"),
            ("x-forwarded-proto", "https"),
        ]);
        let c = behind_proxy().client(ip("198.51.100.7"), &h);
        assert_eq!(
            c,
            Client {
                ip: ip("198.51.100.7"),
                https: false
            }
        );
    }

    #[test]
    fn the_rightmost_untrusted_forwarded_address_is_the_client() {
        // The client wrote the first address itself; our two proxies added the rest.
        let h = headers(&[
            ("x-forwarded-for", "1.2.3.4, 203.0.113.9"),
            ("x-forwarded-for", "10.0.0.2"),
            ("x-forwarded-proto", "https"),
        ]);
        let c = behind_proxy().client(ip("10.0.0.1"), &h);
        assert_eq!(c.ip, ip("203.0.113.9"));
        assert!(c.https);
    }

    #[test]
    fn a_trusted_proxy_without_forwarded_headers_is_the_client() {
        let c = behind_proxy().client(ip("10.0.0.1"), &HeaderMap::new());
        assert_eq!(c.ip, ip("10.0.0.1"));
        assert!(!c.https);
        let c = behind_proxy().client(
            ip("::ffff:10.0.0.1"),
            &headers(&[("x-forwarded-for", "192.0.2.1")]),
        );
        assert_eq!(c.ip, ip("192.0.2.1"), "IPv4-mapped peers are trusted too");
    }

    #[test]
    fn configured_https_needs_no_header() {
        let p = ProxyPolicy {
            trusted_proxies: vec![],
            https: true,
        };
        assert!(p.client(ip("192.0.2.1"), &HeaderMap::new()).https);
    }
}
