//! Operations endpoints, for load balancers, process supervisors and Prometheus: none needs a
//! login (docs/operations.md).
//!
//! - `GET /health`: liveness. The process answers HTTP; nothing else is checked, so a slow
//!   database never gets a healthy process restarted.
//! - `GET /ready`: readiness. The store answers `SELECT 1` and the SIP port answers OPTIONS, and
//!   the server is not shutting down; otherwise 503 with the reason, so a balancer sends callers
//!   elsewhere.
//! - `GET /metrics`: the counters of `crate::metrics` and what the store knows (phone bindings,
//!   the transcription queue), in the Prometheus text format; who may read it is `[http]
//!   metrics`.

use super::auth::Auth;
use super::client::Client;
use super::{AppState, WebError};
use crate::config::MetricsAccess;
use crate::metrics::{self, Kind};
use axum::extract::{FromRequestParts, State};
use axum::http::request::Parts;
use axum::http::{header, StatusCode};
use axum::response::{IntoResponse, Response};
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr, SocketAddr};
use std::time::Duration;
use tokio::net::UdpSocket;

/// How long each readiness check may take. A balancer probes every few seconds; a check that
/// takes longer than this is as good as failed.
const CHECK_TIMEOUT: Duration = Duration::from_secs(2);

/// The Prometheus text exposition format, version 0.0.4.
const PROMETHEUS_TEXT: &str = "text/plain; version=0.0.4; charset=utf-8";

/// What the operations endpoints need besides the store.
#[derive(Debug, Clone)]
pub struct Ops {
    /// Who may read `/metrics`.
    pub metrics: MetricsAccess,
    /// The SIP address `/ready` sends OPTIONS to; None when this web log serves no SIP (a
    /// stand-alone web log, as in the benchmark).
    pub sip: Option<SocketAddr>,
}

/// `GET /health`: the process is up and serving requests.
pub async fn health() -> Response {
    text(StatusCode::OK, "ok\n")
}

/// `GET /ready`: 200 when calls can be taken, else 503 naming what is not ready.
pub async fn ready(State(state): State<AppState>) -> Response {
    if *state.shutdown.borrow() {
        return text(
            StatusCode::SERVICE_UNAVAILABLE,
            "not ready: shutting down\n",
        );
    }
    let store = async {
        match tokio::time::timeout(CHECK_TIMEOUT, state.store.ping()).await {
            Ok(Ok(())) => Ok(()),
            Ok(Err(e)) => {
                tracing::warn!(error = %e, "readiness: store unreachable");
                Err("store unreachable")
            }
            Err(_) => Err("store did not answer in time"),
        }
    };
    let sip = async {
        match state.ops.sip {
            Some(addr) => sip_answers_options(addr).await,
            None => Ok(()),
        }
    };
    let (store, sip) = tokio::join!(store, sip);
    let failures: Vec<&str> = [store.err(), sip.err()].into_iter().flatten().collect();
    if failures.is_empty() {
        text(StatusCode::OK, "ready\n")
    } else {
        let reason = format!("not ready: {}\n", failures.join("; "));
        text(StatusCode::SERVICE_UNAVAILABLE, &reason)
    }
}

