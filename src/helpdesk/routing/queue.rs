//! Callers waiting for a team: ordered by priority, then arrival (a P2 that calls later is
//! still served before a P3). One registry per node owns the order; each waiting caller's task
//! asks it for its position and is handed a technician who picks the call up (`*8`).
//!
//! The lock is held for a lookup or an insertion, never across an await.
//!
//! On PostgreSQL, where several nodes may share the database, every caller is also written to
//! the store as they join and deleted as they leave (`store::queue`): the position a caller is
//! told counts every node's callers, and a technician on another node can ask for them (a take
//! request, see `remote_take`), and a node offers its head to the team's technicians only
//! while that caller is the head across every node. The node's own memory hands over pick-ups
//! and orders its own callers: a store that fails only makes the told position, and who is
//! offered, this node's own.

use crate::call::CallControl;
use crate::store::{QueueSpot, Store};
use crate::tickets::Priority;
use std::collections::HashMap;
use std::sync::Mutex;
use std::time::{Duration, Instant};
use tokio::sync::{mpsc, oneshot, Notify};

/// How long a caller waits for the shared queue's store before going on with this node's
/// own count: the caller hears music or their position, not a database's timeout.
const STORE_WAIT: Duration = Duration::from_secs(1);

/// A technician's answered leg, handed to the waiting caller to bridge.
/// Generic over the leg only so the hand-over can be tested without a live call.
pub struct Pickup<L = CallControl> {
    pub technician: String,
    pub leg: L,
    /// How the call was taken, for the timeline: `*8 pick-up`, or the phone rung from the web.
    pub how: String,
    /// Told `None` when the conversation is over, so the technician's own call task can
    /// finish; or given the leg back when the caller left before taking it, so the technician
    /// hears why and gets a BYE instead of a silent, dropped call.
    pub done: oneshot::Sender<Option<L>>,
}

/// One waiting caller.
struct Waiting<L> {
    ticket: i64,
    reference: String,
    priority: Option<Priority>,
    arrived: Instant,
    pickup: mpsc::Sender<Pickup<L>>,
}

impl<L> Waiting<L> {
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
pub struct CallQueues<L = CallControl> {
    teams: Mutex<HashMap<String, Vec<Waiting<L>>>>,
    /// Told whenever a caller leaves a queue: those behind move up, and the new head must be
    /// offered without waiting for a timer.
    moved: Notify,
    /// Where the callers of every node are written, when several nodes may share it.
    shared: Option<Store>,
}

impl<L> Default for CallQueues<L> {
    fn default() -> Self {
        CallQueues {
            teams: Mutex::default(),
            moved: Notify::new(),
            shared: None,
        }
    }
}

/// A caller's place; leaving the queue (hang-up, call-back, answered) drops it.
pub struct Place<'q, L = CallControl> {
    queues: &'q CallQueues<L>,
    team: String,
    ticket: i64,
    pub pickups: mpsc::Receiver<Pickup<L>>,
    left: bool,
    /// The caller's row in the shared queue, once written.
    spot: Option<QueueSpot>,
}

impl<L> CallQueues<L> {
    /// Queues that also write their callers to `store`, for the other nodes to count and ask
    /// for.
    pub fn shared(store: Store) -> Self {
        CallQueues {
            shared: Some(store),
            ..CallQueues::default()
        }
    }

    /// The store the queues are written to, when shared with other nodes.
    pub fn shared_store(&self) -> Option<&Store> {
        self.shared.as_ref()
    }

    /// Puts a caller in `team`'s queue, and in the shared queue when there is one. A store
    /// that fails is logged: the caller waits all the same, counted by this node only.
    pub async fn enter(
        &self,
        team: &str,
        ticket: i64,
        reference: String,
        priority: Option<Priority>,
    ) -> Place<'_, L> {
        let mut place = self.join(team, ticket, reference, priority);
        if let Some(store) = &self.shared {
            let joined = store.join_queue(ticket, team, priority, chrono::Utc::now());
            match tokio::time::timeout(STORE_WAIT, joined).await {
                Ok(Ok(spot)) => place.spot = Some(spot),
                Ok(Err(e)) => {
                    tracing::error!(error = %e, ticket, "the shared queue is not written; positions count this node only");
                }
                // A row written after all is deleted at the next start, or stops counting
                // once this call is over.
                Err(_) => {
                    tracing::error!(
                        ticket,
                        "the shared queue did not answer; positions count this node only"
                    );
                }
            }
        }
        place
    }

    /// Puts a caller in `team`'s queue (this node's memory only).
    pub fn join(
        &self,
        team: &str,
        ticket: i64,
        reference: String,
        priority: Option<Priority>,
    ) -> Place<'_, L> {
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
            left: false,
            spot: None,
        }
    }

    /// Resolves when someone leaves a queue. Create it *before* reading a position: it then
    /// catches a departure that happens between the read and the wait.
    pub fn moved(&self) -> tokio::sync::futures::Notified<'_> {
        self.moved.notified()
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
        drop(teams);
        self.moved.notify_waiters();
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
        pickup: Pickup<L>,
    ) -> Result<String, Pickup<L>> {
        let target = {
            let queues = self.lock();
            let mut candidates: Vec<&Waiting<L>> = teams
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

    fn lock(&self) -> std::sync::MutexGuard<'_, HashMap<String, Vec<Waiting<L>>>> {
        // Only plain data inside: a panic elsewhere cannot leave it half-written.
        self.teams
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    }
}

