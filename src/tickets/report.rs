//! Tickets as text and JSON for people and scripts (`hotline tickets list|show`). The formats
//! live beside the domain so the CLI, the web log and tests all print a ticket the same way.

use super::{CallEvent, Ticket};
use std::fmt::Write;
use std::time::Duration;

fn or_dash<T: ToString>(v: &Option<T>) -> String {
    v.as_ref()
        .map(|x| x.to_string())
        .unwrap_or_else(|| "-".into())
}

/// A duration as the caller heard it: minutes under an hour, hours (and minutes) up to two
/// days, then days — the same units `ivr::say::duration_words` speaks.
pub fn describe_duration(d: Duration) -> String {
    let minutes = d.as_secs().div_ceil(60).max(1);
    if minutes < 60 {
        return format!("{minutes} min");
    }
    if minutes <= 48 * 60 {
        let (h, m) = (minutes / 60, minutes % 60);
        return if m == 0 {
            format!("{h} h")
        } else {
            format!("{h} h {m} min")
        };
    }
    let days = minutes.div_ceil(24 * 60);
    format!("{days} day{}", if days == 1 { "" } else { "s" })
}

fn estimate(t: &Ticket) -> String {
    t.estimated_response()
        .map(describe_duration)
        .unwrap_or_else(|| "-".into())
}

/// Cuts `text` to `width` characters, marking the cut, so one long name cannot shift a column.
fn fit(text: &str, width: usize) -> String {
    if text.chars().count() <= width {
        text.to_string()
    } else {
        let mut s: String = text.chars().take(width.saturating_sub(1)).collect();
        s.push('…');
        s
    }
}

/// One line per ticket in the order given (the store lists newest first), aligned columns under
/// a header line.
pub fn render_ticket_table(tickets: &[Ticket]) -> String {
    let mut out = format!(
        "{:<15} {:<16} {:<20} {:<4} {:<8} {:<11} {:<12} {:<11} {}\n",
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
        let _ = writeln!(
            out,
            "{:<15} {:<16} {:<20} {:<4} {:<8} {:<11} {:<12} {:<11} {}",
            t.reference.to_string(),
            t.created_at.format("%Y-%m-%d %H:%M").to_string(),
            fit(t.caller_label(), 20),
            or_dash(&t.language),
            or_dash(&t.category),
            t.priority
                .map(|p| format!("{p} {}", p.label()))
                .unwrap_or_else(|| "-".into()),
            t.status.as_str(),
            t.disposition.as_str(),
            estimate(t)
        );
    }
    out
}

