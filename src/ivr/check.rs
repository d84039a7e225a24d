//! Loading and checking a dialplan: every mistake a dialplan author can make, reported at once
//! with its file, line and column, before any call runs through it.

use super::dialplan::{
    BranchField, DefaultsSpec, Dialplan, FileSpec, InputRules, MenuChoice, Node, NodeSpec, SetSpec,
};
use super::say;
use crate::media::dtmf::Digit;
use crate::tickets::{Category, Impact, Language, Priority, Urgency};
use std::collections::{BTreeMap, BTreeSet};
use std::fmt;
use std::ops::Range;
use std::path::{Path, PathBuf};
use std::time::Duration;

/// One problem in a dialplan.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Problem {
    /// 1-based line and column, when the problem has a place in the file.
    pub position: Option<(usize, usize)>,
    pub message: String,
}

/// Everything wrong with a dialplan file.
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
    let mut checker = Checker {
        text,
        prompts_dir,
        problems: Vec::new(),
    };
    let result = checker.check();
    match result {
        Some(plan) if checker.problems.is_empty() => Ok(plan),
        _ => {
            checker
                .problems
                .sort_by_key(|p| p.position.unwrap_or((usize::MAX, 0)));
            checker.problems.dedup();
            Err(DialplanReport {
                file: file.to_path_buf(),
                problems: checker.problems,
            })
        }
    }
}

/// Line and column (1-based) of a byte offset.
fn position(text: &str, offset: usize) -> (usize, usize) {
    let before = &text[..offset.min(text.len())];
    let line = before.matches('\n').count() + 1;
    let col = before.chars().rev().take_while(|c| *c != '\n').count() + 1;
    (line, col)
}

struct Checker<'a> {
    text: &'a str,
    prompts_dir: &'a Path,
    problems: Vec<Problem>,
}

