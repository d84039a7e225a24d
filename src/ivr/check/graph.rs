//! Checks on the call flow as a whole, once every reference is known to resolve: nodes nobody
//! can reach, loops that never wait for the caller, and nodes from which the call cannot end.

use super::table::Sink;
use crate::ivr::dialplan::{Dialplan, Node};
use std::collections::{BTreeMap, BTreeSet};
use std::ops::Range;

/// Reports every graph problem of `plan`; `at` says where each node is written.
pub(super) fn check(plan: &Dialplan, at: &BTreeMap<String, Range<usize>>, sink: &mut Sink) {
    let place = |name: &String| at.get(name).cloned().unwrap_or(0..0);

    // A node nobody can get to is a mistake (usually a typo in some `next`).
    let reached = reachable(plan);
    for name in plan.nodes.keys().filter(|n| !reached.contains(*n)) {
        sink.at(
            place(name),
            format!(
                "node `{name}` is unreachable from the start node `{}`",
                plan.start
            ),
        );
    }

    // A loop that never waits for the caller would spin, or repeat a prompt, forever.
    for name in plan.nodes.keys() {
        if let Some(cycle) = silent_cycle(plan, name) {
            // Report each loop once, at its first node by name.
            if cycle.iter().min() == Some(name) {
                let names = cycle
                    .iter()
                    .map(|n| format!("`{n}`"))
                    .collect::<Vec<_>>()
                    .join(" → ");
                sink.at(
                    place(name),
                    format!("nodes {names} loop without ever waiting for the caller"),
                );
            }
        }
    }

    // Every reachable node must be able to end the call: no flow that can never hang up.
    let can_end = can_reach_hangup(plan);
    for name in reached.iter().filter(|n| !can_end.contains(*n)) {
        sink.at(
            place(name),
            format!("node `{name}` can never reach a hangup node"),
        );
    }
}

fn reachable(plan: &Dialplan) -> BTreeSet<String> {
    let mut reached = BTreeSet::new();
    let mut stack = vec![plan.start.clone()];
    while let Some(n) = stack.pop() {
        if let Some(node) = plan.nodes.get(&n) {
            if reached.insert(n) {
                stack.extend(node.successors().into_iter().cloned());
            }
        }
    }
    reached
}

fn can_reach_hangup(plan: &Dialplan) -> BTreeSet<&String> {
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
            return ends;
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
