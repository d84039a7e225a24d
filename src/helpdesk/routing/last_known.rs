//! The last good answer of a read, kept for when its source stops answering.
//!
//! Routing reads who to ring from the database at the moment of ringing. While the database
//! restarts those reads fail, and an urgent caller would hear "nobody available" although the
//! answer of a minute ago — this technician, these phones — is almost surely still right. So
//! every answer is kept here under its key, replaced by the next one, and recalled with its
//! age when a read does not answer. Plain data with the time passed in: no clock, no I/O.

use std::borrow::Borrow;
use std::collections::HashMap;
use std::hash::Hash;
use std::sync::Mutex;
use std::time::Duration;
use tokio::time::Instant;

/// A kept answer, and how long before the recall it was read.
#[derive(Debug, Clone, PartialEq)]
pub struct Recalled<V> {
    pub value: V,
    pub age: Duration,
}

/// The latest answer of each read, by key (one for the rota, one per technician for presence
/// and phones). Never emptied: a few entries per technician.
pub struct LastKnown<K, V> {
    kept: Mutex<HashMap<K, (V, Instant)>>,
}

impl<K, V> Default for LastKnown<K, V> {
    fn default() -> Self {
        LastKnown {
            kept: Mutex::new(HashMap::new()),
        }
    }
}

impl<K: Eq + Hash, V: Clone> LastKnown<K, V> {
    /// Keeps `value`, the answer of a read started at `read_at`, in place of the one before.
    /// Of two reads that overlap (two calls ringing at once), the one started later wins
    /// whichever finishes last: it may have seen a change the other could not.
    pub fn remember(&self, key: K, value: V, read_at: Instant) {
        let mut kept = self.kept.lock().expect("poisoned");
        match kept.get(&key) {
            Some((_, kept_at)) if *kept_at > read_at => {}
            _ => {
                kept.insert(key, (value, read_at));
            }
        }
    }

    /// The answer kept for `key`, aged as of `now`; `None` when no read of it ever succeeded.
    pub fn recall<Q>(&self, key: &Q, now: Instant) -> Option<Recalled<V>>
    where
        K: Borrow<Q>,
        Q: Eq + Hash + ?Sized,
    {
        let kept = self.kept.lock().expect("poisoned");
        kept.get(key).map(|(value, read_at)| Recalled {
            value: value.clone(),
            age: now.saturating_duration_since(*read_at),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const SECOND: Duration = Duration::from_secs(1);

    #[test]
    fn nothing_is_recalled_before_a_first_answer() {
        let kept = LastKnown::<String, u32>::default();
        assert_eq!(kept.recall("tess", Instant::now()), None);
    }

    #[test]
    fn the_answer_is_recalled_with_its_age() {
        let kept = LastKnown::default();
        let read_at = Instant::now();
        kept.remember("tess".to_string(), 1, read_at);
        assert_eq!(
            kept.recall("tess", read_at + 42 * SECOND),
            Some(Recalled {
                value: 1,
                age: 42 * SECOND
            })
        );
        assert_eq!(kept.recall("theo", read_at + 42 * SECOND), None);
    }

    #[test]
    fn a_later_answer_replaces_the_kept_one() {
        let kept = LastKnown::default();
        let first = Instant::now();
        kept.remember((), "rota 1", first);
        kept.remember((), "rota 2", first + 5 * SECOND);
        assert_eq!(
            kept.recall(&(), first + 6 * SECOND),
            Some(Recalled {
                value: "rota 2",
                age: SECOND
            })
        );
    }

    #[test]
    fn a_slow_read_started_earlier_does_not_replace_a_newer_answer() {
        let kept = LastKnown::default();
        let slow = Instant::now();
        kept.remember((), "newer", slow + SECOND);
        kept.remember((), "older", slow);
        assert_eq!(
            kept.recall(&(), slow + SECOND).map(|r| r.value),
            Some("newer")
        );
    }

    #[test]
    fn an_answer_read_in_the_future_of_the_recall_has_no_age() {
        let kept = LastKnown::default();
        let now = Instant::now();
        kept.remember((), 7, now + SECOND);
        assert_eq!(kept.recall(&(), now).map(|r| r.age), Some(Duration::ZERO));
    }
}
