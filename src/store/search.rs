//! Full-text search of the call log: a technician's search box turned into an FTS5 (SQLite) or
//! tsquery (PostgreSQL) query over the transcript, the caller's number, name and identity, and
//! the reference (the index itself is migration 0006).
//!
//! The input never reaches the query syntax: it is cut into words of letters and digits, each
//! quoted as a plain term, so quotes, `*`, `-`, `AND` or `NEAR(` are just text. Every word must
//! match; the last one is a prefix, so `imprim` finds `imprimante` while the word is typed.

use super::Dialect;

/// Words searched at most; the rest of a pasted paragraph is ignored, so a query stays cheap.
pub const MAX_WORDS: usize = 16;

/// The accents PostgreSQL folds, and what to: migration 0006 indexes through `translate()` with
/// these (a unit test checks), and queries are folded the same way here. The index also turns
/// `+ - @ . _ / :` into spaces so numbers, references and addresses split into words as
/// SQLite's unicode61 tokenizer splits them; query words never contain those.
const FOLD_FROM: &str =
    "àáâãäåāçćčèéêëēėęìíîïīñńòóôõöøōùúûüūýÿÀÁÂÃÄÅĀÇĆČÈÉÊËĒĖĘÌÍÎÏĪÑŃÒÓÔÕÖØŌÙÚÛÜŪÝŸ+-@._/:";
const FOLD_TO: &str =
    "aaaaaaaccceeeeeeeiiiiinnooooooouuuuuyyAAAAAAACCCEEEEEEEIIIIINNOOOOOOOUUUUUYY       ";

/// `word` with the accents of `FOLD_FROM` replaced as PostgreSQL's `translate()` does.
fn fold_accents(word: &str) -> String {
    word.chars()
        .map(|c| {
            FOLD_FROM
                .chars()
                .zip(FOLD_TO.chars())
                .find_map(|(from, to)| (from == c).then_some(to))
                .unwrap_or(c)
        })
        .collect()
}

/// The searchable words of a query: at least one, each only letters, digits and combining
/// marks (so it can be quoted in either dialect without escaping).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SearchQuery {
    words: Vec<String>,
}

impl SearchQuery {
    /// The words of `input`, or None when it has no letter or digit to search for.
    pub fn parse(input: &str) -> Option<SearchQuery> {
        // Combining accents stay inside their word: a decomposed "é" is not a word break.
        let word_char = |c: char| c.is_alphanumeric() || ('\u{300}'..='\u{36f}').contains(&c);
        let words: Vec<String> = input
            .split(|c: char| !word_char(c))
            .filter(|w| w.chars().any(char::is_alphanumeric))
            .take(MAX_WORDS)
            .map(str::to_string)
            .collect();
        (!words.is_empty()).then_some(SearchQuery { words })
    }

    pub fn words(&self) -> &[String] {
        &self.words
    }

    /// `"w1" "w2"*`: implicit AND of quoted strings, the last a prefix.
    fn fts5(&self) -> String {
        let mut terms: Vec<String> = self.words.iter().map(|w| format!("\"{w}\"")).collect();
        if let Some(last) = terms.last_mut() {
            last.push('*');
        }
        terms.join(" ")
    }

    /// `'w1' & 'w2':*`, accents folded as the index folds them (the 'simple' configuration
    /// lower-cases).
    fn tsquery(&self) -> String {
        let mut terms: Vec<String> = self
            .words
            .iter()
            .map(|w| format!("'{}'", fold_accents(w)))
            .collect();
        if let Some(last) = terms.last_mut() {
            last.push_str(":*");
        }
        terms.join(" & ")
    }

    /// The text to bind as the query parameter of `tickets_matching`.
    pub(super) fn bind_text(&self, dialect: Dialect) -> String {
        match dialect {
            Dialect::Sqlite => self.fts5(),
            Dialect::Postgres => self.tsquery(),
        }
    }
}

/// How the ticket list is narrowed to matches of the query bound as `$param`.
///
/// SQLite walks the FTS5 index newest match first (its rowid is the ticket id) and looks each
/// ticket up, stopping after a page, so a word found in a third of all tickets costs a page of
/// lookups; `WHERE id IN (…)` would collect every match first. The subquery renames the rowid
/// so the FTS columns (`reference`, `transcript`…) never clash with the ticket's. PostgreSQL
/// tests the stored tsvector, through its GIN index when that is the cheaper way.
pub(super) struct Matching {
    /// What to select from, instead of `tickets`.
    pub from: String,
    /// A condition for the `WHERE` clause.
    pub condition: Option<String>,
    /// The `ORDER BY`, instead of the plain list's.
    pub order: Option<&'static str>,
}

pub(super) fn tickets_matching(dialect: Dialect, param: usize) -> Matching {
    match dialect {
        // CROSS JOIN keeps the FTS table as the outer loop: SQLite never reorders it.
        Dialect::Sqlite => Matching {
            from: format!(
                "(SELECT rowid AS match_id FROM tickets_search WHERE tickets_search MATCH ${param}) AS m \
                 CROSS JOIN tickets ON tickets.id = m.match_id"
            ),
            condition: None,
            order: Some("m.match_id DESC"),
        },
        Dialect::Postgres => Matching {
            from: "tickets".into(),
            condition: Some(format!(
                "search @@ to_tsquery('simple', ${param})"
            )),
            order: None,
        },
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn query_syntax_in_the_input_is_plain_text() {
        let q = SearchQuery::parse(r#"  "printer" AND -fire* NEAR(x) 'réseau' "#).unwrap();
        assert_eq!(q.words(), ["printer", "AND", "fire", "NEAR", "x", "réseau"]);
        assert_eq!(
            q.bind_text(Dialect::Sqlite),
            r#""printer" "AND" "fire" "NEAR" "x" "réseau"*"#
        );
        assert_eq!(
            q.bind_text(Dialect::Postgres),
            "'printer' & 'AND' & 'fire' & 'NEAR' & 'x' & 'reseau':*"
        );
    }

    #[test]
    fn references_and_numbers_split_like_the_index() {
        let q = SearchQuery::parse("HD-2026-000123").unwrap();
        assert_eq!(q.words(), ["HD", "2026", "000123"]);
        let q = SearchQuery::parse("+33 6 12").unwrap();
        assert_eq!(q.words(), ["33", "6", "12"]);
    }

    #[test]
    fn no_letter_or_digit_is_no_query() {
        for input in ["", "   ", "\"", "*", "- + ( ) ' ^ :", "\u{301}"] {
            assert_eq!(SearchQuery::parse(input), None, "{input:?}");
        }
    }

    #[test]
    fn long_input_is_cut_to_max_words() {
        let input = "word ".repeat(100);
        assert_eq!(SearchQuery::parse(&input).unwrap().words().len(), MAX_WORDS);
    }

    /// The query folds accents exactly as the index does, or "reseau" would miss "réseau".
    #[test]
    fn postgres_fold_matches_the_migration() {
        assert_eq!(FOLD_FROM.chars().count(), FOLD_TO.chars().count());
        let migration = include_str!("../../migrations/postgres/0006_search.sql");
        assert!(
            migration.contains(&format!("'{FOLD_FROM}',\n        '{FOLD_TO}'")),
            "migrations/postgres/0006_search.sql and FOLD_FROM/FOLD_TO differ"
        );
    }
}