impl Checker<'_> {
    fn at(&mut self, span: Option<Range<usize>>, message: String) {
        self.problems.push(Problem {
            position: span.map(|s| position(self.text, s.start)),
            message,
        });
    }

    /// Where `[nodes.NAME]` (or `nodes.NAME` in a dotted key) is written.
    fn node_span(&self, name: &str, fallback: Range<usize>) -> Range<usize> {
        for needle in [format!("[nodes.{name}]"), format!("[nodes.\"{name}\"]")] {
            if let Some(i) = self.text.find(&needle) {
                return i..i + needle.len();
            }
        }
        fallback
    }

    /// The byte range of a node's section: from its header to the next table header.
    fn section(&self, node: &str) -> Range<usize> {
        let start = self.node_span(node, 0..0).start;
        let end = self.text[start + 1.min(self.text.len() - start)..]
            .find("\n[")
            .map(|i| start + 1 + i)
            .unwrap_or(self.text.len());
        start..end
    }

    /// Where `needle` is written inside `node`'s section (quoted first, then bare).
    fn locate(&self, node: &str, needle: &str) -> Range<usize> {
        let section = self.section(node);
        let body = &self.text[section.clone()];
        for candidate in [
            format!("\"{needle}\""),
            format!("'{needle}'"),
            needle.to_string(),
        ] {
            if let Some(i) = body.find(&candidate) {
                return section.start + i..section.start + i + candidate.len();
            }
        }
        section.start..section.start
    }

    fn check(&mut self) -> Option<Dialplan> {
        let spec: FileSpec = match toml::from_str(self.text) {
            Ok(s) => s,
            Err(e) => {
                self.at(e.span(), e.message().trim().to_string());
                return None;
            }
        };
        if spec.dialplan.languages.is_empty() {
            self.at(None, "`dialplan.languages` lists no language".into());
        }
        let default_language = spec.dialplan.default_language.unwrap_or_else(|| {
            spec.dialplan
                .languages
                .first()
                .copied()
                .unwrap_or(Language::English)
        });
        if !spec.dialplan.languages.contains(&default_language) {
            self.at(
                None,
                format!("default language `{default_language}` is not in `dialplan.languages`"),
            );
        }
        let names: BTreeSet<String> = spec.nodes.keys().cloned().collect();
        let start = spec.dialplan.start.get_ref().clone();
        if !names.contains(&start) {
            self.at(
                Some(spec.dialplan.start.span()),
                format!("start node `{start}` does not exist"),
            );
        }
        let mut nodes = BTreeMap::new();
        let mut prompt_uses: Vec<(String, Range<usize>, String)> = Vec::new();
        for (name, node) in &spec.nodes {
            let span = self.node_span(name, node.span());
            if let Some(n) = self.convert(
                name,
                node.get_ref(),
                &spec.defaults,
                &names,
                &spec.dialplan.languages,
                span.clone(),
                &mut prompt_uses,
            ) {
                nodes.insert(name.clone(), n);
            }
        }
        self.check_prompts(&prompt_uses, &spec.dialplan.languages);
        let plan = Dialplan {
            name: spec.dialplan.name.clone(),
            start,
            languages: spec.dialplan.languages.clone(),
            default_language,
            nodes,
        };
        if self.problems.is_empty() {
            self.check_graph(&plan, &spec);
        }
        Some(plan)
    }

    /// A reference to another node; reported when it does not exist.
    fn reference(
        &mut self,
        node: &str,
        field: &str,
        target: &String,
        names: &BTreeSet<String>,
    ) -> String {
        if !names.contains(target) {
            let span = self.locate(node, target);
            self.at(
                Some(span),
                format!("node `{node}`: {field} refers to unknown node `{target}`"),
            );
        }
        target.clone()
    }

    fn prompts(
        &mut self,
        list: &[String],
        node: &str,
        uses: &mut Vec<(String, Range<usize>, String)>,
    ) -> Vec<String> {
        list.iter()
            .map(|p| {
                uses.push((p.clone(), self.locate(node, p), node.to_string()));
                p.clone()
            })
            .collect()
    }

    /// A prompt named in the node, or inherited from [defaults] (then located there).
    fn optional_prompt(
        &mut self,
        p: Option<&String>,
        node: &str,
        uses: &mut Vec<(String, Range<usize>, String)>,
    ) -> Option<String> {
        p.map(|p| {
            let mut span = self.locate(node, p);
            if span.is_empty() {
                let at = self.text.find(&format!("\"{p}\"")).unwrap_or(0);
                span = at..at + p.len() + 2;
            }
            uses.push((p.clone(), span, node.to_string()));
            p.clone()
        })
    }

    #[allow(clippy::too_many_arguments)]
    fn rules(
        &mut self,
        node: &str,
        defaults: &DefaultsSpec,
        timeout_secs: Option<u64>,
        retries: Option<u32>,
        invalid: Option<&String>,
        timeout_prompt: Option<&String>,
        fallback_prompt: Option<&String>,
        fallback: &String,
        names: &BTreeSet<String>,
        span: Range<usize>,
        uses: &mut Vec<(String, Range<usize>, String)>,
    ) -> InputRules {
        let timeout = timeout_secs.unwrap_or(defaults.timeout_secs);
        if timeout == 0 || timeout > 60 {
            self.at(
                Some(span.clone()),
                format!("node `{node}`: timeout_secs must be 1 to 60, not {timeout}"),
            );
        }
        let retries = retries.unwrap_or(defaults.retries);
        if retries > 10 {
            self.at(
                Some(span.clone()),
                format!("node `{node}`: retries must be at most 10, not {retries}"),
            );
        }
        let invalid_prompt = invalid.or(defaults.invalid_prompt.as_ref());
        let timeout_prompt = timeout_prompt.or(defaults.timeout_prompt.as_ref());
        let fallback_prompt = fallback_prompt.or(defaults.fallback_prompt.as_ref());
        if invalid_prompt.is_none() {
            // A caller who presses a wrong key must hear why nothing happens.
            self.at(
                Some(span.clone()),
                format!("node `{node}`: no invalid_prompt (set one here or in [defaults])"),
            );
        }
        if timeout_prompt.is_none() {
            self.at(
                Some(span),
                format!("node `{node}`: no timeout_prompt (set one here or in [defaults])"),
            );
        }
        InputRules {
            timeout: Duration::from_secs(timeout),
            retries,
            invalid_prompt: self.optional_prompt(invalid_prompt, node, uses),
            timeout_prompt: self.optional_prompt(timeout_prompt, node, uses),
            fallback_prompt: self.optional_prompt(fallback_prompt, node, uses),
            fallback: self.reference(node, "fallback", fallback, names),
        }
    }

    fn single_key(&mut self, node: &str, what: &str, key: &String) -> Option<Digit> {
        let digit = key.parse::<Digit>().ok();
        if digit.is_none() {
            let span = self.locate(node, key);
            self.at(
                Some(span),
                format!("node `{node}`: {what} `{key}` is not a single key (0-9, *, #, A-D)"),
            );
        }
        digit
    }

    #[allow(clippy::too_many_arguments)]
    fn convert(
        &mut self,
        name: &str,
        spec: &NodeSpec,
        defaults: &DefaultsSpec,
        names: &BTreeSet<String>,
        languages: &[Language],
        span: Range<usize>,
        uses: &mut Vec<(String, Range<usize>, String)>,
    ) -> Option<Node> {
        Some(match spec {
            NodeSpec::Play {
                prompts,
                next,
                barge_in,
            } => {
                if prompts.is_empty() {
                    self.at(
                        Some(span),
                        format!("node `{name}`: play node without prompts"),
                    );
                }
                Node::Play {
                    prompts: self.prompts(prompts, name, uses),
                    next: self.reference(name, "next", next, names),
                    barge_in: *barge_in,
                }
            }
            NodeSpec::Menu {
                prompts,
                options,
                fallback,
                timeout_secs,
                retries,
                invalid_prompt,
                timeout_prompt,
                fallback_prompt,
                fallback_set,
            } => {
                if options.is_empty() {
                    self.at(
                        Some(span.clone()),
                        format!("node `{name}`: menu has no options, so the caller has no way out"),
                    );
                }
                if prompts.is_empty() {
                    self.at(
                        Some(span.clone()),
                        format!("node `{name}`: menu without prompts leaves the caller in silence"),
                    );
                }
                let mut choices = BTreeMap::new();
                for (key, option) in options {
                    let next = self.reference(name, &format!("option {key}"), &option.next, names);
                    if let Some(lang) = option.language {
                        if !languages.contains(&lang) {
                            let span = self.locate(name, key);
                            self.at(Some(span), format!("node `{name}`: option {key} chooses language `{lang}`, which the dialplan does not offer"));
                        }
                    }
                    if let Some(digit) = self.single_key(name, "option", key) {
                        choices.insert(
                            digit,
                            MenuChoice {
                                next,
                                language: option.language,
                                set: option.set.to_fields(),
                            },
                        );
                    }
                }
                let rules = self.rules(
                    name,
                    defaults,
                    *timeout_secs,
                    *retries,
                    invalid_prompt.as_ref(),
                    timeout_prompt.as_ref(),
                    fallback_prompt.as_ref(),
                    fallback,
                    names,
                    span,
                    uses,
                );
                Node::Menu {
                    prompts: self.prompts(prompts, name, uses),
                    options: choices,
                    rules,
                    fallback_set: fallback_set.to_fields(),
                }
            }
            NodeSpec::Collect {
                prompts,
                variable,
                min_digits,
                max_digits,
                terminator,
                timeout_secs,
                inter_digit_secs,
                retries,
                invalid_prompt,
                timeout_prompt,
                fallback_prompt,
                next,
                fallback,
            } => {
                if *max_digits == 0 || min_digits > max_digits || *max_digits > 32 {
                    self.at(Some(span.clone()), format!("node `{name}`: need 1 <= min_digits <= max_digits <= 32, got {min_digits} and {max_digits}"));
                }
                let terminator = terminator
                    .as_ref()
                    .and_then(|t| self.single_key(name, "terminator", t));
                let rules = self.rules(
                    name,
                    defaults,
                    *timeout_secs,
                    *retries,
                    invalid_prompt.as_ref(),
                    timeout_prompt.as_ref(),
                    fallback_prompt.as_ref(),
                    fallback,
                    names,
                    span,
                    uses,
                );
                Node::Collect {
                    prompts: self.prompts(prompts, name, uses),
                    variable: variable.clone(),
                    min_digits: *min_digits,
                    max_digits: *max_digits,
                    terminator,
                    inter_digit: Duration::from_secs(*inter_digit_secs),
                    rules,
                    next: self.reference(name, "next", next, names),
                }
            }
            NodeSpec::Record {
                prompts,
                max_secs,
                silence_secs,
                beep,
                next,
            } => {
                if *max_secs == 0 || *max_secs > 600 {
                    self.at(
                        Some(span.clone()),
                        format!("node `{name}`: max_secs must be 1 to 600, not {max_secs}"),
                    );
                }
                if *silence_secs == 0 {
                    self.at(
                        Some(span),
                        format!("node `{name}`: silence_secs must be at least 1"),
                    );
                }
                Node::Record {
                    prompts: self.prompts(prompts, name, uses),
                    max: Duration::from_secs(*max_secs),
                    silence: Duration::from_secs(*silence_secs),
                    beep: *beep,
                    next: self.reference(name, "next", next, names),
                }
            }
            NodeSpec::Say { what, next } => {
                for item in what {
                    for prompt in say::prompts_needed(*item) {
                        uses.push((prompt, span.clone(), name.to_string()));
                    }
                }
                if what.is_empty() {
                    self.at(
                        Some(span),
                        format!("node `{name}`: say node with nothing to say"),
                    );
                }
                Node::Say {
                    what: what.clone(),
                    next: self.reference(name, "next", next, names),
                }
            }
            NodeSpec::Branch { on, cases, default } => {
                let mut out = BTreeMap::new();
                for (value, target) in cases {
                    if !valid_branch_value(*on, value) {
                        let span = self.locate(name, value);
                        self.at(
                            Some(span),
                            format!(
                                "node `{name}`: `{value}` is not a {} value",
                                branch_field_name(*on)
                            ),
                        );
                    }
                    let t = self.reference(name, &format!("case {value}"), target, names);
                    out.insert(value.clone(), t);
                }
                Node::Branch {
                    on: *on,
                    cases: out,
                    default: self.reference(name, "default", default, names),
                }
            }
            NodeSpec::Set { set, next } => {
                if set_is_empty(set) {
                    self.at(Some(span), format!("node `{name}`: set node sets nothing"));
                }
                Node::Set {
                    set: set.to_fields(),
                    next: self.reference(name, "next", next, names),
                }
            }
            NodeSpec::Route { prompts, next } => Node::Route {
                prompts: self.prompts(prompts, name, uses),
                next: self.reference(name, "next", next, names),
            },
            NodeSpec::Goto { next } => Node::Goto {
                next: self.reference(name, "next", next, names),
            },
            NodeSpec::Hangup { prompts } => Node::Hangup {
                prompts: self.prompts(prompts, name, uses),
            },
        })
    }

    fn check_prompts(&mut self, uses: &[(String, Range<usize>, String)], languages: &[Language]) {
        let mut reported = BTreeSet::new();
        for (prompt, span, node) in uses {
            for lang in languages {
                let path = self
                    .prompts_dir
                    .join(lang.as_str())
                    .join(format!("{prompt}.wav"));
                if !path.is_file() && reported.insert((prompt.clone(), *lang)) {
                    self.at(
                        Some(span.clone()),
                        format!("node `{node}`: prompt `{prompt}` has no `{lang}` recording ({} is missing)", path.display()),
                    );
                }
            }
        }
    }

    fn check_graph(&mut self, plan: &Dialplan, spec: &FileSpec) {
        // Unreachable nodes: a node nobody can get to is a mistake (a typo in a `next`).
        let mut reached = BTreeSet::new();
        let mut stack = vec![plan.start.clone()];
        while let Some(n) = stack.pop() {
            if reached.insert(n.clone()) {
                if let Some(node) = plan.nodes.get(&n) {
                    stack.extend(node.successors().into_iter().cloned());
                }
            }
        }
        for name in plan.nodes.keys() {
            if !reached.contains(name) {
                let span = self.node_span(name, spec.nodes[name].span());
                self.at(
                    Some(span),
                    format!(
                        "node `{name}` is unreachable from the start node `{}`",
                        plan.start
                    ),
                );
            }
        }
        // Loops that never wait for the caller would spin (or repeat a prompt) forever.
        for name in plan.nodes.keys() {
            if let Some(cycle) = silent_cycle(plan, name) {
                if cycle.iter().min() == Some(name) {
                    let span = self.node_span(name, spec.nodes[name].span());
                    self.at(
                        Some(span),
                        format!(
                            "nodes {} loop without ever waiting for the caller",
                            cycle
                                .iter()
                                .map(|n| format!("`{n}`"))
                                .collect::<Vec<_>>()
                                .join(" → ")
                        ),
                    );
                }
            }
        }
        // Every reachable node must be able to end the call: no flow that can never hang up.
        let can_end: BTreeSet<&String> = {
            let mut ends: BTreeSet<&String> = plan
                .nodes
                .iter()
                .filter(|(_, n)| matches!(n, Node::Hangup { .. }))
                .map(|(k, _)| k)
                .collect();
            loop {
                let before = ends.len();
                for (k, n) in &plan.nodes {
                    if n.successors().iter().any(|s| ends.contains(s)) {
                        ends.insert(k);
                    }
                }
                if ends.len() == before {
                    break ends;
                }
            }
        };
        for name in &reached {
            if plan.nodes.contains_key(name) && !can_end.contains(name) {
                let span = self.node_span(name, spec.nodes[name].span());
                self.at(
                    Some(span),
                    format!("node `{name}` can never reach a hangup node"),
                );
            }
        }
    }
}

