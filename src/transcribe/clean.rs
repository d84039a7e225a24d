//! Whisper's known failure modes, removed before a transcript is stored: repetition loops
//! ("non, non, non, …"), repeated segments, and the stock phrases it invents on silence.

use super::model::Segment;

/// Phrases Whisper produces from silence or noise (its training data's subtitles credits).
const HALLUCINATIONS: &[&str] = &[
    "thank you",
    "thank you for watching",
    "thanks for watching",
    "thank you very much",
    "you",
    "bye",
    "merci",
    "merci d'avoir regardé",
    "merci de votre attention",
    "sous-titres réalisés par la communauté d'amara.org",
    "sous-titrage st' 501",
    "sous-titrage société radio-canada",
    "sous-titres par amara.org",
];

fn normalise(text: &str) -> String {
    text.to_lowercase()
        .chars()
        .map(|c| {
            if c.is_alphanumeric() || c == '\'' || c == '-' || c == '.' {
                c
            } else {
                ' '
            }
        })
        .collect::<String>()
        .replace('.', " ")
        .split_whitespace()
        .collect::<Vec<_>>()
        .join(" ")
}

/// Whether a whole transcript is only a stock hallucination.
pub fn is_hallucination(text: &str) -> bool {
    let n = normalise(text);
    n.is_empty() || HALLUCINATIONS.iter().any(|h| normalise(h) == n)
}

/// Cuts a run of the same word or short phrase repeated more than three times down to one.
pub fn collapse_repetitions(text: &str) -> String {
    let words: Vec<&str> = text.split_whitespace().collect();
    let key = |w: &str| normalise(w);
    let mut out: Vec<&str> = Vec::new();
    let mut i = 0;
    while i < words.len() {
        let mut collapsed = false;
        for n in 1..=4 {
            if i + n * 4 > words.len() {
                break;
            }
            let unit: Vec<String> = words[i..i + n].iter().map(|w| key(w)).collect();
            let mut reps = 1;
            while i + (reps + 1) * n <= words.len()
                && words[i + reps * n..i + (reps + 1) * n]
                    .iter()
                    .map(|w| key(w))
                    .eq(unit.iter().cloned())
            {
                reps += 1;
            }
            if reps > 3 {
                out.extend_from_slice(&words[i..i + n]);
                i += reps * n;
                collapsed = true;
                break;
            }
        }
        if !collapsed {
            out.push(words[i]);
            i += 1;
        }
    }
    out.join(" ")
}

/// Cleans segments: repetitions collapsed, repeated and hallucinated segments dropped. Returns
/// the kept segments; an empty result means nothing usable was said.
pub fn clean_segments(segments: Vec<Segment>) -> Vec<Segment> {
    let mut kept: Vec<Segment> = Vec::new();
    for mut s in segments {
        s.text = collapse_repetitions(&s.text);
        if is_hallucination(&s.text) {
            continue;
        }
        if kept
            .last()
            .is_some_and(|p| normalise(&p.text) == normalise(&s.text))
        {
            continue;
        }
        kept.push(s);
    }
    kept
}

#[cfg(test)]
mod tests {
    use super::*;

    fn seg(text: &str) -> Segment {
        Segment {
            start_ms: 0,
            end_ms: 1000,
            text: text.into(),
        }
    }

    #[test]
    fn loops_are_collapsed() {
        assert_eq!(
            collapse_repetitions("non, non, non, non, non, non, c'est cassé"),
            "non, c'est cassé"
        );
        assert_eq!(
            collapse_repetitions("the printer the printer the printer the printer is off"),
            "the printer is off"
        );
        assert_eq!(
            collapse_repetitions("no no I said"),
            "no no I said",
            "a little repetition is speech"
        );
    }

    #[test]
    fn silence_hallucinations_are_dropped() {
        assert!(is_hallucination(" Thank you."));
        assert!(is_hallucination(
            "Sous-titres réalisés par la communauté d'Amara.org"
        ));
        assert!(!is_hallucination("Thank you, my printer is broken"));
        let kept = clean_segments(vec![
            seg("My VPN is down."),
            seg("My VPN is down."),
            seg("Thank you."),
        ]);
        assert_eq!(kept, vec![seg("My VPN is down.")]);
        assert!(clean_segments(vec![seg("Merci."), seg(" you")]).is_empty());
    }
}
