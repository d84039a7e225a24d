//! The RFC 3261 timer base values (§17.1.1.1, Table 4).

use std::time::Duration;

/// T1 (RTT estimate), T2 (cap on non-INVITE retransmission interval) and T4 (how long a message
/// may linger in the network). Configurable so tests and odd networks can change them.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Timers {
    pub t1: Duration,
    pub t2: Duration,
    pub t4: Duration,
}

impl Default for Timers {
    fn default() -> Self {
        Timers {
            t1: Duration::from_millis(500),
            t2: Duration::from_secs(4),
            t4: Duration::from_secs(5),
        }
    }
}

impl Timers {
    /// 64·T1: Timers B, F, H, J and L — how long a transaction keeps trying.
    pub fn timeout(&self) -> Duration {
        self.t1 * 64
    }

    /// The next retransmission interval: doubled, capped at T2 (Timers E and G).
    pub fn backoff(&self, current: Duration) -> Duration {
        (current * 2).min(self.t2)
    }
}
