//! Admission control for new calls: a global limit of calls in progress, and per source address
//! a limit of calls in progress and of new calls per minute. Beyond them a new INVITE gets 503
//! with Retry-After before any call task, RTP port or ticket exists for it.
//!
//! Why per source *and* global: the per-source limits stop one flooding address long before the
//! global limit, so callers from other addresses still find room; the global limit protects the
//! host (RTP ports, CPU) against a flood spread over many addresses.
//!
//! [`Admission`] is sans-IO (the clock is an argument); [`AdmissionControl`] shares it between
//! the endpoint and the permits that release a call's place when its dialog ends.

use crate::metrics;
use crate::sip::limits::Limits;
use std::collections::{HashMap, VecDeque};
use std::net::IpAddr;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

/// The window of the per-source new-call rate.
const RATE_WINDOW: Duration = Duration::from_secs(60);

/// Sources remembered before idle ones are swept, so spoofed UDP sources cannot grow the map
/// without bound (each entry holds at most `new_calls_per_source_per_minute` instants).
const SWEEP_ABOVE: usize = 4096;

/// Why a new call was refused; each is answered 503 with Retry-After.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum Refused {
    #[error("{limit} calls in progress in total")]
    ServerFull { limit: usize },
    #[error("{limit} calls in progress from this source")]
    SourceBusy { limit: usize },
    #[error("more than {limit} new calls in a minute from this source")]
    SourceRate { limit: usize, retry_after: Duration },
    #[error("media loops {lag_ms} ms behind (limit {limit_ms} ms): the CPU is full")]
    Overloaded { lag_ms: u64, limit_ms: u64 },
}

impl Refused {
    /// Seconds the caller should wait (the Retry-After value, RFC 3261 §20.33).
    pub fn retry_after_secs(&self) -> u64 {
        match self {
            Refused::SourceRate { retry_after, .. } => retry_after.as_secs().max(1),
            // A call lasts a few minutes; a short wait lets the caller retry soon after one ends.
            Refused::ServerFull { .. } | Refused::SourceBusy { .. } => 30,
            // Load falls as soon as a few calls end; another node may take it meanwhile.
            Refused::Overloaded { .. } => 10,
        }
    }
}

#[derive(Debug, Default)]
struct Source {
    in_progress: usize,
    recent: VecDeque<Instant>,
}

/// The admission state: calls in progress and recent call attempts per source.
#[derive(Debug)]
pub struct Admission {
    limits: Limits,
    in_progress: usize,
    sources: HashMap<IpAddr, Source>,
}

impl Admission {
    pub fn new(limits: Limits) -> Admission {
        Admission {
            limits,
            in_progress: 0,
            sources: HashMap::new(),
        }
    }

    /// Admits a new call from `source` at `now`, while the media loops are `media_lag` behind,
    /// or says why not. An admitted call counts until [`Admission::release`]; refused attempts
    /// count towards the rate too, so a source that keeps retrying stays refused.
    pub fn admit(
        &mut self,
        source: IpAddr,
        now: Instant,
        media_lag: Duration,
    ) -> Result<(), Refused> {
        if self.sources.len() > SWEEP_ABOVE {
            self.sweep(now);
        }
        let limits = &self.limits;
        let entry = self.sources.entry(source).or_default();
        while entry
            .recent
            .front()
            .is_some_and(|t| now.saturating_duration_since(*t) >= RATE_WINDOW)
        {
            entry.recent.pop_front();
        }
        if entry.recent.len() >= limits.new_calls_per_source_per_minute {
            let oldest = *entry.recent.front().unwrap_or(&now);
            return Err(Refused::SourceRate {
                limit: limits.new_calls_per_source_per_minute,
                retry_after: RATE_WINDOW.saturating_sub(now.saturating_duration_since(oldest)),
            });
        }
        entry.recent.push_back(now);
        if entry.in_progress >= limits.max_calls_per_source {
            return Err(Refused::SourceBusy {
                limit: limits.max_calls_per_source,
            });
        }
        if self.in_progress >= limits.max_calls {
            return Err(Refused::ServerFull {
                limit: limits.max_calls,
            });
        }
        let lag_ms = media_lag.as_millis() as u64;
        if limits.max_media_lag_ms > 0 && lag_ms > limits.max_media_lag_ms {
            return Err(Refused::Overloaded {
                lag_ms,
                limit_ms: limits.max_media_lag_ms,
            });
        }
        entry.in_progress += 1;
        self.in_progress += 1;
        Ok(())
    }

