//! SIP transports: UDP and TCP on the same port (RFC 3261 §18), and TLS on its own port when
//! configured (§26.2.1, usually 5061).
//!
//! The transport layer turns bytes into parsed messages and back. It answers what it cannot
//! parse itself (400/501 from the raw text, see [`message::raw_error_response`]), so everything it
//! hands up is a well-formed message with the headers transactions need.

pub mod framing;
mod stream;
mod tcp;
mod tls;
mod udp;

use crate::metrics;
use crate::sip::admission::{AdmissionControl, RefusedCounts};
use crate::sip::limits::Limits;
use crate::sip::message::{self, MessageError};
use crate::sip::validate::{self, Refusal};
use bytes::Bytes;
use rsip::SipMessage;
use std::collections::HashMap;
use std::net::{IpAddr, SocketAddr};
use std::sync::{Arc, Mutex, OnceLock};
use std::time::Duration;
use tokio::net::{TcpListener, UdpSocket};
use tokio::sync::mpsc;

/// Identifies one TCP or TLS connection for the lifetime of the process.
pub type ConnectionId = u64;

/// The path a message arrived on, and the one its responses must take (§18.2.2: over TCP or
/// TLS, the same connection).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Flow {
    Udp,
    Tcp(ConnectionId),
    Tls(ConnectionId),
}

impl Flow {
    /// Reliable transports need no retransmissions (§17).
    pub fn is_reliable(self) -> bool {
        !matches!(self, Flow::Udp)
    }

    /// The Via transport token.
    pub fn via_transport(self) -> &'static str {
        match self {
            Flow::Udp => "UDP",
            Flow::Tcp(_) => "TCP",
            Flow::Tls(_) => "TLS",
        }
    }

    /// The URI parameter naming this transport in a Contact (§19.1.1); UDP is the default and
    /// needs none.
    pub fn uri_parameter(self) -> &'static str {
        match self {
            Flow::Udp => "",
            Flow::Tcp(_) => ";transport=tcp",
            Flow::Tls(_) => ";transport=tls",
        }
    }
}

/// A parsed message and where it came from.
#[derive(Debug)]
pub struct Inbound {
    pub message: rsip::SipMessage,
    pub source: SocketAddr,
    pub flow: Flow,
}

/// Why a transport could not start or send.
#[derive(Debug, thiserror::Error)]
pub enum TransportError {
    #[error("cannot bind SIP {transport} on {addr}: {source}")]
    Bind {
        transport: &'static str,
        addr: SocketAddr,
        source: std::io::Error,
    },
    #[error("sending to {dest}: {source}")]
    Send {
        dest: SocketAddr,
        source: std::io::Error,
    },
    #[error("cannot connect to {dest} over TCP: {source}")]
    Connect {
        dest: SocketAddr,
        source: std::io::Error,
    },
    /// We open no TLS connections (see `tls.rs`): a phone on TLS is reached on its own
    /// connection, and is unreachable once that has closed until it connects again.
    #[error("the TLS connection to {dest} has closed")]
    TlsClosed { dest: SocketAddr },
}

/// The sending side of the transports, cheap to clone.
#[derive(Clone)]
pub struct Transports {
    udp: Arc<UdpSocket>,
    local: SocketAddr,
    /// The TLS listener's address, once [`listen_tls`](Self::listen_tls) has bound it.
    tls_local: Arc<OnceLock<SocketAddr>>,
    connections: Arc<Mutex<HashMap<ConnectionId, mpsc::Sender<Bytes>>>>,
    /// Accepted TCP connections open per source address (outbound ones are ours, not counted).
    tcp_sources: Arc<Mutex<HashMap<IpAddr, usize>>>,
    inbound: mpsc::Sender<Inbound>,
    admission: AdmissionControl,
}

impl Transports {
    /// Binds UDP and TCP on `addr` with the default [`Limits`].
    pub async fn bind(
        addr: SocketAddr,
    ) -> Result<(Transports, mpsc::Receiver<Inbound>), TransportError> {
        Self::bind_with(addr, Limits::default()).await
    }

    /// Binds UDP and TCP on `addr` (the same port for both; with port 0 the UDP port picked by the
    /// OS is reused for TCP) and starts their receive loops, under `limits`.
    pub async fn bind_with(
        addr: SocketAddr,
        limits: Limits,
    ) -> Result<(Transports, mpsc::Receiver<Inbound>), TransportError> {
        let (udp, listener) = bind_pair(addr).await?;
        let local = udp.local_addr().map_err(|source| TransportError::Bind {
            transport: "UDP",
            addr,
            source,
        })?;
        let (tx, rx) = mpsc::channel(4096);
        let transports = Transports {
            udp: Arc::new(udp),
            local,
            tls_local: Arc::default(),
            connections: Arc::default(),
            tcp_sources: Arc::default(),
            inbound: tx,
            admission: AdmissionControl::new(limits),
        };
        tokio::spawn(udp::receive_loop(transports.clone()));
        tokio::spawn(tcp::accept_loop(transports.clone(), listener));
        tokio::spawn(report_refusals(transports.clone()));
        Ok((transports, rx))
    }

