//! The HTML pages: login, call log, ticket, and the forms that change a ticket.

use super::auth::{self, Auth, LOGIN_COOKIE, SESSION_COOKIE, SESSION_LIFETIME};
use super::filters::{parse_query, LogQuery, MAX_SEARCH_CHARS};
use super::html::{esc, page, priority_badge};
use super::i18n::{Lang, LANG_COOKIE};
use super::range::{interpret, RangeAnswer};
use super::{AppState, PageError, WebError};
use crate::store::{Store, Ticket};
use crate::tickets::{Category, Disposition, Priority, TicketRef, TicketStatus};
use axum::extract::{ConnectInfo, Path, Query, State};
use axum::http::{header, HeaderMap, StatusCode};
use axum::response::{AppendHeaders, Html, IntoResponse, Redirect, Response};
use axum::Form;
use serde::Deserialize;
use std::collections::HashMap;
use std::fmt::Write;
use std::net::SocketAddr;
use std::time::Instant;

/// Finds a ticket by its reference (`HD-2026-000123`): 400 if malformed, 404 if unknown.
pub(super) async fn load_ticket(store: &Store, reference: &str) -> Result<Ticket, WebError> {
    let r: TicketRef = reference.parse().map_err(|_| {
        WebError::BadRequest(format!(
            "`{reference}` is not a ticket reference (expected HD-YYYY-NNNNNN)"
        ))
    })?;
    store
        .ticket_by_ref(&r)
        .await?
        .ok_or_else(|| WebError::NotFound(format!("no ticket {r}")))
}

