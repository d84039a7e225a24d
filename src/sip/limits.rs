//! What a public SIP port must bound: message size, TCP connections, slow or idle peers, calls
//! per source and in total, and scanners. The `[limits]` section of `hotline.toml`
//! (docs/configuration.md); the defaults suit a helpdesk line on the open internet.

use serde::Deserialize;
use std::time::Duration;

/// The `[limits]` section.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct Limits {
    /// Largest SIP message, headers and body together, in bytes. Larger ones get 513 over UDP
    /// and close the connection over TCP (RFC 3261 §18.3: the stream cannot be resynchronised).
    pub max_message_bytes: usize,
    /// TCP connections open at once, from everyone.
    pub tcp_connections: usize,
    /// TCP connections open at once from one IP address.
    pub tcp_connections_per_source: usize,
    /// A TCP connection with no bytes for this long is closed (phones send CRLF keep-alives,
    /// RFC 5626 §3.5.1, far more often).
    pub tcp_idle_secs: u64,
    /// A message must be complete this long after its first byte arrived, or the connection is
    /// closed: a peer sending one header byte a second (slowloris) cannot hold it open.
    pub tcp_message_secs: u64,
    /// Calls in progress at once, from everyone: beyond it, 503 with Retry-After. Keep it below
    /// the RTP port range's capacity (one even port per call), so a flood is refused here, before
    /// it takes ports or leaves tickets.
    pub max_calls: usize,
    /// Calls in progress at once from one IP address.
    pub max_calls_per_source: usize,
    /// New calls one IP address may place in any 60 seconds.
    pub new_calls_per_source_per_minute: usize,
    /// New calls get 503 while the media loops finish their 20 ms rounds more than this many
    /// milliseconds late on average (about the last second): the CPU is full, and one more
    /// call would make every caller's audio late. The calls in progress keep clean audio; the
    /// refused ones retry (Retry-After) or reach another node. 0 turns it off.
    pub max_media_lag_ms: u64,
    /// Requests whose User-Agent contains one of these (case-insensitive) are dropped without an
    /// answer: SIP scanners. Empty to turn it off.
    pub scanner_user_agents: Vec<String>,
}

impl Default for Limits {
    fn default() -> Self {
        Limits {
            max_message_bytes: 64 * 1024,
            tcp_connections: 1024,
            tcp_connections_per_source: 32,
            tcp_idle_secs: 300,
            tcp_message_secs: 10,
            max_calls: 500,
            max_calls_per_source: 20,
            new_calls_per_source_per_minute: 60,
            max_media_lag_ms: 15,
            scanner_user_agents: [
                "friendly-scanner",
                "sipcli",
                "sipvicious",
                "VaxSIPUserAgent",
                "VaxIPUserAgent",
                "sundayddr",
                "iWar",
                "SIVuS",
                "smap",
                "sip-scan",
                "siparmyknife",
            ]
            .map(String::from)
            .to_vec(),
        }
    }
}

impl Limits {
    pub fn tcp_idle(&self) -> Duration {
        Duration::from_secs(self.tcp_idle_secs)
    }

    pub fn tcp_message(&self) -> Duration {
        Duration::from_secs(self.tcp_message_secs)
    }

    /// Whether a User-Agent value is one of the configured scanners.
    pub fn is_scanner(&self, user_agent: &str) -> bool {
        let ua = user_agent.to_ascii_lowercase();
        self.scanner_user_agents
            .iter()
            .any(|s| !s.is_empty() && ua.contains(&s.to_ascii_lowercase()))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sipvicious_user_agent_is_a_scanner_and_a_phone_is_not() {
        let l = Limits::default();
        assert!(l.is_scanner("friendly-scanner"));
        assert!(l.is_scanner("SIPVicious/0.3.3"));
        assert!(!l.is_scanner("Linphone/5.2 (belle-sip/5.2)"));
    }

    #[test]
    fn an_empty_list_refuses_no_user_agent() {
        let l = Limits {
            scanner_user_agents: vec![],
            ..Limits::default()
        };
        assert!(!l.is_scanner("friendly-scanner"));
    }
}