    /// The admission control new INVITEs go through (the endpoint asks it before a call starts).
    pub fn admission(&self) -> &AdmissionControl {
        &self.admission
    }

    fn limits(&self) -> &Limits {
        &self.admission.limits
    }

    /// The bound address (UDP and TCP share the port).
    pub fn local_addr(&self) -> SocketAddr {
        self.local
    }

    /// Listens for SIP over TLS on `addr` with `config` (from [`crate::tls::server_config`]),
    /// under the same connection limits as TCP (the TLS connections count among them). Returns
    /// the bound address.
    pub async fn listen_tls(
        &self,
        addr: SocketAddr,
        config: Arc<rustls::ServerConfig>,
    ) -> Result<SocketAddr, TransportError> {
        let bind_err = |source| TransportError::Bind {
            transport: "TLS",
            addr,
            source,
        };
        let listener = TcpListener::bind(addr).await.map_err(bind_err)?;
        let bound = listener.local_addr().map_err(bind_err)?;
        if self.tls_local.set(bound).is_err() {
            return Err(bind_err(std::io::Error::other("TLS is already listening")));
        }
        tokio::spawn(tls::accept_loop(
            self.clone(),
            listener,
            tokio_rustls::TlsAcceptor::from(config),
        ));
        Ok(bound)
    }

    /// The TLS listener's address, if TLS is on.
    pub fn tls_addr(&self) -> Option<SocketAddr> {
        self.tls_local.get().copied()
    }

    /// Our address as seen over `flow`: the TLS port for TLS (what Via and Contact must name
    /// so a phone's next request comes back over TLS), the UDP/TCP one otherwise.
    pub fn local_addr_for(&self, flow: Flow) -> SocketAddr {
        match (flow, self.tls_addr()) {
            (Flow::Tls(_), Some(tls)) => tls,
            _ => self.local,
        }
    }

    /// Sends `bytes` to `dest` over `flow`. Over TCP, when the original connection has closed, a
    /// new one is opened to `dest` (§18.2.2).
    pub async fn send(
        &self,
        flow: Flow,
        dest: SocketAddr,
        bytes: Bytes,
    ) -> Result<(), TransportError> {
        match flow {
            Flow::Udp => self
                .udp
                .send_to(&bytes, dest)
                .await
                .map(|_| ())
                .map_err(|source| TransportError::Send { dest, source }),
            Flow::Tcp(id) | Flow::Tls(id) => {
                let writer = self.connections.lock().expect("poisoned").get(&id).cloned();
                let writer = match writer {
                    Some(w) if !w.is_closed() => w,
                    _ if matches!(flow, Flow::Tls(_)) => {
                        return Err(TransportError::TlsClosed { dest })
                    }
                    _ => tcp::connect(self.clone(), dest).await?.1,
                };
                writer.send(bytes).await.map_err(|_| TransportError::Send {
                    dest,
                    source: std::io::ErrorKind::BrokenPipe.into(),
                })
            }
        }
    }

    /// Opens a new TCP connection to `dest` and returns its flow (§18.1.1: a request to a peer
    /// with no connection to us). What the peer sends on it is delivered like any message.
    pub async fn connect_tcp(&self, dest: SocketAddr) -> Result<Flow, TransportError> {
        let (id, _) = tcp::connect(self.clone(), dest).await?;
        Ok(Flow::Tcp(id))
    }

