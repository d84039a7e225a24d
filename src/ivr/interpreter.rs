//! Runs one call through a checked dialplan.
//!
//! The interpreter only talks to a [`CallHost`], so the same code runs real calls and scripted
//! test calls. It never leaves the caller in silence: every wait ends in a prompt, a retry, or
//! the node's fallback.

use super::dialplan::{branch_value, Dialplan, InputRules, Node, NodeName, SayItem};
use super::host::{CallFacts, CallHost, IvrEffect, PromptRef, RecordSpec, RouteOutcome};
use super::say;
use crate::call::CallEnded;
use crate::media::dtmf::Digit;
use crate::tickets::{CallEventKind, TicketField};

/// A bound on nodes visited per call: a caller looping through menus for hours is a stuck call.
const MAX_STEPS: usize = 500;

/// How the call left the dialplan.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum IvrEnd {
    /// A hangup node was reached.
    Completed,
    /// The call ended (caller hung up, RTP timeout, shutdown…) while at `node`.
    Ended { node: NodeName, cause: CallEnded },
    /// The step limit was hit at `node`.
    StepLimit { node: NodeName },
}

/// The result of running a call through the dialplan.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct IvrResult {
    pub end: IvrEnd,
    /// A voicemail was recorded to the end (not cut by a hang-up).
    pub recorded: bool,
    pub routed: Option<RouteOutcome>,
    /// Nodes visited, in order.
    pub path: Vec<NodeName>,
}

enum Step {
    Next(NodeName),
    Done,
}

struct Run<'a, H: CallHost> {
    host: &'a mut H,
    plan: &'a Dialplan,
    facts: CallFacts,
    /// A key that cut a `barge_in` prompt short and answers the menu or collect node that
    /// follows (type-ahead, as Asterisk's Background then WaitExten).
    typed_ahead: Option<Digit>,
    recorded: bool,
    routed: Option<RouteOutcome>,
}

/// Runs `host`'s call through `plan` until it hangs up or the call ends.
pub async fn run<H: CallHost>(plan: &Dialplan, host: &mut H) -> IvrResult {
    let technician = host.caller_is_technician();
    let mut run = Run {
        host,
        plan,
        typed_ahead: None,
        facts: CallFacts {
            language: plan.default_language,
            category: None,
            impact: None,
            urgency: None,
            priority: None,
            technician,
        },
        recorded: false,
        routed: None,
    };
    let mut path = Vec::new();
    let mut current = plan.start.clone();
    loop {
        path.push(current.clone());
        if path.len() > MAX_STEPS {
            return run.result(IvrEnd::StepLimit { node: current }, path);
        }
        let Some(node) = plan.nodes.get(&current) else {
            // Impossible for a checked dialplan; end cleanly rather than panic.
            return run.result(IvrEnd::StepLimit { node: current }, path);
        };
        if !matches!(
            node,
            Node::Set { .. } | Node::Branch { .. } | Node::Goto { .. }
        ) {
            run.host.entered(&current).await;
        }
        match run.step(&current, node).await {
            Ok(Step::Next(next)) => current = next,
            Ok(Step::Done) => return run.result(IvrEnd::Completed, path),
            Err(cause) => {
                return run.result(
                    IvrEnd::Ended {
                        node: current,
                        cause,
                    },
                    path,
                )
            }
        }
    }
}

/// Whether a key that cut a prompt short answers the node the call goes to next: one of the
/// menu's options, or a digit for a collect node (through `goto`s). Any other key — `#` to skip
/// the welcome — only skips the prompt.
fn takes_type_ahead(plan: &Dialplan, next: &str, digit: Digit) -> bool {
    let mut name = next;
    // A checked plan has no goto cycle; the bound keeps this total anyway.
    for _ in 0..plan.nodes.len() {
        match plan.nodes.get(name) {
            Some(Node::Menu { options, .. }) => return options.contains_key(&digit),
            Some(Node::Collect { .. }) => return digit.as_char().is_ascii_digit(),
            Some(Node::Goto { next }) => name = next,
            _ => return false,
        }
    }
    false
}

