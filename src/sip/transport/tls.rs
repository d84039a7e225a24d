//! SIP over TLS (RFC 3261 §26.2.1, port 5061): TCP connections accepted under the same limits as
//! plain TCP, a TLS handshake, then the same stream handling ([`super::stream`]).
//!
//! We only accept TLS connections; we open none. Phones reached over TLS are reached over the
//! connection they registered or called on (RFC 5626's flow): a phone behind NAT cannot accept
//! one anyway, and connecting out would need a trust store for phones' certificates.

use super::stream::{self, Slot};
use super::{Flow, Transports};
use crate::sip::admission::RefusedCounts;
use std::net::SocketAddr;
use std::time::Duration;
use tokio::net::{TcpListener, TcpStream};
use tokio_rustls::TlsAcceptor;

pub(super) async fn accept_loop(
    transports: Transports,
    listener: TcpListener,
    acceptor: TlsAcceptor,
) {
    loop {
        match listener.accept().await {
            Ok((stream, peer)) => match Slot::take(&transports, peer.ip()) {
                Some(slot) => {
                    let _ = stream.set_nodelay(true);
                    // Each handshake in its own task: a peer that stalls mid-handshake (or never
                    // starts one) holds only its own slot, never the accept loop.
                    tokio::spawn(handshake(
                        transports.clone(),
                        acceptor.clone(),
                        stream,
                        peer,
                        slot,
                    ));
                }
                None => {
                    RefusedCounts::add(&transports.admission.refused.tcp_connections);
                    crate::metrics::SIP_TCP_CONNECTIONS_REFUSED.inc();
                    tracing::debug!(%peer, "TLS connection over the limits closed");
                    drop(stream);
                }
            },
            Err(e) => {
                // Out of descriptors (EMFILE) lands here: wait rather than spin.
                tracing::warn!(error = %e, "TLS accept failed");
                tokio::time::sleep(Duration::from_millis(50)).await;
            }
        }
        if transports.inbound.is_closed() {
            return;
        }
    }
}

/// Completes the handshake within `tcp_message_secs` (the time a peer has to send one message:
/// a handshake dribbled byte by byte is the same slowloris), then serves the connection.
async fn handshake(
    transports: Transports,
    acceptor: TlsAcceptor,
    stream: TcpStream,
    peer: SocketAddr,
    slot: Slot,
) {
    let deadline = transports.limits().tcp_message();
    match tokio::time::timeout(deadline, acceptor.accept(stream)).await {
        Ok(Ok(tls)) => {
            stream::start(transports, tls, peer, Some(slot), Flow::Tls);
        }
        // Debug, not info: a scan makes thousands of these; the metric counts them.
        Ok(Err(e)) => {
            crate::metrics::SIP_TLS_HANDSHAKES_FAILED.inc();
            tracing::debug!(%peer, error = %e, "TLS handshake failed");
        }
        Err(_) => {
            crate::metrics::SIP_TLS_HANDSHAKES_FAILED.inc();
            tracing::debug!(%peer, ?deadline, "TLS handshake not complete in time");
        }
    }
}
