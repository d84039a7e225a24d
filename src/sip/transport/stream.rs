//! One stream connection (TCP, or TLS over TCP): a reader and a writer task, framed by
//! Content-Length (§18.3), under the connection, size and time limits of
//! [`crate::sip::limits::Limits`]. Generic over the byte stream, so TLS gets the same framing,
//! slowloris and idle timeouts as TCP.

use super::framing::StreamFramer;
use super::{ConnectionId, Flow, Transports};
use crate::sip::admission::RefusedCounts;
use bytes::Bytes;
use std::net::{IpAddr, SocketAddr};
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;
use tokio::io::{AsyncRead, AsyncReadExt, AsyncWrite, AsyncWriteExt};
use tokio::sync::mpsc;
use tokio::time::Instant;

static NEXT_ID: AtomicU64 = AtomicU64::new(1);

/// How long a connection that cannot be framed any more stays open for the responses to what
/// was framed before the fault.
const CLOSE_GRACE: Duration = Duration::from_millis(500);

/// An accepted connection's place under the global and per-source limits, freed on drop.
pub(super) struct Slot {
    transports: Transports,
    source: IpAddr,
}

impl Slot {
    pub(super) fn take(transports: &Transports, source: IpAddr) -> Option<Slot> {
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

/// Starts serving `stream`: messages read from it are delivered as arriving on `flow(id)`, and
/// what is sent on that flow is written to it. `slot` is an accepted connection's place under
/// the limits (None for connections we opened).
pub(super) fn start<S>(
    transports: Transports,
    stream: S,
    peer: SocketAddr,
    slot: Option<Slot>,
    flow: fn(ConnectionId) -> Flow,
) -> (ConnectionId, mpsc::Sender<Bytes>)
where
    S: AsyncRead + AsyncWrite + Send + 'static,
{
    let id: ConnectionId = NEXT_ID.fetch_add(1, Ordering::Relaxed);
    let (tx, mut rx) = mpsc::channel::<Bytes>(256);
    transports
        .connections
        .lock()
        .expect("poisoned")
        .insert(id, tx.clone());
    let (mut reader, mut writer) = tokio::io::split(stream);
    tokio::spawn(async move {
        while let Some(bytes) = rx.recv().await {
            // Flushed each time: TLS holds written records until flushed.
            let written = async {
                writer.write_all(&bytes).await?;
                writer.flush().await
            };
            if let Err(e) = written.await {
                tracing::debug!(%peer, error = %e, "stream write failed");
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
                    tracing::debug!(%peer, why, "closing stream connection");
                    break;
                }
                Ok(Ok(n)) => n,
                Ok(Err(e)) => {
                    tracing::debug!(%peer, error = %e, "stream read failed");
                    break;
                }
            };
            framer.push(&buf[..n]);
            let mut completed = false;
            loop {
                match framer.next_message() {
                    Ok(Some(message)) => {
                        completed = true;
                        transports.deliver(&message, peer, flow(id)).await
                    }
                    Ok(None) => break,
                    Err(e) => {
                        // The stream is desynchronised: nothing after this can be framed.
                        if !matches!(e, super::framing::FramingError::ContentLength) {
                            RefusedCounts::add(&transports.admission.refused.oversized_messages);
                            crate::metrics::SIP_OVERSIZED_MESSAGES.inc();
                        }
                        tracing::warn!(%peer, error = %e, "closing stream connection");
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
