//! The HTML pages, one module per page: the technician's home page, login, the call log, a ticket, the forms that change a
//! ticket, the voicemail download, the interface language switch, who is on call, and the rota
//! edit pages with their forms.
//!
//! Handlers take typed values: the ticket as `Path<TicketRef>` and form fields as domain enums,
//! so a malformed reference or an unknown status is refused by its type before any handler
//! code runs. Authentication is checked first, so an anonymous request is sent to the login
//! page whatever else is wrong with it.

mod actions;
mod call_log;
mod home;
mod language;
mod login;
mod oncall;
mod recording;
mod rota_edit;
mod rota_fields;
mod rota_save;
mod ticket;

pub(crate) use actions::{
    add_note, call_back, change_assignee, change_status, take_call, Assignee,
};
pub(crate) use call_log::call_log;
pub(crate) use home::{home, set_presence};
pub(crate) use language::set_language;
pub(crate) use login::{login, login_form, logout};
pub(crate) use oncall::oncall_page;
pub(crate) use recording::{conversation, recording, recording_response};
pub(crate) use rota_edit::{team_page, teams_page};
pub(crate) use rota_save::{
    add_override, delete_rotation, delete_team, remove_override, save_rotation, save_team,
};
pub(crate) use ticket::ticket_page;

use super::WebError;
use crate::store::{Store, Ticket};
use crate::tickets::TicketRef;

/// Finds a ticket by its (already well-formed) reference: 404 if unknown.
/// A form with nothing but the session's CSRF token: logging out, the delete buttons of the
/// rota pages, the call buttons (take call, call back).
#[derive(serde::Deserialize)]
pub(crate) struct CsrfForm {
    pub(crate) csrf: Option<String>,
}

pub(crate) async fn load_ticket(store: &Store, reference: TicketRef) -> Result<Ticket, WebError> {
    store
        .ticket_by_ref(&reference)
        .await?
        .ok_or_else(|| WebError::NotFound(format!("no ticket {reference}")))
}

/// How to show a caller on a page: the display name or directory identity, then the number.
fn caller(t: &Ticket) -> String {
    match (&t.caller_name, &t.caller_identity) {
        (Some(name), _) => format!("{name} ({})", t.caller_number),
        (None, Some(id)) => format!("{id} ({})", t.caller_number),
        (None, None) => t.caller_number.clone(),
    }
}
