//! A ticket's page: what the caller chose and heard, the voicemail and its transcript, the
//! call timeline, the audit trail, and the forms that change the ticket.

use crate::accounts::ActivityKind;
use crate::store::TranscriptStage;
use crate::tickets::{TicketRef, TicketStatus};
use crate::web::auth::Auth;
use crate::web::estimate;
use crate::web::html::{esc, page, priority_badge};
use crate::web::i18n::Lang;
use crate::web::{AppState, PageError, WebError};
use axum::extract::rejection::PathRejection;
use axum::extract::{Path, State};
use axum::response::Html;
use std::fmt::Write;

use super::{caller, load_ticket};

fn mmss(ms: i64) -> String {
    let s = ms.max(0) / 1000;
    format!("{}:{:02}.{}", s / 60, s % 60, (ms.max(0) % 1000) / 100)
}

pub(crate) async fn ticket_page(
    State(state): State<AppState>,
    auth: Result<Auth, WebError>,
    lang: Lang,
    reference: Result<Path<TicketRef>, PathRejection>,
) -> Result<Html<String>, PageError> {
    let auth = auth?;
    let Path(reference) = reference?;
    let t = load_ticket(&state.store, reference).await?;
    let events = state.store.events(t.id).await?;
    let activity = state.store.activity(t.id).await?;
    let csrf = esc(auth.csrf_value());
    let r = t.reference;
    let opt = |v: Option<&str>| esc(v.unwrap_or("—"));
    let estimate = t
        .estimated_response()
        .map(|d| estimate::as_heard(lang, d))
        .unwrap_or_else(|| lang.t("none given").into());
    let mut body = format!(
        r#"<table>
<tr><th>{l_priority}</th><td>{prio}</td></tr>
<tr><th>{l_status}</th><td>{status}</td></tr>
<tr><th>{l_received}</th><td>{received}</td></tr>
<tr><th>{l_caller}</th><td>{caller}</td></tr>
<tr><th>{l_language}</th><td>{language}</td></tr>
<tr><th>{l_category}</th><td>{cat}</td></tr>
<tr><th>{l_impact}</th><td>{imp} / {urg}</td></tr>
<tr><th>{l_call}</th><td>{disp} {detail}</td></tr>
<tr><th>{l_estimate}</th><td>{estimate}</td></tr>
<tr><th>{l_assignee}</th><td>{assignee}</td></tr>
</table>
<h2>{l_change}</h2>
<form method="post" action="/tickets/{r}/status" class="inline"><input type="hidden" name="csrf" value="{csrf}">"#,
        prio = priority_badge(t.priority),
        status = t.status.as_str(),
        received = t.created_at.format("%Y-%m-%d %H:%M:%S"),
        caller = esc(&caller(&t)),
        language = t.language.map(|l| l.to_string()).unwrap_or("—".into()),
        cat = t.category.map(|c| c.as_str()).unwrap_or("—"),
        imp = t.impact.map(|c| c.as_str()).unwrap_or("—"),
        urg = t.urgency.map(|c| c.as_str()).unwrap_or("—"),
        disp = t.disposition.as_str(),
        detail = opt(t.disposition_detail.as_deref()),
        assignee = opt(t.assignee.as_deref()),
        l_priority = lang.t("Priority"),
        l_status = lang.t("Status"),
        l_received = lang.t("Received (UTC)"),
        l_caller = lang.t("Caller"),
        l_language = lang.t("Language"),
        l_category = lang.t("Category"),
        l_impact = lang.t("Impact / urgency"),
        l_call = lang.t("Call"),
        l_estimate = lang.t("Estimate told to the caller"),
        l_assignee = lang.t("Assignee"),
        l_change = lang.t("Change"),
    );
    for (status, label) in [
        (TicketStatus::Acknowledged, "Acknowledge"),
        (TicketStatus::InProgress, "In progress"),
        (TicketStatus::Resolved, "Resolve"),
        (TicketStatus::Closed, "Close"),
    ] {
        let disabled = if t.status == status { " disabled" } else { "" };
        let _ = write!(
            body,
            r#"<button name="status" value="{}"{disabled}>{}</button> "#,
            status.as_str(),
            lang.t(label)
        );
    }
    let _ = write!(
        body,
        r#"</form>
<form method="post" action="/tickets/{r}/assignee"><input type="hidden" name="csrf" value="{csrf}">
<label>{} <input name="assignee" value="{}"></label> <button>{}</button></form>"#,
        lang.t("Assign to"),
        opt(t.assignee.as_deref()).replace('—', ""),
        lang.t("Assign")
    );
    // Click-to-call: rings my phone, then the caller. Once the call has ended.
    if t.disposition != crate::tickets::Disposition::InProgress {
        let _ = write!(
            body,
            r#"<form method="post" action="/tickets/{r}/callback"><input type="hidden" name="csrf" value="{csrf}"><button>{}</button></form>"#,
            lang.t("Call back")
        );
    }
    if let Some(answers) = t.collected.as_ref().and_then(|c| c.as_object()) {
        let _ = write!(body, "<h2>{}</h2><table>", lang.t("Answers"));
        for (k, v) in answers {
            let v = v
                .as_str()
                .map(str::to_string)
                .unwrap_or_else(|| v.to_string());
            let _ = write!(body, "<tr><th>{}</th><td>{}</td></tr>", esc(k), esc(&v));
        }
        body += "</table>";
    }
    if t.recording_path.is_some() {
        let _ = write!(
            body,
            r#"<h2>{}</h2><audio id="voicemail" controls preload="metadata" src="/tickets/{r}/recording"></audio> <span>{}</span>"#,
            lang.t("Voicemail"),
            t.recording_duration_ms.map(mmss).unwrap_or_default()
        );
    }
    if t.conversation_path.is_some() {
        let _ = write!(
            body,
            r#"<h2>{}</h2><audio id="conversation" controls preload="metadata" src="/tickets/{r}/conversation"></audio> <span>{}</span>"#,
            lang.t("Conversation"),
            t.conversation_duration_ms.map(mmss).unwrap_or_default()
        );
    }
    // Always present (empty until the transcript arrives) so live updates can fill it in;
    // `/assets/ticket.js` swaps it when `/events` names this reference.
    let _ = write!(body, r#"<section id="transcript" data-reference="{r}">"#);
    if let Some(text) = &t.transcript {
        let _ = write!(body, "<h2>{}</h2>", lang.t("Transcript"));
        // A technician reading a draft should know that names and numbers may still change.
        let draft = match state.store.transcript_stage(t.id).await? {
            TranscriptStage::PartsPending => {
                Some("Draft: the voicemail is still being transcribed, part by part.")
            }
            TranscriptStage::FinalPending => Some(
                "Draft: the whole recording is being transcribed once more; this text will be replaced.",
            ),
            TranscriptStage::Settled => None,
        };
        if let Some(draft) = draft {
            let _ = write!(body, r#"<p class="draft">{}</p>"#, lang.t(draft));
        }
        match t.transcript_segments.as_ref().and_then(|s| s.as_array()) {
            Some(segments) if !segments.is_empty() => {
                body += r#"<table class="transcript">"#;
                for s in segments {
                    let ms = |k: &str| s.get(k).and_then(|v| v.as_i64()).unwrap_or(0);
                    // A click on a segment plays the voicemail from there.
                    let _ = write!(
                        body,
                        r#"<tr data-start="{}"><td><a href="">{}–{}</a></td><td>{}</td></tr>"#,
                        ms("start_ms") as f64 / 1000.0,
                        mmss(ms("start_ms")),
                        mmss(ms("end_ms")),
                        esc(s.get("text").and_then(|v| v.as_str()).unwrap_or(""))
                    );
                }
                body += "</table>";
            }
            _ => {
                let _ = write!(body, "<p>{}</p>", esc(text));
            }
        }
    }
    body += "</section>";
    body += r#"<script src="/assets/ticket.js" defer></script>"#;
    let _ = write!(
        body,
        r#"<section id="timeline"><h2>{}</h2><table>"#,
        lang.t("Call timeline")
    );
    for e in &events {
        let _ = write!(
            body,
            "<tr><td>{}</td><td>{}</td><td>{}</td></tr>",
            e.at.format("%H:%M:%S%.3f"),
            e.kind.as_str(),
            esc(&e.detail)
        );
    }
    let _ = write!(
        body,
        r#"</table></section><section id="activity"><h2>{}</h2><table class="activity">"#,
        lang.t("Notes and changes")
    );
    for a in &activity {
        let what = match a.kind {
            ActivityKind::Status => format!("{} → {}", lang.t("status"), esc(&a.detail)),
            ActivityKind::Assignee if a.detail.is_empty() => lang.t("unassigned").into(),
            ActivityKind::Assignee => format!("{} {}", lang.t("assigned to"), esc(&a.detail)),
            ActivityKind::Note => esc(&a.detail),
        };
        let _ = write!(
            body,
            "<tr><td>{}</td><td>{}</td><td>{}</td></tr>",
            a.at.format("%Y-%m-%d %H:%M:%S"),
            esc(&a.actor),
            what
        );
    }
    let _ = write!(
        body,
        r#"</table></section>
<form method="post" action="/tickets/{r}/notes"><input type="hidden" name="csrf" value="{csrf}">
<p><textarea name="body" rows="3" cols="60" required></textarea></p><p><button>{}</button></p></form>"#,
        lang.t("Add note")
    );
    Ok(Html(page(
        lang,
        &format!("{} {r}", lang.t("Ticket")),
        Some((&auth.user.name, auth.csrf_value())),
        &body,
    )))
}
