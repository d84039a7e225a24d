//! The login limiter: growing delays after failed logins, per client address and per account
//! name.
//!
//! A hard lockout by name would let anyone lock a named colleague out by typing wrong
//! passwords for her; a limit per TCP peer would, behind a reverse proxy, lock everyone out at
//! once. So:
//! - per **address** (the client as `client::Client` sees it, IPv6 by its /64): after a few
//!   free failures each further attempt must wait twice as long as the previous one, up to 15
//!   minutes; an attempt too early is refused (429 with Retry-After) and not even checked.
//! - per **name**: the same growth but capped at 30 seconds, and an attempt too early is *held*
//!   until its turn, never refused: guessing a colleague's password from many addresses is
//!   slowed, and the colleague herself still gets in, at worst 30 seconds later.
//!
//! Time is passed in, so the policy is tested without waiting.

use std::collections::HashMap;
use std::net::IpAddr;
use std::sync::Mutex;
use std::time::{Duration, Instant};

/// The limiter's numbers.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct LoginDelays {
    /// Failures that cost nothing (typos).
    pub free_failures: u32,
    /// The delay after the first failure beyond the free ones; each further failure doubles it.
    pub first: Duration,
    /// The longest an address is made to wait.
    pub address_cap: Duration,
    /// The longest a login for one name is held.
    pub name_cap: Duration,
    /// A key whose last failure is this old starts again from nothing.
    pub forget_after: Duration,
}

impl Default for LoginDelays {
    fn default() -> Self {
        LoginDelays {
            free_failures: 3,
            first: Duration::from_secs(1),
            address_cap: Duration::from_secs(15 * 60),
            name_cap: Duration::from_secs(30),
            forget_after: Duration::from_secs(15 * 60),
        }
    }
}

/// What to do with a login attempt.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Admission {
    /// Check the password, after holding the request for `hold` (zero: at once).
    Check { hold: Duration },
    /// Too soon after this address's failures: refuse without checking.
    Refuse { retry_after: Duration },
}

#[derive(Debug, Clone, Copy)]
struct Failures {
    count: u32,
    last: Instant,
}

/// Entries kept per map before stale ones are swept, so a spray of names or addresses cannot
/// grow memory without bound.
const SWEEP_ABOVE: usize = 10_000;

/// Failed logins per address and per name.
#[derive(Default)]
pub struct LoginLimiter {
    delays: LoginDelays,
    addresses: Mutex<HashMap<IpAddr, Failures>>,
    names: Mutex<HashMap<String, Failures>>,
}

impl LoginLimiter {
    pub fn new(delays: LoginDelays) -> LoginLimiter {
        LoginLimiter {
            delays,
            ..LoginLimiter::default()
        }
    }

    /// Whether, and when, an attempt from `address` for `name` may be checked.
    pub fn admit(&self, address: IpAddr, name: &str, now: Instant) -> Admission {
        let d = self.delays;
        let from_address = self
            .addresses
            .lock()
            .expect("poisoned")
            .get(&address_key(address))
            .map(|f| self.remaining(f, d.address_cap, now))
            .unwrap_or_default();
        if !from_address.is_zero() {
            return Admission::Refuse {
                retry_after: from_address,
            };
        }
        let hold = self
            .names
            .lock()
            .expect("poisoned")
            .get(&name_key(name))
            .map(|f| self.remaining(f, d.name_cap, now))
            .unwrap_or_default();
        Admission::Check { hold }
    }

    /// Counts a failed login against the address and the name.
    pub fn fail(&self, address: IpAddr, name: &str, now: Instant) {
        let forget = self.delays.forget_after;
        record(
            &mut self.addresses.lock().expect("poisoned"),
            address_key(address),
            now,
            forget,
        );
        record(
            &mut self.names.lock().expect("poisoned"),
            name_key(name),
            now,
            forget,
        );
    }

    /// A good login clears the name's failures and the address's: whoever knows the password
    /// gains nothing more by guessing.
    pub fn succeed(&self, address: IpAddr, name: &str) {
        self.addresses
            .lock()
            .expect("poisoned")
            .remove(&address_key(address));
        self.names.lock().expect("poisoned").remove(&name_key(name));
    }

    /// The delay `f` has earned, minus the time since its last failure.
    fn remaining(&self, f: &Failures, cap: Duration, now: Instant) -> Duration {
        let d = self.delays;
        let since = now.saturating_duration_since(f.last);
        if since >= d.forget_after || f.count <= d.free_failures {
            return Duration::ZERO;
        }
        let doublings = (f.count - d.free_failures - 1).min(31);
        let delay = d.first.saturating_mul(1 << doublings).min(cap);
        delay.saturating_sub(since)
    }
}

