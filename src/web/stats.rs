//! Statistics for leads: `/stats` (HTML with SVG charts) and `/api/stats` (the same as JSON),
//! over a window of UTC days (`from`, `to`, both included; the last 7 days by default).

use super::auth::Auth;
use super::charts::{bar_chart, column_chart, priority_class, Bar};
use super::filters::{date, FilterError};
use super::html::{esc, page, priority_badge};
use super::i18n::Lang;
use super::{AppState, PageError, WebError};
use crate::tickets::stats::{Stats, StatsWindow, WindowError, DEFAULT_WINDOW_DAYS};
use crate::tickets::RecurrenceRule;
use axum::extract::{Query, State};
use axum::response::Html;
use axum::Json;
use chrono::{NaiveDate, Utc};
use std::collections::HashMap;
use std::fmt::Write;

/// The longest `within_hours` for recurring incidents: a week.
pub const MAX_WITHIN_HOURS: u32 = 168;

/// A parsed statistics query.
#[derive(Debug, Clone, PartialEq)]
pub struct StatsQuery {
    pub window: StatsWindow,
    pub rule: RecurrenceRule,
}

/// Parses `from`, `to` and `within_hours`; `today` fills in a missing `to`, and a missing
/// `from` makes the window a week long. Errors name the parameter, as the call log's do.
pub fn parse_stats_query(
    params: &HashMap<String, String>,
    today: NaiveDate,
) -> Result<StatsQuery, FilterError> {
    let (mut from, mut to) = (None, None);
    let mut rule = RecurrenceRule::default();
    for (name, value) in params {
        let value = value.trim();
        if value.is_empty() {
            continue;
        }
        match name.as_str() {
            "from" => from = Some(date(name, value)?),
            "to" => to = Some(date(name, value)?),
            "within_hours" => match value.parse::<u32>() {
                Ok(h) if (1..=MAX_WITHIN_HOURS).contains(&h) => {
                    rule.within = chrono::Duration::hours(h.into())
                }
                _ => {
                    return Err(FilterError {
                        name: name.clone(),
                        reason: format!(
                            "`{value}` is not a whole number from 1 to {MAX_WITHIN_HOURS}"
                        ),
                    })
                }
            },
            other => {
                return Err(FilterError {
                    name: other.into(),
                    reason: "unknown parameter (expected from, to, within_hours)".into(),
                })
            }
        }
    }
    let to = to.unwrap_or(today);
    let window = match from {
        Some(from) => StatsWindow::new(from, to).map_err(|e| FilterError {
            name: match e {
                WindowError::ToBeforeFrom => "to",
                WindowError::TooLong => "from",
            }
            .into(),
            reason: e.to_string(),
        })?,
        None => StatsWindow::ending(to, DEFAULT_WINDOW_DAYS),
    };
    Ok(StatsQuery { window, rule })
}

async fn load(
    state: &AppState,
    params: &HashMap<String, String>,
) -> Result<(StatsQuery, Stats), WebError> {
    let now = Utc::now();
    let q = parse_stats_query(params, now.date_naive())
        .map_err(|e| WebError::BadRequest(e.to_string()))?;
    let stats = state.store.stats(&q.window, q.rule, now).await?;
    Ok((q, stats))
}

pub(super) async fn stats_json(
    State(state): State<AppState>,
    auth: Result<Auth, WebError>,
    query: Result<Query<HashMap<String, String>>, axum::extract::rejection::QueryRejection>,
) -> Result<Json<Stats>, WebError> {
    auth?;
    let Query(params) = query.map_err(|e| WebError::BadRequest(e.body_text()))?;
    let (_, stats) = load(&state, &params).await?;
    Ok(Json(stats))
}

pub(super) async fn stats_page(
    State(state): State<AppState>,
    auth: Result<Auth, WebError>,
    lang: Lang,
    Query(params): Query<HashMap<String, String>>,
) -> Result<Html<String>, PageError> {
    let auth = auth?;
    let (q, stats) = load(&state, &params).await?;
    Ok(Html(page(
        lang,
        lang.t("Statistics"),
        Some((&auth.user.name, auth.csrf_value())),
        &render(lang, &q, &stats),
    )))
}

fn percent(share: f64) -> String {
    format!("{:.1} %", share * 100.0)
}

/// A caller's wait to the second: `45 s`, `2 min 05 s`, `1 h 02 min` (the same in French).
fn wait_text(ms: u64) -> String {
    let s = (ms + 500) / 1000;
    match s {
        0..60 => format!("{s} s"),
        60..3600 => format!("{} min {:02} s", s / 60, s % 60),
        _ => format!("{} h {:02} min", s / 3600, s % 3600 / 60),
    }
}

