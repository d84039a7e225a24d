//! "Who is on call": for each team the on-call order now (or at `?at=`), in the order a call
//! rings, with presence and phones; the shifts of the next 14 days (`?days=`) in the team's
//! time zone, overrides marked; and every technician's phones with their state.
//!
//! Built from `web::oncall::board`, which the JSON API serves as it is.

use super::home::presence_badge;
use crate::oncall::{OnCall, Override, Position};
use crate::store::PhoneView;
use crate::web::auth::Auth;
use crate::web::html::{esc, page};
use crate::web::i18n::Lang;
use crate::web::oncall::{board, Board, BoardQuery, OnCallNow, Shift, TeamBoard};
use crate::web::{AppState, PageError, WebError};
use axum::extract::rejection::QueryRejection;
use axum::extract::{Query, State};
use axum::response::Html;
use chrono::{DateTime, Datelike, Utc, Weekday};
use chrono_tz::Tz;
use std::fmt::Write;

pub(crate) async fn oncall_page(
    State(state): State<AppState>,
    auth: Result<Auth, WebError>,
    lang: Lang,
    query: Result<Query<BoardQuery>, QueryRejection>,
) -> Result<Html<String>, PageError> {
    let auth = auth?;
    let Query(query) = query.map_err(|e| WebError::BadRequest(e.body_text()))?;
    let now = Utc::now();
    let (at, days) = query.resolve(now)?;
    let board = board(&state.store, at, days, now).await?;
    let body = render(lang, &board, days, query.at.is_some(), auth.is_lead());
    Ok(Html(page(
        lang,
        lang.t("Who is on call"),
        Some((&auth.user.name, auth.csrf_value())),
        &body,
    )))
}

fn position(lang: Lang, p: Position) -> &'static str {
    match p {
        Position::Primary => lang.t("primary"),
        Position::Secondary => lang.t("secondary"),
        Position::Lead => lang.t("lead"),
    }
}

fn weekday(lang: Lang, d: Weekday) -> &'static str {
    lang.t(match d {
        Weekday::Mon => "Mon",
        Weekday::Tue => "Tue",
        Weekday::Wed => "Wed",
        Weekday::Thu => "Thu",
        Weekday::Fri => "Fri",
        Weekday::Sat => "Sat",
        Weekday::Sun => "Sun",
    })
}

/// An instant as the team reads it: `Mon 2026-12-07 09:00 CET`, with the exact instant in the
/// `datetime` attribute.
pub(crate) fn local_time(lang: Lang, t: DateTime<Utc>, tz: Tz) -> String {
    let local = t.with_timezone(&tz);
    format!(
        r#"<time datetime="{}">{} {}</time>"#,
        t.to_rfc3339_opts(chrono::SecondsFormat::Secs, true),
        weekday(lang, local.weekday()),
        local.format("%Y-%m-%d %H:%M %Z")
    )
}

fn who_in(order: &[OnCall], p: Position) -> String {
    order
        .iter()
        .find(|o| o.position == p)
        .map(|o| esc(&o.user))
        .unwrap_or_else(|| "—".into())
}

/// "dan covers ben" / "dan takes the shift".
pub(crate) fn describe_override(lang: Lang, o: &Override) -> String {
    match &o.covered {
        Some(covered) => format!("{} {} {}", esc(&o.covering), lang.t("covers"), esc(covered)),
        None => format!("{} {}", esc(&o.covering), lang.t("takes the shift")),
    }
}

fn now_row(lang: Lang, o: &OnCallNow) -> String {
    let phones = if o.phones == 0 {
        lang.t("no phone").to_string()
    } else {
        format!(
            "{} / {} {}",
            o.reachable_phones,
            o.phones,
            lang.t("reachable")
        )
    };
    let rings = o
        .ring_secs
        .map(|s| format!("{s} s"))
        .unwrap_or_else(|| lang.t("not rung").into());
    format!(
        r##"<tr><td>{}</td><td><a href="#tech-{name}">{name}</a></td><td>{}</td><td>{phones}</td><td>{rings}</td></tr>"##,
        position(lang, o.position),
        presence_badge(lang, o.presence),
        name = esc(&o.user),
    )
}