    /// Checks, parses and passes up a received message; answers or drops what must not go on.
    async fn deliver(&self, raw: &[u8], source: SocketAddr, flow: Flow) {
        metrics::SIP_MESSAGES_RECEIVED.inc();
        let head = message::normalised_head(raw);
        if let Some(user_agent) = header_of(&head, "User-Agent") {
            if self.limits().is_scanner(user_agent) {
                // Silence tells a scanner nothing, not even that a SIP server is here.
                RefusedCounts::add(&self.admission.refused.scanner_requests);
                metrics::SIP_SCANNER_REQUESTS.inc();
                tracing::debug!(%source, user_agent, "scanner request dropped");
                return;
            }
        }
        if raw.len() > self.limits().max_message_bytes {
            RefusedCounts::add(&self.admission.refused.oversized_messages);
            metrics::SIP_OVERSIZED_MESSAGES.inc();
            let refusal = Refusal {
                status: 513,
                reason: "Message Too Large".into(),
                headers: vec![],
            };
            return self.refuse(raw, &refusal, source, flow).await;
        }
        if let Some(refusal) = validate::check_raw(&head) {
            metrics::SIP_REQUESTS_INVALID.inc();
            return self.refuse(raw, &refusal, source, flow).await;
        }
        match message::parse(raw) {
            Ok(message) => {
                if let SipMessage::Request(request) = &message {
                    if let Some(refusal) = validate::check_request(request) {
                        metrics::SIP_REQUESTS_INVALID.inc();
                        return self.refuse(raw, &refusal, source, flow).await;
                    }
                }
                let _ = self
                    .inbound
                    .send(Inbound {
                        message,
                        source,
                        flow,
                    })
                    .await;
            }
            Err(error) => {
                metrics::SIP_PARSE_ERRORS.inc();
                self.reject(raw, &error, source, flow).await
            }
        }
    }

    /// Answers a request the checks refused, statelessly (§8.2: these refusals need no
    /// transaction; a retransmission is refused again).
    async fn refuse(&self, raw: &[u8], refusal: &Refusal, source: SocketAddr, flow: Flow) {
        match message::raw_response(raw, refusal) {
            Some(response) => {
                tracing::info!(%source, status = refusal.status, reason = %refusal.reason, "SIP request refused");
                if let Err(e) = self.send(flow, source, Bytes::from(response)).await {
                    tracing::debug!(%source, error = %e, "could not send refusal");
                }
            }
            None => {
                tracing::info!(%source, status = refusal.status, "unanswerable SIP message dropped")
            }
        }
    }

    async fn reject(&self, raw: &[u8], error: &MessageError, source: SocketAddr, flow: Flow) {
        match message::raw_error_response(raw, error) {
            Some(response) => {
                tracing::warn!(%source, %error, "malformed SIP message answered with an error");
                // Best effort: the sender's Via may be unusable, so answer where it came from.
                if let Err(e) = self.send(flow, source, Bytes::from(response)).await {
                    tracing::debug!(%source, error = %e, "could not send error response");
                }
            }
            None => {
                tracing::warn!(%source, %error, bytes = raw.len(), "malformed SIP message dropped")
            }
        }
    }
}

/// The value of the first header `name` in a normalised head.
fn header_of<'a>(head: &'a str, name: &str) -> Option<&'a str> {
    head.split("\r\n").skip(1).find_map(|line| {
        let (n, v) = line.split_once(':')?;
        n.trim().eq_ignore_ascii_case(name).then(|| v.trim())
    })
}

/// How often refusals are reported in the log, when there were any.
const REPORT_EVERY: Duration = Duration::from_secs(60);

/// Logs the refusal counters every minute while they change, so an operator sees a scan or a
/// flood without a log line per packet (decision: refused attempts leave no ticket, only these
/// counts; see docs/sip.md).
async fn report_refusals(transports: Transports) {
    let mut last = transports.admission.refused.snapshot();
    let mut tick = tokio::time::interval(REPORT_EVERY);
    tick.tick().await;
    while !transports.inbound.is_closed() {
        tick.tick().await;
        let now = transports.admission.refused.snapshot();
        if now != last {
            let (scanner, calls, oversized, tcp) = now;
            tracing::warn!(
                scanner_requests = scanner,
                calls_over_limits = calls,
                oversized_messages = oversized,
                tcp_connections_refused = tcp,
                calls_in_progress = transports.admission.in_progress(),
                "SIP refusals since start"
            );
            last = now;
        }
    }
}

async fn bind_pair(addr: SocketAddr) -> Result<(UdpSocket, TcpListener), TransportError> {
    let bind_err = |transport, addr| {
        move |source| TransportError::Bind {
            transport,
            addr,
            source,
        }
    };
    // With an ephemeral port, the OS's UDP choice may be taken for TCP: try a few times.
    for _ in 0..20 {
        let udp = UdpSocket::bind(addr).await.map_err(bind_err("UDP", addr))?;
        let udp_addr = udp.local_addr().map_err(bind_err("UDP", addr))?;
        match TcpListener::bind(udp_addr).await {
            Ok(listener) => return Ok((udp, listener)),
            Err(e) if addr.port() != 0 => return Err(bind_err("TCP", udp_addr)(e)),
            Err(_) => continue,
        }
    }
    Err(bind_err("TCP", addr)(std::io::ErrorKind::AddrInUse.into()))
}
