//! The dialplan: a call flow written as data (`dialplans/*.toml`), documented in docs/dialplan.md.
//!
//! `spec` types mirror the file (with source spans, for error messages); `Dialplan` is the
//! checked form the interpreter runs, where every reference is known to exist.

use crate::media::dtmf::Digit;
use crate::tickets::{Category, Impact, Language, Priority, TicketField, Urgency};
use serde::Deserialize;
use std::collections::BTreeMap;
use std::time::Duration;
use toml::Spanned;

/// How a node refers to another.
pub type NodeName = String;

// ---- The file, as written ----------------------------------------------------------------
// Node fields are plain strings: serde buffers internally tagged enums, which loses the spans
// `toml::Spanned` needs, so the checker finds positions by searching the node's own section.

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct FileSpec {
    pub dialplan: HeaderSpec,
    #[serde(default)]
    pub defaults: DefaultsSpec,
    pub nodes: BTreeMap<String, Spanned<NodeSpec>>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct HeaderSpec {
    pub start: Spanned<String>,
    pub languages: Vec<Language>,
    pub default_language: Option<Language>,
    #[serde(default)]
    pub name: Option<String>,
}

/// Values every menu and collect node inherits unless it sets its own.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct DefaultsSpec {
    #[serde(default = "default_timeout")]
    pub timeout_secs: u64,
    #[serde(default = "default_retries")]
    pub retries: u32,
    pub invalid_prompt: Option<String>,
    pub timeout_prompt: Option<String>,
    pub fallback_prompt: Option<String>,
}

impl Default for DefaultsSpec {
    fn default() -> Self {
        DefaultsSpec {
            timeout_secs: default_timeout(),
            retries: default_retries(),
            invalid_prompt: None,
            timeout_prompt: None,
            fallback_prompt: None,
        }
    }
}

fn default_timeout() -> u64 {
    6
}
fn default_retries() -> u32 {
    2
}
fn default_record_max() -> u64 {
    120
}
fn default_record_silence() -> u64 {
    5
}
fn default_true() -> bool {
    true
}
fn default_inter_digit() -> u64 {
    4
}
fn default_min_digits() -> usize {
    1
}

#[derive(Debug, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case", deny_unknown_fields)]
pub(crate) enum NodeSpec {
    Play {
        prompts: Vec<String>,
        next: String,
        #[serde(default)]
        barge_in: bool,
    },
    Menu {
        prompts: Vec<String>,
        options: BTreeMap<String, OptionSpec>,
        fallback: String,
        timeout_secs: Option<u64>,
        retries: Option<u32>,
        invalid_prompt: Option<String>,
        timeout_prompt: Option<String>,
        fallback_prompt: Option<String>,
        #[serde(default)]
        fallback_set: SetSpec,
    },
    Collect {
        prompts: Vec<String>,
        variable: String,
        #[serde(default = "default_min_digits")]
        min_digits: usize,
        max_digits: usize,
        terminator: Option<String>,
        timeout_secs: Option<u64>,
        #[serde(default = "default_inter_digit")]
        inter_digit_secs: u64,
        retries: Option<u32>,
        invalid_prompt: Option<String>,
        timeout_prompt: Option<String>,
        fallback_prompt: Option<String>,
        next: String,
        fallback: String,
    },
    Record {
        #[serde(default)]
        prompts: Vec<String>,
        #[serde(default = "default_record_max")]
        max_secs: u64,
        #[serde(default = "default_record_silence")]
        silence_secs: u64,
        #[serde(default = "default_true")]
        beep: bool,
        next: String,
    },
    Say {
        what: Vec<SayItem>,
        next: String,
    },
    Branch {
        on: BranchField,
        cases: BTreeMap<String, String>,
        default: String,
    },
    Set {
        set: SetSpec,
        next: String,
    },
    Route {
        #[serde(default)]
        prompts: Vec<String>,
        next: String,
    },
    Goto {
        next: String,
    },
    Hangup {
        #[serde(default)]
        prompts: Vec<String>,
    },
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct OptionSpec {
    pub next: String,
    pub language: Option<Language>,
    #[serde(default)]
    pub set: SetSpec,
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct SetSpec {
    pub category: Option<Category>,
    pub impact: Option<Impact>,
    pub urgency: Option<Urgency>,
}

impl SetSpec {
    fn fields(&self) -> Vec<TicketField> {
        let mut f = Vec::new();
        f.extend(self.category.map(TicketField::Category));
        f.extend(self.impact.map(TicketField::Impact));
        f.extend(self.urgency.map(TicketField::Urgency));
        f
    }
}

/// What a `say` node speaks.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum SayItem {
    TicketNumber,
    ResponseTime,
}

/// What a `branch` node looks at.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum BranchField {
    Category,
    Impact,
    Urgency,
    Priority,
    Language,
}

