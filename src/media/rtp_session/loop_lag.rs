//! How far behind the media loops are: for each loop, how late it finishes its 20 ms rounds
//! (woken late because the CPU is busy, plus the time to serve its calls), smoothed over about
//! the last second; the slowest loop's figure is published as `hotline_media_loop_lag_seconds`
//! and admission refuses new calls above `limits.max_media_lag_ms` (issue 16: beyond capacity,
//! refuse new calls early rather than make every caller's audio late).

use crate::metrics;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, PoisonError, Weak};
use std::time::Duration;

/// Weight of a new round: 1/32, about 0.64 s of 20 ms rounds, so one slow round (a page fault,
/// a compile on the same machine) does not refuse calls, a CPU that stays full does.
const SMOOTHING: i64 = 32;

/// The smoothed lag after one more round that finished `round` late (microseconds).
pub(super) fn smoothed(previous_us: u64, round: Duration) -> u64 {
    let sample = i64::try_from(round.as_micros()).unwrap_or(i64::MAX / 2);
    let previous = previous_us as i64;
    (previous + (sample - previous) / SMOOTHING).max(0) as u64
}

/// Every runtime's loops (a server runs one runtime; a test process runs many, and the gauge
/// must not be whichever loop wrote last).
static ALL: Mutex<Vec<Weak<[AtomicU64]>>> = Mutex::new(Vec::new());

/// One slot per loop of a runtime; each loop writes its own and publishes the slowest of all.
#[derive(Debug, Clone)]
pub(super) struct LoopLags(Arc<[AtomicU64]>);

impl LoopLags {
    pub(super) fn new(loops: usize) -> Self {
        let slots: Arc<[AtomicU64]> = (0..loops).map(|_| AtomicU64::new(0)).collect();
        let mut all = ALL.lock().unwrap_or_else(PoisonError::into_inner);
        all.retain(|slots| slots.strong_count() > 0);
        all.push(Arc::downgrade(&slots));
        LoopLags(slots)
    }

    /// Once per round and loop: a lock held for a few loads (two loops, 100 times a second).
    pub(super) fn publish(&self, index: usize, lag_us: u64) {
        self.0[index].store(lag_us, Ordering::Relaxed);
        let all = ALL.lock().unwrap_or_else(PoisonError::into_inner);
        let mut slowest = 0;
        for slots in all.iter().filter_map(Weak::upgrade) {
            for lag in slots.iter() {
                slowest = slowest.max(lag.load(Ordering::Relaxed));
            }
        }
        metrics::MEDIA_LOOP_LAG_US.set(slowest as i64);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn one_slow_round_moves_the_lag_a_little_a_full_cpu_moves_it_all_the_way() {
        let ms = Duration::from_millis;
        let mut lag = 0;
        lag = smoothed(lag, ms(40));
        assert!(lag < 2_000, "one 40 ms round: {lag} µs");
        for _ in 0..50 {
            lag = smoothed(lag, ms(1));
        }
        assert!(lag < 1_500, "back to 1 ms rounds: {lag} µs");
        for _ in 0..100 {
            lag = smoothed(lag, ms(25));
        }
        assert!(
            (20_000..=25_000).contains(&lag),
            "two seconds of 25 ms: {lag} µs"
        );
    }
}
