//! The dialplan: a call flow written as data (`dialplans/*.toml`), documented in docs/dialplan.md.
//!
//! The file is read and checked by `check`, field by field so every mistake gets a line and
//! column; `Dialplan` is the checked form the interpreter runs, where every reference exists.

use crate::media::dtmf::Digit;
use crate::tickets::{Language, Priority, TicketField};
use serde::Deserialize;
use std::collections::BTreeMap;
use std::time::Duration;

/// How a node refers to another.
pub type NodeName = String;

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
    /// `technician` when a technician calls from their authenticated phone, else `caller`.
    Caller,
}

/// How a `route` node offers the call to technicians.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum RouteMode {
    /// Ring the on-call technicians now, escalating step by step.
    Ring,
    /// Wait in the team's queue (priority, then arrival) until a technician is free.
    Queue,
}

/// The settings of a `route` node (docs/dialplan.md, "route").
#[derive(Debug, Clone, PartialEq)]
pub struct RouteSpec {
    pub mode: RouteMode,
    /// The team to ring; `None`: the team that handles the ticket's category.
    pub team: Option<String>,
    /// How long each escalation step rings; `None`: the team's escalation policy decides.
    pub ring: Option<Duration>,
    /// Play the technician who answers what the call is about, and ask 1 (take) or 2 (pass).
    pub announce: bool,
    /// Longest time a caller waits in the queue before `next`.
    pub queue_max: Duration,
    /// How often a waiting caller hears their position.
    pub position_every: Duration,
    /// The key that leaves the queue for a call-back (virtual hold), if offered.
    pub callback_key: Option<Digit>,
}

impl Default for RouteSpec {
    fn default() -> Self {
        RouteSpec {
            mode: RouteMode::Ring,
            team: None,
            ring: None,
            announce: true,
            queue_max: Duration::from_secs(600),
            position_every: Duration::from_secs(30),
            callback_key: None,
        }
    }
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
    /// Offers the call to technicians; `next` is where a caller nobody took goes. A call a
    /// technician took ends when the conversation does.
    Route {
        prompts: Vec<String>,
        spec: RouteSpec,
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
        BranchField::Caller => Some(
            if state.technician {
                "technician"
            } else {
                "caller"
            }
            .into(),
        ),
    }
}
