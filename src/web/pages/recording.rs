//! The voicemail and the recorded conversation of a ticket as WAV, for the page's players and
//! the API alike.

use crate::store::Store;
use crate::tickets::TicketRef;
use crate::web::auth::Auth;
use crate::web::range::{interpret, RangeAnswer};
use crate::web::{AppState, PageError, WebError};
use axum::extract::rejection::PathRejection;
use axum::extract::{Path, State};
use axum::http::{header, HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};

use super::load_ticket;

/// The voicemail of a ticket, honouring Range so the player can seek.
pub(crate) async fn recording_response(
    store: &Store,
    reference: TicketRef,
    headers: &HeaderMap,
) -> Result<Response, WebError> {
    let ticket = load_ticket(store, reference).await?;
    wav_response(
        ticket.recording_path.as_deref(),
        "recording",
        reference,
        headers,
    )
    .await
}

/// The recorded conversation with a technician (stereo), honouring Range.
pub(crate) async fn conversation(
    State(state): State<AppState>,
    auth: Result<Auth, WebError>,
    reference: Result<Path<TicketRef>, PathRejection>,
    headers: HeaderMap,
) -> Result<Response, PageError> {
    auth?;
    let Path(reference) = reference?;
    let ticket = load_ticket(&state.store, reference).await?;
    Ok(wav_response(
        ticket.conversation_path.as_deref(),
        "recorded conversation",
        reference,
        &headers,
    )
    .await?)
}

/// The WAV at `path` (the ticket's `what`), whole or the requested range.
async fn wav_response(
    path: Option<&str>,
    what: &str,
    reference: TicketRef,
    headers: &HeaderMap,
) -> Result<Response, WebError> {
    let Some(path) = path else {
        return Err(WebError::NotFound(format!(
            "ticket {reference} has no {what}"
        )));
    };
    let bytes = match tokio::fs::read(path).await {
        Ok(b) => b,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
            return Err(WebError::NotFound(format!(
                "the {what} of ticket {reference} is missing"
            )))
        }
        Err(e) => return Err(e.into()),
    };
    let len = bytes.len() as u64;
    let range = headers.get(header::RANGE).and_then(|v| v.to_str().ok());
    let common = [
        (header::CONTENT_TYPE, "audio/wav".to_string()),
        (header::ACCEPT_RANGES, "bytes".to_string()),
    ];
    Ok(match interpret(range, len) {
        RangeAnswer::Full => (StatusCode::OK, common, bytes).into_response(),
        RangeAnswer::Partial { start, end } => (
            StatusCode::PARTIAL_CONTENT,
            common,
            [(header::CONTENT_RANGE, format!("bytes {start}-{end}/{len}"))],
            bytes[start as usize..=end as usize].to_vec(),
        )
            .into_response(),
        RangeAnswer::Unsatisfiable => (
            StatusCode::RANGE_NOT_SATISFIABLE,
            [(header::CONTENT_RANGE, format!("bytes */{len}"))],
        )
            .into_response(),
    })
}

pub(crate) async fn recording(
    State(state): State<AppState>,
    auth: Result<Auth, WebError>,
    reference: Result<Path<TicketRef>, PathRejection>,
    headers: HeaderMap,
) -> Result<Response, PageError> {
    auth?;
    let Path(reference) = reference?;
    Ok(recording_response(&state.store, reference, &headers).await?)
}
