//! What routing needs to know about technicians: who to ring in which order, their phones,
//! and whether they are free. The on-call rota and the registrar answer it in the server; tests
//! answer it with a fixed list.

use crate::call::outbound::Target;
use crate::tickets::{Language, Ticket};
use std::future::Future;
use std::time::Duration;

/// One step of a team's escalation policy: whom to ring, and for how long.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct EscalationStep {
    /// The technician's user name (the web log account and the phone account).
    pub technician: String,
    /// Their role in the step, for the timeline: primary, secondary, team lead.
    pub role: String,
    pub ring: Duration,
    /// The language the technician hears the announcement in.
    pub language: Language,
}

/// An answer of the roster, and how old it is when the database did not answer.
#[derive(Debug, Clone, PartialEq)]
pub struct Known<T> {
    pub value: T,
    /// `None`: read just now. `Some(age)`: the database did not answer, and this is what it
    /// answered `age` ago (the oldest of the reads the answer rests on), for the timeline.
    pub last_read: Option<Duration>,
}

impl<T> Known<T> {
    /// An answer read just now.
    pub fn fresh(value: T) -> Known<T> {
        Known {
            value,
            last_read: None,
        }
    }
}

/// Who can take a call, and how to reach them.
pub trait Roster: Send + Sync {
    /// The escalation steps for `ticket`, in order, for `team` (or the team of its category).
    /// Technicians who are away, offline or already on a call are left out.
    fn steps(
        &self,
        ticket: &Ticket,
        team: Option<&str>,
    ) -> impl Future<Output = Known<Vec<EscalationStep>>> + Send;
    /// The team that takes `ticket`: `team` if it exists, else the team of its category.
    fn team_of(
        &self,
        ticket: &Ticket,
        team: Option<&str>,
    ) -> impl Future<Output = Option<String>> + Send;
    /// The reachable phones of `technician`, to ring in parallel.
    fn devices(&self, technician: &str) -> impl Future<Output = Known<Vec<Target>>> + Send;
    /// Marks a technician as on a call (`true`) or free again (`false`).
    fn set_busy(&self, technician: &str, busy: bool) -> impl Future<Output = ()> + Send;
    /// Resolves once the other nodes can read `technician`'s latest busy flag (or it is no use
    /// waiting for it). A roster of this node alone has nothing to wait for.
    fn busy_written(&self, technician: &str) -> impl Future<Output = ()> + Send {
        let _ = technician;
        std::future::ready(())
    }
}
