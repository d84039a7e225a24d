//! The send clock: frame `n` is due at `start + n × 20 ms` on the monotonic clock.
//!
//! Deadlines are computed from the start, never by adding 20 ms to the previous wake-up: each
//! wake-up is a little late (timer granularity, scheduling), and a loop of `sleep(20 ms)`
//! accumulates that lateness, so a long call would drift behind the phone's clock by seconds
//! per hour and its jitter buffer would keep stretching. With absolute deadlines a late wake-up
//! only delays that one packet.
//!
//! Sans-IO: the sender passes in the current time, so the tests need no sleeping.

use super::FRAME;
use std::time::Duration;
use tokio::time::Instant;

/// How late the sender may wake and still send every frame it owes.
///
/// Up to this, the frames owed go out back to back (at most 5 packets): a phone's jitter
/// buffer (typically 40–100 ms) absorbs that and no audio is lost. Later than this, those
/// packets would arrive after the phone had to play their slot anyway, so they would be thrown
/// away, and a big burst can overflow a small jitter buffer or make an adaptive one grow and
/// keep the extra delay for the rest of the call. So the stream skips forward in its timeline:
/// to the phone it looks like a short loss, which it conceals.
pub const MAX_LATENESS: Duration = Duration::from_millis(100);

/// The frame to send now.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Tick {
    /// Index of the frame on the media timeline (0 at the start of the session).
    pub index: u64,
    /// Frames jumped over just before this one because the sender woke too late.
    pub skipped: u64,
}

#[derive(Debug)]
pub struct Pacer {
    start: Instant,
    next: u64,
}

impl Pacer {
    pub fn new(start: Instant) -> Self {
        Pacer { start, next: 0 }
    }

    fn due(&self, index: u64) -> Instant {
        // Integer nanoseconds: exact for any call length, no floating-point creep.
        self.start + Duration::from_nanos(FRAME.as_nanos() as u64 * index)
    }

    /// When the next frame is due.
    pub fn deadline(&self) -> Instant {
        self.due(self.next)
    }

    /// The frame to send on waking at `now` (at or after [`Pacer::deadline`]).
    pub fn tick(&mut self, now: Instant) -> Tick {
        let mut skipped = 0;
        if now > self.deadline() + MAX_LATENESS {
            // Resume with the latest frame already due; the ones before it are skipped.
            let latest = (now - self.start).as_nanos() as u64 / FRAME.as_nanos() as u64;
            skipped = latest - self.next;
            self.next = latest;
        }
        let index = self.next;
        self.next += 1;
        Tick { index, skipped }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const MS: Duration = Duration::from_millis(1);

    #[test]
    fn deadlines_stay_on_the_20_ms_grid_however_late_each_wake_up_is() {
        let start = Instant::now();
        let mut pacer = Pacer::new(start);
        // An hour of wake-ups, each 3 ms late: no lateness carries into the next deadline.
        for n in 0..180_000u64 {
            assert_eq!(pacer.deadline(), start + FRAME * n as u32);
            let tick = pacer.tick(pacer.deadline() + 3 * MS);
            assert_eq!(
                tick,
                Tick {
                    index: n,
                    skipped: 0
                }
            );
        }
        assert_eq!(pacer.deadline(), start + Duration::from_secs(3600));
    }

    #[test]
    fn a_short_stall_is_caught_up_with_back_to_back_frames() {
        let start = Instant::now();
        let mut pacer = Pacer::new(start);
        pacer.tick(start);
        // Woken 70 ms after frame 1 was due: frames 1..=4 are all owed and all sent.
        let now = start + 90 * MS;
        let mut sent = Vec::new();
        while pacer.deadline() <= now {
            sent.push(pacer.tick(now));
        }
        assert_eq!(
            sent.iter().map(|t| t.index).collect::<Vec<_>>(),
            [1, 2, 3, 4]
        );
        assert!(sent.iter().all(|t| t.skipped == 0));
        assert_eq!(pacer.deadline(), start + 100 * MS);
    }

    #[test]
    fn a_long_stall_skips_forward_instead_of_bursting() {
        let start = Instant::now();
        let mut pacer = Pacer::new(start);
        for _ in 0..10 {
            pacer.tick(pacer.deadline());
        }
        // Frame 10 was due at 200 ms; waking at 450 ms is 250 ms late.
        let tick = pacer.tick(start + 450 * MS);
        assert_eq!(
            tick,
            Tick {
                index: 22,
                skipped: 12
            }
        );
        assert_eq!(pacer.deadline(), start + 460 * MS);
    }
}
