//! The web log's accept loop: HTTP/1.1 connections served by hyper with a header-read
//! deadline, so a client that dribbles its request headers (slowloris: one byte a second,
//! never finishing) is disconnected instead of holding a connection and a task forever.
//!
//! `axum::serve` offers no such deadline, hence this small loop in its place: it records each
//! connection's peer address for `ConnectInfo`, and on shutdown stops accepting, lets the
//! requests in progress finish and waits for every connection to close.
//!
//! With a TLS configuration it serves HTTPS: each connection's handshake runs in the
//! connection's own task, under the same deadline as the request headers, so a client that
//! stalls mid-handshake holds neither the accept loop nor a connection for long.

use axum::extract::ConnectInfo;
use axum::Router;
use hyper::body::Incoming;
use hyper::server::conn::http1;
use hyper::service::{service_fn, Service};
use hyper_util::rt::{TokioIo, TokioTimer};
use hyper_util::service::TowerToHyperService;
use std::net::SocketAddr;
use std::time::Duration;
use tokio::io::{AsyncRead, AsyncWrite};
use tokio::net::TcpListener;
use tokio::sync::watch;
use tokio_rustls::TlsAcceptor;

/// Accepts connections on `listener` and serves `app` on each until `shutdown` turns true;
/// over TLS when `tls` is given.
pub async fn run(
    listener: TcpListener,
    tls: Option<TlsAcceptor>,
    app: Router,
    header_read_timeout: Duration,
    mut shutdown: watch::Receiver<bool>,
) {
    // Every connection task holds a clone; when all are dropped, every connection is closed.
    let (open_tx, mut open_rx) = tokio::sync::mpsc::channel::<()>(1);
    loop {
        let (stream, peer) = tokio::select! {
            accepted = listener.accept() => match accepted {
                Ok(accepted) => accepted,
                Err(e) => {
                    // Out of file descriptors, or a connection reset before accept: the
                    // listener itself is fine. Pausing briefly lets connections close rather
                    // than spinning on the same error.
                    tracing::warn!(error = %e, "web log: accept failed");
                    tokio::time::sleep(Duration::from_millis(100)).await;
                    continue;
                }
            },
            () = stopped(&mut shutdown) => break,
        };
        let _ = stream.set_nodelay(true);
        let app = app.clone();
        let shutdown = shutdown.clone();
        let open = open_tx.clone();
        let tls = tls.clone();
        tokio::spawn(async move {
            let Some(tls) = tls else {
                serve_connection(stream, app, header_read_timeout, shutdown, peer).await;
                drop(open);
                return;
            };
            match tokio::time::timeout(header_read_timeout, tls.accept(stream)).await {
                Ok(Ok(stream)) => {
                    serve_connection(stream, app, header_read_timeout, shutdown, peer).await
                }
                Ok(Err(e)) => tracing::debug!(%peer, error = %e, "web log: TLS handshake failed"),
                Err(_) => tracing::debug!(%peer, "web log: TLS handshake too slow, closed"),
            }
            drop(open);
        });
    }
    drop(listener);
    drop(open_tx);
    // Resolves with None once the last connection task has dropped its sender.
    let _ = open_rx.recv().await;
}

/// Serves HTTP/1.1 on one connection (plain or TLS) until it ends or the web log shuts down.
async fn serve_connection<I>(
    io: I,
    app: Router,
    header_read_timeout: Duration,
    mut shutdown: watch::Receiver<bool>,
    peer: SocketAddr,
) where
    I: AsyncRead + AsyncWrite + Unpin + Send + 'static,
{
    let hyper_service = TowerToHyperService::new(app);
    let service = service_fn(move |mut request: hyper::Request<Incoming>| {
        request.extensions_mut().insert(ConnectInfo(peer));
        hyper_service.call(request)
    });
    let conn = http1::Builder::new()
        .timer(TokioTimer::new())
        .header_read_timeout(header_read_timeout)
        .serve_connection(TokioIo::new(io), service)
        // The softphone's WebSocket (`/phone`) is an HTTP/1.1 upgrade.
        .with_upgrades();
    let mut conn = std::pin::pin!(conn);
    tokio::select! {
        result = conn.as_mut() => log_end(result, peer),
        () = stopped(&mut shutdown) => {
            conn.as_mut().graceful_shutdown();
            log_end(conn.await, peer);
        }
    }
}

/// Resolves when `shutdown` turns true (or its sender is gone). Returns nothing, so no borrow of
/// the watch value lives on in a task (it is not `Send`).
async fn stopped(shutdown: &mut watch::Receiver<bool>) {
    let _ = shutdown.wait_for(|stop| *stop).await;
}

fn log_end(result: Result<(), hyper::Error>, peer: SocketAddr) {
    if let Err(e) = result {
        if e.is_timeout() {
            tracing::debug!(%peer, "web log: request headers too slow, connection closed");
        } else {
            tracing::debug!(%peer, error = %e, "web log: connection ended");
        }
    }
}