/// The statistics page's body.
pub fn render(lang: Lang, q: &StatsQuery, s: &Stats) -> String {
    let (from, to) = (s.from.to_string(), s.to.to_string());
    let within = q.rule.within.num_hours();
    let mut body = format!(
        r#"<form method="get" action="/stats">
<label>{l_from} <input type="date" name="from" value="{from}"></label>
<label>{l_to} <input type="date" name="to" value="{to}"></label>
<label>{l_within} <input type="number" name="within_hours" min="1" max="{MAX_WITHIN_HOURS}" value="{within}"> {l_hours}</label>
<button>{l_show}</button></form>
<p>{summary} <a href="/api/stats?from={from}&amp;to={to}&amp;within_hours={within}">JSON</a></p>
<h2>{l_per_day}</h2>
"#,
        summary = lang
            .t("{calls} calls from {from} to {to} (UTC days).")
            .replace("{calls}", &s.calls.to_string())
            .replace("{from}", &from)
            .replace("{to}", &to),
        l_from = lang.t("From"),
        l_to = lang.t("To"),
        l_within = lang.t("Recurring within"),
        l_hours = lang.t("hours"),
        l_show = lang.t("Show"),
        l_per_day = lang.t("Calls per day"),
    );
    let days: Vec<Bar> = s
        .calls_per_day
        .iter()
        .map(|d| Bar::count(d.day.format("%m-%d").to_string(), d.calls))
        .collect();
    body += &column_chart(lang.t("Calls per day"), &days);

    let _ = write!(body, "<h2>{}</h2>", lang.t("Calls per category"));
    let categories: Vec<Bar> = s
        .calls_per_category
        .iter()
        .map(|c| {
            Bar::count(
                c.category.map_or(lang.t("none chosen"), |c| c.as_str()),
                c.calls,
            )
        })
        .collect();
    body += &bar_chart(lang.t("Calls per category"), &categories);

    let _ = write!(body, "<h2>{}</h2>", lang.t("Priorities"));
    let priorities: Vec<Bar> = s
        .priorities
        .iter()
        .map(|p| Bar {
            label: p.priority.map_or(lang.t("no priority").into(), |p| {
                format!("{p} {}", p.label())
            }),
            value: p.tickets,
            text: format!("{} ({})", percent(p.share), p.tickets),
            class: priority_class(p.priority),
        })
        .collect();
    body += &bar_chart(lang.t("Share of calls per priority"), &priorities);

    let a = &s.abandonment;
    let _ = write!(
        body,
        "<h2>{}</h2><p>{}</p>",
        lang.t("Abandoned calls"),
        lang.t("{n} of {total} ended calls abandoned ({rate}).")
            .replace("{n}", &a.abandoned.to_string())
            .replace("{total}", &a.ended_calls.to_string())
            .replace("{rate}", &percent(a.rate))
    );
    if !a.steps.is_empty() {
        let steps: Vec<Bar> = a
            .steps
            .iter()
            .map(|st| Bar::count(st.step.clone(), st.calls))
            .collect();
        body += &bar_chart(lang.t("Abandoned calls per menu step"), &steps);
    }

    let _ = write!(
        body,
        r#"<h2>{}</h2>
<table class="compliance"><thead><tr><th>{}</th><th>{}</th><th>{}</th><th>{}</th><th>{}</th><th>{}</th><th>{}</th></tr></thead><tbody>"#,
        lang.t("Response times"),
        lang.t("Priority"),
        lang.t("Target"),
        lang.t("Met"),
        lang.t("Missed"),
        lang.t("Open, overdue"),
        lang.t("Open, within target"),
        lang.t("Met of answered"),
    );
    for r in &s.response {
        let answered = r.met + r.missed;
        let rate = if answered == 0 {
            "—".to_string()
        } else {
            percent(r.met as f64 / answered as f64)
        };
        let _ = write!(
            body,
            "<tr><td>{}</td><td>{} min</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{rate}</td></tr>",
            priority_badge(Some(r.priority)),
            r.target_minutes,
            r.met,
            r.missed,
            r.open_overdue,
            r.open_within_target,
        );
    }
    body += "</tbody></table>";

    body += &render_routing(lang, s);

    let _ = write!(
        body,
        "<h2>{}</h2><p>{}</p>",
        lang.t("Recurring incidents"),
        lang.t("Tickets of one category whose transcripts share at least {share} of their words, within {hours} hours of each other.")
            .replace("{share}", &percent(s.recurring.min_similarity))
            .replace("{hours}", &s.recurring.within_hours.to_string())
    );
    if s.recurring.clusters.is_empty() {
        let _ = write!(body, "<p>{}</p>", lang.t("None found."));
    } else {
        body += r#"<ul class="recurring">"#;
        for c in &s.recurring.clusters {
            let _ = write!(
                body,
                "<li><strong>{}</strong>, {} {}<ul>",
                c.category.as_str(),
                c.tickets.len(),
                lang.t("calls")
            );
            for t in &c.tickets {
                let _ = write!(
                    body,
                    r#"<li><a href="/tickets/{r}">{r}</a> {} — {}</li>"#,
                    t.created_at.format("%Y-%m-%d %H:%M"),
                    esc(&t.excerpt),
                    r = t.reference,
                );
            }
            body += "</ul></li>";
        }
        body += "</ul>";
    }
    body
}

