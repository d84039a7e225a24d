//! `GET /events`: ticket changes as server-sent events, so an open call log or ticket page learns
//! of new calls and transcripts without polling.
//!
//! Each connection listens to the store's broadcast of committed changes (no database query per
//! event). Events are `event: ticket` with `{"reference", "kind"}` data; `event: lagged` says
//! changes were missed and the page should reload; `event: call` with `{"reference", "kind"}`
//! (`ringing`, `answered`, `stopped`) tells the logged-in technician about a routed call to
//! them (the screen pop of `/assets/phone.js`), and only them. A comment every 15 s keeps proxies from
//! closing an idle stream; the stream ends when the server shuts down.

use super::auth::Auth;
use super::{AppState, WebError};
use crate::store::{CallAlert, TicketChange};
use axum::extract::State;
use axum::response::sse::{Event, KeepAlive, Sse};
use futures_util::stream::{self, Stream};
use std::convert::Infallible;
use std::time::Duration;
use tokio::sync::broadcast::error::RecvError;
use tokio::sync::{broadcast, watch};

/// How often an idle stream carries a keep-alive comment.
pub const KEEP_ALIVE: Duration = Duration::from_secs(15);

pub(super) async fn events(
    State(state): State<AppState>,
    auth: Result<Auth, WebError>,
) -> Result<Sse<impl Stream<Item = Result<Event, Infallible>>>, WebError> {
    let auth = auth?;
    // Subscribed before the response starts: whatever happens once the client sees the
    // headers is delivered.
    let changes = state.store.subscribe();
    let alerts = state.store.subscribe_alerts();
    let me = auth.user.name.clone();
    Ok(Sse::new(change_stream(changes, alerts, me, state.shutdown))
        .keep_alive(KeepAlive::new().interval(KEEP_ALIVE).text("keep-alive")))
}

/// What the stream does next.
enum Next {
    Send(Event),
    /// Nothing to send for this message; wait for the next.
    Skip,
    End,
}

fn change_stream(
    changes: broadcast::Receiver<TicketChange>,
    alerts: broadcast::Receiver<CallAlert>,
    me: String,
    shutdown: watch::Receiver<bool>,
) -> impl Stream<Item = Result<Event, Infallible>> {
    // A first comment, so the client sees the stream open (and tests know it is subscribed).
    let opened = stream::once(async { Ok(Event::default().comment("listening")) });
    let changes = stream::unfold(
        (changes, alerts, me, shutdown),
        |(mut changes, mut alerts, me, mut shutdown)| async move {
            loop {
                let next = tokio::select! {
                    change = changes.recv() => to_event(change),
                    alert = alerts.recv() => alert_event(alert, &me),
                    _ = shutdown.wait_for(|stop| *stop) => Next::End,
                };
                match next {
                    Next::Send(event) => return Some((Ok(event), (changes, alerts, me, shutdown))),
                    Next::Skip => continue,
                    Next::End => return None,
                }
            }
        },
    );
    futures_util::StreamExt::chain(opened, changes)
}

/// A routed-call alert for `me`; others' alerts are not this page's business.
fn alert_event(alert: Result<CallAlert, RecvError>, me: &str) -> Next {
    match alert {
        Ok(alert) if alert.technician == me => {
            match Event::default().event("call").json_data(&alert) {
                Ok(event) => Next::Send(event),
                Err(e) => {
                    tracing::error!(error = %e, "cannot encode a call alert");
                    Next::Skip
                }
            }
        }
        // A missed ringing card is shown by the board anyway; the ticket stream goes on.
        Ok(_) | Err(RecvError::Lagged(_)) => Next::Skip,
        Err(RecvError::Closed) => Next::End,
    }
}

fn to_event(change: Result<TicketChange, RecvError>) -> Next {
    match change {
        Ok(change) => match Event::default().event("ticket").json_data(change) {
            Ok(event) => Next::Send(event),
            Err(e) => {
                tracing::error!(error = %e, "cannot encode a ticket change");
                Next::Skip
            }
        },
        Err(RecvError::Lagged(missed)) => {
            Next::Send(Event::default().event("lagged").data(missed.to_string()))
        }
        Err(RecvError::Closed) => Next::End,
    }
}
