//! The forms of a ticket page: change the status, assign, add a note. Each needs the session's
//! CSRF token and is recorded in the ticket's audit trail.

use super::CsrfForm;
use crate::accounts::ActivityKind;
use crate::helpdesk::routing::CallBackError;
use crate::helpdesk::Helpdesk;
use crate::tickets::{TicketRef, TicketStatus};
use crate::web::auth::Auth;
use crate::web::{AppState, PageError, WebError};
use axum::extract::rejection::{FormRejection, PathRejection};
use axum::extract::{Path, State};
use axum::response::Redirect;
use axum::Form;
use serde::Deserialize;
use std::sync::Arc;

use super::load_ticket;

/// A status change: `status` must be one of the ticket statuses, or the form is refused (422)
/// naming the field before anything changes.
#[derive(Deserialize)]
pub(crate) struct StatusForm {
    csrf: Option<String>,
    status: TicketStatus,
}

pub(crate) async fn change_status(
    State(state): State<AppState>,
    auth: Result<Auth, WebError>,
    reference: Result<Path<TicketRef>, PathRejection>,
    form: Result<Form<StatusForm>, FormRejection>,
) -> Result<Redirect, PageError> {
    let auth = auth?;
    let Path(reference) = reference?;
    let Form(form) = form?;
    auth.check_csrf(form.csrf.as_deref())?;
    let t = load_ticket(&state.store, reference).await?;
    state
        .store
        .set_status_by(t.id, form.status, &auth.user.name)
        .await?;
    Ok(Redirect::to(&format!("/tickets/{}", t.reference)))
}

/// Who a ticket is assigned to, as typed in a form or the API: trimmed, at most 100
/// characters; empty means nobody.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(try_from = "String")]
pub(crate) struct Assignee(Option<String>);

impl Assignee {
    pub(crate) fn nobody() -> Assignee {
        Assignee(None)
    }

    pub(crate) fn name(&self) -> Option<&str> {
        self.0.as_deref()
    }
}

impl TryFrom<String> for Assignee {
    type Error = String;
    fn try_from(s: String) -> Result<Self, Self::Error> {
        let name = s.trim();
        if name.chars().count() > 100 {
            return Err("at most 100 characters".into());
        }
        Ok(Assignee(Some(name.to_string()).filter(|n| !n.is_empty())))
    }
}

#[derive(Deserialize)]
pub(crate) struct AssigneeForm {
    csrf: Option<String>,
    assignee: Assignee,
}

pub(crate) async fn change_assignee(
    State(state): State<AppState>,
    auth: Result<Auth, WebError>,
    reference: Result<Path<TicketRef>, PathRejection>,
    form: Result<Form<AssigneeForm>, FormRejection>,
) -> Result<Redirect, PageError> {
    let auth = auth?;
    let Path(reference) = reference?;
    let Form(form) = form?;
    auth.check_csrf(form.csrf.as_deref())?;
    let t = load_ticket(&state.store, reference).await?;
    let assignee = form.assignee.name();
    auth.check_assignment(t.assignee.as_deref(), assignee)?;
    state
        .store
        .set_assignee_by(t.id, assignee, &auth.user.name)
        .await?;
    Ok(Redirect::to(&format!("/tickets/{}", t.reference)))
}

/// A note's text: trimmed, 1 to 10,000 bytes.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(try_from = "String")]
pub(crate) struct NoteText(String);

impl TryFrom<String> for NoteText {
    type Error = String;
    fn try_from(s: String) -> Result<Self, Self::Error> {
        let note = s.trim();
        if note.is_empty() || note.len() > 10_000 {
            return Err("1 to 10000 characters".into());
        }
        Ok(NoteText(note.to_string()))
    }
}

#[derive(Deserialize)]
pub(crate) struct NoteForm {
    csrf: Option<String>,
    body: NoteText,
}

pub(crate) async fn add_note(
    State(state): State<AppState>,
    auth: Result<Auth, WebError>,
    reference: Result<Path<TicketRef>, PathRejection>,
    form: Result<Form<NoteForm>, FormRejection>,
) -> Result<Redirect, PageError> {
    let auth = auth?;
    let Path(reference) = reference?;
    let Form(form) = form?;
    auth.check_csrf(form.csrf.as_deref())?;
    let t = load_ticket(&state.store, reference).await?;
    state
        .store
        .add_activity(t.id, &auth.user.name, ActivityKind::Note, &form.body.0)
        .await?;
    Ok(Redirect::to(&format!("/tickets/{}", t.reference)))
}

/// What a call action (a button on a waiting or past call) checks first: the session, the
/// reference, the CSRF token, and a web log that runs beside the phone line.
fn call_action(
    state: &AppState,
    auth: Result<Auth, WebError>,
    reference: Result<Path<TicketRef>, PathRejection>,
    form: Result<Form<CsrfForm>, FormRejection>,
) -> Result<(Auth, TicketRef, Arc<Helpdesk>), PageError> {
    let auth = auth?;
    let Path(reference) = reference?;
    let Form(form) = form?;
    auth.check_csrf(form.csrf.as_deref())?;
    let helpdesk = state.helpdesk.clone().ok_or_else(|| {
        WebError::Conflict("this web log is not connected to the phone line".into())
    })?;
    Ok((auth, reference, helpdesk))
}

/// "Take call": rings the technician's own phones for a caller waiting in a queue; the first
/// phone to answer is bridged to the caller. 409 when the caller is not waiting (any more) or
/// the technician has no phone to ring.
pub(crate) async fn take_call(
    State(state): State<AppState>,
    auth: Result<Auth, WebError>,
    reference: Result<Path<TicketRef>, PathRejection>,
    form: Result<Form<CsrfForm>, FormRejection>,
) -> Result<Redirect, PageError> {
    let (auth, reference, helpdesk) = call_action(&state, auth, reference, form)?;
    helpdesk
        .take_call(&auth.user.name, reference)
        .await
        .map_err(|e| WebError::Conflict(e.to_string()))?;
    Ok(Redirect::to(&format!("/tickets/{reference}")))
}

/// "Call back": rings the technician's phones, then dials the caller through the outbound
/// gateway and joins them. 409 when it cannot start (no gateway, call still in progress, no
/// phone to ring, no number, a call-back request another technician took a moment ago).
pub(crate) async fn call_back(
    State(state): State<AppState>,
    auth: Result<Auth, WebError>,
    reference: Result<Path<TicketRef>, PathRejection>,
    form: Result<Form<CsrfForm>, FormRejection>,
) -> Result<Redirect, PageError> {
    let (auth, reference, helpdesk) = call_action(&state, auth, reference, form)?;
    // If the technician's browser phone is open, it is their leg and answers by itself.
    if let Some(phones) = &state.browser_phones {
        phones.expect_own_call(&auth.user.name);
    }
    match helpdesk.call_back(&auth.user.name, reference).await {
        Ok(()) => Ok(Redirect::to(&format!("/tickets/{reference}"))),
        Err(CallBackError::NoTicket) => {
            Err(WebError::NotFound(format!("no ticket {reference}")).into())
        }
        Err(e) => Err(WebError::Conflict(e.to_string()).into()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn assignee_is_trimmed_empty_is_nobody_and_long_names_are_refused() {
        assert_eq!(
            Assignee::try_from(" bob ".to_string()).unwrap().name(),
            Some("bob")
        );
        assert_eq!(Assignee::try_from("  ".to_string()).unwrap().name(), None);
        assert!(Assignee::try_from("x".repeat(101)).is_err());
    }
}
