//! Turning each `[nodes.NAME]` table into a checked [`Node`], reporting every bad field,
//! unknown reference and impossible setting at the place it is written.

use super::table::{value, Fields, Sink};
use crate::ivr::dialplan::{
    BranchField, InputRules, MenuChoice, Node, RouteMode, RouteSpec, SayItem,
};
use crate::ivr::say;
use crate::media::dtmf::Digit;
use crate::tickets::{Category, Impact, Language, Priority, TicketField, Urgency};
use serde::Deserialize;
use std::collections::{BTreeMap, BTreeSet};
use std::ops::Range;
use std::time::Duration;
use toml::de::DeValue;
use toml::Spanned;

/// Every node kind and the fields it accepts (unknown fields are reported, never ignored: a
/// misspelt `timout_secs` silently falling back to the default is how a menu ends up wrong).
const KINDS: &[(&str, &[&str])] = &[
    ("play", &["kind", "prompts", "next", "barge_in"]),
    (
        "menu",
        &[
            "kind",
            "prompts",
            "options",
            "fallback",
            "timeout_secs",
            "retries",
            "invalid_prompt",
            "timeout_prompt",
            "fallback_prompt",
            "fallback_set",
        ],
    ),
    (
        "collect",
        &[
            "kind",
            "prompts",
            "variable",
            "min_digits",
            "max_digits",
            "terminator",
            "timeout_secs",
            "inter_digit_secs",
            "retries",
            "invalid_prompt",
            "timeout_prompt",
            "fallback_prompt",
            "next",
            "fallback",
        ],
    ),
    (
        "record",
        &[
            "kind",
            "prompts",
            "max_secs",
            "silence_secs",
            "beep",
            "next",
        ],
    ),
    ("say", &["kind", "what", "next"]),
    ("branch", &["kind", "on", "cases", "default"]),
    ("set", &["kind", "set", "next"]),
    (
        "route",
        &[
            "kind",
            "prompts",
            "next",
            "mode",
            "team",
            "ring_secs",
            "announce",
            "queue_max_secs",
            "position_every_secs",
            "callback_key",
        ],
    ),
    ("goto", &["kind", "next"]),
    ("hangup", &["kind", "prompts"]),
];

/// The `[defaults]` every menu and collect node inherits, each value with where it is written.
#[derive(Debug, Default)]
pub(super) struct Defaults {
    pub timeout_secs: Option<Spanned<u64>>,
    pub retries: Option<Spanned<u32>>,
    pub invalid_prompt: Option<Spanned<String>>,
    pub timeout_prompt: Option<Spanned<String>>,
    pub fallback_prompt: Option<Spanned<String>>,
}

pub(super) const DEFAULTS_FIELDS: &[&str] = &[
    "timeout_secs",
    "retries",
    "invalid_prompt",
    "timeout_prompt",
    "fallback_prompt",
];

const DEFAULT_TIMEOUT_SECS: u64 = 6;
const DEFAULT_RETRIES: u32 = 2;

/// A menu key's effect, as written.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct OptionSpec {
    next: Spanned<String>,
    language: Option<Spanned<Language>>,
    #[serde(default)]
    set: SetSpec,
}

/// Ticket fields a menu key, a fallback or a `set` node fills in.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
struct SetSpec {
    category: Option<Category>,
    impact: Option<Impact>,
    urgency: Option<Urgency>,
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

/// A prompt some node plays, and where it is named (or inherited from).
pub(super) struct PromptUse {
    pub name: String,
    pub span: Range<usize>,
    pub node: String,
}

/// Reads nodes against what the rest of the file declares.
pub(super) struct NodeReader<'c> {
    pub sink: &'c mut Sink,
    pub names: &'c BTreeSet<String>,
    pub defaults: &'c Defaults,
    pub languages: &'c [Language],
    pub prompts: Vec<PromptUse>,
    /// Cleared when a reference names no node: reachability would then report nonsense.
    pub references_ok: bool,
}