/// Time to a technician's answer and abandonment in queue, per priority: a table, and the
/// median waits as a chart.
fn render_routing(lang: Lang, s: &Stats) -> String {
    let mut body = format!(
        r#"<h2>{}</h2><p>{}</p>
<table class="routing"><thead><tr><th>{}</th><th>{}</th><th>{}</th><th>{}</th><th>{}</th><th>{}</th></tr></thead><tbody>"#,
        lang.t("Time to answer and queue abandonment"),
        lang.t("Time to answer runs from the start of the call to a technician taking it (median and 90th percentile). Queue abandonment counts the calls that waited in a queue and have ended, and how many of their callers hung up there."),
        lang.t("Priority"),
        lang.t("Answered by a technician"),
        lang.t("Median time to answer"),
        lang.t("90th percentile"),
        lang.t("Ended after queueing"),
        lang.t("Abandoned in queue"),
    );
    let wait = |ms: Option<u64>| ms.map_or("—".to_string(), wait_text);
    for r in &s.routing {
        let abandoned = if r.queued == 0 {
            "—".to_string()
        } else {
            format!(
                "{} ({})",
                r.abandoned_in_queue,
                percent(r.queue_abandonment_rate)
            )
        };
        let _ = write!(
            body,
            "<tr><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{abandoned}</td></tr>",
            priority_badge(Some(r.priority)),
            r.answered,
            wait(r.answer_p50_ms),
            wait(r.answer_p90_ms),
            r.queued,
        );
    }
    body += "</tbody></table>";
    if s.routing.iter().any(|r| r.answered > 0) {
        let bars: Vec<Bar> = s
            .routing
            .iter()
            .map(|r| Bar {
                label: format!("{} {}", r.priority, r.priority.label()),
                value: r.answer_p50_ms.unwrap_or(0),
                text: wait(r.answer_p50_ms),
                class: priority_class(Some(r.priority)),
            })
            .collect();
        body += &bar_chart(lang.t("Median time to answer by a technician"), &bars);
    }
    body
}

#[cfg(test)]
mod tests {
    use super::*;

    fn query(pairs: &[(&str, &str)]) -> Result<StatsQuery, FilterError> {
        parse_stats_query(
            &pairs
                .iter()
                .map(|(k, v)| (k.to_string(), v.to_string()))
                .collect(),
            "2026-03-10".parse().unwrap(),
        )
    }

    #[test]
    fn default_window_is_the_last_week() {
        let q = query(&[]).unwrap();
        assert_eq!(q.window.from().to_string(), "2026-03-04");
        assert_eq!(q.window.to().to_string(), "2026-03-10");
        assert_eq!(q.rule, RecurrenceRule::default());
        let q = query(&[("to", "2026-01-07"), ("within_hours", "48")]).unwrap();
        assert_eq!(q.window.from().to_string(), "2026-01-01");
        assert_eq!(q.rule.within.num_hours(), 48);
    }

    #[test]
    fn bad_values_name_the_parameter() {
        for (pairs, name) in [
            (&[("from", "last week")][..], "from"),
            (&[("to", "2026-13-01")][..], "to"),
            (&[("from", "2026-03-02"), ("to", "2026-03-01")][..], "to"),
            (&[("from", "2020-01-01")][..], "from"),
            (&[("within_hours", "0")][..], "within_hours"),
            (&[("within_hours", "1000")][..], "within_hours"),
            (&[("status", "new")][..], "status"),
        ] {
            assert_eq!(query(pairs).unwrap_err().name, name, "{pairs:?}");
        }
    }

    #[test]
    fn waits_read_to_the_second() {
        assert_eq!(wait_text(0), "0 s");
        assert_eq!(wait_text(44_600), "45 s");
        assert_eq!(wait_text(125_000), "2 min 05 s");
        assert_eq!(wait_text(3_720_000), "1 h 02 min");
    }
}