// ---- The checked dialplan ------------------------------------------------------------------

/// A checked dialplan, ready to run.
#[derive(Debug, Clone)]
pub struct Dialplan {
    pub name: Option<String>,
    pub start: NodeName,
    pub languages: Vec<Language>,
    pub default_language: Language,
    pub nodes: BTreeMap<NodeName, Node>,
}

/// Timeouts, retries and the prompts of a node that waits for the caller.
#[derive(Debug, Clone, PartialEq)]
pub struct InputRules {
    pub timeout: Duration,
    pub retries: u32,
    pub invalid_prompt: Option<String>,
    pub timeout_prompt: Option<String>,
    pub fallback_prompt: Option<String>,
    pub fallback: NodeName,
}

/// What pressing a menu key does.
#[derive(Debug, Clone, PartialEq)]
pub struct MenuChoice {
    pub next: NodeName,
    pub language: Option<Language>,
    pub set: Vec<TicketField>,
}

/// One step of the flow.
#[derive(Debug, Clone, PartialEq)]
pub enum Node {
    Play {
        prompts: Vec<String>,
        next: NodeName,
        barge_in: bool,
    },
    Menu {
        prompts: Vec<String>,
        options: BTreeMap<Digit, MenuChoice>,
        rules: InputRules,
        fallback_set: Vec<TicketField>,
    },
    Collect {
        prompts: Vec<String>,
        variable: String,
        min_digits: usize,
        max_digits: usize,
        terminator: Option<Digit>,
        inter_digit: Duration,
        rules: InputRules,
        next: NodeName,
    },
    Record {
        prompts: Vec<String>,
        max: Duration,
        silence: Duration,
        beep: bool,
        next: NodeName,
    },
    Say {
        what: Vec<SayItem>,
        next: NodeName,
    },
    Branch {
        on: BranchField,
        cases: BTreeMap<String, NodeName>,
        default: NodeName,
    },
    Set {
        set: Vec<TicketField>,
        next: NodeName,
    },
    Route {
        prompts: Vec<String>,
        next: NodeName,
    },
    Goto {
        next: NodeName,
    },
    Hangup {
        prompts: Vec<String>,
    },
}

impl Node {
    /// Whether the caller is asked for input here (a loop through such a node is not silent).
    pub fn waits_for_caller(&self) -> bool {
        matches!(
            self,
            Node::Menu { .. } | Node::Collect { .. } | Node::Record { .. }
        )
    }

    /// Every node this one can lead to.
    pub fn successors(&self) -> Vec<&NodeName> {
        match self {
            Node::Play { next, .. }
            | Node::Say { next, .. }
            | Node::Set { next, .. }
            | Node::Route { next, .. }
            | Node::Goto { next }
            | Node::Record { next, .. } => vec![next],
            Node::Menu { options, rules, .. } => {
                let mut v: Vec<&NodeName> = options.values().map(|c| &c.next).collect();
                v.push(&rules.fallback);
                v
            }
            Node::Collect { next, rules, .. } => vec![next, &rules.fallback],
            Node::Branch { cases, default, .. } => {
                let mut v: Vec<&NodeName> = cases.values().collect();
                v.push(default);
                v
            }
            Node::Hangup { .. } => vec![],
        }
    }

    /// Every prompt name the node plays.
    pub fn prompt_names(&self) -> Vec<&str> {
        let mut names: Vec<&str> = Vec::new();
        match self {
            Node::Play { prompts, .. }
            | Node::Record { prompts, .. }
            | Node::Route { prompts, .. }
            | Node::Hangup { prompts } => names.extend(prompts.iter().map(String::as_str)),
            Node::Menu { prompts, rules, .. } | Node::Collect { prompts, rules, .. } => {
                names.extend(prompts.iter().map(String::as_str));
                names.extend(
                    [
                        &rules.invalid_prompt,
                        &rules.timeout_prompt,
                        &rules.fallback_prompt,
                    ]
                    .into_iter()
                    .flatten()
                    .map(String::as_str),
                );
            }
            Node::Say { .. } | Node::Branch { .. } | Node::Set { .. } | Node::Goto { .. } => {}
        }
        names
    }
}

/// The value a branch compares, as text (`hardware`, `P1`, `fr`…).
pub fn branch_value(field: BranchField, state: &crate::ivr::host::CallFacts) -> Option<String> {
    match field {
        BranchField::Category => state.category.map(|v| v.as_str().to_string()),
        BranchField::Impact => state.impact.map(|v| v.as_str().to_string()),
        BranchField::Urgency => state.urgency.map(|v| v.as_str().to_string()),
        BranchField::Priority => state.priority.map(|p: Priority| p.to_string()),
        BranchField::Language => Some(state.language.as_str().to_string()),
    }
}

impl SetSpec {
    pub(crate) fn to_fields(&self) -> Vec<TicketField> {
        self.fields()
    }
}