impl NodeReader<'_> {
    /// Reads one node; `None` when it is too broken to be part of the call graph (its problems
    /// are reported either way).
    pub fn node(
        &mut self,
        name: &str,
        raw: &Spanned<DeValue<'_>>,
        at: Range<usize>,
    ) -> Option<Node> {
        let prefix = format!("node `{name}`: ");
        let f = Fields::of(raw, prefix.clone(), at.clone(), self.sink)?;
        let kind: Spanned<String> = f.required("kind", self.sink)?;
        let Some((kind, allowed)) = KINDS.iter().find(|(k, _)| *k == kind.get_ref()) else {
            let expected = KINDS
                .iter()
                .map(|(k, _)| format!("`{k}`"))
                .collect::<Vec<_>>()
                .join(", ");
            self.sink.at(
                kind.span(),
                format!(
                    "{prefix}unknown kind `{}`, expected one of {expected}",
                    kind.get_ref()
                ),
            );
            return None;
        };
        f.only(allowed, self.sink);
        let n = NodeAt {
            name,
            prefix,
            at,
            f,
        };
        match *kind {
            "play" => self.play(&n),
            "menu" => self.menu(&n),
            "collect" => self.collect(&n),
            "record" => self.record(&n),
            "say" => self.say(&n),
            "branch" => self.branch(&n),
            "set" => self.set(&n),
            "route" => self.route(&n),
            "goto" => Some(Node::Goto {
                next: self.reference(&n, "next", "next")?,
            }),
            "hangup" => Some(Node::Hangup {
                prompts: self.prompts(&n, "prompts", false),
            }),
            _ => unreachable!("every kind in KINDS is handled"),
        }
    }

    fn problem(&mut self, n: &NodeAt<'_, '_, '_>, span: Option<Range<usize>>, message: String) {
        let span = span.unwrap_or_else(|| n.at.clone());
        self.sink.at(span, format!("{}{message}", n.prefix));
    }

    fn prompt_use(&mut self, n: &NodeAt<'_, '_, '_>, p: Spanned<String>) -> String {
        self.prompts.push(PromptUse {
            name: p.get_ref().clone(),
            span: p.span(),
            node: n.name.to_string(),
        });
        p.into_inner()
    }

    fn prompts(&mut self, n: &NodeAt<'_, '_, '_>, key: &str, required: bool) -> Vec<String> {
        let list: Option<Spanned<Vec<Spanned<String>>>> = if required {
            n.f.required(key, self.sink)
        } else {
            n.f.get(key, self.sink)
        };
        list.map(Spanned::into_inner)
            .unwrap_or_default()
            .into_iter()
            .map(|p| self.prompt_use(n, p))
            .collect()
    }

    /// A reference to another node, by name; reported at the name when no such node exists.
    fn reference(&mut self, n: &NodeAt<'_, '_, '_>, key: &str, label: &str) -> Option<String> {
        let target: Spanned<String> = n.f.required(key, self.sink)?;
        self.check_reference(n, label, target)
    }

    fn check_reference(
        &mut self,
        n: &NodeAt<'_, '_, '_>,
        label: &str,
        target: Spanned<String>,
    ) -> Option<String> {
        if !self.names.contains(target.get_ref()) {
            self.references_ok = false;
            let message = format!("{label} refers to unknown node `{}`", target.get_ref());
            self.problem(n, Some(target.span()), message);
        }
        Some(target.into_inner())
    }

    fn key(
        &mut self,
        n: &NodeAt<'_, '_, '_>,
        what: &str,
        key: &str,
        span: Range<usize>,
    ) -> Option<Digit> {
        let digit = key.parse::<Digit>().ok();
        if digit.is_none() {
            let message = format!("{what} `{key}` is not a single key (0-9, *, #, A-D)");
            self.problem(n, Some(span), message);
        }
        digit
    }

    fn play(&mut self, n: &NodeAt<'_, '_, '_>) -> Option<Node> {
        let prompts = self.prompts(n, "prompts", true);
        if n.f.is_empty_array("prompts") {
            self.problem(n, None, "play node without prompts".into());
        }
        let barge_in =
            n.f.get::<bool>("barge_in", self.sink)
                .map(Spanned::into_inner);
        Some(Node::Play {
            prompts,
            next: self.reference(n, "next", "next")?,
            barge_in: barge_in.unwrap_or(false),
        })
    }

    fn menu(&mut self, n: &NodeAt<'_, '_, '_>) -> Option<Node> {
        let prompts = self.prompts(n, "prompts", true);
        if n.f.is_empty_array("prompts") {
            self.problem(
                n,
                None,
                "menu without prompts leaves the caller in silence".into(),
            );
        }
        let mut options = BTreeMap::new();
        let mut complete = true;
        match n.f.entries("options", self.sink) {
            None if n.f.raw("options").is_none() => {
                self.problem(n, None, "missing field `options`".into());
            }
            None => {}
            Some(entries) if entries.is_empty() => self.problem(
                n,
                None,
                "menu has no options, so the caller has no way out".into(),
            ),
            Some(entries) => {
                for (key, raw) in entries {
                    let label = format!("{}option {}", n.prefix, key.get_ref());
                    let digit = self.key(n, "option", key.get_ref(), key.span());
                    let Some(spec) = value::<OptionSpec>(raw, &label, self.sink) else {
                        complete = false;
                        continue;
                    };
                    let spec = spec.into_inner();
                    let option_label = format!("option {}", key.get_ref());
                    let next = self.check_reference(n, &option_label, spec.next);
                    if let Some(lang) = &spec.language {
                        if !self.languages.contains(lang.get_ref()) {
                            let message = format!(
                                "option {} chooses language `{}`, which the dialplan does not offer",
                                key.get_ref(),
                                lang.get_ref()
                            );
                            self.problem(n, Some(lang.span()), message);
                        }
                    }
                    if let (Some(digit), Some(next)) = (digit, next) {
                        options.insert(
                            digit,
                            MenuChoice {
                                next,
                                language: spec.language.map(Spanned::into_inner),
                                set: spec.set.fields(),
                            },
                        );
                    }
                }
            }
        }
        let fallback_set =
            n.f.get::<SetSpec>("fallback_set", self.sink)
                .map(|s| s.get_ref().fields())
                .unwrap_or_default();
        let rules = self.rules(n);
        if !complete {
            return None;
        }
        Some(Node::Menu {
            prompts,
            options,
            rules: rules?,
            fallback_set,
        })
    }

    fn collect(&mut self, n: &NodeAt<'_, '_, '_>) -> Option<Node> {
        let prompts = self.prompts(n, "prompts", true);
        let variable: Option<Spanned<String>> = n.f.required("variable", self.sink);
        let min = n.f.get::<usize>("min_digits", self.sink);
        let max = n.f.required::<usize>("max_digits", self.sink);
        let min_digits = min.as_ref().map_or(1, |m| *m.get_ref());
        if let Some(max) = &max {
            let max_digits = *max.get_ref();
            if max_digits == 0 || min_digits > max_digits || max_digits > 32 {
                let message = format!(
                    "need 1 <= min_digits <= max_digits <= 32, got {min_digits} and {max_digits}"
                );
                self.problem(n, Some(max.span()), message);
            }
        }
        let terminator =
            n.f.get::<String>("terminator", self.sink)
                .and_then(|t| self.key(n, "terminator", t.get_ref(), t.span()));
        let inter_digit = n.f.get::<u64>("inter_digit_secs", self.sink);
        if let Some(secs) = inter_digit
            .as_ref()
            .filter(|s| !(1..=30).contains(s.get_ref()))
        {
            let message = format!("inter_digit_secs must be 1 to 30, not {}", secs.get_ref());
            self.problem(n, Some(secs.span()), message);
        }
        let rules = self.rules(n);
        let next = self.reference(n, "next", "next");
        Some(Node::Collect {
            prompts,
            variable: variable?.into_inner(),
            min_digits,
            max_digits: max?.into_inner(),
            terminator,
            inter_digit: Duration::from_secs(inter_digit.map_or(4, Spanned::into_inner)),
            rules: rules?,
            next: next?,
        })
    }

    /// Timeout, retries, the prompts for a wrong key and for silence, and where to go when
    /// retries run out: required of every node that waits for a key, so no caller is stuck.
    fn rules(&mut self, n: &NodeAt<'_, '_, '_>) -> Option<InputRules> {
        let timeout = n.f.get::<u64>("timeout_secs", self.sink);
        if let Some(t) = &timeout {
            check_timeout(self.sink, &n.prefix, t);
        }
        let retries = n.f.get::<u32>("retries", self.sink);
        if let Some(r) = &retries {
            check_retries(self.sink, &n.prefix, r);
        }
        let d = self.defaults;
        let timeout = timeout.map_or(
            d.timeout_secs
                .as_ref()
                .map_or(DEFAULT_TIMEOUT_SECS, |t| *t.get_ref()),
            Spanned::into_inner,
        );
        let retries = retries.map_or(
            d.retries.as_ref().map_or(DEFAULT_RETRIES, |r| *r.get_ref()),
            Spanned::into_inner,
        );
        let mut inherited = |key: &str, default: &Option<Spanned<String>>| {
            n.f.get::<String>(key, self.sink)
                .or_else(|| default.clone())
        };
        let invalid = inherited("invalid_prompt", &d.invalid_prompt);
        let silence = inherited("timeout_prompt", &d.timeout_prompt);
        let fallback_prompt = inherited("fallback_prompt", &d.fallback_prompt);
        if invalid.is_none() && n.f.raw("invalid_prompt").is_none() {
            // A caller who presses a wrong key must hear why nothing happens.
            self.problem(
                n,
                None,
                "no invalid_prompt (set one here or in [defaults])".into(),
            );
        }
        if silence.is_none() && n.f.raw("timeout_prompt").is_none() {
            self.problem(
                n,
                None,
                "no timeout_prompt (set one here or in [defaults])".into(),
            );
        }
        let fallback = self.reference(n, "fallback", "fallback");
        Some(InputRules {
            timeout: Duration::from_secs(timeout),
            retries,
            invalid_prompt: invalid.map(|p| self.prompt_use(n, p)),
            timeout_prompt: silence.map(|p| self.prompt_use(n, p)),
            fallback_prompt: fallback_prompt.map(|p| self.prompt_use(n, p)),
            fallback: fallback?,
        })
    }

    fn record(&mut self, n: &NodeAt<'_, '_, '_>) -> Option<Node> {
        let prompts = self.prompts(n, "prompts", false);
        let max = n.f.get::<u64>("max_secs", self.sink);
        if let Some(m) = max.as_ref().filter(|m| !(1..=600).contains(m.get_ref())) {
            let message = format!("max_secs must be 1 to 600, not {}", m.get_ref());
            self.problem(n, Some(m.span()), message);
        }
        let silence = n.f.get::<u64>("silence_secs", self.sink);
        if let Some(s) = silence.as_ref().filter(|s| *s.get_ref() == 0) {
            self.problem(n, Some(s.span()), "silence_secs must be at least 1".into());
        }
        let beep = n.f.get::<bool>("beep", self.sink);
        Some(Node::Record {
            prompts,
            max: Duration::from_secs(max.map_or(120, Spanned::into_inner)),
            silence: Duration::from_secs(silence.map_or(5, Spanned::into_inner)),
            beep: beep.is_none_or(Spanned::into_inner),
            next: self.reference(n, "next", "next")?,
        })
    }

    fn route(&mut self, n: &NodeAt<'_, '_, '_>) -> Option<Node> {
        let prompts = self.prompts(n, "prompts", false);
        let defaults = RouteSpec::default();
        let mode = n.f.get::<RouteMode>("mode", self.sink);
        let team = n.f.get::<String>("team", self.sink);
        if let Some(t) = team.as_ref().filter(|t| t.get_ref().trim().is_empty()) {
            self.problem(n, Some(t.span()), "team must name a team".into());
        }
        let ring = n.f.get::<u64>("ring_secs", self.sink);
        if let Some(r) = ring.as_ref().filter(|r| !(5..=300).contains(r.get_ref())) {
            let message = format!("ring_secs must be 5 to 300, not {}", r.get_ref());
            self.problem(n, Some(r.span()), message);
        }
        let announce = n.f.get::<bool>("announce", self.sink);
        let queue_max = n.f.get::<u64>("queue_max_secs", self.sink);
        if let Some(q) = queue_max
            .as_ref()
            .filter(|q| !(10..=3600).contains(q.get_ref()))
        {
            let message = format!("queue_max_secs must be 10 to 3600, not {}", q.get_ref());
            self.problem(n, Some(q.span()), message);
        }
        let every = n.f.get::<u64>("position_every_secs", self.sink);
        if let Some(e) = every.as_ref().filter(|e| !(10..=600).contains(e.get_ref())) {
            let message = format!("position_every_secs must be 10 to 600, not {}", e.get_ref());
            self.problem(n, Some(e.span()), message);
        }
        let callback_key = n.f.get::<String>("callback_key", self.sink);
        let callback_key = callback_key.and_then(|k| {
            let span = k.span();
            self.key(n, "callback_key", k.get_ref(), span)
        });
        let mode = mode.map_or(defaults.mode, Spanned::into_inner);
        if mode == RouteMode::Queue {
            for name in ["queue_position", "in_queue", "music_on_hold"] {
                self.prompt_use(n, Spanned::new(n.at.clone(), name.to_string()));
            }
            if callback_key.is_some() {
                for name in ["queue_leave", "callback_requested"] {
                    self.prompt_use(n, Spanned::new(n.at.clone(), name.to_string()));
                }
            }
        }
        for name in ["ringback", "connecting", "nobody_answered"] {
            self.prompt_use(n, Spanned::new(n.at.clone(), name.to_string()));
        }
        Some(Node::Route {
            prompts,
            spec: RouteSpec {
                mode,
                team: team.map(Spanned::into_inner),
                ring: ring.map(|r| Duration::from_secs(r.into_inner())),
                announce: announce.map_or(defaults.announce, Spanned::into_inner),
                queue_max: queue_max
                    .map_or(defaults.queue_max, |q| Duration::from_secs(q.into_inner())),
                position_every: every.map_or(defaults.position_every, |e| {
                    Duration::from_secs(e.into_inner())
                }),
                callback_key,
            },
            next: self.reference(n, "next", "next")?,
        })
    }

    fn say(&mut self, n: &NodeAt<'_, '_, '_>) -> Option<Node> {
        let what = n.f.required::<Vec<SayItem>>("what", self.sink);
        if let Some(what) = &what {
            if what.get_ref().is_empty() {
                self.problem(n, Some(what.span()), "say node with nothing to say".into());
            }
            for item in what.get_ref() {
                for prompt in say::prompts_needed(*item) {
                    let use_ = Spanned::new(what.span(), prompt);
                    self.prompt_use(n, use_);
                }
            }
        }
        let next = self.reference(n, "next", "next");
        Some(Node::Say {
            what: what.map(Spanned::into_inner).unwrap_or_default(),
            next: next?,
        })
    }

    fn branch(&mut self, n: &NodeAt<'_, '_, '_>) -> Option<Node> {
        let on =
            n.f.required::<BranchField>("on", self.sink)
                .map(Spanned::into_inner);
        let mut cases = BTreeMap::new();
        let mut complete = true;
        if n.f.raw("cases").is_none() {
            self.problem(n, None, "missing field `cases`".into());
        }
        for (key, raw) in n.f.entries("cases", self.sink).unwrap_or_default() {
            let value_text = key.get_ref().to_string();
            if let Some(on) = on {
                if !valid_branch_value(on, &value_text) {
                    let message =
                        format!("`{value_text}` is not a {} value", branch_field_name(on));
                    self.problem(n, Some(key.span()), message);
                }
            }
            let label = format!("{}case {value_text}", n.prefix);
            match value::<String>(raw, &label, self.sink) {
                Some(target) => {
                    let target = self.check_reference(n, &format!("case {value_text}"), target);
                    cases.extend(target.map(|t| (value_text, t)));
                }
                None => complete = false,
            }
        }
        let default = self.reference(n, "default", "default");
        if !complete {
            return None;
        }
        Some(Node::Branch {
            on: on?,
            cases,
            default: default?,
        })
    }

    fn set(&mut self, n: &NodeAt<'_, '_, '_>) -> Option<Node> {
        let set = n.f.required::<SetSpec>("set", self.sink);
        let fields = set
            .as_ref()
            .map(|s| s.get_ref().fields())
            .unwrap_or_default();
        if let Some(set) = set.as_ref().filter(|_| fields.is_empty()) {
            self.problem(n, Some(set.span()), "set node sets nothing".into());
        }
        Some(Node::Set {
            set: fields,
            next: self.reference(n, "next", "next")?,
        })
    }
}

