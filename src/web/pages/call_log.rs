//! The call log: newest tickets first, with search, filters, pages and the CSV export link.

use crate::tickets::{Category, Disposition, Priority, TicketStatus};
use crate::web::auth::Auth;
use crate::web::filters::{parse_query, LogQuery, MAX_SEARCH_CHARS};
use crate::web::html::{esc, page, priority_badge};
use crate::web::i18n::Lang;
use crate::web::{AppState, PageError, WebError};
use axum::extract::{Query, State};
use axum::response::Html;
use std::collections::HashMap;
use std::fmt::Write;

use super::caller;

fn select(
    lang: Lang,
    name: &str,
    label: &'static str,
    options: &[String],
    chosen: Option<&str>,
) -> String {
    let mut s = format!(
        r#"<label>{} <select name="{name}"><option value="">{}</option>"#,
        lang.t(label),
        lang.t("any")
    );
    for o in options {
        let sel = if Some(o.as_str()) == chosen {
            " selected"
        } else {
            ""
        };
        let _ = write!(s, r#"<option{sel}>{}</option>"#, esc(o));
    }
    s.push_str("</select></label> ");
    s
}

fn page_link(q: &LogQuery, page: u32) -> String {
    let mut parts: Vec<String> = q
        .params
        .iter()
        .map(|(k, v)| format!("{}={}", k, url_escape(v)))
        .collect();
    parts.push(format!("page={page}"));
    format!("/tickets?{}", parts.join("&amp;"))
}

/// The CSV export of what the call log shows: the same filters, every page.
fn export_link(q: &LogQuery) -> String {
    let parts: Vec<String> = q
        .params
        .iter()
        .filter(|(k, _)| k != "per_page")
        .map(|(k, v)| format!("{}={}", k, url_escape(v)))
        .collect();
    if parts.is_empty() {
        "/tickets.csv".into()
    } else {
        format!("/tickets.csv?{}", parts.join("&amp;"))
    }
}

/// Percent-encodes a query value (they are our own filter values, but be safe).
fn url_escape(v: &str) -> String {
    v.bytes()
        .map(|b| match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'_' | b'.' => (b as char).to_string(),
            _ => format!("%{b:02X}"),
        })
        .collect()
}

pub(crate) async fn call_log(
    State(state): State<AppState>,
    auth: Result<Auth, WebError>,
    lang: Lang,
    Query(params): Query<HashMap<String, String>>,
) -> Result<Html<String>, PageError> {
    let auth = auth?;
    let q = parse_query(&params).map_err(|e| WebError::BadRequest(e.to_string()))?;
    let tickets = state.store.list_tickets(&q.filter).await?;
    let get = |k: &str| params.get(k).map(|v| v.trim()).filter(|v| !v.is_empty());
    let mut body = live_banner(lang);
    let _ = write!(
        body,
        r#"<form method="get" action="/tickets" class="filters"><label>{} <input type="search" name="q" value="{}" maxlength="{MAX_SEARCH_CHARS}" placeholder="{}"></label> "#,
        lang.t("Search"),
        esc(get("q").unwrap_or("")),
        lang.t("words, number, name, HD-…"),
    );
    body += &select(
        lang,
        "status",
        "Status",
        &[
            TicketStatus::New,
            TicketStatus::Acknowledged,
            TicketStatus::InProgress,
            TicketStatus::Resolved,
            TicketStatus::Closed,
        ]
        .map(|s| s.as_str().to_string()),
        get("status"),
    );
    body += &select(
        lang,
        "priority",
        "Priority",
        &Priority::ALL.map(|p| p.to_string()),
        get("priority"),
    );
    body += &select(
        lang,
        "category",
        "Category",
        &Category::ALL
            .iter()
            .map(|c| c.as_str().to_string())
            .collect::<Vec<_>>(),
        get("category"),
    );
    body += &select(
        lang,
        "disposition",
        "Call",
        &[
            Disposition::InProgress,
            Disposition::Completed,
            Disposition::Abandoned,
            Disposition::Voicemail,
            Disposition::Routed,
            Disposition::Answered,
            Disposition::Failed,
        ]
        .map(|d| d.as_str().to_string()),
        get("disposition"),
    );
    let _ = write!(
        body,
        r#"<label>{from} <input type="date" name="from" value="{}"></label>
<label>{to} <input type="date" name="to" value="{}"></label> <button>{filter}</button></form>
<table><thead><tr><th>{ticket}</th><th>{received}</th><th>{priority}</th><th>{caller}</th><th>{category}</th><th>{status}</th><th>{call}</th><th>{assignee}</th></tr></thead><tbody>"#,
        esc(get("from").unwrap_or("")),
        esc(get("to").unwrap_or("")),
        from = lang.t("From"),
        to = lang.t("To"),
        filter = lang.t("Filter"),
        ticket = lang.t("Ticket"),
        received = lang.t("Received (UTC)"),
        priority = lang.t("Priority"),
        caller = lang.t("Caller"),
        category = lang.t("Category"),
        status = lang.t("Status"),
        call = lang.t("Call"),
        assignee = lang.t("Assignee"),
    );
    for t in &tickets {
        let _ = write!(
            body,
            r#"<tr><td><a href="/tickets/{r}">{r}</a></td><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td></tr>"#,
            t.created_at.format("%Y-%m-%d %H:%M"),
            priority_badge(t.priority),
            esc(&caller(t)),
            t.category.map(|c| c.as_str()).unwrap_or("—"),
            t.status.as_str(),
            t.disposition.as_str(),
            esc(t.assignee.as_deref().unwrap_or("—")),
            r = t.reference,
        );
    }
    if tickets.is_empty() {
        let _ = write!(
            body,
            r#"<tr><td colspan="8">{}</td></tr>"#,
            lang.t("No tickets.")
        );
    }
    body += "</tbody></table><p>";
    if q.page > 1 {
        let _ = write!(
            body,
            r#"<a rel="prev" href="{}">{}</a> "#,
            page_link(&q, q.page - 1),
            lang.t("← Newer")
        );
    }
    let _ = write!(body, "{} {} ", lang.t("Page"), q.page);
    if tickets.len() as u32 == q.per_page && q.page < u32::MAX {
        let _ = write!(
            body,
            r#"<a rel="next" href="{}">{}</a>"#,
            page_link(&q, q.page + 1),
            lang.t("Older →")
        );
    }
    body += "</p>";
    if auth.is_lead() {
        let _ = write!(
            body,
            r#"<p><a href="{}" download>{}</a> ({})</p>"#,
            export_link(&q),
            lang.t("Export CSV"),
            lang.t("all pages")
        );
    }
    Ok(Html(page(
        lang,
        lang.t("Call log"),
        Some((&auth.user.name, auth.csrf_value())),
        &body,
    )))
}

/// The call log's live banner, shown by `/assets/call_log.js` when `/events` announces a new
/// call. Without JavaScript it stays hidden.
fn live_banner(lang: Lang) -> String {
    format!(
        r#"<p id="live" class="live" hidden><a href="">{}</a></p>
<script src="/assets/call_log.js" defer></script>
"#,
        lang.t("New calls: reload")
    )
}