impl<H: CallHost> Run<'_, H> {
    fn result(self, end: IvrEnd, path: Vec<NodeName>) -> IvrResult {
        IvrResult {
            end,
            recorded: self.recorded,
            routed: self.routed,
            path,
        }
    }

    fn refs(&self, names: &[String]) -> Vec<PromptRef> {
        names
            .iter()
            .map(|n| PromptRef::File {
                language: self.facts.language,
                name: n.clone(),
            })
            .collect()
    }

    async fn event(&mut self, kind: CallEventKind, detail: impl Into<String>) {
        self.host
            .effect(IvrEffect::Event {
                kind,
                detail: detail.into(),
            })
            .await;
    }

    async fn play(&mut self, names: &[String], barge_in: bool) -> Result<Option<Digit>, CallEnded> {
        if names.is_empty() {
            return Ok(None);
        }
        let refs = self.refs(names);
        self.event(CallEventKind::PromptPlayed, names.join(" "))
            .await;
        self.host.play(refs, barge_in).await
    }

    async fn set_field(&mut self, field: TicketField) {
        match field {
            TicketField::Language(l) => self.facts.language = l,
            TicketField::Category(c) => self.facts.category = Some(c),
            TicketField::Impact(i) => self.facts.impact = Some(i),
            TicketField::Urgency(u) => self.facts.urgency = Some(u),
        }
        self.host.effect(IvrEffect::Field(field)).await;
        let (kind, detail) = match field {
            TicketField::Language(l) => (CallEventKind::LanguageChosen, l.as_str().to_string()),
            TicketField::Category(c) => (CallEventKind::FieldSet, format!("category={c}")),
            TicketField::Impact(i) => (CallEventKind::FieldSet, format!("impact={i}")),
            TicketField::Urgency(u) => (CallEventKind::FieldSet, format!("urgency={u}")),
        };
        self.event(kind, detail).await;
    }

    async fn step(&mut self, name: &str, node: &Node) -> Result<Step, CallEnded> {
        match node {
            Node::Play {
                prompts,
                next,
                barge_in,
            } => {
                if let Some(d) = self.play(prompts, *barge_in).await? {
                    if takes_type_ahead(self.plan, next, d) {
                        // The next node logs it as its answer.
                        self.typed_ahead = Some(d);
                    } else {
                        self.event(CallEventKind::Digit, format!("{d} (skipped prompt)"))
                            .await;
                    }
                }
                Ok(Step::Next(next.clone()))
            }
            Node::Menu {
                prompts,
                options,
                rules,
                fallback_set,
            } => {
                let mut pending = self.typed_ahead.take();
                let mut failures = 0;
                loop {
                    let pressed = match pending.take() {
                        Some(d) => Some(d),
                        None => match self.play(prompts, true).await? {
                            Some(d) => Some(d),
                            None => self.host.next_digit(rules.timeout).await?,
                        },
                    };
                    let problem = match pressed {
                        Some(d) => {
                            self.event(CallEventKind::Digit, d.to_string()).await;
                            if let Some(choice) = options.get(&d) {
                                if let Some(lang) = choice.language {
                                    self.set_field(TicketField::Language(lang)).await;
                                }
                                for field in &choice.set {
                                    self.set_field(*field).await;
                                }
                                return Ok(Step::Next(choice.next.clone()));
                            }
                            self.event(CallEventKind::InvalidInput, format!("{d} at {name}"))
                                .await;
                            &rules.invalid_prompt
                        }
                        None => {
                            self.event(CallEventKind::Timeout, name.to_string()).await;
                            &rules.timeout_prompt
                        }
                    };
                    failures += 1;
                    if failures > rules.retries {
                        return self.fallback(name, rules, fallback_set).await;
                    }
                    let problem: Vec<String> = problem.iter().cloned().collect();
                    pending = self.play(&problem, true).await?;
                }
            }
            Node::Collect {
                prompts,
                variable,
                min_digits,
                max_digits,
                terminator,
                inter_digit,
                rules,
                next,
            } => {
                let mut failures = 0;
                let mut pending = self.typed_ahead.take();
                loop {
                    let first = match pending.take() {
                        Some(d) => Some(d),
                        None => match self.play(prompts, true).await? {
                            Some(d) => Some(d),
                            None => self.host.next_digit(rules.timeout).await?,
                        },
                    };
                    let mut digits = String::new();
                    let mut key = first;
                    while let Some(d) = key {
                        if Some(d) == *terminator {
                            break;
                        }
                        digits.push(d.as_char());
                        if digits.len() >= *max_digits {
                            break;
                        }
                        key = self.host.next_digit(*inter_digit).await?;
                    }
                    let valid =
                        digits.len() >= *min_digits && digits.chars().all(|c| c.is_ascii_digit());
                    let problem = if valid {
                        self.event(CallEventKind::Collected, format!("{variable}={digits}"))
                            .await;
                        self.host
                            .effect(IvrEffect::Collected {
                                variable: variable.clone(),
                                digits,
                            })
                            .await;
                        return Ok(Step::Next(next.clone()));
                    } else if digits.is_empty() {
                        self.event(CallEventKind::Timeout, name.to_string()).await;
                        &rules.timeout_prompt
                    } else {
                        self.event(CallEventKind::InvalidInput, format!("{digits} at {name}"))
                            .await;
                        &rules.invalid_prompt
                    };
                    failures += 1;
                    if failures > rules.retries {
                        return self.fallback(name, rules, &[]).await;
                    }
                    let problem: Vec<String> = problem.iter().cloned().collect();
                    pending = self.play(&problem, true).await?;
                }
            }
            Node::Record {
                prompts,
                max,
                silence,
                beep,
                next,
            } => {
                // A key during the instructions skips them, as callers expect.
                self.play(prompts, true).await?;
                if *beep {
                    self.host.play(vec![PromptRef::Beep], false).await?;
                }
                let spec = RecordSpec {
                    max: *max,
                    silence: *silence,
                    finish_digit: Digit::from_char('#'),
                };
                self.host.record(spec).await?;
                self.recorded = true;
                Ok(Step::Next(next.clone()))
            }
            Node::Say { what, next } => {
                let mut names = Vec::new();
                for item in what {
                    match item {
                        SayItem::TicketNumber => {
                            let n = self.host.ticket_number().await;
                            names.extend(say::ticket_number(n));
                        }
                        SayItem::ResponseTime => {
                            let d = self.host.response_estimate().await;
                            self.event(CallEventKind::EstimateGiven, format!("{} s", d.as_secs()))
                                .await;
                            names.extend(say::response_time(d));
                        }
                    }
                }
                self.play(&names, false).await?;
                Ok(Step::Next(next.clone()))
            }
            Node::Branch { on, cases, default } => {
                self.facts.priority = self.host.priority().await;
                let value = branch_value(*on, &self.facts);
                let target = value.and_then(|v| cases.get(&v)).unwrap_or(default);
                Ok(Step::Next(target.clone()))
            }
            Node::Set { set, next } => {
                for field in set {
                    self.set_field(*field).await;
                }
                Ok(Step::Next(next.clone()))
            }
            Node::Route {
                prompts,
                spec,
                next,
            } => {
                self.play(prompts, false).await?;
                self.event(CallEventKind::RoutingAttempt, name.to_string())
                    .await;
                let outcome = self.host.route(spec).await?;
                let answered = matches!(outcome, RouteOutcome::Answered { .. });
                self.routed = Some(outcome);
                if answered {
                    // The conversation was the call's purpose; when the technician hangs up,
                    // the caller's leg ends too.
                    return Ok(Step::Done);
                }
                Ok(Step::Next(next.clone()))
            }
            Node::Goto { next } => Ok(Step::Next(next.clone())),
            Node::Hangup { prompts } => {
                self.play(prompts, false).await?;
                Ok(Step::Done)
            }
        }
    }

    async fn fallback(
        &mut self,
        name: &str,
        rules: &InputRules,
        set: &[TicketField],
    ) -> Result<Step, CallEnded> {
        self.event(
            CallEventKind::RetriesExhausted,
            format!("{name} → {}", rules.fallback),
        )
        .await;
        let prompt: Vec<String> = rules.fallback_prompt.iter().cloned().collect();
        self.play(&prompt, false).await?;
        for field in set {
            self.set_field(*field).await;
        }
        Ok(Step::Next(rules.fallback.clone()))
    }
}