impl<L> Place<'_, L> {
    /// 1 for the head of the queue.
    pub fn position(&self) -> usize {
        self.queues.position(&self.team, self.ticket).unwrap_or(1)
    }

    /// The position to tell the caller: counted across every node when the queue is shared,
    /// this node's own when it is not or the store cannot be read (an outage must not stop
    /// the queue).
    pub async fn position_told(&self) -> usize {
        if let (Some(store), Some(spot)) = (&self.queues.shared, &self.spot) {
            let counted = store.queue_position(spot, chrono::Utc::now());
            if let Some(position) = self.read_shared(counted).await {
                return position;
            }
        }
        self.position()
    }

    /// Whether this caller is the one to offer to the team's technicians now: the head of the
    /// team's queue across every node when the queue is shared (so two nodes never ring the
    /// team for their own heads at once), this node's head when it is not or the store cannot
    /// be read in time (an outage must not stop the queue).
    pub async fn is_team_head(&self) -> bool {
        if self.position() != 1 {
            return false;
        }
        let (Some(store), Some(_)) = (&self.queues.shared, &self.spot) else {
            return true;
        };
        let head = store.queue_head(&self.team, chrono::Utc::now());
        match self.read_shared(head).await {
            // A head on this node other than this caller: memory and store disagree on the
            // order of two arrivals a moment apart. This node's own order decides among its
            // callers, or neither of the two would ever be offered.
            Some(Some(head)) => head.ticket_id == self.ticket || head.node == store.node().as_str(),
            // This caller's row is not there (deleted under it): this node's order decides.
            Some(None) | None => true,
        }
    }

    /// What `read` of the shared queue answers, or `None` (logged) when it fails or takes
    /// longer than [`STORE_WAIT`]: the caller then goes by this node's own queue.
    async fn read_shared<T>(
        &self,
        read: impl std::future::Future<Output = Result<T, crate::store::StoreError>>,
    ) -> Option<T> {
        match tokio::time::timeout(STORE_WAIT, read).await {
            Ok(Ok(answer)) => Some(answer),
            Ok(Err(e)) => {
                tracing::warn!(error = %e, ticket = self.ticket, "shared queue unreadable; going by this node's queue");
                None
            }
            Err(_) => {
                tracing::warn!(
                    ticket = self.ticket,
                    "shared queue slow; going by this node's queue"
                );
                None
            }
        }
    }

    /// Leaves the queue (taken by a technician, hung up, call-back): everyone behind moves
    /// up at once, not when this caller's conversation ends. Safe to call twice.
    pub fn leave(&mut self) {
        if std::mem::replace(&mut self.left, true) {
            return;
        }
        self.queues.leave(&self.team, self.ticket);
        if let (Some(store), Some(spot)) = (&self.queues.shared, self.spot.take()) {
            // Leaving happens in `Drop` too, which cannot await: the row is deleted in a task
            // of its own. A row left behind (no runtime, a failed delete) stops counting once
            // its ticket is closed, and the node's next start deletes it.
            let store = store.clone();
            if let Ok(runtime) = tokio::runtime::Handle::try_current() {
                runtime.spawn(async move {
                    crate::helpdesk::log_store(store.leave_queue(spot.id).await);
                });
            }
        }
        // A pick-up may already sit in the channel (sent after the caller hung up, or while
        // the caller was being offered to someone else): its leg goes back to its owner.
        // Closing first means a pick-up sent after this point is refused at `try_send`.
        self.pickups.close();
        while let Ok(pickup) = self.pickups.try_recv() {
            let _ = pickup.done.send(Some(pickup.leg));
        }
    }
}

impl<L> Drop for Place<'_, L> {
    fn drop(&mut self) {
        self.leave();
    }
}

