//! The estimated response time told to the caller.
//!
//! A simple queue model: the open tickets ahead of this one (same or higher priority, older)
//! share the technicians on duty, each taking about `handling` to answer; the caller waits for
//! their turn, but never less than a floor (nobody answers instantly) and, when the queue is
//! short, about the priority's target. What is spoken is rounded the way people say durations,
//! and the rounded value is what the ticket stores — the caller and the log agree.

use std::time::Duration;

/// What the estimate is computed from.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct QueueState {
    /// Open tickets that will be handled before this one.
    pub ahead: u32,
    /// Technicians on duty now (0 means the queue waits for the next shift).
    pub on_duty: u32,
    /// The priority's target response time.
    pub target: Duration,
}

/// Average time a technician spends on a ticket before taking the next one.
pub const HANDLING_TIME: Duration = Duration::from_secs(20 * 60);
/// Nobody is called back sooner than this.
pub const FLOOR: Duration = Duration::from_secs(5 * 60);
/// With nobody on duty, the next shift starts within this much.
pub const NO_STAFF_WAIT: Duration = Duration::from_secs(8 * 3600);

/// The wait a caller should expect, rounded to how it is spoken.
pub fn estimate_response_time(state: QueueState) -> Duration {
    let queue_wait = if state.on_duty == 0 {
        NO_STAFF_WAIT + HANDLING_TIME * state.ahead
    } else {
        // Everyone ahead is shared among the technicians; this ticket is taken once the
        // batches ahead are done.
        HANDLING_TIME * state.ahead.div_ceil(state.on_duty)
    };
    // With an empty queue the team still works to its target, not instantly: expect about
    // half of it (a fresh P1 is picked up fast, a P5 waits for a quiet moment).
    let wait = queue_wait.max(state.target / 2).max(FLOOR);
    round_for_speech(wait)
}

/// Rounds the way a helpdesk says durations: 5-minute steps up to an hour, quarter hours up to
/// two hours, whole hours up to two days, then whole days.
pub fn round_for_speech(d: Duration) -> Duration {
    let minutes = d.as_secs().div_ceil(60);
    let rounded = if minutes <= 60 {
        minutes.div_ceil(5) * 5
    } else if minutes <= 120 {
        minutes.div_ceil(15) * 15
    } else if minutes <= 48 * 60 {
        minutes.div_ceil(60) * 60
    } else {
        minutes.div_ceil(24 * 60) * 24 * 60
    };
    Duration::from_secs(rounded.max(5) * 60)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn mins(m: u64) -> Duration {
        Duration::from_secs(m * 60)
    }

    #[test]
    fn empty_queue_waits_about_half_the_target_but_at_least_the_floor() {
        let s = QueueState {
            ahead: 0,
            on_duty: 2,
            target: mins(15),
        };
        assert_eq!(estimate_response_time(s), mins(10));
        let s = QueueState {
            ahead: 0,
            on_duty: 2,
            target: mins(240),
        };
        assert_eq!(estimate_response_time(s), mins(120));
    }

    #[test]
    fn a_longer_queue_means_a_longer_wait_and_more_staff_a_shorter_one() {
        let one = estimate_response_time(QueueState {
            ahead: 6,
            on_duty: 1,
            target: mins(15),
        });
        let three = estimate_response_time(QueueState {
            ahead: 6,
            on_duty: 3,
            target: mins(15),
        });
        assert_eq!(one, mins(120));
        assert_eq!(three, mins(40));
    }

    #[test]
    fn nobody_on_duty_waits_for_the_next_shift() {
        let s = QueueState {
            ahead: 0,
            on_duty: 0,
            target: mins(15),
        };
        assert_eq!(estimate_response_time(s), mins(480));
    }

    #[test]
    fn rounding_follows_speech() {
        assert_eq!(round_for_speech(mins(7)), mins(10));
        assert_eq!(round_for_speech(mins(61)), mins(75));
        assert_eq!(round_for_speech(mins(130)), mins(180));
        assert_eq!(round_for_speech(mins(3000)), mins(3 * 1440));
    }
}
