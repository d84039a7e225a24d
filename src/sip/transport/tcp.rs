//! TCP connections: one reader and one writer task each, framed by Content-Length, under the
//! connection, size and time limits of [`crate::sip::limits::Limits`].

use super::framing::StreamFramer;
use super::{ConnectionId, Flow, TransportError, Transports};
use crate::sip::admission::RefusedCounts;
use bytes::Bytes;
use std::net::{IpAddr, SocketAddr};
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::mpsc;
use tokio::time::Instant;

static NEXT_ID: AtomicU64 = AtomicU64::new(1);

/// How long a connection that cannot be framed any more stays open for the responses to what
/// was framed before the fault.
const CLOSE_GRACE: Duration = Duration::from_millis(500);

pub(super) async fn accept_loop(transports: Transports, listener: TcpListener) {
    loop {
        match listener.accept().await {
            Ok((stream, peer)) => match Slot::take(&transports, peer.ip()) {
                Some(slot) => {
                    let _ = stream.set_nodelay(true);
                    start(transports.clone(), stream, peer, Some(slot));
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

/// An accepted connection's place under the global and per-source limits, freed on drop.
struct Slot {
    transports: Transports,
    source: IpAddr,
}

impl Slot {
    fn take(transports: &Transports, source: IpAddr) -> Option<Slot> {
        let limits = transports.limits();
        let mut sources = transports.tcp_sources.lock().expect("poisoned");
        let total: usize = sources.values().sum();
        let from_source = sources.get(&source).copied().unwrap_or(0);
        if total >= limits.tcp_connections || from_source >= limits.tcp_connections_per_source {
            return None;
        }
        *sources.entry(source).or_default() += 1;
        Some(Slot {
            transports: transports.clone(),
            source,
        })
    }
}

impl Drop for Slot {
    fn drop(&mut self) {
        let mut sources = self.transports.tcp_sources.lock().expect("poisoned");
        if let Some(n) = sources.get_mut(&self.source) {
            *n -= 1;
            if *n == 0 {
                sources.remove(&self.source);
            }
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
    Ok(start(transports, stream, dest, None))
}

fn start(
    transports: Transports,
    stream: TcpStream,
    peer: SocketAddr,
    slot: Option<Slot>,
) -> (ConnectionId, mpsc::Sender<Bytes>) {
    let id: ConnectionId = NEXT_ID.fetch_add(1, Ordering::Relaxed);
    let (tx, mut rx) = mpsc::channel::<Bytes>(256);
    transports
        .connections
        .lock()
        .expect("poisoned")
        .insert(id, tx.clone());
    let (mut reader, mut writer) = stream.into_split();
    tokio::spawn(async move {
        while let Some(bytes) = rx.recv().await {
            if let Err(e) = writer.write_all(&bytes).await {
                tracing::debug!(%peer, error = %e, "TCP write failed");
                break;
            }
        }
    });
    tokio::spawn(async move {
        let _slot = slot;
        let idle = transports.limits().tcp_idle();
        let message_time = transports.limits().tcp_message();
        let mut framer = StreamFramer::with_limit(transports.limits().max_message_bytes);
        let mut buf = vec![0u8; 16 * 1024];
        // When the first byte of the message being received arrived: it must be complete within
        // `message_time`, however slowly the rest trickles in (slowloris).
        let mut message_started: Option<Instant> = None;
        loop {
            let deadline = match message_started {
                Some(started) => (started + message_time).min(Instant::now() + idle),
                None => Instant::now() + idle,
            };
            let read = tokio::time::timeout_at(deadline, reader.read(&mut buf)).await;
            let n = match read {
                Ok(Ok(0)) => break,
                Err(_) => {
                    let why = if message_started.is_some() {
                        "message not complete in time"
                    } else {
                        "idle"
                    };
                    tracing::debug!(%peer, why, "closing TCP connection");
                    break;
                }
                Ok(Ok(n)) => n,
                Ok(Err(e)) => {
                    tracing::debug!(%peer, error = %e, "TCP read failed");
                    break;
                }
            };
            framer.push(&buf[..n]);
            let mut completed = false;
            loop {
                match framer.next_message() {
                    Ok(Some(message)) => {
                        completed = true;
                        transports.deliver(&message, peer, Flow::Tcp(id)).await
                    }
                    Ok(None) => break,
                    Err(e) => {
                        // The stream is desynchronised: nothing after this can be framed.
                        if !matches!(e, super::framing::FramingError::ContentLength) {
                            RefusedCounts::add(&transports.admission.refused.oversized_messages);
                            crate::metrics::SIP_OVERSIZED_MESSAGES.inc();
                        }
                        tracing::warn!(%peer, error = %e, "closing TCP connection");
                        // Messages framed before the fault are still being answered: leave the
                        // writer registered a moment so those responses reach the peer.
                        tokio::time::sleep(CLOSE_GRACE).await;
                        transports.connections.lock().expect("poisoned").remove(&id);
                        return;
                    }
                }
            }
            // A new message's clock starts when its first bytes arrive.
            message_started = match (framer.has_partial(), message_started) {
                (false, _) => None,
                (true, None) => Some(Instant::now()),
                (true, _) if completed => Some(Instant::now()),
                (true, started) => started,
            };
        }
        transports.connections.lock().expect("poisoned").remove(&id);
    });
    (id, tx)
}
