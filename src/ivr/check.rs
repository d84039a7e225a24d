//! Loading and checking a dialplan: every mistake a dialplan author can make, reported at once
//! with its file, line and column, before any call runs through it.
//!
//! Reading goes in three passes: TOML syntax (all errors toml can recover from), then every
//! table field by field (`nodes`: kinds, fields, values, references), then — only when every
//! reference resolves — the call graph (`graph`). Prompt files are checked for each language.

mod graph;
mod nodes;
mod table;

use super::dialplan::Dialplan;
use crate::tickets::Language;
use nodes::{check_retries, check_timeout, Defaults, NodeReader, PromptUse, DEFAULTS_FIELDS};
use std::collections::{BTreeMap, BTreeSet};
use std::fmt;
use std::ops::Range;
use std::path::{Path, PathBuf};
use table::{Fields, Sink};
use toml::de::DeTable;
use toml::Spanned;

/// One problem in a dialplan.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Problem {
    /// 1-based line and column, when the problem has a place in the file.
    pub position: Option<(usize, usize)>,
    pub message: String,
}

/// Everything wrong with a dialplan file, in file order; displayed one problem per line as
/// `file:line:column: message` (the format `hotline dialplan check` and `hotline serve` print).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub struct DialplanReport {
    pub file: PathBuf,
    pub problems: Vec<Problem>,
}

impl fmt::Display for DialplanReport {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for (i, p) in self.problems.iter().enumerate() {
            if i > 0 {
                writeln!(f)?;
            }
            match p.position {
                Some((line, col)) => {
                    write!(f, "{}:{line}:{col}: {}", self.file.display(), p.message)?
                }
                None => write!(f, "{}: {}", self.file.display(), p.message)?,
            }
        }
        Ok(())
    }
}

/// Reads and checks a dialplan; prompt files are looked up under `prompts_dir`.
pub fn check_file(path: &Path, prompts_dir: &Path) -> Result<Dialplan, DialplanReport> {
    match std::fs::read_to_string(path) {
        Ok(text) => check_str(&text, path, prompts_dir),
        Err(e) => Err(DialplanReport {
            file: path.to_path_buf(),
            problems: vec![Problem {
                position: None,
                message: format!("cannot read the dialplan: {e}"),
            }],
        }),
    }
}

/// Checks dialplan text (`file` names it in messages).
pub fn check_str(text: &str, file: &Path, prompts_dir: &Path) -> Result<Dialplan, DialplanReport> {
    let mut sink = Sink::default();
    let plan = read(text, prompts_dir, &mut sink);
    match plan {
        Some(plan) if sink.is_empty() => Ok(plan),
        _ => {
            let mut problems: Vec<Problem> = sink
                .found
                .into_iter()
                .map(|f| Problem {
                    position: f.span.map(|s| position(text, s.start)),
                    message: f.message,
                })
                .collect();
            // File order; problems without a place last. The sort is stable, so problems at
            // one place keep the order they were found in.
            problems.sort_by_key(|p| p.position.unwrap_or((usize::MAX, 0)));
            problems.dedup();
            Err(DialplanReport {
                file: file.to_path_buf(),
                problems,
            })
        }
    }
}

/// Line and column (1-based, the column in characters) of a byte offset.
fn position(text: &str, offset: usize) -> (usize, usize) {
    let before = &text[..offset.min(text.len())];
    let line = before.matches('\n').count() + 1;
    let col = before.chars().rev().take_while(|c| *c != '\n').count() + 1;
    (line, col)
}

/// The start of the line holding `offset`: where a table's header (`[nodes.menu]`) begins,
/// so problems about a node as a whole point at its header.
fn line_start(text: &str, offset: usize) -> Range<usize> {
    let start = text[..offset.min(text.len())]
        .rfind('\n')
        .map_or(0, |i| i + 1);
    start..start
}

