//! The technician's home page: calls now, the queue, call-back requests, my open tickets, open
//! P1/P2 tickets, who is on call with their presence, and the technician's own Available / Away
//! control.
//!
//! Each section has an id; `/assets/home.js` fetches this page again when `/events` announces
//! a change and swaps the sections in, leaving the presence form alone.

use crate::oncall::{Presence, PresenceChoice};
use crate::store::{LiveCall, Ticket};
use crate::tickets::CallEventKind;
use crate::web::auth::Auth;
use crate::web::html::{esc, page, priority_badge};
use crate::web::i18n::Lang;
use crate::web::{AppState, PageError, WebError};
use axum::extract::rejection::FormRejection;
use axum::extract::State;
use axum::http::{header, HeaderMap};
use axum::response::{Html, IntoResponse, Redirect, Response};
use axum::{Form, Json};
use chrono::{DateTime, Utc};
use serde::Deserialize;
use std::fmt::Write;

use super::caller;

/// "4 min", "1 h 05", "35 s": how long something has lasted, at a glance.
fn since(start: DateTime<Utc>, now: DateTime<Utc>) -> String {
    let s = (now - start).num_seconds().max(0);
    match s {
        0..=59 => format!("{s} s"),
        60..=3599 => format!("{} min", s / 60),
        _ => format!("{} h {:02}", s / 3600, (s % 3600) / 60),
    }
}

/// What is happening on a call now, from its latest routing event (none yet: the caller is
/// still in the menu).
fn doing(lang: Lang, call: &LiveCall) -> String {
    let latest = call.events.iter().rev().find(|e| {
        matches!(
            e.kind,
            CallEventKind::Ringing
                | CallEventKind::TechnicianAnswered
                | CallEventKind::Queued
                | CallEventKind::RoutingAttempt
                | CallEventKind::TalkEnded
                | CallEventKind::Passed
                | CallEventKind::Escalated
                | CallEventKind::RingResult
        )
    });
    let Some(e) = latest else {
        return lang.t("in the menu").into();
    };
    // Details are "tom: sip:tom@…" (ringing) and "tom on sip:…" (answered): the name first.
    let who = |sep: &str| esc(e.detail.split(sep).next().unwrap_or("").trim());
    match e.kind {
        CallEventKind::Ringing => format!("{} {}", lang.t("ringing"), who(":")),
        CallEventKind::TechnicianAnswered => format!("{} {}", lang.t("talking to"), who(" on ")),
        CallEventKind::Queued => format!("{} ({})", lang.t("queued"), esc(&e.detail)),
        CallEventKind::TalkEnded => lang.t("ending").into(),
        _ => lang.t("looking for a technician").into(),
    }
}

fn ticket_link(t: &Ticket) -> String {
    format!(r#"<a href="/tickets/{r}">{r}</a>"#, r = t.reference)
}

fn category(t: &Ticket) -> &'static str {
    t.category.map(|c| c.as_str()).unwrap_or("—")
}