fn record<K: std::hash::Hash + Eq>(
    map: &mut HashMap<K, Failures>,
    key: K,
    now: Instant,
    forget: Duration,
) {
    if map.len() > SWEEP_ABOVE {
        map.retain(|_, f| now.saturating_duration_since(f.last) < forget);
    }
    let f = map.entry(key).or_insert(Failures {
        count: 0,
        last: now,
    });
    if now.saturating_duration_since(f.last) >= forget {
        f.count = 0;
    }
    f.count = f.count.saturating_add(1);
    f.last = now;
}

/// An IPv6 client usually owns a whole /64, so its addresses count as one.
fn address_key(ip: IpAddr) -> IpAddr {
    match ip {
        IpAddr::V6(v6) => match v6.to_ipv4_mapped() {
            Some(v4) => IpAddr::V4(v4),
            None => {
                let bits = u128::from(v6) & !((1u128 << 64) - 1);
                IpAddr::V6(bits.into())
            }
        },
        v4 => v4,
    }
}

/// Names are at most 64 characters (see `add_user`); a longer one is cut so a sprayed key
/// stays small.
fn name_key(name: &str) -> String {
    name.chars().take(64).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ip(s: &str) -> IpAddr {
        s.parse().unwrap()
    }

    fn secs(s: u64) -> Duration {
        Duration::from_secs(s)
    }

    #[test]
    fn an_address_waits_twice_as_long_after_each_failure_beyond_the_free_ones() {
        let limiter = LoginLimiter::default();
        let t0 = Instant::now();
        let me = ip("192.0.2.7");
        for _ in 0..3 {
            assert_eq!(
                limiter.admit(me, "alice", t0),
                Admission::Check { hold: secs(0) }
            );
            limiter.fail(me, "alice", t0);
        }
        assert_eq!(
            limiter.admit(me, "bob", t0),
            Admission::Check { hold: secs(0) }
        );
        let mut t = t0;
        for expected in [1, 2, 4, 8] {
            limiter.fail(me, &format!("user{expected}"), t);
            assert_eq!(
                limiter.admit(me, "carol", t),
                Admission::Refuse {
                    retry_after: secs(expected)
                }
            );
            t += secs(expected);
            assert_eq!(
                limiter.admit(me, "carol", t),
                Admission::Check { hold: secs(0) }
            );
        }
    }

    #[test]
    fn an_address_waits_at_most_the_cap_and_is_forgotten_after_a_quiet_while() {
        let limiter = LoginLimiter::default();
        let t0 = Instant::now();
        let me = ip("192.0.2.7");
        for _ in 0..40 {
            limiter.fail(me, "x", t0);
        }
        assert_eq!(
            limiter.admit(me, "y", t0),
            Admission::Refuse {
                retry_after: secs(15 * 60)
            }
        );
        assert_eq!(
            limiter.admit(me, "y", t0 + secs(15 * 60)),
            Admission::Check { hold: secs(0) }
        );
    }

    #[test]
    fn failures_for_a_name_hold_its_logins_but_never_refuse_them() {
        let limiter = LoginLimiter::default();
        let t0 = Instant::now();
        // A guesser spreads over many addresses, so none of them is refused...
        for i in 0..20 {
            let guesser = ip(&format!("198.51.100.{i}"));
            limiter.fail(guesser, "alice", t0);
        }
        // ...and Alice, from her own address, is held at most 30 s, not locked out.
        assert_eq!(
            limiter.admit(ip("192.0.2.1"), "alice", t0),
            Admission::Check { hold: secs(30) }
        );
        assert_eq!(
            limiter.admit(ip("192.0.2.1"), "alice", t0 + secs(10)),
            Admission::Check { hold: secs(20) }
        );
        assert_eq!(
            limiter.admit(ip("192.0.2.1"), "bob", t0),
            Admission::Check { hold: secs(0) }
        );
        limiter.succeed(ip("192.0.2.1"), "alice");
        assert_eq!(
            limiter.admit(ip("192.0.2.1"), "alice", t0),
            Admission::Check { hold: secs(0) }
        );
    }

    #[test]
    fn an_ipv6_client_counts_as_its_64_prefix() {
        let limiter = LoginLimiter::default();
        let t0 = Instant::now();
        for i in 0..5 {
            limiter.fail(ip(&format!("2001:db8:1:2::{i}")), &format!("n{i}"), t0);
        }
        assert!(matches!(
            limiter.admit(ip("2001:db8:1:2::ffff"), "z", t0),
            Admission::Refuse { .. }
        ));
        assert!(matches!(
            limiter.admit(ip("2001:db8:1:3::1"), "z", t0),
            Admission::Check { .. }
        ));
    }
}