/// A ticket with every field and its call timeline, for people.
pub fn render_ticket_detail(t: &Ticket, events: &[CallEvent]) -> String {
    let mut out = String::new();
    let _ = writeln!(
        out,
        "Ticket {}  ({}, {})",
        t.reference, t.status, t.disposition
    );
    let caller = match &t.caller_name {
        Some(n) => format!("{} \"{n}\"", t.caller_number),
        None => t.caller_number.clone(),
    };
    let disposition = match &t.disposition_detail {
        Some(d) => format!("{} ({d})", t.disposition),
        None => t.disposition.to_string(),
    };
    let recording = match (&t.recording_path, t.recording_duration_ms) {
        (Some(p), Some(ms)) => format!(
            "{p} ({:.1} s, {})",
            ms as f64 / 1000.0,
            or_dash(&t.recording_end_cause)
        ),
        (Some(p), None) => p.clone(),
        _ => "-".into(),
    };
    let mut rows: Vec<(&str, String)> = vec![
        ("Created", t.created_at.to_rfc3339()),
        ("Updated", t.updated_at.to_rfc3339()),
        ("Call-ID", t.call_id.clone()),
        ("Caller", caller),
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
        ("Told caller", estimate(t)),
        ("Disposition", disposition),
        ("Assignee", or_dash(&t.assignee)),
        ("Recording", recording),
        ("Transcript", or_dash(&t.transcript)),
    ];
    if let Some(c) = &t.collected {
        rows.push(("Collected", c.to_string()));
    }
    for (k, v) in rows {
        let _ = writeln!(out, "  {k:<12} {v}");
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

/// The stable JSON of a ticket with its timeline under `events` (`hotline tickets show --json`).
pub fn ticket_json(t: &Ticket, events: &[CallEvent]) -> serde_json::Value {
    // Serialising plain data with string keys cannot fail.
    let mut v = serde_json::to_value(t).expect("a ticket serialises");
    v["events"] = serde_json::to_value(events).expect("events serialise");
    v
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::tickets::{
        CallEventKind, Category, Disposition, Impact, Language, Priority, TicketRef, TicketStatus,
        Urgency,
    };
    use chrono::TimeZone;

    fn ticket() -> Ticket {
        let at = chrono::Utc.with_ymd_and_hms(2026, 3, 2, 9, 30, 0).unwrap();
        Ticket {
            id: 7,
            reference: TicketRef {
                year: 2026,
                number: 7,
            },
            created_at: at,
            updated_at: at,
            call_id: "abc@pbx".into(),
            caller_number: "5551234".into(),
            caller_name: Some("Alice".into()),
            caller_identity: Some("Alice Martin (Finance department)".into()),
            language: Some(Language::French),
            category: Some(Category::Network),
            impact: Some(Impact::Team),
            urgency: Some(Urgency::Blocked),
            priority: Priority::new(2),
            status: TicketStatus::New,
            disposition: Disposition::Abandoned,
            disposition_detail: Some("voicemail".into()),
            assignee: None,
            estimated_response_secs: Some(75 * 60),
            collected: None,
            recording_path: None,
            recording_duration_ms: None,
            conversation_path: None,
            conversation_duration_ms: None,
            recording_end_cause: None,
            transcript: None,
            transcript_language: None,
            transcript_segments: None,
            transcript_model: None,
            transcript_ms: None,
        }
    }

    #[test]
    fn durations_read_as_they_were_spoken() {
        let m = |n: u64| Duration::from_secs(n * 60);
        assert_eq!(describe_duration(m(10)), "10 min");
        assert_eq!(describe_duration(m(60)), "1 h");
        assert_eq!(describe_duration(m(75)), "1 h 15 min");
        assert_eq!(describe_duration(m(48 * 60)), "48 h");
        assert_eq!(describe_duration(m(3 * 24 * 60)), "3 days");
    }

    #[test]
    fn table_has_a_header_and_one_aligned_line_per_ticket() {
        let t = ticket();
        let table = render_ticket_table(&[t.clone(), t]);
        let lines: Vec<&str> = table.lines().collect();
        assert_eq!(lines.len(), 3);
        assert!(lines[0].starts_with("REFERENCE"));
        assert_eq!(
            lines[1],
            "HD-2026-000007  2026-03-02 09:30 Alice Martin (Finan… fr   network  P2 high     new          abandoned   1 h 15 min"
        );
        // Columns line up (in characters: the cut name ends in a multi-byte `…`).
        let column = |line: &str, text: &str| line[..line.find(text).unwrap()].chars().count();
        assert_eq!(column(lines[0], "ESTIMATE"), column(lines[1], "1 h 15"));
        assert_eq!(column(lines[0], "LANG"), column(lines[1], "fr "));
    }

    #[test]
    fn detail_shows_fields_and_the_timeline_in_order() {
        let t = ticket();
        let events = [
            CallEvent {
                at: t.created_at,
                kind: CallEventKind::Received,
                detail: "call from 5551234".into(),
            },
            CallEvent {
                at: t.created_at + chrono::Duration::milliseconds(1500),
                kind: CallEventKind::Digit,
                detail: "2".into(),
            },
        ];
        let text = render_ticket_detail(&t, &events);
        assert!(text.starts_with("Ticket HD-2026-000007  (new, abandoned)\n"));
        assert!(text.contains("  Disposition  abandoned (voicemail)\n"));
        assert!(text.contains("  Told caller  1 h 15 min\n"));
        assert!(text.ends_with(
            "Timeline:\n  09:30:00.000  received           call from 5551234\n  09:30:01.500  digit              2\n"
        ));
    }

    #[test]
    fn json_nests_the_timeline_and_hides_the_row_id() {
        let t = ticket();
        let v = ticket_json(&t, &[]);
        assert_eq!(v["reference"], "HD-2026-000007");
        assert_eq!(v["priority"], "P2");
        assert_eq!(v["created_at"], "2026-03-02T09:30:00Z");
        assert_eq!(v["events"], serde_json::json!([]));
        assert!(v.get("id").is_none());
        let back: Ticket = serde_json::from_value(v).unwrap();
        assert_eq!(back, Ticket { id: 0, ..t });
    }
}