fn read(text: &str, prompts_dir: &Path, sink: &mut Sink) -> Option<Dialplan> {
    let (doc, errors) = DeTable::parse_recoverable(text);
    if !errors.is_empty() {
        // toml recovers and goes on, so independent mistakes are all reported; but one
        // mistake often trips several errors on its line, so only the first per line is kept.
        // What toml recovered is a guess: checking its fields would report mistakes the
        // author did not make, so reading stops here.
        let mut lines = BTreeSet::new();
        for e in errors {
            let message = e.message().trim().to_string();
            match e.span() {
                Some(span) => {
                    if lines.insert(position(text, span.start).0) {
                        sink.at(span, message);
                    }
                }
                None => sink.nowhere(message),
            }
        }
        return None;
    }
    let doc = doc.into_inner();
    let root = Fields::new(&doc, String::new(), 0..0);
    root.only(&["dialplan", "defaults", "nodes"], sink);

    let header = table(text, &doc, "dialplan", sink);
    let start: Option<Spanned<String>> = header.as_ref().and_then(|h| h.required("start", sink));
    // Languages one by one: a misspelt one is reported, and prompts are still checked in the
    // others.
    let languages: Option<Spanned<Vec<Spanned<String>>>> =
        header.as_ref().and_then(|h| h.required("languages", sink));
    let languages_list: Vec<Language> = languages
        .as_ref()
        .map(|l| l.get_ref().as_slice())
        .unwrap_or_default()
        .iter()
        .filter_map(|l| match l.get_ref().parse::<Language>() {
            Ok(lang) => Some(lang),
            Err(e) => {
                sink.at(l.span(), format!("field `languages`: {e}"));
                None
            }
        })
        .collect();
    let default_language: Option<Spanned<Language>> = header
        .as_ref()
        .and_then(|h| h.get("default_language", sink));
    let name: Option<Spanned<String>> = header.as_ref().and_then(|h| h.get("name", sink));
    if let Some(h) = &header {
        h.only(&["name", "start", "languages", "default_language"], sink);
    }
    if let Some(l) = languages.as_ref().filter(|l| l.get_ref().is_empty()) {
        sink.at(l.span(), "`dialplan.languages` lists no language".into());
    }
    let default = match &default_language {
        Some(d) => {
            if languages.is_some() && !languages_list.contains(d.get_ref()) {
                sink.at(
                    d.span(),
                    format!(
                        "default language `{}` is not in `dialplan.languages`",
                        d.get_ref()
                    ),
                );
            }
            *d.get_ref()
        }
        None => languages_list.first().copied().unwrap_or(Language::English),
    };

    let defaults = read_defaults(text, &doc, sink);

    if !doc.contains_key("nodes") {
        sink.nowhere("missing table `[nodes]`".into());
        return None;
    }
    let entries = root.entries("nodes", sink)?;
    let names: BTreeSet<String> = entries
        .iter()
        .map(|(k, _)| k.get_ref().to_string())
        .collect();
    if let Some(s) = &start {
        if !names.contains(s.get_ref()) {
            sink.at(
                s.span(),
                format!("start node `{}` does not exist", s.get_ref()),
            );
        }
    }
    let mut reader = NodeReader {
        sink,
        names: &names,
        defaults: &defaults,
        languages: &languages_list,
        prompts: Vec::new(),
        references_ok: true,
    };
    let mut nodes = BTreeMap::new();
    let mut places = BTreeMap::new();
    let mut all_read = true;
    for (key, raw) in &entries {
        let at = line_start(text, key.span().start);
        let name = key.get_ref().to_string();
        match reader.node(&name, raw, at.clone()) {
            Some(node) => {
                nodes.insert(name.clone(), node);
            }
            None => all_read = false,
        }
        places.insert(name, at);
    }
    let references_ok = reader.references_ok;
    let prompts = std::mem::take(&mut reader.prompts);
    check_prompts(&prompts, &languages_list, prompts_dir, sink);

    let plan = Dialplan {
        name: name.map(Spanned::into_inner),
        start: start?.into_inner(),
        languages: languages_list,
        default_language: default,
        nodes,
    };
    if all_read && references_ok && plan.nodes.contains_key(&plan.start) {
        graph::check(&plan, &places, sink);
    }
    Some(plan)
}

/// A top-level table, read from where its header is written; its absence is reported.
fn table<'a, 'i>(
    text: &str,
    doc: &'a DeTable<'i>,
    key: &str,
    sink: &mut Sink,
) -> Option<Fields<'a, 'i>> {
    let Some((k, v)) = doc.get_key_value(key) else {
        sink.nowhere(format!("missing table `[{key}]`"));
        return None;
    };
    Fields::of(v, String::new(), line_start(text, k.span().start), sink)
}

fn read_defaults(text: &str, doc: &DeTable<'_>, sink: &mut Sink) -> Defaults {
    let Some((k, v)) = doc.get_key_value("defaults") else {
        return Defaults::default();
    };
    let at = line_start(text, k.span().start);
    let Some(f) = Fields::of(v, "[defaults]: ".into(), at, sink) else {
        return Defaults::default();
    };
    f.only(DEFAULTS_FIELDS, sink);
    let d = Defaults {
        timeout_secs: f.get("timeout_secs", sink),
        retries: f.get("retries", sink),
        invalid_prompt: f.get("invalid_prompt", sink),
        timeout_prompt: f.get("timeout_prompt", sink),
        fallback_prompt: f.get("fallback_prompt", sink),
    };
    if let Some(t) = &d.timeout_secs {
        check_timeout(sink, "[defaults]: ", t);
    }
    if let Some(r) = &d.retries {
        check_retries(sink, "[defaults]: ", r);
    }
    d
}

/// Every prompt must exist in every language the dialplan offers: a French caller must never
/// hit silence where an English caller hears a prompt. Each missing file is reported once, at
/// its first use.
fn check_prompts(uses: &[PromptUse], languages: &[Language], dir: &Path, sink: &mut Sink) {
    let mut reported = BTreeSet::new();
    for u in uses {
        for lang in languages {
            let path = dir.join(lang.as_str()).join(format!("{}.wav", u.name));
            if !path.is_file() && reported.insert((u.name.clone(), *lang)) {
                sink.at(
                    u.span.clone(),
                    format!(
                        "node `{}`: prompt `{}` has no `{lang}` recording ({} is missing)",
                        u.node,
                        u.name,
                        path.display()
                    ),
                );
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bundled_dialplan_is_valid() {
        let root = Path::new(env!("CARGO_MANIFEST_DIR"));
        let plan = check_file(&root.join("dialplans/hotline.toml"), &root.join("prompts"))
            .unwrap_or_else(|r| panic!("{r}"));
        assert_eq!(plan.start, "welcome");
        assert_eq!(plan.languages, vec![Language::English, Language::French]);
    }

    #[test]
    fn positions_count_characters_not_bytes() {
        let text = "a = \"é\"\nb = 1";
        assert_eq!(position(text, text.find('b').unwrap()), (2, 1));
        assert_eq!(position(text, text.find('"').unwrap() + 3), (1, 7));
    }
}
