//! Ringing one escalation step: every reachable phone of the technician at once (a parallel
//! fork, RFC 3261 §16.7's rules seen from the forking side). Sans-IO: the routing task feeds it
//! what each branch answered and when the step's time is up; it says which branches to cancel
//! or hang up and when the step is decided.

use std::fmt;

/// One phone being rung, by its position in the step.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct BranchId(pub usize);

/// How a branch ended, as the ticket's timeline tells it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum BranchEnd {
    /// 200 OK: this phone took the call.
    Answered,
    /// 486 Busy Here / 600 Busy Everywhere.
    Busy,
    /// 603 Decline (the technician pressed "reject").
    Declined,
    /// Rang until the step's time was up (then cancelled).
    NoAnswer,
    /// 408, 480, 503, any other failure, or no response at all (Timer B): the phone cannot
    /// be reached now, so there is no point waiting for the step's full time.
    Unreachable,
    /// Cancelled because another branch answered first.
    Cancelled,
}

impl BranchEnd {
    /// Stable text for the ticket's timeline.
    pub fn as_str(self) -> &'static str {
        match self {
            BranchEnd::Answered => "answered",
            BranchEnd::Busy => "busy",
            BranchEnd::Declined => "declined",
            BranchEnd::NoAnswer => "no answer",
            BranchEnd::Unreachable => "unreachable",
            BranchEnd::Cancelled => "cancelled",
        }
    }

    /// What a final status code means for the branch.
    pub fn from_status(code: u16) -> BranchEnd {
        match code {
            200..=299 => BranchEnd::Answered,
            486 | 600 => BranchEnd::Busy,
            603 => BranchEnd::Declined,
            _ => BranchEnd::Unreachable,
        }
    }
}

impl fmt::Display for BranchEnd {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// What the routing task must do for a branch.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ForkAction {
    /// CANCEL the pending INVITE (§9.1).
    Cancel(BranchId),
    /// It answered after another branch won: ACK its 2xx, then BYE (§13.2.2.4 obliges the ACK).
    HangUp(BranchId),
}

/// How the step ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum StepOutcome {
    /// This branch answered first; every other one has been told to stop.
    Answered(BranchId),
    /// Every phone said busy or declined, or could not be reached: move on at once.
    Refused,
    /// The step's ring time passed.
    NoAnswer,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum BranchState {
    Trying,
    Ringing,
    Ended(BranchEnd),
}

/// The branches of one escalation step.
#[derive(Debug)]
pub struct Fork {
    branches: Vec<BranchState>,
    outcome: Option<StepOutcome>,
}

impl Fork {
    /// A step ringing `n` phones.
    pub fn new(n: usize) -> Fork {
        Fork {
            branches: vec![BranchState::Trying; n],
            outcome: (n == 0).then_some(StepOutcome::Refused),
        }
    }

    /// The step's decision, once there is one.
    pub fn outcome(&self) -> Option<StepOutcome> {
        self.outcome
    }

    /// How each branch ended (`None` while it is still pending).
    pub fn ends(&self) -> Vec<Option<BranchEnd>> {
        self.branches
            .iter()
            .map(|b| match b {
                BranchState::Ended(e) => Some(*e),
                _ => None,
            })
            .collect()
    }

    /// A 1xx arrived on `branch`.
    pub fn on_provisional(&mut self, branch: BranchId) {
        if let Some(b @ BranchState::Trying) = self.branches.get_mut(branch.0) {
            *b = BranchState::Ringing;
        }
    }

    /// A final response (or a transaction timeout, as 408) arrived on `branch`.
    pub fn on_final(&mut self, branch: BranchId, status: u16) -> Vec<ForkAction> {
        let end = BranchEnd::from_status(status);
        let Some(state) = self.branches.get(branch.0).copied() else {
            return Vec::new();
        };
        if end == BranchEnd::Answered {
            if self.outcome.is_some() {
                // Two phones answered at once, or one answered after the step was decided:
                // the loser's dialog exists now and must be ended.
                if !matches!(state, BranchState::Ended(BranchEnd::Answered)) {
                    self.branches[branch.0] = BranchState::Ended(BranchEnd::Cancelled);
                }
                return vec![ForkAction::HangUp(branch)];
            }
            self.branches[branch.0] = BranchState::Ended(BranchEnd::Answered);
            self.outcome = Some(StepOutcome::Answered(branch));
            return self.stop_pending(BranchEnd::Cancelled);
        }
        if let BranchState::Ended(_) = state {
            return Vec::new(); // the 487 that answers our CANCEL, or a late failure
        }
        self.branches[branch.0] = BranchState::Ended(end);
        if self.outcome.is_none()
            && self
                .branches
                .iter()
                .all(|b| matches!(b, BranchState::Ended(_)))
        {
            self.outcome = Some(StepOutcome::Refused);
        }
        Vec::new()
    }

