//! Whisper's initial prompt: the words helpdesk callers use, in the caller's language, the
//! category chosen in the menu, and the company's own names. Whisper reads the prompt as what
//! was said just before the audio, so these words become likelier where the audio is unclear
//! (measured in docs/performance.md).
//!
//! The prompt stays short: whisper.cpp keeps only the last 224 tokens of it, and a long list
//! invites the model to recite it (the echo is removed by `clean::drop_prompt_echo`).

use crate::tickets::Category;
use std::path::{Path, PathBuf};

/// One sentence of common helpdesk terms (devices, applications, network and account words).
fn helpdesk_terms(language: &str) -> Option<&'static str> {
    match language {
        "en" => Some(
            "IT helpdesk voicemail about a laptop, computer, screen, printer, keyboard, headset, \
             Windows, Outlook, Teams, Excel, e-mail, VPN, Wi-Fi, network, internet, server, \
             password, account, login, update, error message.",
        ),
        "fr" => Some(
            "Message vocal au support informatique : ordinateur portable, écran, imprimante, \
             clavier, casque, Windows, Outlook, Teams, Excel, courriel, VPN, Wi-Fi, réseau, \
             internet, serveur, mot de passe, compte, identifiant, mise à jour, message d'erreur.",
        ),
        _ => None,
    }
}

/// A few more words for the category the caller chose in the menu.
fn category_terms(language: &str, category: Category) -> Option<&'static str> {
    Some(match (language, category) {
        ("en", Category::Hardware) => "Hardware problem: docking station, mouse, cable, battery.",
        ("en", Category::Software) => {
            "Software problem: application, installation, licence, crash."
        }
        ("en", Category::Network) => "Network problem: connection, Wi-Fi, VPN, shared drive.",
        ("en", Category::Account) => {
            "Account problem: password reset, locked account, access rights."
        }
        ("fr", Category::Hardware) => {
            "Problème matériel : station d'accueil, souris, câble, batterie."
        }
        ("fr", Category::Software) => {
            "Problème logiciel : application, installation, licence, plantage."
        }
        ("fr", Category::Network) => "Problème réseau : connexion, Wi-Fi, VPN, lecteur réseau.",
        ("fr", Category::Account) => {
            "Problème de compte : réinitialisation du mot de passe, compte bloqué, droits d'accès."
        }
        _ => return None,
    })
}

fn company_lead(language: &str) -> &'static str {
    match language {
        "fr" => "Noms de l'entreprise :",
        _ => "Company names:",
    }
}

/// Why the company word list cannot be used.
#[derive(Debug, thiserror::Error)]
pub enum VocabularyError {
    #[error("cannot read the transcription vocabulary file {path}: {source}")]
    Read {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error("{origin}: `{entry}` is not a word or name for the transcription prompt ({reason})")]
    Entry {
        origin: String,
        entry: String,
        reason: &'static str,
    },
    #[error("transcription vocabulary is {chars} characters long; keep it under {MAX_VOCABULARY_CHARS} (whisper keeps only the end of a long prompt, so the helpdesk terms would be lost): list the names callers actually say")]
    TooLong { chars: usize },
}

/// The company's words, at most this many characters in all.
pub const MAX_VOCABULARY_CHARS: usize = 300;
/// One entry: a name or a short phrase.
const MAX_ENTRY_CHARS: usize = 40;

/// The company's own names (products, sites, applications), checked: each a short word or
/// phrase without line breaks, no duplicates, the whole list short enough for the prompt.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Vocabulary(Vec<String>);

impl Vocabulary {
    /// From the configuration's list and, if set, a file of one entry per line (`#` starts a
    /// comment line). Errors name the file and line, or the configuration key.
    pub fn load(list: &[String], file: Option<&Path>) -> Result<Vocabulary, VocabularyError> {
        let mut entries: Vec<(String, String)> = list
            .iter()
            .enumerate()
            .map(|(i, w)| {
                (
                    format!("[transcription] vocabulary, entry {}", i + 1),
                    w.clone(),
                )
            })
            .collect();
        if let Some(path) = file {
            let text = std::fs::read_to_string(path).map_err(|source| VocabularyError::Read {
                path: path.to_path_buf(),
                source,
            })?;
            for (i, line) in text.lines().enumerate() {
                let line = line.trim();
                if !line.is_empty() && !line.starts_with('#') {
                    entries.push((format!("{}, line {}", path.display(), i + 1), line.into()));
                }
            }
        }
        Self::from_entries(entries)
    }