fn shift_row(lang: Lang, team: &TeamBoard, tz: Tz, s: &Shift) -> String {
    let overrides: Vec<String> = team
        .overrides
        .iter()
        .filter(|o| s.overrides.contains(&o.id))
        .map(|o| {
            format!(
                r#"<span class="override">{}</span> {}"#,
                lang.t("override"),
                describe_override(lang, o)
            )
        })
        .collect();
    format!(
        r#"<tr{class}><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td></tr>"#,
        local_time(lang, s.from, tz),
        local_time(lang, s.until, tz),
        who_in(&s.on_call, Position::Primary),
        who_in(&s.on_call, Position::Secondary),
        who_in(&s.on_call, Position::Lead),
        overrides.join("<br>"),
        class = if overrides.is_empty() {
            ""
        } else {
            r#" class="overridden""#
        },
    )
}

fn team_section(lang: Lang, team: &TeamBoard, days: u32, shown_at: bool, lead: bool) -> String {
    let tz = team.time_zone;
    let categories: Vec<&str> = team.categories.iter().map(|c| c.as_str()).collect();
    let mut s = format!(
        r#"<section id="team-{id}" class="card team" aria-labelledby="team-{id}-h"><h2 id="team-{id}-h">{name}</h2>
<p class="meta">{l_tz}: {tz} · {l_hours}: {hours} · {l_cat}: {cats}{edit}</p>"#,
        id = esc(&team.name),
        name = esc(&team.name),
        l_tz = lang.t("Time zone"),
        tz = esc(tz.name()),
        l_hours = lang.t("Business hours"),
        hours = esc(&team.business_hours),
        l_cat = lang.t("Categories"),
        cats = if categories.is_empty() {
            lang.t("none").to_string()
        } else {
            categories.join(", ")
        },
        edit = if lead {
            format!(
                r#" · <a href="{}">{}</a>"#,
                esc(&super::rota_save::team_url(&team.name)),
                lang.t("Edit")
            )
        } else {
            String::new()
        },
    );
    let _ = write!(
        s,
        "<h3>{}</h3>",
        if shown_at {
            lang.t("On call at the chosen time")
        } else {
            lang.t("On call now")
        }
    );
    if team.on_call.is_empty() {
        let _ = write!(
            s,
            r#"<p class="empty">{}</p>"#,
            lang.t("Nobody is on call.")
        );
    } else {
        let _ = write!(
            s,
            r#"<table class="now"><thead><tr><th scope="col">{}</th><th scope="col">{}</th><th scope="col">{}</th><th scope="col">{}</th><th scope="col">{}</th></tr></thead><tbody>"#,
            lang.t("Position"),
            lang.t("Technician"),
            lang.t("Presence now"),
            lang.t("Phones"),
            lang.t("Rings for"),
        );
        for o in &team.on_call {
            s += &now_row(lang, o);
        }
        s += "</tbody></table>";
    }
    let _ = write!(
        s,
        r#"<h3>{} ({days} {})</h3><p class="meta">{} {}</p>"#,
        lang.t("Shifts"),
        lang.t("days"),
        lang.t("Times in"),
        esc(tz.name()),
    );
    if team.timeline.iter().all(|shift| shift.on_call.is_empty()) {
        let _ = write!(
            s,
            r#"<p class="empty">{}</p>"#,
            lang.t("No rotation covers this time.")
        );
    } else {
        let _ = write!(
            s,
            r#"<table class="timeline"><thead><tr><th scope="col">{}</th><th scope="col">{}</th><th scope="col">{}</th><th scope="col">{}</th><th scope="col">{}</th><th scope="col">{}</th></tr></thead><tbody>"#,
            lang.t("From"),
            lang.t("Until"),
            lang.t("Primary"),
            lang.t("Secondary"),
            lang.t("Lead"),
            lang.t("Overrides"),
        );
        for shift in &team.timeline {
            s += &shift_row(lang, team, tz, shift);
        }
        s += "</tbody></table>";
    }
    s += "</section>";
    s
}