    /// The step's ring time is up.
    pub fn on_timeout(&mut self) -> Vec<ForkAction> {
        if self.outcome.is_some() {
            return Vec::new();
        }
        self.outcome = Some(StepOutcome::NoAnswer);
        self.stop_pending(BranchEnd::NoAnswer)
    }

    /// The caller hung up while phones rang: stop them all.
    pub fn abandon(&mut self) -> Vec<ForkAction> {
        let actions = self.stop_pending(BranchEnd::Cancelled);
        self.outcome.get_or_insert(StepOutcome::NoAnswer);
        actions
    }

    fn stop_pending(&mut self, end: BranchEnd) -> Vec<ForkAction> {
        let mut actions = Vec::new();
        for (i, b) in self.branches.iter_mut().enumerate() {
            if matches!(b, BranchState::Trying | BranchState::Ringing) {
                *b = BranchState::Ended(end);
                actions.push(ForkAction::Cancel(BranchId(i)));
            }
        }
        actions
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_first_200_wins_and_the_other_phones_are_cancelled() {
        let mut fork = Fork::new(3);
        fork.on_provisional(BranchId(0));
        fork.on_provisional(BranchId(2));
        let actions = fork.on_final(BranchId(2), 200);
        assert_eq!(fork.outcome(), Some(StepOutcome::Answered(BranchId(2))));
        assert_eq!(
            actions,
            [
                ForkAction::Cancel(BranchId(0)),
                ForkAction::Cancel(BranchId(1))
            ]
        );
        assert_eq!(
            fork.ends(),
            [
                Some(BranchEnd::Cancelled),
                Some(BranchEnd::Cancelled),
                Some(BranchEnd::Answered)
            ]
        );
    }

    #[test]
    fn a_second_phone_answering_at_the_same_time_is_hung_up() {
        let mut fork = Fork::new(2);
        fork.on_final(BranchId(0), 200);
        assert_eq!(
            fork.on_final(BranchId(1), 200),
            [ForkAction::HangUp(BranchId(1))]
        );
        assert_eq!(fork.outcome(), Some(StepOutcome::Answered(BranchId(0))));
        assert_eq!(fork.on_final(BranchId(1), 487), [], "late 487 ignored");
    }

    #[test]
    fn busy_and_declined_everywhere_moves_on_without_waiting() {
        let mut fork = Fork::new(2);
        fork.on_final(BranchId(0), 486);
        assert_eq!(fork.outcome(), None, "one phone still rings");
        fork.on_final(BranchId(1), 603);
        assert_eq!(fork.outcome(), Some(StepOutcome::Refused));
        assert_eq!(
            fork.ends(),
            [Some(BranchEnd::Busy), Some(BranchEnd::Declined)]
        );
    }

    #[test]
    fn unreachable_phones_end_the_step_early() {
        let mut fork = Fork::new(1);
        fork.on_final(BranchId(0), 408);
        assert_eq!(fork.outcome(), Some(StepOutcome::Refused));
        assert_eq!(fork.ends(), [Some(BranchEnd::Unreachable)]);
    }

    #[test]
    fn time_up_cancels_every_ringing_phone() {
        let mut fork = Fork::new(2);
        fork.on_provisional(BranchId(0));
        fork.on_final(BranchId(1), 480);
        assert_eq!(fork.on_timeout(), [ForkAction::Cancel(BranchId(0))]);
        assert_eq!(fork.outcome(), Some(StepOutcome::NoAnswer));
        assert_eq!(
            fork.ends(),
            [Some(BranchEnd::NoAnswer), Some(BranchEnd::Unreachable)]
        );
        assert_eq!(
            fork.on_final(BranchId(0), 200),
            [ForkAction::HangUp(BranchId(0))],
            "a 200 racing our CANCEL is hung up"
        );
    }

    #[test]
    fn a_step_without_phones_is_refused_at_once() {
        assert_eq!(Fork::new(0).outcome(), Some(StepOutcome::Refused));
    }
}
