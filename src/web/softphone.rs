//! `GET /phone`: the softphone's WebSocket (see `browser::protocol` for its messages).
//!
//! Logged in with the session cookie like every page, and only from our own pages: a browser
//! sends cookies with a cross-site WebSocket too (no CORS for WebSockets), so the `Origin`
//! must name the host the request was sent to, or the page could be any site's.

use super::auth::Auth;
use super::{AppState, WebError};
use crate::browser::protocol::{FromBrowser, ToBrowser};
use axum::extract::ws::rejection::WebSocketUpgradeRejection;
use axum::extract::ws::{Message, WebSocket, WebSocketUpgrade};
use axum::extract::State;
use axum::http::{header, HeaderMap};
use axum::response::Response;
use tokio::sync::watch;

pub(super) async fn softphone(
    State(state): State<AppState>,
    auth: Result<Auth, WebError>,
    headers: HeaderMap,
    upgrade: Result<WebSocketUpgrade, WebSocketUpgradeRejection>,
) -> Result<Response, WebError> {
    // Who and from where first: an anonymous or cross-site request learns nothing more.
    let auth = auth?;
    if !same_origin(&headers) {
        return Err(WebError::Forbidden(
            "the softphone connects only from this site's pages (Origin does not match Host)",
        ));
    }
    let Some(phones) = state.browser_phones.clone() else {
        return Err(WebError::NotFound("no browser phone on this server".into()));
    };
    let upgrade = upgrade.map_err(|e| WebError::BadRequest(e.body_text()))?;
    let user = auth.user.name.clone();
    let shutdown = state.shutdown.clone();
    Ok(upgrade
        .max_message_size(64 * 1024)
        .on_upgrade(move |socket| async move {
            let phone = phones.open(&user);
            relay(socket, phone, shutdown).await;
        }))
}

/// Whether the page that opened the socket is ours: its `Origin` is `scheme://<Host>`.
fn same_origin(headers: &HeaderMap) -> bool {
    let (Some(origin), Some(host)) = (
        headers.get(header::ORIGIN).and_then(|v| v.to_str().ok()),
        headers.get(header::HOST).and_then(|v| v.to_str().ok()),
    ) else {
        return false;
    };
    origin
        .strip_prefix("http://")
        .or_else(|| origin.strip_prefix("https://"))
        .is_some_and(|o| o.eq_ignore_ascii_case(host))
}

/// Carries messages between the socket and the page's phone until either ends.
async fn relay(
    mut socket: WebSocket,
    mut phone: crate::browser::Softphone,
    mut shutdown: watch::Receiver<bool>,
) {
    loop {
        tokio::select! {
            event = phone.events.recv() => {
                let Some(event) = event else { break };
                let Ok(text) = serde_json::to_string(&event) else { continue };
                if socket.send(Message::Text(text.into())).await.is_err() {
                    break;
                }
            }
            message = socket.recv() => match message {
                Some(Ok(Message::Text(text))) => match FromBrowser::parse(&text) {
                    Ok(m) => {
                        if phone.commands.send(m).await.is_err() {
                            break;
                        }
                    }
                    Err(e) => {
                        let error = ToBrowser::Error { message: e.to_string() };
                        if let Ok(text) = serde_json::to_string(&error) {
                            let _ = socket.send(Message::Text(text.into())).await;
                        }
                    }
                },
                Some(Ok(Message::Close(_))) | Some(Err(_)) | None => break,
                Some(Ok(_)) => {}
            },
            () = stopped(&mut shutdown) => break,
        }
    }
    // Dropping the phone's command sender ends its call and removes its binding.
}

/// Resolves at shutdown (holds no borrow of the watch value across an await: it is not Send).
async fn stopped(shutdown: &mut watch::Receiver<bool>) {
    let _ = shutdown.wait_for(|stop| *stop).await;
}

#[cfg(test)]
mod tests {
    use super::*;

    fn headers(origin: Option<&str>, host: &str) -> HeaderMap {
        let mut h = HeaderMap::new();
        h.insert(header::HOST, host.parse().unwrap());
        if let Some(o) = origin {
            h.insert(header::ORIGIN, o.parse().unwrap());
        }
        h
    }

    #[test]
    fn only_our_own_pages_may_open_the_softphone() {
        assert!(same_origin(&headers(
            Some("http://127.0.0.1:8080"),
            "127.0.0.1:8080"
        )));
        assert!(same_origin(&headers(
            Some("https://desk.example"),
            "desk.example"
        )));
        assert!(!same_origin(&headers(
            Some("https://evil.example"),
            "desk.example"
        )));
        assert!(!same_origin(&headers(Some("null"), "desk.example")));
        assert!(!same_origin(&headers(None, "desk.example")));
    }
}
