//! Administrator commands behind the CLI (`hotline tickets …`, `hotline dialplan check`):
//! the output formats live here so scripts can rely on them and tests can check them.

use crate::store::{CallEvent, Ticket};
use std::fmt::Write;

fn or_dash<T: ToString>(v: &Option<T>) -> String {
    v.as_ref()
        .map(|x| x.to_string())
        .unwrap_or_else(|| "-".into())
}

/// One line per ticket, newest first, aligned columns.
pub fn ticket_table(tickets: &[Ticket]) -> String {
    let mut out = format!(
        "{:<15} {:<17} {:<16} {:<4} {:<9} {:<9} {:<12} {:<14} {}\n",
        "REFERENCE",
        "CREATED (UTC)",
        "CALLER",
        "LANG",
        "CATEGORY",
        "PRIORITY",
        "STATUS",
        "DISPOSITION",
        "ESTIMATE"
    );
    for t in tickets {
        let caller = t
            .caller_identity
            .clone()
            .or_else(|| t.caller_name.clone())
            .unwrap_or_else(|| t.caller_number.clone());
        let caller: String = caller.chars().take(16).collect();
        let estimate = t
            .estimated_response_secs
            .map(|s| format!("{} min", s / 60))
            .unwrap_or_else(|| "-".into());
        let _ = writeln!(
            out,
            "{:<15} {:<17} {:<16} {:<4} {:<9} {:<9} {:<12} {:<14} {}",
            t.reference.to_string(),
            t.created_at.format("%Y-%m-%d %H:%M"),
            caller,
            or_dash(&t.language),
            or_dash(&t.category),
            t.priority
                .map(|p| format!("{p} {}", p.label()))
                .unwrap_or_else(|| "-".into()),
            t.status,
            t.disposition,
            estimate
        );
    }
    out
}

/// A ticket with its timeline, for people.
pub fn ticket_detail(t: &Ticket, events: &[CallEvent]) -> String {
    let mut out = String::new();
    let _ = writeln!(
        out,
        "Ticket {}  ({}, {})",
        t.reference, t.status, t.disposition
    );
    let rows: Vec<(&str, String)> = vec![
        ("Created", t.created_at.to_rfc3339()),
        (
            "Caller",
            format!(
                "{}{}",
                t.caller_number,
                t.caller_name
                    .as_ref()
                    .map(|n| format!(" \"{n}\""))
                    .unwrap_or_default()
            ),
        ),
        ("Identity", or_dash(&t.caller_identity)),
        ("Language", or_dash(&t.language)),
        ("Category", or_dash(&t.category)),
        ("Impact", or_dash(&t.impact)),
        ("Urgency", or_dash(&t.urgency)),
        (
            "Priority",
            t.priority
                .map(|p| format!("{p} ({})", p.label()))
                .unwrap_or_else(|| "-".into()),
        ),
        (
            "Told caller",
            t.estimated_response_secs
                .map(|s| format!("response within {} min", s / 60))
                .unwrap_or_else(|| "-".into()),
        ),
        (
            "Disposition",
            format!(
                "{}{}",
                t.disposition,
                t.disposition_detail
                    .as_ref()
                    .map(|d| format!(" ({d})"))
                    .unwrap_or_default()
            ),
        ),
        ("Assignee", or_dash(&t.assignee)),
        (
            "Recording",
            match (&t.recording_path, t.recording_duration_ms) {
                (Some(p), Some(ms)) => format!(
                    "{p} ({:.1} s, {})",
                    ms as f64 / 1000.0,
                    or_dash(&t.recording_end_cause)
                ),
                _ => "-".into(),
            },
        ),
        ("Transcript", or_dash(&t.transcript)),
    ];
    for (k, v) in rows {
        let _ = writeln!(out, "  {k:<12} {v}");
    }
    if let Some(c) = &t.collected {
        let _ = writeln!(out, "  {:<12} {c}", "Collected");
    }
    let _ = writeln!(out, "Timeline:");
    for e in events {
        let _ = writeln!(
            out,
            "  {}  {:<18} {}",
            e.at.format("%H:%M:%S%.3f"),
            e.kind.as_str(),
            e.detail
        );
    }
    out
}

/// The stable JSON of a ticket with its timeline (`hotline tickets show --json`).
pub fn ticket_json(t: &Ticket, events: &[CallEvent]) -> serde_json::Value {
    let mut v = serde_json::to_value(t).expect("tickets serialise");
    v["events"] = serde_json::to_value(events).expect("events serialise");
    v
}
