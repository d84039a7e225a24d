//! When the next escalation step rings. Sans-IO: the routing task tells it how many phones of
//! a step could be dialled, what each answered and what time it is; it says which phones to
//! stop and which step rings now, until when. Nothing here sleeps or reads a clock, so the
//! timings are tested with explicit instants.
//!
//! The rules: a step rings for its ring time and no longer; when every phone of a step said
//! busy or declined (486/600/603) or cannot be reached (408, 480, 503, a transaction timeout),
//! the next step rings at that moment, not when the ring time would have run out; a phone that
//! answered but whose technician passed moves on at once too; after the last step the call
//! goes to the dialplan's no-answer target; the caller's hang-up stops every phone.

use super::fork::{BranchId, Fork, ForkAction, StepOutcome};
use std::time::Duration;
use tokio::time::Instant;

/// Where the escalation stands.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Stage {
    /// Step `step` (0 for the first) rings from `since`; its phones are cancelled at `until`.
    Ringing {
        step: usize,
        since: Instant,
        until: Instant,
    },
    /// A phone of `step` answered first: its technician hears the announcement and decides.
    Offered { step: usize, branch: BranchId },
    /// Every step rang and nobody took the call: the dialplan's no-answer target.
    NoAnswer,
    /// The caller hung up.
    Abandoned,
}

/// One caller's way through the escalation steps.
#[derive(Debug)]
pub struct Escalation {
    /// Each step's ring time, in order.
    rings: Vec<Duration>,
    stage: Stage,
    /// The phones of the step last dialled; kept after the step is decided so how each ended
    /// can still be read (and a late answer on it hung up) until the next step is dialled.
    fork: Fork,
}

impl Escalation {
    /// Steps ringing `rings` long each; the first rings at `now`.
    pub fn start(rings: impl IntoIterator<Item = Duration>, now: Instant) -> Escalation {
        let mut escalation = Escalation {
            rings: rings.into_iter().collect(),
            stage: Stage::NoAnswer,
            fork: Fork::new(0),
        };
        escalation.ring(0, now);
        escalation
    }

    pub fn stage(&self) -> Stage {
        self.stage
    }

    /// When the ringing step's time is up, if a step is ringing.
    pub fn deadline(&self) -> Option<Instant> {
        match self.stage {
            Stage::Ringing { until, .. } => Some(until),
            _ => None,
        }
    }

    /// The phones of the step last dialled.
    pub fn fork(&self) -> &Fork {
        &self.fork
    }

    /// `phones` of the ringing step could be dialled at `now`; none at all moves on at once.
    pub fn dialled(&mut self, phones: usize, now: Instant) {
        self.fork = Fork::new(phones);
        self.decide(None, now);
    }

    /// A 1xx arrived from a phone of the ringing step.
    pub fn on_provisional(&mut self, branch: BranchId) {
        self.fork.on_provisional(branch);
    }

    /// A final response (a transaction timeout counts as 408) arrived from a phone at `now`.
    pub fn on_final(&mut self, branch: BranchId, status: u16, now: Instant) -> Vec<ForkAction> {
        let before = self.fork.outcome();
        let actions = self.fork.on_final(branch, status);
        self.decide(before, now);
        actions
    }

    /// The clock says `now`: at or after the ringing step's deadline its phones are stopped
    /// and the next step rings.
    pub fn on_time(&mut self, now: Instant) -> Vec<ForkAction> {
        match self.stage {
            Stage::Ringing { until, .. } if now >= until && self.fork.outcome().is_none() => {
                let actions = self.fork.on_timeout();
                self.decide(None, now);
                actions
            }
            _ => Vec::new(),
        }
    }

    /// The phone offered the call could not be connected, or its technician passed: the next
    /// step rings at `now`.
    pub fn not_taken(&mut self, now: Instant) {
        if let Stage::Offered { step, .. } = self.stage {
            self.ring(step + 1, now);
        }
    }

    /// The caller hung up: every phone still ringing is cancelled.
    pub fn abandon(&mut self) -> Vec<ForkAction> {
        self.stage = Stage::Abandoned;
        self.fork.abandon()
    }

    /// Moves on when the step's phones just decided it (`before` is the outcome before the
    /// input, so an input on an already decided step changes nothing).
    fn decide(&mut self, before: Option<StepOutcome>, now: Instant) {
        let Stage::Ringing { step, .. } = self.stage else {
            return;
        };
        if before.is_some() {
            return;
        }
        match self.fork.outcome() {
            None => {}
            Some(StepOutcome::Answered(branch)) => self.stage = Stage::Offered { step, branch },
            Some(StepOutcome::Refused | StepOutcome::NoAnswer) => self.ring(step + 1, now),
        }
    }