    fn from_entries(entries: Vec<(String, String)>) -> Result<Vocabulary, VocabularyError> {
        let mut words: Vec<String> = Vec::new();
        for (origin, entry) in entries {
            let word = entry.split_whitespace().collect::<Vec<_>>().join(" ");
            let reason = if word.is_empty() {
                Some("it is empty")
            } else if word.chars().count() > MAX_ENTRY_CHARS {
                Some("longer than 40 characters: one name per entry")
            } else if word.chars().any(|c| c.is_control()) {
                Some("it holds a control character")
            } else {
                None
            };
            if let Some(reason) = reason {
                return Err(VocabularyError::Entry {
                    origin,
                    entry,
                    reason,
                });
            }
            if !words.iter().any(|w| w.eq_ignore_ascii_case(&word)) {
                words.push(word);
            }
        }
        let chars = words.iter().map(|w| w.chars().count() + 2).sum::<usize>();
        if chars > MAX_VOCABULARY_CHARS {
            return Err(VocabularyError::TooLong { chars });
        }
        Ok(Vocabulary(words))
    }

    pub fn words(&self) -> &[String] {
        &self.0
    }
}

/// The initial prompt for a caller speaking `language`: the helpdesk terms, the chosen
/// category's terms, the company's names. None for a language without terms, or when the
/// language is not known: an English prompt would pull French speech towards English.
pub fn initial_prompt(
    language: Option<&str>,
    category: Option<Category>,
    vocabulary: &Vocabulary,
) -> Option<String> {
    let language = language?;
    let mut prompt = helpdesk_terms(language)?.to_string();
    if let Some(terms) = category.and_then(|c| category_terms(language, c)) {
        prompt.push(' ');
        prompt.push_str(terms);
    }
    if !vocabulary.words().is_empty() {
        prompt.push(' ');
        prompt.push_str(company_lead(language));
        prompt.push(' ');
        prompt.push_str(&vocabulary.words().join(", "));
        prompt.push('.');
    }
    Some(prompt)
}

/// How much of the previous part's text is kept as context: about 60 tokens, so with the
/// helpdesk terms and the company names the prompt stays inside whisper's 224.
pub const MAX_CONTEXT_CHARS: usize = 250;

/// The end of the previous part's text, as context for the next part: at most
/// [`MAX_CONTEXT_CHARS`], starting at a word (a cut word would read as a different word).
pub fn context_tail(previous: &str) -> Option<&str> {
    let text = previous.trim();
    if text.is_empty() {
        return None;
    }
    let Some((start, _)) = text.char_indices().rev().nth(MAX_CONTEXT_CHARS - 1) else {
        return Some(text);
    };
    // Skip the partial word at the cut.
    let tail = &text[start..];
    Some(match tail.split_once(char::is_whitespace) {
        Some((_, rest)) if !rest.trim().is_empty() => rest.trim_start(),
        _ => tail,
    })
}