/// The node being read: its name, message prefix, place and fields.
struct NodeAt<'n, 'a, 'i> {
    name: &'n str,
    prefix: String,
    at: Range<usize>,
    f: Fields<'a, 'i>,
}

/// A caller waits at most this long in silence before hearing something.
pub(super) fn check_timeout(sink: &mut Sink, prefix: &str, t: &Spanned<u64>) {
    if !(1..=60).contains(t.get_ref()) {
        sink.at(
            t.span(),
            format!("{prefix}timeout_secs must be 1 to 60, not {}", t.get_ref()),
        );
    }
}

pub(super) fn check_retries(sink: &mut Sink, prefix: &str, r: &Spanned<u32>) {
    if *r.get_ref() > 10 {
        sink.at(
            r.span(),
            format!("{prefix}retries must be at most 10, not {}", r.get_ref()),
        );
    }
}

fn branch_field_name(field: BranchField) -> &'static str {
    match field {
        BranchField::Category => "category",
        BranchField::Impact => "impact",
        BranchField::Urgency => "urgency",
        BranchField::Priority => "priority",
        BranchField::Language => "language",
        BranchField::Caller => "caller",
    }
}

fn valid_branch_value(field: BranchField, value: &str) -> bool {
    match field {
        BranchField::Category => value.parse::<Category>().is_ok(),
        BranchField::Impact => value.parse::<Impact>().is_ok(),
        BranchField::Urgency => value.parse::<Urgency>().is_ok(),
        BranchField::Priority => value.parse::<Priority>().is_ok(),
        BranchField::Language => value.parse::<Language>().is_ok(),
        BranchField::Caller => matches!(value, "technician" | "caller"),
    }
}
