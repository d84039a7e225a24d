//! Speaking numbers and durations with recorded prompts: `n0`…`n60` plus unit words, in each
//! language, so a French caller hears French numbers.

use super::dialplan::SayItem;
use std::time::Duration;

/// The largest number with its own prompt.
pub const MAX_NUMBER: u64 = 60;

/// Every prompt a `say` item may use (the checker makes sure they all exist).
pub fn prompts_needed(item: SayItem) -> Vec<String> {
    let mut names: Vec<String> = match item {
        SayItem::TicketNumber => vec!["your_ticket_number_is".into()],
        SayItem::ResponseTime => [
            "estimated_response",
            "one_minute",
            "minutes",
            "one_hour",
            "hours",
            "one_day",
            "days",
            "and",
        ]
        .iter()
        .map(|s| s.to_string())
        .collect(),
    };
    let top = match item {
        SayItem::TicketNumber => 9,
        SayItem::ResponseTime => MAX_NUMBER,
    };
    names.extend((0..=top).map(|n| format!("n{n}")));
    names
}

/// "Your ticket number is 1 2 3", digit by digit (how people read references back).
pub fn ticket_number(number: u32) -> Vec<String> {
    let mut out = vec!["your_ticket_number_is".to_string()];
    out.extend(number.to_string().chars().map(|c| format!("n{c}")));
    out
}

/// "We expect to respond within 1 hour and 30 minutes", for a duration already rounded for
/// speech (see `tickets::estimate::round_for_speech`).
pub fn response_time(d: Duration) -> Vec<String> {
    let mut out = vec!["estimated_response".to_string()];
    out.extend(duration_words(d));
    out
}

/// The prompt for a number (capped at the largest recorded, 60).
pub fn number(n: u64) -> String {
    format!("n{}", n.min(MAX_NUMBER))
}

/// "one hour" is its own prompt: in French the number agrees with the unit ("une heure",
/// "un jour"), which a separate `n1` cannot do.
fn amount(n: u64, one: &str, many: &str) -> Vec<String> {
    if n == 1 {
        vec![one.to_string()]
    } else {
        vec![number(n), many.to_string()]
    }
}

/// Words for a duration: minutes under an hour, hours (and minutes) up to two days, then days.
pub fn duration_words(d: Duration) -> Vec<String> {
    let minutes = d.as_secs().div_ceil(60).max(1);
    if minutes < 60 {
        return amount(minutes, "one_minute", "minutes");
    }
    if minutes <= 48 * 60 {
        let (h, m) = (minutes / 60, minutes % 60);
        let mut words = amount(h, "one_hour", "hours");
        if m > 0 {
            words.push("and".to_string());
            words.extend(amount(m, "one_minute", "minutes"));
        }
        return words;
    }
    let days = minutes.div_ceil(24 * 60).min(MAX_NUMBER);
    amount(days, "one_day", "days")
}

#[cfg(test)]
mod tests {
    use super::*;

    fn words(v: Vec<String>) -> String {
        v.join(" ")
    }

    #[test]
    fn durations_are_spoken_as_people_say_them() {
        assert_eq!(
            words(duration_words(Duration::from_secs(10 * 60))),
            "n10 minutes"
        );
        assert_eq!(
            words(duration_words(Duration::from_secs(60 * 60))),
            "one_hour"
        );
        assert_eq!(
            words(duration_words(Duration::from_secs(90 * 60))),
            "one_hour and n30 minutes"
        );
        assert_eq!(
            words(duration_words(Duration::from_secs(8 * 3600))),
            "n8 hours"
        );
        assert_eq!(
            words(duration_words(Duration::from_secs(3 * 86400))),
            "n3 days"
        );
    }

    #[test]
    fn ticket_numbers_are_read_digit_by_digit() {
        assert_eq!(
            words(ticket_number(1203)),
            "your_ticket_number_is n1 n2 n0 n3"
        );
    }
}