fn phone_cells(lang: Lang, p: &PhoneView) -> String {
    let (class, state) = if p.reachable {
        ("reachable", lang.t("reachable"))
    } else {
        ("unreachable", lang.t("unreachable"))
    };
    format!(
        r#"<td><code>{}</code>{}</td><td>{}</td><td><code>{}</code></td><td><span class="phone {class}">{state}</span></td><td>{}</td>"#,
        esc(&p.contact),
        p.user_agent
            .as_deref()
            .map(|ua| format!(r#"<br><span class="meta">{}</span>"#, esc(ua)))
            .unwrap_or_default(),
        esc(&p.transport.to_uppercase()),
        esc(&p.source),
        p.expires_at.format("%Y-%m-%d %H:%M:%S UTC"),
    )
}

fn phones_section(lang: Lang, board: &Board) -> String {
    let mut s = format!(
        r#"<section id="phones" class="card" aria-labelledby="phones-h"><h2 id="phones-h">{}</h2>"#,
        lang.t("Technicians' phones")
    );
    if board.technicians.is_empty() {
        let _ = write!(
            s,
            r#"<p class="empty">{}</p></section>"#,
            lang.t("No technician yet.")
        );
        return s;
    }
    let _ = write!(
        s,
        r#"<table><thead><tr><th scope="col">{}</th><th scope="col">{}</th><th scope="col">{}</th><th scope="col">{}</th><th scope="col">{}</th><th scope="col">{}</th><th scope="col">{}</th></tr></thead><tbody>"#,
        lang.t("Technician"),
        lang.t("Presence now"),
        lang.t("Phone"),
        lang.t("Transport"),
        lang.t("Address"),
        lang.t("State"),
        lang.t("Registration expires"),
    );
    for t in &board.technicians {
        let head = format!(
            r#"<th scope="row" id="tech-{name}">{name}</th><td>{}</td>"#,
            presence_badge(lang, t.presence),
            name = esc(&t.name),
        );
        if t.phones.is_empty() {
            let _ = write!(
                s,
                r#"<tr>{head}<td colspan="5" class="empty">{}</td></tr>"#,
                lang.t("no phone registered")
            );
        }
        for (i, p) in t.phones.iter().enumerate() {
            let first = if i == 0 {
                head.clone()
            } else {
                "<td></td><td></td>".into()
            };
            let _ = write!(s, "<tr>{first}{}</tr>", phone_cells(lang, p));
        }
    }
    s += "</tbody></table></section>";
    s
}

fn render(lang: Lang, board: &Board, days: u32, shown_at: bool, lead: bool) -> String {
    let mut body = String::new();
    if shown_at {
        let _ = write!(
            body,
            r#"<p class="note">{} <time datetime="{at}">{at}</time>. <a href="/oncall">{}</a></p>"#,
            lang.t("Shown for"),
            lang.t("Back to now"),
            at = board.at.to_rfc3339_opts(chrono::SecondsFormat::Secs, true),
        );
    }
    if lead {
        let _ = write!(
            body,
            r#"<p class="links"><a href="/oncall/teams">{}</a></p>"#,
            lang.t("Edit teams, rotations and overrides")
        );
    }
    body += r#"<div class="teams">"#;
    if board.teams.is_empty() {
        let _ = write!(body, r#"<p class="empty">{}</p>"#, lang.t("No team yet."));
    }
    for team in &board.teams {
        body += &team_section(lang, team, days, shown_at, lead);
    }
    body += "</div>";
    body += &phones_section(lang, board);
    body
}