    /// A call admitted from `source` has ended.
    pub fn release(&mut self, source: IpAddr) {
        if let Some(entry) = self.sources.get_mut(&source) {
            entry.in_progress = entry.in_progress.saturating_sub(1);
            self.in_progress = self.in_progress.saturating_sub(1);
        }
    }

    /// Calls in progress in total.
    pub fn in_progress(&self) -> usize {
        self.in_progress
    }

    /// Forgets sources with no call in progress and no attempt in the last minute.
    fn sweep(&mut self, now: Instant) {
        self.sources.retain(|_, s| {
            s.in_progress > 0
                || s.recent
                    .back()
                    .is_some_and(|t| now.saturating_duration_since(*t) < RATE_WINDOW)
        });
    }
}

/// Refused requests since the server started, for the periodic log line.
#[derive(Debug, Default)]
pub struct RefusedCounts {
    pub scanner_requests: AtomicU64,
    pub calls_over_limits: AtomicU64,
    pub oversized_messages: AtomicU64,
    pub tcp_connections: AtomicU64,
}

impl RefusedCounts {
    /// `(scanner requests, calls over limits, oversized messages, TCP connections refused)`.
    pub fn snapshot(&self) -> (u64, u64, u64, u64) {
        let get = |c: &AtomicU64| c.load(Ordering::Relaxed);
        (
            get(&self.scanner_requests),
            get(&self.calls_over_limits),
            get(&self.oversized_messages),
            get(&self.tcp_connections),
        )
    }

    pub fn add(counter: &AtomicU64) {
        counter.fetch_add(1, Ordering::Relaxed);
    }
}

/// [`Admission`] shared between the endpoint and the calls' permits, and the refusal counters.
#[derive(Debug, Clone)]
pub struct AdmissionControl {
    state: Arc<Mutex<Admission>>,
    pub limits: Arc<Limits>,
    pub refused: Arc<RefusedCounts>,
}

/// A call's place under the limits; dropping it (when the dialog ends) frees the place.
#[derive(Debug)]
pub struct Permit {
    state: Arc<Mutex<Admission>>,
    source: IpAddr,
}

impl Drop for Permit {
    fn drop(&mut self) {
        self.state.lock().expect("poisoned").release(self.source);
        metrics::CALLS_IN_PROGRESS.dec();
    }
}

impl AdmissionControl {
    pub fn new(limits: Limits) -> AdmissionControl {
        AdmissionControl {
            state: Arc::new(Mutex::new(Admission::new(limits.clone()))),
            limits: Arc::new(limits),
            refused: Arc::default(),
        }
    }

    /// A permit for a new call from `source`, or why it is refused (counted).
    pub fn admit(&self, source: IpAddr) -> Result<Permit, Refused> {
        self.admit_at(source, Instant::now())
    }

    /// [`AdmissionControl::admit`] at `now` (the endpoint's table passes its own clock).
    pub fn admit_at(&self, source: IpAddr, now: Instant) -> Result<Permit, Refused> {
        // The media loops publish how far behind they are (`media::rtp_session`'s loops); the
        // gauge operators see is the figure that refuses calls.
        let media_lag =
            Duration::from_micros(metrics::MEDIA_LOOP_LAG_US.get().max(0).unsigned_abs());
        let admitted = self
            .state
            .lock()
            .expect("poisoned")
            .admit(source, now, media_lag);
        match admitted {
            Ok(()) => {
                metrics::CALLS_IN_PROGRESS.inc();
                Ok(Permit {
                    state: self.state.clone(),
                    source,
                })
            }
            Err(refused) => {
                RefusedCounts::add(&self.refused.calls_over_limits);
                match refused {
                    Refused::ServerFull { .. } => metrics::CALLS_REFUSED_SERVER_FULL.inc(),
                    Refused::SourceBusy { .. } => metrics::CALLS_REFUSED_SOURCE_BUSY.inc(),
                    Refused::SourceRate { .. } => metrics::CALLS_REFUSED_SOURCE_RATE.inc(),
                    Refused::Overloaded { .. } => metrics::CALLS_REFUSED_OVERLOADED.inc(),
                }
                tracing::debug!(%source, reason = %refused, "new call refused");
                Err(refused)
            }
        }
    }

