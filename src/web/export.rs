//! `GET /tickets.csv`: every ticket the call log's filters match, as a CSV download.
//!
//! The tickets are read in chunks of `CHUNK` (by row id, newest first, so a long export never
//! needs a growing OFFSET) and sent as each chunk is ready, so a large export holds one chunk in
//! memory, not the whole table. The first chunk is read before answering: a database failure at
//! the start is still a clean 500; a failure later can only cut the download short.

use super::auth::Auth;
use super::csv;
use super::filters::parse_query;
use super::{AppState, PageError, WebError};
use crate::store::{Store, StoreError, TicketFilter};
use axum::body::{Body, Bytes};
use axum::extract::{Query, State};
use axum::http::header;
use axum::response::{IntoResponse, Response};
use chrono::Utc;
use std::collections::HashMap;
use std::pin::Pin;
use std::task::{Context, Poll};
use tokio::sync::mpsc;

/// Tickets read per database query.
pub const CHUNK: u32 = 1000;

pub(super) async fn tickets_csv(
    State(state): State<AppState>,
    auth: Result<Auth, WebError>,
    Query(params): Query<HashMap<String, String>>,
) -> Result<Response, PageError> {
    auth?.require_lead()?;
    let q = parse_query(&params).map_err(|e| WebError::BadRequest(e.to_string()))?;
    // Paging parameters are accepted (the call log's link carries them) but an export is whole.
    let filter = TicketFilter {
        limit: CHUNK,
        offset: 0,
        before_id: None,
        ..q.filter
    };
    let (first, next) = chunk(&state.store, filter).await?;
    let (tx, rx) = mpsc::channel(2);
    let store = state.store.clone();
    tokio::spawn(async move {
        let mut text = csv::header_line() + &first;
        let mut next = next;
        loop {
            if tx.send(Ok(Bytes::from(text))).await.is_err() {
                return; // The client went away.
            }
            let Some(filter) = next else { return };
            match chunk(&store, filter).await {
                Ok((t, n)) => (text, next) = (t, n),
                Err(e) => {
                    tracing::error!(error = %e, "CSV export failed part way");
                    let _ = tx.send(Err(e)).await;
                    return;
                }
            }
        }
    });
    let name = format!("hotline-tickets-{}.csv", Utc::now().format("%Y-%m-%dT%H%M"));
    Ok((
        [
            (header::CONTENT_TYPE, "text/csv; charset=utf-8".to_string()),
            (
                header::CONTENT_DISPOSITION,
                format!("attachment; filename=\"{name}\""),
            ),
        ],
        Body::from_stream(Chunks(rx)),
    )
        .into_response())
}

/// One chunk of CSV lines, and the filter for the next chunk (None after the last).
async fn chunk(
    store: &Store,
    filter: TicketFilter,
) -> Result<(String, Option<TicketFilter>), StoreError> {
    let tickets = store.list_tickets(&filter).await?;
    let text: String = tickets.iter().map(csv::ticket_line).collect();
    let next = match tickets.last() {
        Some(last) if tickets.len() as u32 == CHUNK => Some(TicketFilter {
            before_id: Some(last.id),
            ..filter
        }),
        _ => None,
    };
    Ok((text, next))
}

/// The chunks as the body's stream.
struct Chunks(mpsc::Receiver<Result<Bytes, StoreError>>);

impl futures_util::Stream for Chunks {
    type Item = Result<Bytes, StoreError>;

    fn poll_next(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<Self::Item>> {
        self.0.poll_recv(cx)
    }
}
