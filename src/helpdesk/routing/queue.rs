//! Callers waiting for a team: ordered by priority, then arrival (a P2 that calls later is
//! still served before a P3). One registry per node owns the order; each waiting caller's task
//! asks it for its position and is handed a technician who picks the call up (`*8`).
//!
//! The lock is held for a lookup or an insertion, never across an await.

use crate::call::CallControl;
use crate::tickets::Priority;
use std::collections::HashMap;
use std::sync::Mutex;
use std::time::Instant;
use tokio::sync::{mpsc, oneshot};

/// A technician's answered leg, handed to the waiting caller to bridge. `done` is told when
/// the conversation is over, so the technician's own call task can finish.
pub struct Pickup {
    pub technician: String,
    pub leg: CallControl,
    /// How the call was taken, for the timeline: `*8 pick-up`, or the phone rung from the web.
    pub how: String,
    pub done: oneshot::Sender<()>,
}

/// One waiting caller.
struct Waiting {
    ticket: i64,
    reference: String,
    priority: Option<Priority>,
    arrived: Instant,
    pickup: mpsc::Sender<Pickup>,
}

impl Waiting {
    /// Sort key: priority first (no priority waits behind every known one), then arrival.
    fn key(&self) -> (u8, Instant) {
        (self.priority.map_or(9, Priority::level), self.arrived)
    }
}

/// A caller seen from the queue, for the live board and pickup by reference.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct QueueEntry {
    pub team: String,
    pub ticket: i64,
    pub reference: String,
    pub priority: Option<Priority>,
    pub position: usize,
    pub waited_secs: u64,
}

/// Every team's queue on this node.
#[derive(Default)]
pub struct CallQueues {
    teams: Mutex<HashMap<String, Vec<Waiting>>>,
}

/// A caller's place; leaving the queue (hang-up, call-back, answered) drops it.
pub struct Place<'q> {
    queues: &'q CallQueues,
    team: String,
    ticket: i64,
    pub pickups: mpsc::Receiver<Pickup>,
}

impl CallQueues {
    /// Puts a caller in `team`'s queue.
    pub fn join(
        &self,
        team: &str,
        ticket: i64,
        reference: String,
        priority: Option<Priority>,
    ) -> Place<'_> {
        let (pickup, pickups) = mpsc::channel(1);
        let entry = Waiting {
            ticket,
            reference,
            priority,
            arrived: Instant::now(),
            pickup,
        };
        let mut teams = self.lock();
        let queue = teams.entry(team.to_string()).or_default();
        let at = queue.partition_point(|w| w.key() <= entry.key());
        queue.insert(at, entry);
        Place {
            queues: self,
            team: team.to_string(),
            ticket,
            pickups,
        }
    }

    /// 1 for the head of the queue.
    fn position(&self, team: &str, ticket: i64) -> Option<usize> {
        self.lock()
            .get(team)?
            .iter()
            .position(|w| w.ticket == ticket)
            .map(|i| i + 1)
    }

    fn leave(&self, team: &str, ticket: i64) {
        let mut teams = self.lock();
        if let Some(queue) = teams.get_mut(team) {
            queue.retain(|w| w.ticket != ticket);
            if queue.is_empty() {
                teams.remove(team);
            }
        }
    }

    /// Hands `pickup` to the first caller waiting in one of `teams` (or to the caller of
    /// `reference`, if given). Gives the pickup back when nobody is waiting.
    // The pickup (a live call) goes back to its owner unchanged on the rare miss: boxing it
    // would allocate on every pick-up to shrink a value that is moved, not copied around.
    #[allow(clippy::result_large_err)]
    pub fn pick_up(
        &self,
        teams: &[String],
        reference: Option<&str>,
        pickup: Pickup,
    ) -> Result<String, Pickup> {
        let target = {
            let queues = self.lock();
            let mut candidates: Vec<&Waiting> = teams
                .iter()
                .filter_map(|t| queues.get(t))
                .flatten()
                .filter(|w| reference.is_none_or(|r| w.reference == r))
                .collect();
            candidates.sort_by_key(|w| w.key());
            candidates
                .first()
                .map(|w| (w.pickup.clone(), w.reference.clone()))
        };
        match target {
            Some((tx, reference)) => match tx.try_send(pickup) {
                Ok(()) => Ok(reference),
                Err(e) => Err(e.into_inner()),
            },
            None => Err(pickup),
        }
    }

    /// Everyone waiting, for the live board.
    pub fn snapshot(&self) -> Vec<QueueEntry> {
        let now = Instant::now();
        let mut out = Vec::new();
        for (team, queue) in self.lock().iter() {
            for (i, w) in queue.iter().enumerate() {
                out.push(QueueEntry {
                    team: team.clone(),
                    ticket: w.ticket,
                    reference: w.reference.clone(),
                    priority: w.priority,
                    position: i + 1,
                    waited_secs: now.duration_since(w.arrived).as_secs(),
                });
            }
        }
        out
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, HashMap<String, Vec<Waiting>>> {
        // Only plain data inside: a panic elsewhere cannot leave it half-written.
        self.teams
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    }
}

impl Place<'_> {
    /// 1 for the head of the queue.
    pub fn position(&self) -> usize {
        self.queues.position(&self.team, self.ticket).unwrap_or(1)
    }
}

impl Drop for Place<'_> {
    fn drop(&mut self) {
        self.queues.leave(&self.team, self.ticket);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn p(level: u8) -> Option<Priority> {
        Priority::new(level)
    }

    #[test]
    fn priority_comes_before_arrival_and_leaving_moves_everyone_up() {
        let q = CallQueues::default();
        let a = q.join("net", 1, "A".into(), p(3));
        let b = q.join("net", 2, "B".into(), p(3));
        let c = q.join("net", 3, "C".into(), p(2));
        assert_eq!((c.position(), a.position(), b.position()), (1, 2, 3));
        drop(c);
        assert_eq!((a.position(), b.position()), (1, 2));
        let other = q.join("accounts", 4, "D".into(), p(1));
        assert_eq!(other.position(), 1, "queues are per team");
        assert_eq!(q.snapshot().len(), 3);
    }
}