/// The voicemail of a ticket, honouring Range so the player can seek.
pub(super) async fn recording_response(
    store: &Store,
    reference: &str,
    headers: &HeaderMap,
) -> Result<Response, WebError> {
    let ticket = load_ticket(store, reference).await?;
    let Some(path) = ticket.recording_path.as_deref() else {
        return Err(WebError::NotFound(format!(
            "ticket {} has no recording",
            ticket.reference
        )));
    };
    let bytes = match tokio::fs::read(path).await {
        Ok(b) => b,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
            return Err(WebError::NotFound(format!(
                "the recording of ticket {} is missing",
                ticket.reference
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

fn login_page(lang: Lang, csrf: &str, error: Option<&'static str>) -> String {
    let error = error
        .map(|e| format!(r#"<p class="error">{}</p>"#, esc(lang.t(e))))
        .unwrap_or_default();
    page(
        lang,
        lang.t("Log in"),
        None,
        &format!(
            r#"{error}<form method="post" action="/login">
<input type="hidden" name="csrf" value="{csrf}">
<p><label>{name} <input name="name" autocomplete="username" required autofocus></label></p>
<p><label>{password} <input name="password" type="password" autocomplete="current-password" required></label></p>
<p><button>{login}</button></p></form>"#,
            csrf = esc(csrf),
            name = lang.t("Name"),
            password = lang.t("Password"),
            login = lang.t("Log in"),
        ),
    )
}

/// A fresh login form with its double-submit CSRF cookie.
fn login_response(lang: Lang, status: StatusCode, error: Option<&'static str>) -> Response {
    let csrf = auth::random_token();
    (
        status,
        [(
            header::SET_COOKIE,
            auth::set_cookie(LOGIN_COOKIE, &csrf, "/login", None),
        )],
        Html(login_page(lang, &csrf, error)),
    )
        .into_response()
}

pub(super) async fn login_form(lang: Lang) -> Response {
    login_response(lang, StatusCode::OK, None)
}

/// Remembers the interface language for a year and goes back to the page the link was on.
pub(super) async fn set_language(
    Path(code): Path<String>,
    headers: HeaderMap,
) -> Result<Response, PageError> {
    let lang = Lang::parse(&code).ok_or_else(|| {
        WebError::BadRequest(format!("unknown interface language `{code}` (en or fr)"))
    })?;
    // Only the path of the referring page is kept, so the redirect never leaves this site.
    let back = headers
        .get(header::REFERER)
        .and_then(|v| v.to_str().ok())
        .and_then(|r| r.split_once("://").map(|(_, rest)| rest))
        .and_then(|rest| rest.find('/').map(|i| &rest[i..]))
        .filter(|path| {
            !path.starts_with("//") && !path.starts_with("/\\") && !path.starts_with("/lang/")
        })
        .unwrap_or("/tickets")
        .to_string();
    Ok((
        [(
            header::SET_COOKIE,
            auth::set_cookie(
                LANG_COOKIE,
                lang.code(),
                "/",
                Some(std::time::Duration::from_secs(365 * 24 * 3600)),
            ),
        )],
        Redirect::to(&back),
    )
        .into_response())
}

#[derive(Deserialize)]
pub(super) struct LoginForm {
    name: String,
    password: String,
    csrf: String,
}

pub(super) async fn login(
    State(state): State<AppState>,
    ConnectInfo(peer): ConnectInfo<SocketAddr>,
    lang: Lang,
    headers: HeaderMap,
    Form(form): Form<LoginForm>,
) -> Result<Response, PageError> {
    let expected = auth::cookie(&headers, LOGIN_COOKIE).unwrap_or("");
    if expected.is_empty() || !auth::same_secret(expected, &form.csrf) {
        return Err(
            WebError::Forbidden("missing or wrong CSRF token; reload the login page").into(),
        );
    }
    let user_key = format!("user:{}", form.name);
    let keys = [format!("ip:{}", peer.ip()), user_key.clone()];
    if state.limiter.blocked(&keys, Instant::now()) {
        return Ok(login_response(
            lang,
            StatusCode::TOO_MANY_REQUESTS,
            Some("Too many failed logins; try again in 15 minutes."),
        ));
    }
    let found = state.store.user_with_hash(&form.name).await?;
    let hash = found
        .as_ref()
        .map(|(_, h)| h.clone())
        .unwrap_or_else(|| state.dummy_hash.to_string());
    let password = form.password.clone();
    let ok = tokio::task::spawn_blocking(move || auth::verify_password(&password, &hash))
        .await
        .unwrap_or(false);
    let user = match (ok, found) {
        (true, Some((user, _))) => user,
        _ => {
            state.limiter.fail(&keys, Instant::now());
            tracing::warn!(name = %form.name, %peer, "failed web login");
            return Ok(login_response(
                lang,
                StatusCode::UNAUTHORIZED,
                Some("Wrong name or password."),
            ));
        }
    };
    state.limiter.succeed(&user_key);
    let token = auth::random_token();
    state
        .store
        .create_session(
            &auth::token_hash(&token),
            user.id,
            &auth::random_token(),
            SESSION_LIFETIME,
        )
        .await?;
    Ok((
        // Appended: a plain header array would keep only the last Set-Cookie.
        AppendHeaders([
            (
                header::SET_COOKIE,
                auth::set_cookie(SESSION_COOKIE, &token, "/", Some(SESSION_LIFETIME)),
            ),
            (
                header::SET_COOKIE,
                auth::set_cookie(LOGIN_COOKIE, "", "/login", Some(Default::default())),
            ),
        ]),
        Redirect::to("/tickets"),
    )
        .into_response())
}

#[derive(Deserialize)]
pub(super) struct CsrfForm {
    csrf: Option<String>,
}

pub(super) async fn logout(
    State(state): State<AppState>,
    auth: Result<Auth, WebError>,
    headers: HeaderMap,
    Form(form): Form<CsrfForm>,
) -> Result<Response, PageError> {
    let auth = auth?;
    auth.check_csrf(form.csrf.as_deref())?;
    if let Some(token) = auth::cookie(&headers, SESSION_COOKIE) {
        state.store.delete_session(&auth::token_hash(token)).await?;
    }
    Ok((
        [(
            header::SET_COOKIE,
            auth::set_cookie(SESSION_COOKIE, "", "/", Some(Default::default())),
        )],
        Redirect::to("/login"),
    )
        .into_response())
}

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

pub(super) async fn call_log(
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
        r#"<form method="get" action="/tickets"><label>{} <input type="search" name="q" value="{}" maxlength="{MAX_SEARCH_CHARS}" placeholder="{}"></label> "#,
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

/// The call log's live banner: `/events` announces new calls; the page offers a reload rather
/// than moving rows under the technician's cursor. Without JavaScript it stays hidden.
fn live_banner(lang: Lang) -> String {
    format!(
        r#"<p id="live" class="live" hidden><a href="">{}</a></p>
<script>
new EventSource("/events").addEventListener("ticket", e => {{
  if (JSON.parse(e.data).kind === "created") document.getElementById("live").hidden = false;
}});
</script>
"#,
        lang.t("New calls: reload")
    )
}

/// A click on a transcript segment plays the voicemail from there. Delegated to the document so
/// it keeps working after a live update replaces the transcript section.
const SEEK_FROM_TRANSCRIPT: &str = r#"<script>
document.addEventListener("click", e => {
  const row = e.target.closest(".transcript tr[data-start]");
  const audio = document.getElementById("voicemail");
  if (!row || !audio) return;
  e.preventDefault();
  audio.currentTime = parseFloat(row.dataset.start);
  audio.play().catch(() => {});
});
</script>"#;

/// On a ticket page: when `/events` says this ticket's transcript grew (a long voicemail is
/// transcribed in parts), fetch the page again and swap in its transcript section only, so a
/// note being typed is not lost.
fn transcript_refresh(reference: &str) -> String {
    format!(
        r#"<script>
new EventSource("/events").addEventListener("ticket", e => {{
  const change = JSON.parse(e.data);
  if (change.reference !== "{reference}" || change.kind !== "transcript") return;
  fetch(location.pathname).then(r => r.text()).then(html => {{
    const fresh = new DOMParser().parseFromString(html, "text/html").getElementById("transcript");
    if (fresh) document.getElementById("transcript").replaceWith(fresh);
  }});
}});
</script>"#
    )
}

fn caller(t: &Ticket) -> String {
    match (&t.caller_name, &t.caller_identity) {
        (Some(name), _) => format!("{name} ({})", t.caller_number),
        (None, Some(id)) => format!("{id} ({})", t.caller_number),
        (None, None) => t.caller_number.clone(),
    }
}

fn mmss(ms: i64) -> String {
    let s = ms.max(0) / 1000;
    format!("{}:{:02}.{}", s / 60, s % 60, (ms.max(0) % 1000) / 100)
}

pub(super) async fn ticket_page(
    State(state): State<AppState>,
    auth: Result<Auth, WebError>,
    lang: Lang,
    Path(reference): Path<String>,
) -> Result<Html<String>, PageError> {
    let auth = auth?;
    let t = load_ticket(&state.store, &reference).await?;
    let events = state.store.events(t.id).await?;
    let activity = state.store.activity(t.id).await?;
    let csrf = esc(auth.csrf_value());
    let r = t.reference;
    let opt = |v: Option<&str>| esc(v.unwrap_or("—"));
    let estimate = t
        .estimated_response_secs
        .map(|s| {
            lang.t("about {} minutes")
                .replace("{}", &((s + 59) / 60).to_string())
        })
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
    // Always present (empty until the transcript arrives) so live updates can fill it in.
    body += r#"<section id="transcript">"#;
    if let Some(text) = &t.transcript {
        let _ = write!(body, "<h2>{}</h2>", lang.t("Transcript"));
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
    body += &transcript_refresh(&r.to_string());
    body += SEEK_FROM_TRANSCRIPT;
    let _ = write!(body, "<h2>{}</h2><table>", lang.t("Call timeline"));
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
        r#"</table><h2>{}</h2><table class="activity">"#,
        lang.t("Notes and changes")
    );
    for a in &activity {
        let what = match a.kind.as_str() {
            "status" => format!("{} → {}", lang.t("status"), esc(&a.detail)),
            "assignee" if a.detail.is_empty() => lang.t("unassigned").into(),
            "assignee" => format!("{} {}", lang.t("assigned to"), esc(&a.detail)),
            _ => esc(&a.detail),
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
        r#"</table>
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

#[derive(Deserialize)]
pub(super) struct StatusForm {
    csrf: Option<String>,
    status: String,
}

pub(super) async fn change_status(
    State(state): State<AppState>,
    auth: Result<Auth, WebError>,
    Path(reference): Path<String>,
    Form(form): Form<StatusForm>,
) -> Result<Redirect, PageError> {
    let auth = auth?;
    auth.check_csrf(form.csrf.as_deref())?;
    let t = load_ticket(&state.store, &reference).await?;
    let status: TicketStatus = form
        .status
        .parse()
        .map_err(|e: crate::tickets::UnknownValue| WebError::BadRequest(e.to_string()))?;
    state
        .store
        .set_status_by(t.id, status, &auth.user.name)
        .await?;
    Ok(Redirect::to(&format!("/tickets/{}", t.reference)))
}

#[derive(Deserialize)]
pub(super) struct AssigneeForm {
    csrf: Option<String>,
    assignee: String,
}

pub(super) async fn change_assignee(
    State(state): State<AppState>,
    auth: Result<Auth, WebError>,
    Path(reference): Path<String>,
    Form(form): Form<AssigneeForm>,
) -> Result<Redirect, PageError> {
    let auth = auth?;
    auth.check_csrf(form.csrf.as_deref())?;
    let t = load_ticket(&state.store, &reference).await?;
    let assignee = form.assignee.trim();
    if assignee.len() > 100 {
        return Err(WebError::BadRequest("assignee: at most 100 characters".into()).into());
    }
    let assignee = Some(assignee).filter(|a| !a.is_empty());
    auth.check_assignment(t.assignee.as_deref(), assignee)?;
    state
        .store
        .set_assignee_by(t.id, assignee, &auth.user.name)
        .await?;
    Ok(Redirect::to(&format!("/tickets/{}", t.reference)))
}

#[derive(Deserialize)]
pub(super) struct NoteForm {
    csrf: Option<String>,
    body: String,
}

pub(super) async fn add_note(
    State(state): State<AppState>,
    auth: Result<Auth, WebError>,
    Path(reference): Path<String>,
    Form(form): Form<NoteForm>,
) -> Result<Redirect, PageError> {
    let auth = auth?;
    auth.check_csrf(form.csrf.as_deref())?;
    let t = load_ticket(&state.store, &reference).await?;
    let note = form.body.trim();
    if note.is_empty() || note.len() > 10_000 {
        return Err(WebError::BadRequest("note: 1 to 10000 characters".into()).into());
    }
    state
        .store
        .add_activity(t.id, &auth.user.name, "note", note)
        .await?;
    Ok(Redirect::to(&format!("/tickets/{}", t.reference)))
}

pub(super) async fn recording(
    State(state): State<AppState>,
    auth: Result<Auth, WebError>,
    Path(reference): Path<String>,
    headers: HeaderMap,
) -> Result<Response, PageError> {
    auth?;
    Ok(recording_response(&state.store, &reference, &headers).await?)
}