/// The `queued` timeline event's detail when a call joins `team`'s queue. Migration 0013
/// read the team back from it for calls from before the ticket kept it (`queue_team`).
pub(super) fn queued_detail(team: &str, position: usize) -> String {
    format!("{team}, position {position}")
}

#[cfg(test)]
mod tests {
    use super::*;

    fn p(level: u8) -> Option<Priority> {
        Priority::new(level)
    }

    #[test]
    fn priority_comes_before_arrival_and_leaving_moves_everyone_up() {
        let q: CallQueues<()> = CallQueues::default();
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

    #[test]
    fn mixed_priorities_are_served_most_urgent_first_and_unknown_priority_last() {
        let q: CallQueues<()> = CallQueues::default();
        let unknown = q.join("net", 1, "none".into(), None);
        let p5 = q.join("net", 2, "P5".into(), p(5));
        let p3 = q.join("net", 3, "P3 first".into(), p(3));
        let p1 = q.join("net", 4, "P1".into(), p(1));
        let p3_later = q.join("net", 5, "P3 later".into(), p(3));
        let p2 = q.join("net", 6, "P2".into(), p(2));
        let positions = [&p1, &p2, &p3, &p3_later, &p5, &unknown].map(|w| w.position());
        assert_eq!(positions, [1, 2, 3, 4, 5, 6]);
        let board: Vec<_> = q
            .snapshot()
            .into_iter()
            .map(|e| (e.position, e.reference))
            .collect();
        let mut sorted = board.clone();
        sorted.sort();
        assert_eq!(
            sorted.into_iter().map(|(_, r)| r).collect::<Vec<_>>(),
            ["P1", "P2", "P3 first", "P3 later", "P5", "none"],
            "the board shows the same order"
        );
        // The head is served: a caller arriving now with P2 goes behind the P2 already waiting.
        drop(p1);
        let p2_later = q.join("net", 7, "P2 later".into(), p(2));
        assert_eq!(
            (p2.position(), p2_later.position(), p3.position()),
            (1, 2, 3)
        );
        assert_eq!(unknown.position(), 6, "still behind every known priority");
    }

    /// A stand-in for a technician's live leg.
    #[derive(Debug, PartialEq)]
    struct Leg(&'static str);

    fn pickup(leg: &'static str) -> (Pickup<Leg>, oneshot::Receiver<Option<Leg>>) {
        let (done, finished) = oneshot::channel();
        let pickup = Pickup {
            technician: "alice".into(),
            leg: Leg(leg),
            how: "*8 pick-up".into(),
            done,
        };
        (pickup, finished)
    }

    #[test]
    fn a_pickup_handed_over_as_the_caller_leaves_goes_back_to_the_technician() {
        let q = CallQueues::default();
        let teams = ["net".to_string()];
        let place = q.join("net", 1, "2026-000001".into(), p(3));
        let (first, mut finished) = pickup("desk phone");
        assert_eq!(
            q.pick_up(&teams, None, first).ok().as_deref(),
            Some("2026-000001")
        );
        // The caller hangs up before its task reads the channel.
        drop(place);
        assert_eq!(finished.try_recv(), Ok(Some(Leg("desk phone"))));
        // Nobody is waiting any more: the next pick-up is refused at once, leg in hand.
        let (second, _) = pickup("softphone");
        assert_eq!(
            q.pick_up(&teams, None, second).err().map(|p| p.leg),
            Some(Leg("softphone"))
        );
    }

    #[test]
    fn a_sender_cloned_before_the_caller_left_cannot_strand_a_pickup() {
        let q = CallQueues::default();
        let place = q.join("net", 1, "2026-000001".into(), p(1));
        let sender = q.lock()["net"][0].pickup.clone();
        drop(place);
        let (late, _) = pickup("desk phone");
        let refused = sender
            .try_send(late)
            .expect_err("closed when the caller left");
        assert_eq!(refused.into_inner().leg, Leg("desk phone"));
    }

    #[tokio::test]
    async fn the_next_caller_moves_up_as_soon_as_the_head_is_taken() {
        let q: CallQueues<()> = CallQueues::default();
        let mut head = q.join("net", 1, "A".into(), p(2));
        let next = q.join("net", 2, "B".into(), p(3));
        let moved = q.moved();
        assert_eq!(next.position(), 2);
        // The head is bridged: it leaves while its conversation goes on.
        head.leave();
        tokio::time::timeout(std::time::Duration::from_secs(1), moved)
            .await
            .expect("waiters are told at once");
        assert_eq!(next.position(), 1);
        head.leave();
        drop(head);
        assert_eq!(next.position(), 1, "leaving twice moves nobody");
    }
}
