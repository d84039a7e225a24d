//! The response estimate written as the caller heard it.
//!
//! The IVR speaks the stored estimate with `ivr::say::duration_words` ("12 hours", "one hour
//! and 30 minutes", "3 days"); the ticket page writes the same words in the page's language,
//! so a technician reads exactly the promise the caller was given, with the same rounding and
//! units, rather than a raw count of minutes.

use super::i18n::Lang;
use crate::ivr::say::duration_words;
use std::time::Duration;

/// `d` in words, in `lang`: the prompts the caller heard, with numbers as digits.
pub fn as_heard(lang: Lang, d: Duration) -> String {
    duration_words(d)
        .iter()
        .map(|prompt| word(lang, prompt))
        .collect::<Vec<_>>()
        .join(" ")
}

/// The text of one prompt of `duration_words` (the same texts as `prompts/texts.tsv`).
fn word(lang: Lang, prompt: &str) -> String {
    if let Some(n) = prompt
        .strip_prefix('n')
        .filter(|n| n.parse::<u64>().is_ok())
    {
        return n.to_string();
    }
    let en = match prompt {
        "one_minute" => "one minute",
        "minutes" => "minutes",
        "one_hour" => "one hour",
        "hours" => "hours",
        "one_day" => "one day",
        "days" => "days",
        "and" => "and",
        // A prompt added to `duration_words` without a text here shows as its name, which a
        // test below notices.
        other => return other.to_string(),
    };
    lang.t(en).to_string()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn mins(m: u64) -> Duration {
        Duration::from_secs(m * 60)
    }

    #[test]
    fn estimates_read_as_the_caller_heard_them() {
        assert_eq!(as_heard(Lang::En, mins(12 * 60)), "12 hours");
        assert_eq!(as_heard(Lang::Fr, mins(12 * 60)), "12 heures");
        assert_eq!(as_heard(Lang::En, mins(15)), "15 minutes");
        assert_eq!(as_heard(Lang::En, mins(60)), "one hour");
        assert_eq!(as_heard(Lang::Fr, mins(60)), "une heure");
        assert_eq!(as_heard(Lang::En, mins(90)), "one hour and 30 minutes");
        assert_eq!(as_heard(Lang::Fr, mins(90)), "une heure et 30 minutes");
        assert_eq!(as_heard(Lang::En, mins(3 * 1440)), "3 days");
        assert_eq!(as_heard(Lang::Fr, mins(2 * 1440 + 1)), "3 jours");
        assert_eq!(as_heard(Lang::Fr, mins(1)), "une minute");
    }

    #[test]
    fn every_word_of_a_spoken_duration_has_a_text() {
        for m in (1..=100 * 1440).step_by(7) {
            for lang in [Lang::En, Lang::Fr] {
                let text = as_heard(lang, mins(m));
                assert!(!text.contains('_'), "{m} minutes: {text}");
            }
        }
    }
}
