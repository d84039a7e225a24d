//! The rota edit pages (leads only): `/oncall/teams` lists the teams with a form for a new one;
//! `/oncall/teams/{team}` edits one team (settings, members, categories), its rotations and its
//! overrides. Plain forms with the session's CSRF token; `rota_save` handles what they post.

use super::oncall::{describe_override, local_time};
use super::rota_save::{load_team, path_segment, team_url};
use crate::oncall::{Coverage, Override, Rotation, Team};
use crate::tickets::Category;
use crate::web::auth::Auth;
use crate::web::html::{esc, page};
use crate::web::i18n::Lang;
use crate::web::{AppState, PageError, WebError};
use axum::extract::rejection::PathRejection;
use axum::extract::{Path, State};
use axum::response::Html;
use chrono::{Duration, Utc};
use std::fmt::Write;

/// The accounts a name field may hold, offered by the browser as the user types.
fn accounts_datalist(names: &[String]) -> String {
    let mut s = String::from(r#"<datalist id="accounts">"#);
    for n in names {
        let _ = write!(s, r#"<option value="{}">"#, esc(n));
    }
    s + "</datalist>"
}

fn field(label: &str, input: String, hint: Option<&str>) -> String {
    format!(
        "<label>{label}{input}{}</label>",
        hint.map(|h| format!(r#"<span class="hint">{h}</span>"#))
            .unwrap_or_default()
    )
}

fn text_input(name: &str, value: &str, extra: &str) -> String {
    format!(
        r#"<input type="text" name="{name}" value="{}"{extra}>"#,
        esc(value)
    )
}

/// Marks a form that creates something, so a name already taken is refused rather than the
/// existing team or rotation overwritten.
fn new_marker(new: bool) -> &'static str {
    if new {
        r#"<input type="hidden" name="new" value="true">"#
    } else {
        ""
    }
}

fn csrf_input(csrf: &str) -> String {
    format!(r#"<input type="hidden" name="csrf" value="{}">"#, esc(csrf))
}

/// The team form: empty for a new team, filled (name fixed) for an existing one.
fn team_form(lang: Lang, csrf: &str, team: Option<&Team>) -> String {
    let categories: Vec<&str> = team
        .map(|t| t.categories.iter().map(|c| c.as_str()).collect())
        .unwrap_or_default();
    let all: Vec<&str> = Category::ALL.iter().map(|c| c.as_str()).collect();
    let name = match team {
        Some(t) => format!(
            r#"<input type="text" name="name" value="{}" readonly>"#,
            esc(&t.name)
        ),
        None => {
            r#"<input type="text" name="name" required pattern="[A-Za-z0-9._\-]{1,64}">"#.into()
        }
    };
    let mut s = format!(
        r#"<form method="post" action="/oncall/teams" class="edit">{}{}"#,
        csrf_input(csrf),
        new_marker(team.is_none())
    );
    s += &field(lang.t("Name"), name, None);
    s += &field(
        lang.t("Time zone"),
        text_input(
            "time_zone",
            team.map_or("Europe/Paris", |t| t.time_zone.name()),
            " required",
        ),
        Some(lang.t("an IANA name, e.g. Europe/Paris")),
    );
    s += &field(
        lang.t("Lead"),
        text_input(
            "lead",
            team.and_then(|t| t.lead.as_deref()).unwrap_or(""),
            r#" list="accounts""#,
        ),
        Some(lang.t("rung after the primary and the secondary")),
    );
    s += &field(
        lang.t("Business hours"),
        text_input(
            "business_hours",
            &team.map_or_else(
                || "mon-fri 08:00-18:00".to_string(),
                |t| t.business_hours.to_string(),
            ),
            " required",
        ),
        Some(lang.t("e.g. mon-fri 08:00-18:00, local time")),
    );
    s += &field(
        lang.t("Members"),
        text_input(
            "members",
            &team.map(|t| t.members.join(", ")).unwrap_or_default(),
            "",
        ),
        Some(lang.t("account names, separated by commas")),
    );
    s += &field(
        lang.t("Categories"),
        text_input("categories", &categories.join(", "), ""),
        Some(format!("{} {}", lang.t("of:"), esc(&all.join(", "))).as_str()),
    );
    let _ = write!(
        s,
        r#"<p class="hint">{}</p><button>{}</button></form>"#,
        lang.t("A category has one team: listing it here moves it from its current team."),
        lang.t("Save team")
    );
    s
}

fn coverage_select(lang: Lang, current: Coverage) -> String {
    let mut s = String::from(r#"<select name="coverage">"#);
    for (c, label) in [
        (Coverage::Always, lang.t("always")),
        (Coverage::BusinessHours, lang.t("business hours")),
        (Coverage::OutOfHours, lang.t("out of hours")),
    ] {
        let _ = write!(
            s,
            r#"<option value="{}"{}>{label}</option>"#,
            c.as_str(),
            if c == current { " selected" } else { "" }
        );
    }
    s + "</select>"
}

/// A rotation's form: filled for an existing one (its name fixed), empty for a new one.
fn rotation_form(lang: Lang, csrf: &str, team: &str, r: Option<&Rotation>) -> String {
    let name = match r {
        Some(r) => format!(
            r#"<input type="text" name="name" value="{}" readonly>"#,
            esc(&r.name)
        ),
        None => {
            r#"<input type="text" name="name" required pattern="[A-Za-z0-9._\-]{1,64}">"#.into()
        }
    };
    let mut s = format!(
        r#"<form method="post" action="{}/rotations" class="edit">{}{}"#,
        esc(&team_url(team)),
        csrf_input(csrf),
        new_marker(r.is_none())
    );
    s += &field(lang.t("Rotation"), name, None);
    s += &field(
        lang.t("Covers"),
        coverage_select(lang, r.map_or(Coverage::Always, |r| r.coverage)),
        None,
    );
    s += &field(
        lang.t("Handover"),
        text_input(
            "handover",
            &r.map_or_else(|| "weekly mon 09:00".into(), |r| r.handover.to_string()),
            " required",
        ),
        Some(lang.t("daily HH:MM or weekly DAY HH:MM, local time")),
    );
    s += &field(
        lang.t("Starts on"),
        format!(
            r#"<input type="date" name="starts_on" value="{}" required>"#,
            r.map_or_else(
                || Utc::now().date_naive().to_string(),
                |r| r.starts_on.to_string()
            )
        ),
        None,
    );
    s += &field(
        lang.t("Members in turn order"),
        text_input(
            "members",
            &r.map(|r| r.members.join(", ")).unwrap_or_default(),
            " required",
        ),
        Some(lang.t("account names, separated by commas")),
    );
    let _ = write!(
        s,
        "<button>{}</button></form>",
        if r.is_some() {
            lang.t("Save rotation")
        } else {
            lang.t("Add rotation")
        }
    );
    if let Some(r) = r {
        let _ = write!(
            s,
            r#"<form method="post" action="{}/rotations/{}/delete" class="inline delete">{}<button>{} {}</button></form>"#,
            esc(&team_url(team)),
            path_segment(&r.name),
            csrf_input(csrf),
            lang.t("Delete rotation"),
            esc(&r.name),
        );
    }
    s
}

fn override_row(lang: Lang, csrf: &str, team: &Team, o: &Override) -> String {
    format!(
        r#"<tr><td>{}</td><td>{}</td><td>{}</td><td><form method="post" action="{}/overrides/{}/delete" class="inline">{}<button>{}</button></form></td></tr>"#,
        describe_override(lang, o),
        local_time(lang, o.from, team.time_zone),
        local_time(lang, o.until, team.time_zone),
        esc(&team_url(&team.name)),
        o.id,
        csrf_input(csrf),
        lang.t("Remove"),
    )
}

fn override_form(lang: Lang, csrf: &str, team: &Team) -> String {
    let mut s = format!(
        r#"<form method="post" action="{}/overrides" class="edit">{}"#,
        esc(&team_url(&team.name)),
        csrf_input(csrf)
    );
    s += &field(
        lang.t("Covering"),
        text_input("covering", "", r#" list="accounts" required"#),
        None,
    );
    s += &field(
        lang.t("Covered"),
        text_input("covered", "", r#" list="accounts""#),
        Some(lang.t("empty: takes the whole shift")),
    );
    s += &field(
        lang.t("From"),
        r#"<input type="datetime-local" name="from" required>"#.into(),
        None,
    );
    s += &field(
        lang.t("Until"),
        r#"<input type="datetime-local" name="until" required>"#.into(),
        None,
    );
    let _ = write!(
        s,
        r#"<p class="hint">{} {}</p><button>{}</button></form>"#,
        lang.t("Times in"),
        esc(team.time_zone.name()),
        lang.t("Add override")
    );
    s
}

fn lead_auth(auth: Result<Auth, WebError>) -> Result<Auth, WebError> {
    let auth = auth?;
    auth.require_lead()?;
    Ok(auth)
}

/// `GET /oncall/teams`: every team, and a form for a new one.
pub(crate) async fn teams_page(
    State(state): State<AppState>,
    auth: Result<Auth, WebError>,
    lang: Lang,
) -> Result<Html<String>, PageError> {
    let auth = lead_auth(auth)?;
    let rota = state.store.rota(Utc::now()).await?;
    let csrf = auth.csrf_value();
    let mut body = format!(
        r#"<p class="links"><a href="/oncall">{}</a></p><section id="teams" class="card" aria-labelledby="teams-h"><h2 id="teams-h">{}</h2>"#,
        lang.t("Who is on call"),
        lang.t("Teams"),
    );
    if rota.teams.is_empty() {
        let _ = write!(body, r#"<p class="empty">{}</p>"#, lang.t("No team yet."));
    } else {
        let _ = write!(
            body,
            r#"<table><thead><tr><th scope="col">{}</th><th scope="col">{}</th><th scope="col">{}</th><th scope="col">{}</th><th scope="col">{}</th></tr></thead><tbody>"#,
            lang.t("Team"),
            lang.t("Time zone"),
            lang.t("Lead"),
            lang.t("Categories"),
            lang.t("Members"),
        );
        for t in &rota.teams {
            let categories: Vec<&str> = t.categories.iter().map(|c| c.as_str()).collect();
            let _ = write!(
                body,
                r#"<tr><td><a href="{}">{}</a></td><td>{}</td><td>{}</td><td>{}</td><td>{}</td></tr>"#,
                esc(&team_url(&t.name)),
                esc(&t.name),
                esc(t.time_zone.name()),
                esc(t.lead.as_deref().unwrap_or("—")),
                esc(&categories.join(", ")),
                esc(&t.members.join(", ")),
            );
        }
        body += "</tbody></table>";
    }
    let _ = write!(
        body,
        r#"</section><section id="new-team" class="card" aria-labelledby="new-team-h"><h2 id="new-team-h">{}</h2>{}</section>{}"#,
        lang.t("New team"),
        team_form(lang, csrf, None),
        accounts_datalist(&state.store.user_names().await?),
    );
    Ok(Html(page(
        lang,
        lang.t("Teams and rotations"),
        Some((&auth.user.name, csrf)),
        &body,
    )))
}

/// `GET /oncall/teams/{team}`: the team's settings, rotations and overrides, each editable.
pub(crate) async fn team_page(
    State(state): State<AppState>,
    auth: Result<Auth, WebError>,
    lang: Lang,
    team: Result<Path<String>, PathRejection>,
) -> Result<Html<String>, PageError> {
    let auth = lead_auth(auth)?;
    let Path(team) = team?;
    let team = load_team(&state.store, &team).await?;
    // Overrides that ended in the last day are still listed, so a mistake can be seen.
    let rota = state.store.rota(Utc::now() - Duration::days(1)).await?;
    let csrf = auth.csrf_value();
    let mut body = format!(
        r#"<p class="links"><a href="/oncall#team-{id}">{}</a> · <a href="/oncall/teams">{}</a></p>
<section id="settings" class="card" aria-labelledby="settings-h"><h2 id="settings-h">{}</h2>{}
<form method="post" action="{url}/delete" class="inline delete">{}<button>{}</button></form></section>"#,
        lang.t("Who is on call"),
        lang.t("All teams"),
        lang.t("Team"),
        team_form(lang, csrf, Some(&team)),
        csrf_input(csrf),
        lang.t("Delete team"),
        id = esc(&team.name),
        url = esc(&team_url(&team.name)),
    );
    let _ = write!(
        body,
        r#"<section id="rotations" class="card" aria-labelledby="rotations-h"><h2 id="rotations-h">{}</h2>"#,
        lang.t("Rotations")
    );
    for r in rota.rotations.iter().filter(|r| r.team == team.name) {
        body += r#"<div class="rotation">"#;
        body += &rotation_form(lang, csrf, &team.name, Some(r));
        body += "</div>";
    }
    let _ = write!(
        body,
        r#"<h3>{}</h3>{}</section>"#,
        lang.t("New rotation"),
        rotation_form(lang, csrf, &team.name, None)
    );
    let _ = write!(
        body,
        r#"<section id="overrides" class="card" aria-labelledby="overrides-h"><h2 id="overrides-h">{}</h2>"#,
        lang.t("Overrides")
    );
    let overrides: Vec<&Override> = rota
        .overrides
        .iter()
        .filter(|o| o.team == team.name)
        .collect();
    if overrides.is_empty() {
        let _ = write!(body, r#"<p class="empty">{}</p>"#, lang.t("No override."));
    } else {
        let _ = write!(
            body,
            r#"<table><thead><tr><th scope="col">{}</th><th scope="col">{}</th><th scope="col">{}</th><th></th></tr></thead><tbody>"#,
            lang.t("Override"),
            lang.t("From"),
            lang.t("Until"),
        );
        for o in overrides {
            body += &override_row(lang, csrf, &team, o);
        }
        body += "</tbody></table>";
    }
    let _ = write!(
        body,
        r#"<h3>{}</h3>{}</section>{}"#,
        lang.t("New override"),
        override_form(lang, csrf, &team),
        accounts_datalist(&state.store.user_names().await?),
    );
    Ok(Html(page(
        lang,
        &format!("{} {}", lang.t("Team"), team.name),
        Some((&auth.user.name, csrf)),
        &body,
    )))
}
