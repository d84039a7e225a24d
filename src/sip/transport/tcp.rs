//! SIP over TCP: the accept loop and outgoing connections. What happens on a connection once
//! it is open is [`super::stream`]'s, shared with TLS.

use super::stream::{self, Slot};
use super::{ConnectionId, Flow, TransportError, Transports};
use crate::sip::admission::RefusedCounts;
use bytes::Bytes;
use std::net::SocketAddr;
use std::time::Duration;
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::mpsc;

pub(super) async fn accept_loop(transports: Transports, listener: TcpListener) {
    loop {
        match listener.accept().await {
            Ok((stream, peer)) => match Slot::take(&transports, peer.ip()) {
                Some(slot) => {
                    let _ = stream.set_nodelay(true);
                    stream::start(transports.clone(), stream, peer, Some(slot), Flow::Tcp);
                }
                None => {
                    // Closed at once: holding refused connections would spend the descriptors
                    // the limit is there to keep.
                    RefusedCounts::add(&transports.admission.refused.tcp_connections);
                    crate::metrics::SIP_TCP_CONNECTIONS_REFUSED.inc();
                    tracing::debug!(%peer, "TCP connection over the limits closed");
                    drop(stream);
                }
            },
            Err(e) => {
                // Out of descriptors (EMFILE) lands here: wait rather than spin.
                tracing::warn!(error = %e, "TCP accept failed");
                tokio::time::sleep(Duration::from_millis(50)).await;
            }
        }
        if transports.inbound.is_closed() {
            return;
        }
    }
}

/// Opens a connection to `dest`: for a phone we reach over TCP, or a message whose original
/// connection is gone. Messages arriving on it are delivered like those on accepted ones.
pub(super) async fn connect(
    transports: Transports,
    dest: SocketAddr,
) -> Result<(ConnectionId, mpsc::Sender<Bytes>), TransportError> {
    let stream = TcpStream::connect(dest)
        .await
        .map_err(|source| TransportError::Connect { dest, source })?;
    let _ = stream.set_nodelay(true);
    Ok(stream::start(transports, stream, dest, None, Flow::Tcp))
}
