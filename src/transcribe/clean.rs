//! Whisper's known failure modes, removed before a transcript is stored: repetition loops
//! ("non, non, non, …"), repeated segments, the stock phrases it invents on silence, and its
//! initial prompt recited back (on silence it may "continue" the prompt with the prompt).

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

/// Whether `text` is the prompt recited back rather than speech: three or more words in the
/// prompt's order, or four or more words nearly all of which are the prompt's. A caller naming
/// one or two helpdesk terms in a sentence of their own is not an echo.
pub fn is_prompt_echo(text: &str, prompt: &str) -> bool {
    let heard: Vec<String> = normalise(text).split(' ').map(str::to_string).collect();
    let prompt: Vec<String> = normalise(prompt).split(' ').map(str::to_string).collect();
    if heard.len() < 3 || heard.iter().any(String::is_empty) {
        return false;
    }
    if prompt.windows(heard.len()).any(|w| w == heard.as_slice()) {
        return true;
    }
    let from_prompt = heard.iter().filter(|w| prompt.contains(w)).count();
    heard.len() >= 4 && from_prompt * 10 >= heard.len() * 9
}

/// Cleans segments: repetitions collapsed, repeated and hallucinated segments and the prompt's
/// echo dropped. Returns the kept segments; an empty result means nothing usable was said.
pub fn clean_segments(segments: Vec<Segment>, prompt: Option<&str>) -> Vec<Segment> {
    let echo = |text: &str| prompt.is_some_and(|p| is_prompt_echo(text, p));
    let mut segments = segments;
    for s in &mut segments {
        s.text = collapse_repetitions(&s.text);
    }
    // An echo cut into short segments would pass the test below one segment at a time.
    let whole = segments.iter().map(|s| s.text.as_str()).collect::<Vec<_>>();
    if segments.len() > 1 && echo(&whole.join(" ")) {
        return Vec::new();
    }
    let mut kept: Vec<Segment> = Vec::new();
    for s in segments {
        if is_hallucination(&s.text) || echo(&s.text) {
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

/// Drops segments that only repeat the previous part's text given as context: on a pause or
/// noise whisper may "continue" its prompt with it. Three words or more, found in order in the
/// context, are a repeat; a short phrase said again ("yes", "thank you") is not judged here.
pub fn drop_context_repeats(segments: Vec<Segment>, context: Option<&str>) -> Vec<Segment> {
    let Some(context) = context else {
        return segments;
    };
    let context = format!(" {} ", normalise(context));
    segments
        .into_iter()
        .filter(|s| {
            let heard = normalise(&s.text);
            heard.split(' ').count() < 3 || !context.contains(&format!(" {heard} "))
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_segment_repeating_the_previous_part_is_dropped() {
        let seg = |t: &str| Segment {
            start_ms: 0,
            end_ms: 1000,
            text: t.into(),
        };
        let kept = drop_context_repeats(
            vec![
                seg(" My printer is broken."),
                seg(" It is on the third floor."),
                seg(" Broken."),
            ],
            Some("Hello, my printer is broken."),
        );
        let texts: Vec<&str> = kept.iter().map(|s| s.text.as_str()).collect();
        assert_eq!(texts, [" It is on the third floor.", " Broken."]);
        assert_eq!(drop_context_repeats(vec![seg("a b c")], None).len(), 1);
    }

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
        let kept = clean_segments(
            vec![
                seg("My VPN is down."),
                seg("My VPN is down."),
                seg("Thank you."),
            ],
            None,
        );
        assert_eq!(kept, vec![seg("My VPN is down.")]);
        assert!(clean_segments(vec![seg("Merci."), seg(" you")], None).is_empty());
    }

    fn prompt(language: &str) -> String {
        use super::super::prompt::{initial_prompt, Vocabulary};
        let names =
            Vocabulary::load(&["Contoso".into(), "Northwind Payroll".into()], None).unwrap();
        initial_prompt(
            Some(language),
            Some(crate::tickets::Category::Account),
            &names,
        )
        .unwrap()
    }

    #[test]
    fn the_prompt_recited_back_is_never_a_transcript() {
        for language in ["en", "fr"] {
            let p = prompt(language);
            // The whole prompt, as one segment or as whisper cuts it.
            assert!(clean_segments(vec![seg(&p)], Some(&p)).is_empty(), "{p}");
            let pieces: Vec<Segment> = p.split_inclusive(['.', ':']).map(seg).collect();
            assert!(pieces.len() > 2);
            assert!(clean_segments(pieces, Some(&p)).is_empty(), "{p}");
            // A run from the middle of the list, with whisper's own capitals and commas.
            let words: Vec<&str> = p.split(' ').collect();
            let middle = words[6..12].join(" ").to_uppercase();
            assert!(
                clean_segments(vec![seg(&middle)], Some(&p)).is_empty(),
                "{middle}"
            );
        }
        let en = prompt("en");
        assert!(is_prompt_echo("Printer, keyboard, headset, Outlook.", &en));
        assert!(is_prompt_echo("Contoso, Northwind Payroll.", &en));
    }

    #[test]
    fn speech_that_uses_the_prompts_words_is_kept() {
        let en = prompt("en");
        let said = vec![
            seg("Hello, my password for Outlook expired this morning."),
            seg("The VPN."),
            seg("Please call me back on 4 4 1 2."),
        ];
        assert_eq!(clean_segments(said.clone(), Some(&en)), said);
        let fr = prompt("fr");
        let dit = vec![seg(
            "Mon compte est bloqué et le mot de passe ne marche plus.",
        )];
        assert_eq!(clean_segments(dit.clone(), Some(&fr)), dit);
        // Without a prompt, nothing is taken for an echo.
        assert_eq!(
            clean_segments(vec![seg("printer, keyboard, headset")], None).len(),
            1
        );
    }
}