    fn ring(&mut self, step: usize, now: Instant) {
        self.stage = match self.rings.get(step) {
            Some(ring) => Stage::Ringing {
                step,
                since: now,
                until: now + *ring,
            },
            None => Stage::NoAnswer,
        };
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const S: Duration = Duration::from_secs(1);

    fn ringing(step: usize, since: Instant, ring: Duration) -> Stage {
        Stage::Ringing {
            step,
            since,
            until: since + ring,
        }
    }

    #[test]
    fn an_unanswered_step_rings_its_full_time_then_the_next_rings_at_that_instant() {
        let t0 = Instant::now();
        let mut e = Escalation::start([20 * S, 15 * S], t0);
        assert_eq!(e.stage(), ringing(0, t0, 20 * S));
        e.dialled(2, t0);
        e.on_provisional(BranchId(0));
        let almost = t0 + 20 * S - Duration::from_millis(1);
        assert_eq!(e.on_time(almost), [], "not a millisecond early");
        assert_eq!(e.stage(), ringing(0, t0, 20 * S));
        assert_eq!(
            e.on_time(t0 + 20 * S),
            [
                ForkAction::Cancel(BranchId(0)),
                ForkAction::Cancel(BranchId(1))
            ]
        );
        assert_eq!(e.stage(), ringing(1, t0 + 20 * S, 15 * S));
        assert_eq!(e.deadline(), Some(t0 + 35 * S));
    }

    #[test]
    fn a_decline_moves_on_at_the_moment_it_arrives() {
        let t0 = Instant::now();
        let mut e = Escalation::start([20 * S, 15 * S], t0);
        e.dialled(1, t0);
        e.on_provisional(BranchId(0));
        assert_eq!(e.on_final(BranchId(0), 603, t0 + 3 * S), []);
        assert_eq!(e.stage(), ringing(1, t0 + 3 * S, 15 * S));
    }

    #[test]
    fn a_busy_phone_waits_for_the_others_of_its_step() {
        let t0 = Instant::now();
        let mut e = Escalation::start([20 * S, 15 * S], t0);
        e.dialled(2, t0);
        e.on_final(BranchId(0), 486, t0 + 2 * S);
        assert_eq!(
            e.stage(),
            ringing(0, t0, 20 * S),
            "the other phone rings on"
        );
        e.on_final(BranchId(1), 486, t0 + 4 * S);
        assert_eq!(e.stage(), ringing(1, t0 + 4 * S, 15 * S));
    }

    #[test]
    fn an_unreachable_phone_moves_on_without_waiting_the_ring_time() {
        for status in [503, 408, 480] {
            let t0 = Instant::now();
            let mut e = Escalation::start([20 * S, 15 * S], t0);
            e.dialled(1, t0);
            e.on_final(BranchId(0), status, t0 + S);
            assert_eq!(e.stage(), ringing(1, t0 + S, 15 * S), "{status}");
        }
    }

    #[test]
    fn a_step_with_no_phone_to_dial_moves_on_at_once() {
        let t0 = Instant::now();
        let mut e = Escalation::start([20 * S, 15 * S], t0);
        e.dialled(0, t0 + Duration::from_millis(5));
        assert_eq!(e.stage(), ringing(1, t0 + Duration::from_millis(5), 15 * S));
    }

    #[test]
    fn after_the_last_step_the_call_goes_to_the_no_answer_target() {
        let t0 = Instant::now();
        let mut e = Escalation::start([20 * S, 15 * S], t0);
        e.dialled(1, t0);
        e.on_time(t0 + 20 * S);
        e.dialled(1, t0 + 20 * S);
        assert_eq!(e.on_time(t0 + 35 * S), [ForkAction::Cancel(BranchId(0))]);
        assert_eq!(e.stage(), Stage::NoAnswer);
        assert_eq!(e.deadline(), None);
        assert_eq!(e.on_time(t0 + 60 * S), [], "nothing more rings");
        assert_eq!(
            Escalation::start(std::iter::empty(), t0).stage(),
            Stage::NoAnswer
        );
    }

    #[test]
    fn an_answer_is_offered_and_a_pass_rings_the_next_step_at_once() {
        let t0 = Instant::now();
        let mut e = Escalation::start([20 * S, 15 * S], t0);
        e.dialled(2, t0);
        assert_eq!(
            e.on_final(BranchId(1), 200, t0 + 5 * S),
            [ForkAction::Cancel(BranchId(0))]
        );
        let offered = Stage::Offered {
            step: 0,
            branch: BranchId(1),
        };
        assert_eq!(e.stage(), offered);
        assert_eq!(e.on_time(t0 + 20 * S), [], "the ring time no longer counts");
        assert_eq!(e.stage(), offered);
        e.not_taken(t0 + 31 * S);
        assert_eq!(e.stage(), ringing(1, t0 + 31 * S, 15 * S));
    }

    #[test]
    fn a_late_answer_on_a_decided_step_is_hung_up_and_changes_nothing() {
        let t0 = Instant::now();
        let mut e = Escalation::start([20 * S, 15 * S], t0);
        e.dialled(1, t0);
        e.on_time(t0 + 20 * S);
        assert_eq!(
            e.on_final(BranchId(0), 200, t0 + 20 * S + Duration::from_millis(30)),
            [ForkAction::HangUp(BranchId(0))]
        );
        assert_eq!(e.stage(), ringing(1, t0 + 20 * S, 15 * S));
    }

    #[test]
    fn the_callers_hang_up_stops_every_phone_and_ends_the_escalation() {
        let t0 = Instant::now();
        let mut e = Escalation::start([20 * S, 15 * S], t0);
        e.dialled(3, t0);
        e.on_final(BranchId(1), 486, t0 + S);
        assert_eq!(
            e.abandon(),
            [
                ForkAction::Cancel(BranchId(0)),
                ForkAction::Cancel(BranchId(2))
            ]
        );
        assert_eq!(e.stage(), Stage::Abandoned);
        assert_eq!(e.on_time(t0 + 20 * S), []);
        assert_eq!(e.stage(), Stage::Abandoned);
    }
}