/// Presence as a coloured badge with its word (shared with the on-call page).
pub(super) fn presence_badge(lang: Lang, p: Presence) -> String {
    let label = match p {
        Presence::Available => lang.t("available"),
        Presence::Busy => lang.t("on a call"),
        Presence::Away => lang.t("away"),
        Presence::Offline => lang.t("offline"),
    };
    format!(r#"<span class="presence {}">{label}</span>"#, p.as_str())
}

/// A section with a heading, a table of `rows` under `head`, or `empty` when there are none.
fn section(id: &str, title: &str, head: &[&str], rows: &[String], empty: &str) -> String {
    let mut s = format!(
        r#"<section id="{id}" class="card" aria-labelledby="{id}-h"><h2 id="{id}-h">{title} <span class="count">{}</span></h2>"#,
        rows.len()
    );
    if rows.is_empty() {
        let _ = write!(s, r#"<p class="empty">{empty}</p>"#);
    } else {
        s.push_str("<table><thead><tr>");
        for h in head {
            let _ = write!(s, r#"<th scope="col">{h}</th>"#);
        }
        s.push_str("</tr></thead><tbody>");
        for r in rows {
            s.push_str(r);
        }
        s.push_str("</tbody></table>");
    }
    s.push_str("</section>");
    s
}

/// A one-button form acting on a ticket: `take` rings my phones for this waiting caller,
/// `callback` rings my phone and then the caller (as on the ticket page).
fn ticket_button(reference: &str, action: &str, label: &str, csrf: &str) -> String {
    format!(
        "<form method=\"post\" action=\"/tickets/{reference}/{action}\" class=\"inline\"><input type=\"hidden\" name=\"csrf\" value=\"{csrf}\"><button>{label}</button></form>"
    )
}

/// A board row: the ticket, its priority, category and caller, then two cells of the section's
/// own (escaped by the caller).
fn ticket_row(t: &Ticket, fifth: &str, sixth: &str) -> String {
    format!(
        "<tr><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{fifth}</td><td>{sixth}</td></tr>",
        ticket_link(t),
        priority_badge(t.priority),
        category(t),
        esc(&caller(t)),
    )
}

pub(crate) async fn home(
    State(state): State<AppState>,
    auth: Result<Auth, WebError>,
    lang: Lang,
) -> Result<Html<String>, PageError> {
    let auth = auth?;
    let now = Utc::now();
    let store = &state.store;
    let me = auth.user.name.clone();
    let calls = store.live_calls().await?;
    let mine = store.open_tickets_of(&me).await?;
    let urgent = store.open_urgent_tickets().await?;
    let callbacks = store.callback_requests().await?;
    let technicians = store.technicians(now).await?;
    let my_choice = store.presence_choice(&me).await?;
    let my_presence = store.presence(&me, now).await?;
    let csrf = esc(auth.csrf_value());

    let (l_ticket, l_prio, l_cat, l_caller, l_for, l_now, l_status) = (
        lang.t("Ticket"),
        lang.t("Priority"),
        lang.t("Category"),
        lang.t("Caller"),
        lang.t("For"),
        lang.t("Now"),
        lang.t("Status"),
    );

    let mut body = String::from(r#"<script src="/assets/home.js" defer></script>"#);
    // The technician's own presence: what they chose, and what routing sees.
    let (next, button) = presence_toggle(lang, my_choice);
    let _ = write!(
        body,
        r#"<section id="me" class="card me" aria-labelledby="me-h"><h2 id="me-h">{l_me}</h2>
<div class="mystate">{l_you} {badge} <form method="post" action="/presence" class="inline"><input type="hidden" name="csrf" value="{csrf}"><input type="hidden" name="presence" value="{next}"><button class="presence-toggle">{button}</button></form></div>
<p class="links"><a href="/tickets">{l_log}</a> · <a href="/oncall">{l_oncall}</a></p>{phone}</section>
<div class="board">"#,
        l_me = lang.t("Me"),
        l_you = lang.t("You are"),
        badge = presence_badge(lang, my_presence),
        l_log = lang.t("Call log"),
        l_oncall = lang.t("Who is on call"),
        phone = softphone_panel(&state),
    );

    let rows: Vec<String> = calls
        .iter()
        .map(|c| ticket_row(&c.ticket, &since(c.ticket.created_at, now), &doing(lang, c)))
        .collect();
    body += &section(
        "calls",
        lang.t("Calls now"),
        &[l_ticket, l_prio, l_cat, l_caller, l_for, l_now],
        &rows,
        lang.t("No calls right now."),
    );

    // The queue: by priority (no priority last), then arrival.
    let mut queued: Vec<&LiveCall> = calls.iter().filter(|c| c.is_queued()).collect();
    queued.sort_by_key(|c| {
        (
            c.ticket.priority.map(|p| p.level()).unwrap_or(u8::MAX),
            c.ticket.created_at,
            c.ticket.id,
        )
    });
    let rows: Vec<String> = queued
        .iter()
        .map(|c| {
            let t = &c.ticket;
            let take = lang.t("Take call");
            let button = ticket_button(&t.reference.to_string(), "take", take, &csrf);
            ticket_row(
                t,
                &since(c.queued_at().unwrap_or(t.created_at), now),
                &button,
            )
        })
        .collect();
    body += &section(
        "queue",
        lang.t("Queue"),
        &[l_ticket, l_prio, l_cat, l_caller, lang.t("Waiting"), ""],
        &rows,
        lang.t("Nobody is waiting."),
    );

    // Callers who asked to be called back keep their place: the same order as the queue.
    let rows: Vec<String> = callbacks
        .iter()
        .map(|t| {
            let call_back = lang.t("Call back");
            let button = ticket_button(&t.reference.to_string(), "callback", call_back, &csrf);
            ticket_row(t, &since(t.created_at, now), &button)
        })
        .collect();
    body += &section(
        "callbacks",
        lang.t("Call-back requests"),
        &[l_ticket, l_prio, l_cat, l_caller, lang.t("Waiting"), ""],
        &rows,
        lang.t("Nobody is waiting for a call-back."),
    );

    let ticket_rows = |tickets: &[Ticket]| -> Vec<String> {
        tickets
            .iter()
            .map(|t| ticket_row(t, t.status.as_str(), &since(t.created_at, now)))
            .collect()
    };
    let age = lang.t("Age");
    body += &section(
        "mine",
        lang.t("My open tickets"),
        &[l_ticket, l_prio, l_cat, l_caller, l_status, age],
        &ticket_rows(&mine),
        lang.t("No open tickets assigned to you."),
    );
    body += &section(
        "urgent",
        lang.t("Open P1 and P2"),
        &[l_ticket, l_prio, l_cat, l_caller, l_status, age],
        &ticket_rows(&urgent),
        lang.t("No open P1 or P2 tickets."),
    );

    // On call now, team by team, in escalation order.
    let mut on_call: Vec<(String, String, String)> = Vec::new();
    for tech in &technicians {
        for (team, position) in &tech.on_call {
            on_call.push((
                team.clone(),
                position.as_str().to_string(),
                tech.name.clone(),
            ));
        }
    }
    on_call.sort();
    let rows: Vec<String> = on_call
        .iter()
        .map(|(team, position, name)| {
            let presence = technicians
                .iter()
                .find(|t| &t.name == name)
                .map(|t| t.presence)
                .unwrap_or(Presence::Offline);
            format!(
                "<tr><td>{}</td><td>{}</td><td>{}</td><td>{}</td></tr>",
                esc(team),
                esc(position),
                esc(name),
                presence_badge(lang, presence),
            )
        })
        .collect();
    body += &section(
        "oncall",
        lang.t("On call now"),
        &[
            lang.t("Team"),
            lang.t("Position"),
            lang.t("Technician"),
            lang.t("Presence"),
        ],
        &rows,
        lang.t("Nobody is on call."),
    );
    body += "</div>";

    Ok(Html(page(
        lang,
        lang.t("Hotline"),
        Some((&auth.user.name, auth.csrf_value())),
        &body,
    )))
}

/// The Available / Away form: `presence` must be `available` or `away`.
#[derive(Deserialize)]
pub(crate) struct PresenceForm {
    csrf: Option<String>,
    presence: ChoiceField,
}

#[derive(Deserialize)]
#[serde(try_from = "String")]
pub(crate) struct ChoiceField(PresenceChoice);

impl TryFrom<String> for ChoiceField {
    type Error = String;
    fn try_from(s: String) -> Result<Self, Self::Error> {
        s.parse().map(ChoiceField)
    }
}

/// The toggle's next choice and its button label.
fn presence_toggle(lang: Lang, choice: PresenceChoice) -> (&'static str, &'static str) {
    match choice {
        PresenceChoice::Available => ("away", lang.t("Go away")),
        PresenceChoice::Away => ("available", lang.t("Go available")),
    }
}

/// What a page that switched presence without reloading (`Accept: application/json`, the
/// phone panel) shows next: the badge of what routing now sees and the toggle's new state.
#[derive(serde::Serialize)]
struct PresenceChanged {
    choice: &'static str,
    presence: &'static str,
    badge: String,
    next: &'static str,
    button: &'static str,
}

pub(crate) async fn set_presence(
    State(state): State<AppState>,
    auth: Result<Auth, WebError>,
    lang: Lang,
    headers: HeaderMap,
    form: Result<Form<PresenceForm>, FormRejection>,
) -> Result<Response, PageError> {
    let auth = auth?;
    let Form(form) = form?;
    auth.check_csrf(form.csrf.as_deref())?;
    let choice = form.presence.0;
    state.store.set_presence(&auth.user.name, choice).await?;
    let wants_json = headers
        .get(header::ACCEPT)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.contains("application/json"));
    if !wants_json {
        return Ok(Redirect::to("/").into_response());
    }
    let presence = state.store.presence(&auth.user.name, Utc::now()).await?;
    let (next, button) = presence_toggle(lang, choice);
    Ok(Json(PresenceChanged {
        choice: choice.as_str(),
        presence: presence.as_str(),
        badge: presence_badge(lang, presence),
        next,
        button,
    })
    .into_response())
}

/// The phone in the browser (`/assets/softphone.js` fills it in): only on the home page, so
/// one tab is the phone and tickets open beside it without ending the call.
fn softphone_panel(state: &AppState) -> String {
    let Some(phones) = &state.browser_phones else {
        return String::new();
    };
    let ice = serde_json::to_string(phones.ice_servers()).unwrap_or_else(|_| "[]".into());
    format!(
        r#"<div id="softphone" class="softphone" data-ice="{}"></div><script src="/assets/softphone.js" defer></script>"#,
        esc(&ice)
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::Duration;

    #[test]
    fn durations_read_at_a_glance() {
        let t = Utc::now();
        assert_eq!(since(t, t + Duration::seconds(35)), "35 s");
        assert_eq!(since(t, t + Duration::seconds(4 * 60 + 10)), "4 min");
        assert_eq!(since(t, t + Duration::seconds(3900)), "1 h 05");
        assert_eq!(since(t, t - Duration::seconds(5)), "0 s");
    }
}