/// A cycle through `start` made only of nodes that do not wait for the caller.
fn silent_cycle(plan: &Dialplan, start: &String) -> Option<Vec<String>> {
    fn walk(
        plan: &Dialplan,
        start: &String,
        at: &String,
        path: &mut Vec<String>,
        seen: &mut BTreeSet<String>,
    ) -> bool {
        let Some(node) = plan.nodes.get(at) else {
            return false;
        };
        if node.waits_for_caller() {
            return false;
        }
        for next in node.successors() {
            if next == start {
                path.push(next.clone());
                return true;
            }
            if seen.insert(next.clone()) {
                path.push(next.clone());
                if walk(plan, start, next, path, seen) {
                    return true;
                }
                path.pop();
            }
        }
        false
    }
    let mut path = vec![start.clone()];
    let mut seen = BTreeSet::new();
    walk(plan, start, start, &mut path, &mut seen).then_some(path)
}

fn set_is_empty(set: &SetSpec) -> bool {
    set.category.is_none() && set.impact.is_none() && set.urgency.is_none()
}

fn branch_field_name(field: BranchField) -> &'static str {
    match field {
        BranchField::Category => "category",
        BranchField::Impact => "impact",
        BranchField::Urgency => "urgency",
        BranchField::Priority => "priority",
        BranchField::Language => "language",
    }
}

fn valid_branch_value(field: BranchField, value: &str) -> bool {
    match field {
        BranchField::Category => value.parse::<Category>().is_ok(),
        BranchField::Impact => value.parse::<Impact>().is_ok(),
        BranchField::Urgency => value.parse::<Urgency>().is_ok(),
        BranchField::Priority => value.parse::<Priority>().is_ok(),
        BranchField::Language => value.parse::<Language>().is_ok(),
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
}
