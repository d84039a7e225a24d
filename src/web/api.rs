//! The JSON API: the same tickets as the pages, for scripts (bearer token) and the browser
//! (session cookie plus an `X-CSRF-Token` header on PATCH).

use super::auth::Auth;
use super::filters::parse_query;
use super::oncall::{board, Board, BoardQuery};
use super::pages::{load_ticket, recording_response, Assignee};
use super::{AppState, WebError};
use crate::store::PhoneView;
use crate::tickets::{TicketRef, TicketStatus};
use axum::body::Bytes;
use axum::extract::rejection::PathRejection;
use axum::extract::{Path, Query, State};
use axum::http::HeaderMap;
use axum::response::{IntoResponse, Response};
use axum::Json;
use serde_json::{json, Value};
use std::collections::HashMap;

pub(super) async fn list(
    State(state): State<AppState>,
    auth: Result<Auth, WebError>,
    query: Result<Query<HashMap<String, String>>, axum::extract::rejection::QueryRejection>,
) -> Result<Json<Value>, WebError> {
    auth?;
    let Query(params) = query.map_err(|e| WebError::BadRequest(e.body_text()))?;
    let q = parse_query(&params).map_err(|e| WebError::BadRequest(e.to_string()))?;
    let tickets = state.store.list_tickets(&q.filter).await?;
    Ok(Json(json!({
        "page": q.page,
        "per_page": q.per_page,
        "tickets": tickets,
    })))
}

pub(super) async fn show(
    State(state): State<AppState>,
    auth: Result<Auth, WebError>,
    reference: Result<Path<TicketRef>, PathRejection>,
) -> Result<Json<Value>, WebError> {
    auth?;
    let Path(reference) = reference?;
    let t = load_ticket(&state.store, reference).await?;
    let events = state.store.events(t.id).await?;
    let activity = state.store.activity(t.id).await?;
    Ok(Json(json!({
        "ticket": t,
        "events": events,
        "activity": activity,
    })))
}

/// What PATCH may change: `status`, and `assignee` (a name, or `null` / `""` to unassign).
/// Unknown fields are refused rather than ignored; every error names the field.
#[derive(Debug, Default)]
struct Patch {
    status: Option<TicketStatus>,
    assignee: Option<Assignee>,
}

fn parse_patch(body: &[u8]) -> Result<Patch, WebError> {
    let bad = |m: String| WebError::BadRequest(format!("request body: {m}"));
    let value: Value = serde_json::from_slice(body).map_err(|e| bad(format!("not JSON: {e}")))?;
    let Value::Object(fields) = value else {
        return Err(bad("expected a JSON object".into()));
    };
    let mut patch = Patch::default();
    for (name, v) in fields {
        match (name.as_str(), v) {
            ("status", Value::String(s)) => {
                patch.status = Some(
                    s.parse()
                        .map_err(|e: crate::tickets::UnknownValue| bad(format!("`status`: {e}")))?,
                )
            }
            ("status", _) => return Err(bad("`status` must be a string".into())),
            ("assignee", Value::Null) => patch.assignee = Some(Assignee::nobody()),
            ("assignee", Value::String(a)) => {
                patch.assignee =
                    Some(Assignee::try_from(a).map_err(|e| bad(format!("`assignee`: {e}")))?)
            }
            ("assignee", _) => return Err(bad("`assignee` must be a string or null".into())),
            (other, _) => {
                return Err(bad(format!(
                    "unknown field `{other}` (expected status, assignee)"
                )))
            }
        }
    }
    if patch.status.is_none() && patch.assignee.is_none() {
        return Err(bad(
            "nothing to change (give `status` and/or `assignee`)".into()
        ));
    }
    Ok(patch)
}

pub(super) async fn patch(
    State(state): State<AppState>,
    auth: Result<Auth, WebError>,
    reference: Result<Path<TicketRef>, PathRejection>,
    headers: HeaderMap,
    body: Bytes,
) -> Result<Json<Value>, WebError> {
    let auth = auth?;
    let Path(reference) = reference?;
    auth.check_csrf(headers.get("x-csrf-token").and_then(|v| v.to_str().ok()))?;
    let patch = parse_patch(&body)?;
    let t = load_ticket(&state.store, reference).await?;
    // Checked before anything changes, so a refused patch leaves the ticket as it was.
    if let Some(assignee) = &patch.assignee {
        auth.check_assignment(t.assignee.as_deref(), assignee.name())?;
    }
    if let Some(status) = patch.status {
        state
            .store
            .set_status_by(t.id, status, &auth.user.name)
            .await?;
    }
    if let Some(assignee) = &patch.assignee {
        state
            .store
            .set_assignee_by(t.id, assignee.name(), &auth.user.name)
            .await?;
    }
    let t = load_ticket(&state.store, reference).await?;
    Ok(Json(json!({ "ticket": t })))
}

pub(super) async fn recording(
    State(state): State<AppState>,
    auth: Result<Auth, WebError>,
    reference: Result<Path<TicketRef>, PathRejection>,
    headers: HeaderMap,
) -> Result<Response, WebError> {
    auth?;
    let Path(reference) = reference?;
    recording_response(&state.store, reference, &headers).await
}

/// Who is on call (`?at=`, default now) and the shifts of the `?days=` after it, per team,
/// with every technician's phones: the `/oncall` page's data.
pub(super) async fn oncall(
    State(state): State<AppState>,
    auth: Result<Auth, WebError>,
    query: Result<Query<BoardQuery>, axum::extract::rejection::QueryRejection>,
) -> Result<Json<Board>, WebError> {
    auth?;
    let Query(query) = query.map_err(|e| WebError::BadRequest(e.body_text()))?;
    let now = chrono::Utc::now();
    let (at, days) = query.resolve(now)?;
    Ok(Json(board(&state.store, at, days, now).await?))
}

/// Every registered phone (live bindings) with its state.
pub(super) async fn phones(
    State(state): State<AppState>,
    auth: Result<Auth, WebError>,
) -> Result<Json<Value>, WebError> {
    auth?;
    let phones = state.store.all_bindings(chrono::Utc::now()).await?;
    let phones: Vec<PhoneView> = phones.iter().map(PhoneView::from).collect();
    Ok(Json(json!({ "phones": phones })))
}

pub(super) async fn openapi(auth: Result<Auth, WebError>) -> Result<Response, WebError> {
    auth?;
    Ok((
        [(axum::http::header::CONTENT_TYPE, "application/json")],
        OPENAPI,
    )
        .into_response())
}

/// The API description, kept next to the handlers it describes.
const OPENAPI: &str = include_str!("openapi.json");