    /// Calls in progress in total.
    pub fn in_progress(&self) -> usize {
        self.state.lock().expect("poisoned").in_progress()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn limits(total: usize, per_source: usize, per_minute: usize) -> Limits {
        Limits {
            max_calls: total,
            max_calls_per_source: per_source,
            new_calls_per_source_per_minute: per_minute,
            ..Limits::default()
        }
    }

    /// Media loops keeping up.
    const CALM: Duration = Duration::ZERO;

    fn ip(last: u8) -> IpAddr {
        IpAddr::from([127, 0, 0, last])
    }

    #[test]
    fn a_source_over_its_calls_in_progress_is_refused_until_one_ends() {
        let mut a = Admission::new(limits(100, 2, 100));
        let t = Instant::now();
        assert_eq!(a.admit(ip(2), t, CALM), Ok(()));
        assert_eq!(a.admit(ip(2), t, CALM), Ok(()));
        assert_eq!(
            a.admit(ip(2), t, CALM),
            Err(Refused::SourceBusy { limit: 2 })
        );
        a.release(ip(2));
        assert_eq!(a.admit(ip(2), t, CALM), Ok(()));
    }

    #[test]
    fn a_source_over_its_rate_is_refused_until_the_minute_has_passed() {
        let mut a = Admission::new(limits(100, 100, 3));
        let t = Instant::now();
        for s in 0..3 {
            assert_eq!(a.admit(ip(2), t + Duration::from_secs(s), CALM), Ok(()));
        }
        let refused = a
            .admit(ip(2), t + Duration::from_secs(10), CALM)
            .unwrap_err();
        assert_eq!(
            refused,
            Refused::SourceRate {
                limit: 3,
                retry_after: Duration::from_secs(50)
            }
        );
        assert_eq!(refused.retry_after_secs(), 50);
        assert_eq!(a.admit(ip(2), t + Duration::from_secs(60), CALM), Ok(()));
    }

    #[test]
    fn a_flooding_source_leaves_room_for_callers_from_elsewhere() {
        let mut a = Admission::new(limits(10, 4, 1000));
        let t = Instant::now();
        let admitted = (0..1000)
            .filter(|_| a.admit(ip(2), t, CALM).is_ok())
            .count();
        assert_eq!(admitted, 4);
        for caller in 3..9 {
            assert_eq!(
                a.admit(ip(caller), t, CALM),
                Ok(()),
                "caller 127.0.0.{caller}"
            );
        }
    }

    #[test]
    fn the_global_limit_holds_across_sources() {
        let mut a = Admission::new(limits(3, 2, 100));
        let t = Instant::now();
        assert!(a.admit(ip(1), t, CALM).is_ok());
        assert!(a.admit(ip(2), t, CALM).is_ok());
        assert!(a.admit(ip(3), t, CALM).is_ok());
        assert_eq!(
            a.admit(ip(4), t, CALM),
            Err(Refused::ServerFull { limit: 3 })
        );
        assert_eq!(a.in_progress(), 3);
    }

    #[test]
    fn media_loops_behind_refuse_new_calls_until_they_catch_up() {
        let mut a = Admission::new(limits(100, 100, 100));
        let t = Instant::now();
        let ms = Duration::from_millis;
        assert_eq!(
            a.admit(ip(1), t, ms(15)),
            Ok(()),
            "at the limit is not over it"
        );
        let refused = a.admit(ip(2), t, ms(16)).unwrap_err();
        assert_eq!(
            refused,
            Refused::Overloaded {
                lag_ms: 16,
                limit_ms: 15
            }
        );
        assert_eq!(refused.retry_after_secs(), 10);
        // Refused calls hold no place: the calls in progress are the one admitted.
        assert_eq!(a.in_progress(), 1);
        assert_eq!(a.admit(ip(2), t, ms(3)), Ok(()));
    }

    #[test]
    fn a_zero_media_lag_limit_turns_the_overload_check_off() {
        let mut a = Admission::new(Limits {
            max_media_lag_ms: 0,
            ..limits(100, 100, 100)
        });
        let t = Instant::now();
        assert_eq!(a.admit(ip(1), t, Duration::from_secs(1)), Ok(()));
    }

    #[test]
    fn idle_sources_are_forgotten_so_spoofed_addresses_cannot_grow_memory() {
        let mut a = Admission::new(limits(100_000, 10, 10));
        let t = Instant::now();
        for n in 0..(SWEEP_ABOVE as u32 + 10) {
            let source = IpAddr::from(n.to_be_bytes());
            let _ = a.admit(source, t, CALM);
            a.release(source);
        }
        a.admit(ip(1), t + RATE_WINDOW, CALM).unwrap();
        assert!(a.sources.len() < 10, "{} sources kept", a.sources.len());
    }

    #[test]
    fn dropping_a_permit_frees_its_place() {
        let control = AdmissionControl::new(limits(1, 1, 100));
        let permit = control.admit(ip(1)).unwrap();
        assert!(control.admit(ip(2)).is_err());
        drop(permit);
        assert!(control.admit(ip(2)).is_ok());
        assert_eq!(control.refused.snapshot().1, 1);
    }
}
