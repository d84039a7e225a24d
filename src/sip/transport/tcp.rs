//! TCP connections: one reader and one writer task each, framed by Content-Length.

use super::framing::StreamFramer;
use super::{ConnectionId, Flow, TransportError, Transports};
use bytes::Bytes;
use std::net::SocketAddr;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::mpsc;

static NEXT_ID: AtomicU64 = AtomicU64::new(1);

/// A connection with no traffic for this long is closed; phones keep theirs alive with CRLF.
const IDLE_TIMEOUT: Duration = Duration::from_secs(600);

pub(super) async fn accept_loop(transports: Transports, listener: TcpListener) {
    loop {
        match listener.accept().await {
            Ok((stream, peer)) => {
                let _ = stream.set_nodelay(true);
                start(transports.clone(), stream, peer);
            }
            Err(e) => {
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
    Ok(start(transports, stream, dest))
}

fn start(
    transports: Transports,
    stream: TcpStream,
    peer: SocketAddr,
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
        let mut framer = StreamFramer::new();
        let mut buf = vec![0u8; 16 * 1024];
        loop {
            let read = tokio::time::timeout(IDLE_TIMEOUT, reader.read(&mut buf)).await;
            let n = match read {
                Ok(Ok(0)) | Err(_) => break,
                Ok(Ok(n)) => n,
                Ok(Err(e)) => {
                    tracing::debug!(%peer, error = %e, "TCP read failed");
                    break;
                }
            };
            framer.push(&buf[..n]);
            loop {
                match framer.next_message() {
                    Ok(Some(message)) => transports.deliver(&message, peer, Flow::Tcp(id)).await,
                    Ok(None) => break,
                    Err(e) => {
                        // The stream is desynchronised: nothing after this can be framed.
                        tracing::warn!(%peer, error = %e, "closing TCP connection");
                        transports.connections.lock().expect("poisoned").remove(&id);
                        return;
                    }
                }
            }
        }
        transports.connections.lock().expect("poisoned").remove(&id);
    });
    (id, tx)
}
