//! What a technician hears before taking a call ("whisper"): priority, category, impact,
//! caller and ticket number, then the choice. Pure: a ticket in, prompt names out.

use crate::tickets::{Category, Impact, Ticket};

/// The key that takes the call, and the one that passes it on.
pub const TAKE_KEY: char = '1';
pub const PASS_KEY: char = '2';

/// The prompts, in order, for `ticket` (names under `prompts/<language>/`).
pub fn announcement(ticket: &Ticket) -> Vec<String> {
    let mut out = vec!["announce_call".to_string()];
    if let Some(p) = ticket.priority {
        out.push("priority".into());
        out.push(format!("n{}", p.level()));
    }
    if let Some(c) = ticket.category {
        out.push(
            match c {
                Category::Hardware => "category_hardware",
                Category::Software => "category_software",
                Category::Network => "category_network",
                Category::Account => "category_account",
                Category::Other => "category_other",
            }
            .into(),
        );
    }
    if let Some(i) = ticket.impact {
        out.push(
            match i {
                Impact::Organisation => "impact_high",
                Impact::Team => "impact_medium",
                Impact::Individual => "impact_low",
            }
            .into(),
        );
    }
    let digits: Vec<String> = ticket
        .caller_number
        .chars()
        .filter(char::is_ascii_digit)
        .map(|d| format!("n{d}"))
        .collect();
    // A caller "number" that is a name (sip:alice@…) is not read out letter by letter.
    if !digits.is_empty() && digits.len() <= 15 {
        out.push("from_caller".into());
        out.extend(digits);
    }
    out.push("ticket".into());
    out.extend(
        ticket
            .reference
            .number
            .to_string()
            .chars()
            .map(|d| format!("n{d}")),
    );
    out.push("announce_choice".into());
    out
}

/// Every prompt an announcement may use, for the start-up check.
pub fn prompts_needed() -> Vec<String> {
    let mut names: Vec<String> = [
        "announce_call",
        "priority",
        "category_hardware",
        "category_software",
        "category_network",
        "category_account",
        "category_other",
        "impact_high",
        "impact_medium",
        "impact_low",
        "from_caller",
        "ticket",
        "announce_choice",
    ]
    .iter()
    .map(|s| s.to_string())
    .collect();
    names.extend((0..=9).map(|n| format!("n{n}")));
    names
}