/// `GET /metrics`: counters since start, and gauges read from the store now.
pub async fn metrics(_reader: MetricsReader, State(state): State<AppState>) -> Response {
    let mut out = String::with_capacity(4096);
    metrics::write_counters(&mut out);
    let (bindings, queue) = tokio::join!(
        tokio::time::timeout(
            CHECK_TIMEOUT,
            state.store.count_bindings(chrono::Utc::now())
        ),
        tokio::time::timeout(CHECK_TIMEOUT, state.store.transcription_counts()),
    );
    let store_up = matches!((&bindings, &queue), (Ok(Ok(_)), Ok(Ok(_))));
    // A store that does not answer leaves these families out rather than reporting zeros,
    // which would read as "no phones registered" on a dashboard.
    if let Ok(Ok(n)) = bindings {
        metrics::write_family(
            &mut out,
            "hotline_phone_bindings",
            "Technicians' phone bindings registered and not expired.",
            Kind::Gauge,
            &[("", n as f64)],
        );
    }
    if let Ok(Ok(q)) = queue {
        metrics::write_family(
            &mut out,
            "hotline_transcription_jobs",
            "Transcription jobs in the queue, by state.",
            Kind::Gauge,
            &[
                (r#"state="queued""#, f64::from(q.queued)),
                (r#"state="running""#, f64::from(q.running)),
                (r#"state="done""#, f64::from(q.done)),
                (r#"state="failed""#, f64::from(q.failed)),
            ],
        );
    }
    metrics::write_family(
        &mut out,
        "hotline_store_up",
        "1 if the store answered this scrape's queries, else 0.",
        Kind::Gauge,
        &[("", if store_up { 1.0 } else { 0.0 })],
    );
    ([(header::CONTENT_TYPE, PROMETHEUS_TEXT)], out).into_response()
}

/// A client allowed to read `/metrics` under `[http] metrics`.
pub struct MetricsReader;

impl FromRequestParts<AppState> for MetricsReader {
    type Rejection = WebError;

    async fn from_request_parts(
        parts: &mut Parts,
        state: &AppState,
    ) -> Result<MetricsReader, WebError> {
        match state.ops.metrics {
            MetricsAccess::Open => Ok(MetricsReader),
            MetricsAccess::Token => Auth::from_request_parts(parts, state)
                .await
                .map(|_| MetricsReader),
            MetricsAccess::Local => {
                let Ok(client) = Client::from_request_parts(parts, state).await;
                if client.ip.is_loopback() {
                    Ok(MetricsReader)
                } else {
                    Err(WebError::Forbidden(
                        "metrics are served to this machine only ([http] metrics = \"local\")",
                    ))
                }
            }
        }
    }
}

fn text(status: StatusCode, body: &str) -> Response {
    (
        status,
        [(header::CONTENT_TYPE, "text/plain; charset=utf-8")],
        body.to_string(),
    )
        .into_response()
}

/// Sends OPTIONS to our own SIP port over UDP and waits for its 200, as an outside monitor
/// would: it proves the UDP receive loop, the endpoint task and its transaction table all run.
/// (Raw text rather than the `sip` module: the web log stays above the protocol layers.)
async fn sip_answers_options(sip: SocketAddr) -> Result<(), &'static str> {
    let target = SocketAddr::new(reachable_ip(sip.ip()), sip.port());
    // Bound like the target (loopback to loopback), so the reply's route is the same.
    let local = SocketAddr::new(
        if target.ip().is_loopback() {
            target.ip()
        } else {
            unspecified_like(target.ip())
        },
        0,
    );
    let probe = async {
        let socket = UdpSocket::bind(local).await.ok()?;
        socket.connect(target).await.ok()?;
        let me = socket.local_addr().ok()?;
        let token = super::auth::random_token();
        let token = &token[..16];
        let call_id = format!("ready-{token}");
        let options = format!(
            "OPTIONS sip:{target} SIP/2.0\r\n\
             Via: SIP/2.0/UDP {me};branch=z9hG4bK{token};rport\r\n\
             Max-Forwards: 70\r\n\
             From: <sip:ready@{me}>;tag={token}\r\n\
             To: <sip:{target}>\r\n\
             Call-ID: {call_id}\r\n\
             CSeq: 1 OPTIONS\r\n\
             User-Agent: Hotline readiness check\r\n\
             Content-Length: 0\r\n\r\n"
        );
        socket.send(options.as_bytes()).await.ok()?;
        let mut buf = vec![0u8; 4096];
        loop {
            let n = socket.recv(&mut buf).await.ok()?;
            let reply = String::from_utf8_lossy(&buf[..n]);
            if reply.contains(&call_id) {
                return Some(reply.starts_with("SIP/2.0 200"));
            }
        }
    };
    // UDP may lose the datagram; on loopback it does not, so one try within the timeout.
    match tokio::time::timeout(CHECK_TIMEOUT, probe).await {
        Ok(Some(true)) => Ok(()),
        Ok(Some(false)) => Err("SIP endpoint refused OPTIONS"),
        Ok(None) => Err("SIP endpoint unreachable"),
        Err(_) => Err("SIP endpoint did not answer OPTIONS in time"),
    }
}

/// Where to reach a port bound to `ip`: a wildcard bind is reached on loopback.
fn reachable_ip(ip: IpAddr) -> IpAddr {
    match ip {
        IpAddr::V4(v4) if v4.is_unspecified() => Ipv4Addr::LOCALHOST.into(),
        IpAddr::V6(v6) if v6.is_unspecified() => Ipv6Addr::LOCALHOST.into(),
        other => other,
    }
}

fn unspecified_like(ip: IpAddr) -> IpAddr {
    match ip {
        IpAddr::V4(_) => Ipv4Addr::UNSPECIFIED.into(),
        IpAddr::V6(_) => Ipv6Addr::UNSPECIFIED.into(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_wildcard_sip_address_is_probed_on_loopback() {
        assert_eq!(
            reachable_ip("0.0.0.0".parse().unwrap()),
            IpAddr::from(Ipv4Addr::LOCALHOST)
        );
        assert_eq!(
            reachable_ip("::".parse().unwrap()),
            IpAddr::from(Ipv6Addr::LOCALHOST)
        );
        let lan: IpAddr = "192.0.2.7".parse().unwrap();
        assert_eq!(reachable_ip(lan), lan);
    }

    #[tokio::test(start_paused = true)]
    async fn a_sip_port_that_never_answers_is_not_ready() {
        // Bound, so the OPTIONS is delivered, but nobody reads it (a wedged endpoint task).
        let silent = UdpSocket::bind("127.0.0.1:0").await.unwrap();
        let addr = silent.local_addr().unwrap();
        assert_eq!(
            sip_answers_options(addr).await,
            Err("SIP endpoint did not answer OPTIONS in time")
        );
    }

    #[tokio::test]
    async fn a_sip_port_that_answers_anything_but_200_is_not_ready() {
        let peer = UdpSocket::bind("127.0.0.1:0").await.unwrap();
        let addr = peer.local_addr().unwrap();
        let answer = tokio::spawn(async move {
            let mut buf = [0u8; 4096];
            let (n, from) = peer.recv_from(&mut buf).await.unwrap();
            let request = String::from_utf8_lossy(&buf[..n]).to_string();
            let call_id = request
                .lines()
                .find_map(|l| l.strip_prefix("Call-ID: "))
                .unwrap()
                .to_string();
            let reply = format!("SIP/2.0 503 Service Unavailable\r\nCall-ID: {call_id}\r\n\r\n");
            peer.send_to(reply.as_bytes(), from).await.unwrap();
            request
        });
        assert_eq!(
            sip_answers_options(addr).await,
            Err("SIP endpoint refused OPTIONS")
        );
        let request = answer.await.unwrap();
        assert!(
            request.starts_with(&format!("OPTIONS sip:{addr} SIP/2.0\r\n")),
            "{request}"
        );
    }
}