/// The whole prompt of a part: the helpdesk's words, then what the caller said just before
/// (whisper reads the prompt as the text preceding the audio, so the latest words go last).
pub fn with_context(prompt: Option<String>, previous: Option<&str>) -> Option<String> {
    match (prompt, previous.and_then(context_tail)) {
        (Some(p), Some(c)) => Some(format!("{p} {c}")),
        (p, None) => p,
        (None, Some(c)) => Some(c.to_string()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_previous_part_follows_the_helpdesk_words_cut_at_a_word() {
        assert_eq!(
            with_context(Some("Terms.".into()), Some(" My printer is broken. ")).as_deref(),
            Some("Terms. My printer is broken.")
        );
        assert_eq!(
            with_context(Some("Terms.".into()), Some("  ")).as_deref(),
            Some("Terms.")
        );
        assert_eq!(
            with_context(None, Some("Hello.")).as_deref(),
            Some("Hello.")
        );
        let long = "word ".repeat(100) + "the end.";
        let tail = context_tail(&long).unwrap();
        assert!(tail.chars().count() <= MAX_CONTEXT_CHARS, "{tail}");
        assert!(
            tail.starts_with("word ") && tail.ends_with("the end."),
            "{tail}"
        );
        let accents = "é".repeat(300) + " fin";
        assert_eq!(context_tail(&accents), Some("fin"));
    }

    fn vocabulary(words: &[&str]) -> Vocabulary {
        Vocabulary::load(
            &words.iter().map(|w| w.to_string()).collect::<Vec<_>>(),
            None,
        )
        .unwrap()
    }

    #[test]
    fn each_language_gets_its_own_helpdesk_sentence() {
        let en = initial_prompt(Some("en"), None, &Vocabulary::default()).unwrap();
        assert!(en.contains("printer") && en.contains("password") && en.contains("VPN"));
        let fr = initial_prompt(Some("fr"), None, &Vocabulary::default()).unwrap();
        assert!(fr.contains("imprimante") && fr.contains("mot de passe") && fr.contains("VPN"));
        assert!(!fr.contains("printer"));
    }

    #[test]
    fn no_prompt_when_the_language_is_unknown_or_has_no_terms() {
        let names = vocabulary(&["Contoso"]);
        assert_eq!(initial_prompt(None, Some(Category::Network), &names), None);
        assert_eq!(initial_prompt(Some("de"), None, &names), None);
    }

    #[test]
    fn the_chosen_category_and_the_company_names_follow_the_helpdesk_terms() {
        let names = vocabulary(&["Contoso", "  Fabrikam   Portal "]);
        let p = initial_prompt(Some("en"), Some(Category::Account), &names).unwrap();
        let terms = p.find("error message.").unwrap();
        let category = p.find("Account problem: password reset").unwrap();
        let company = p.find("Company names: Contoso, Fabrikam Portal.").unwrap();
        assert!(terms < category && category < company, "{p}");
        let fr = initial_prompt(Some("fr"), Some(Category::Network), &names).unwrap();
        assert!(fr.ends_with("Problème réseau : connexion, Wi-Fi, VPN, lecteur réseau. Noms de l'entreprise : Contoso, Fabrikam Portal."), "{fr}");
        let other = initial_prompt(Some("en"), Some(Category::Other), &Vocabulary::default());
        assert_eq!(
            other,
            initial_prompt(Some("en"), None, &Vocabulary::default())
        );
    }

    #[test]
    fn the_prompt_stays_within_whispers_budget() {
        // whisper keeps 224 tokens; a token is at least one character, usually three or more.
        let long: Vec<String> = (0..20).map(|i| format!("Name{i:02} Product")).collect();
        let v = Vocabulary::load(&long[..14], None).unwrap();
        for language in ["en", "fr"] {
            for category in Category::ALL {
                let p = initial_prompt(Some(language), Some(*category), &v).unwrap();
                assert!(p.chars().count() < 700, "{} chars: {p}", p.chars().count());
            }
        }
        assert!(matches!(
            Vocabulary::load(&long, None),
            Err(VocabularyError::TooLong { .. })
        ));
    }

    #[test]
    fn vocabulary_entries_are_checked_and_deduplicated() {
        assert_eq!(
            vocabulary(&["SAP", "sap", "Contoso"]).words(),
            ["SAP", "Contoso"]
        );
        let err = Vocabulary::load(&["Contoso".into(), "  ".into()], None)
            .unwrap_err()
            .to_string();
        assert!(
            err.contains("[transcription] vocabulary, entry 2") && err.contains("empty"),
            "{err}"
        );
    }

    #[test]
    fn a_vocabulary_file_adds_one_entry_per_line_and_errors_name_the_line() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("words.txt");
        std::fs::write(&path, "# our names\nContoso\n\nNorthwind Payroll\n").unwrap();
        let v = Vocabulary::load(&["SAP".into()], Some(&path)).unwrap();
        assert_eq!(v.words(), ["SAP", "Contoso", "Northwind Payroll"]);
        std::fs::write(
            &path,
            "Contoso\nthis line is far too long to be a single name here\n",
        )
        .unwrap();
        let err = Vocabulary::load(&[], Some(&path)).unwrap_err().to_string();
        assert!(err.contains("words.txt, line 2"), "{err}");
        let err = Vocabulary::load(&[], Some(&dir.path().join("none.txt")))
            .unwrap_err()
            .to_string();
        assert!(err.contains("none.txt"), "{err}");
    }
}
