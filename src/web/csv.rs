//! Tickets as CSV (RFC 4180) for the export: a header and one line per ticket.
//!
//! Caller names and numbers come from SIP headers anyone can send, and the file is opened in
//! spreadsheets; so besides quoting, a text cell that a spreadsheet would run as a formula is
//! prefixed with `'` (OWASP's CSV-injection advice). Phone numbers like `+4930123` are left
//! alone: a spreadsheet reads them as numbers, not formulas.

use crate::tickets::Ticket;

/// The export's columns, in order.
pub const HEADER: [&str; 17] = [
    "reference",
    "created_at",
    "caller_number",
    "caller_name",
    "caller_identity",
    "language",
    "category",
    "impact",
    "urgency",
    "priority",
    "status",
    "disposition",
    "disposition_detail",
    "assignee",
    "estimated_response_secs",
    "recording_duration_ms",
    "transcript",
];

/// One cell, quoted when it holds a comma, a quote or a line break (quotes doubled).
pub fn field(value: &str) -> String {
    let value = defuse_formula(value);
    if value.contains([',', '"', '\r', '\n']) {
        format!("\"{}\"", value.replace('"', "\"\""))
    } else {
        value.into_owned()
    }
}

/// Prefixes `'` to text a spreadsheet would evaluate (`=`, `+`, `-`, `@`, tab, CR first).
fn defuse_formula(value: &str) -> std::borrow::Cow<'_, str> {
    let mut chars = value.chars();
    let risky = match chars.next() {
        Some('=' | '@' | '\t' | '\r') => true,
        // A signed number (a phone number) is data; anything else after the sign is not.
        Some('+' | '-') => !chars.all(|c| c.is_ascii_digit() || c == ' ' || c == '.'),
        _ => false,
    };
    if risky {
        format!("'{value}").into()
    } else {
        value.into()
    }
}

/// A line of cells, CRLF-terminated as RFC 4180 asks.
pub fn line<'a>(cells: impl IntoIterator<Item = &'a str>) -> String {
    let mut out = cells.into_iter().map(field).collect::<Vec<_>>().join(",");
    out.push_str("\r\n");
    out
}

pub fn header_line() -> String {
    line(HEADER)
}

/// A ticket's line, in `HEADER` order.
pub fn ticket_line(t: &Ticket) -> String {
    let text = |v: Option<&str>| v.unwrap_or("").to_string();
    let number = |v: Option<i64>| v.map(|n| n.to_string()).unwrap_or_default();
    let cells = [
        t.reference.to_string(),
        t.created_at.to_rfc3339(),
        t.caller_number.clone(),
        text(t.caller_name.as_deref()),
        text(t.caller_identity.as_deref()),
        t.language.map(|l| l.to_string()).unwrap_or_default(),
        t.category.map(|c| c.to_string()).unwrap_or_default(),
        t.impact.map(|c| c.to_string()).unwrap_or_default(),
        t.urgency.map(|c| c.to_string()).unwrap_or_default(),
        t.priority.map(|p| p.to_string()).unwrap_or_default(),
        t.status.to_string(),
        t.disposition.to_string(),
        text(t.disposition_detail.as_deref()),
        text(t.assignee.as_deref()),
        number(t.estimated_response_secs),
        number(t.recording_duration_ms),
        text(t.transcript.as_deref()),
    ];
    line(cells.iter().map(String::as_str))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn plain_cells_are_left_as_they_are() {
        assert_eq!(field("HD-2026-000001"), "HD-2026-000001");
        assert_eq!(field(""), "");
        assert_eq!(field("Zoë"), "Zoë");
    }

    #[test]
    fn commas_quotes_and_line_breaks_are_quoted() {
        assert_eq!(field("Lovelace, Ada"), r#""Lovelace, Ada""#);
        assert_eq!(field(r#"Ada "the Countess""#), r#""Ada ""the Countess""""#);
        assert_eq!(field("line\nbreak"), "\"line\nbreak\"");
        assert_eq!(field("cr\rlf"), "\"cr\rlf\"");
        assert_eq!(line(["a", "b,c", ""]), "a,\"b,c\",\r\n");
    }

    #[test]
    fn formulas_are_defused_but_phone_numbers_are_not() {
        assert_eq!(field("=HYPERLINK(\"x\")"), r#""'=HYPERLINK(""x"")""#);
        assert_eq!(field("@SUM(A1)"), "'@SUM(A1)");
        assert_eq!(field("-2+3"), "'-2+3");
        assert_eq!(field("+49 30 1234"), "+49 30 1234");
        assert_eq!(field("-5"), "-5");
    }

    #[test]
    fn header_and_ticket_lines_have_the_same_width() {
        assert_eq!(header_line().matches(',').count(), HEADER.len() - 1);
    }
}
