//! ITIL priority: impact × urgency, with a target response time per priority.

use super::{Impact, Urgency};
use serde::{Deserialize, Serialize};
use std::fmt;
use std::str::FromStr;
use std::time::Duration;

/// P1 (critical) to P5 (planning).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub struct Priority(u8);

/// Text that is not a priority.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("unknown priority `{0}` (expected P1, P2, P3, P4 or P5)")]
pub struct InvalidPriority(pub String);

impl Priority {
    pub const ALL: [Priority; 5] = [
        Priority(1),
        Priority(2),
        Priority(3),
        Priority(4),
        Priority(5),
    ];

    pub fn new(level: u8) -> Option<Priority> {
        (1..=5).contains(&level).then_some(Priority(level))
    }

    /// 1 (most urgent) to 5.
    pub fn level(self) -> u8 {
        self.0
    }

    /// The ITIL name shown next to the level.
    pub fn label(self) -> &'static str {
        match self.0 {
            1 => "critical",
            2 => "high",
            3 => "medium",
            4 => "low",
            _ => "planning",
        }
    }
}

impl fmt::Display for Priority {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "P{}", self.0)
    }
}

impl FromStr for Priority {
    type Err = InvalidPriority;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        s.strip_prefix(['P', 'p'])
            .and_then(|n| n.parse().ok())
            .and_then(Priority::new)
            .ok_or_else(|| InvalidPriority(s.into()))
    }
}

impl TryFrom<String> for Priority {
    type Error = InvalidPriority;
    fn try_from(s: String) -> Result<Self, Self::Error> {
        s.parse()
    }
}

impl From<Priority> for String {
    fn from(p: Priority) -> String {
        p.to_string()
    }
}

/// The impact × urgency matrix and the response target of each priority, configurable in
/// `hotline.toml` under `[priorities]`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct PriorityMatrix {
    /// Rows by impact (organisation, team, individual), columns by urgency (blocked, degraded, request).
    pub organisation: [Priority; 3],
    pub team: [Priority; 3],
    pub individual: [Priority; 3],
    /// Target time to first response, in minutes, for P1..P5.
    pub target_minutes: [u32; 5],
}

impl Default for PriorityMatrix {
    /// The usual ITIL 3×3 matrix.
    fn default() -> Self {
        let p = |n| Priority(n);
        PriorityMatrix {
            organisation: [p(1), p(2), p(3)],
            team: [p(2), p(3), p(4)],
            individual: [p(3), p(4), p(5)],
            target_minutes: [15, 60, 240, 1440, 4320],
        }
    }
}

impl PriorityMatrix {
    pub fn priority(&self, impact: Impact, urgency: Urgency) -> Priority {
        let row = match impact {
            Impact::Organisation => &self.organisation,
            Impact::Team => &self.team,
            Impact::Individual => &self.individual,
        };
        row[match urgency {
            Urgency::Blocked => 0,
            Urgency::Degraded => 1,
            Urgency::Request => 2,
        }]
    }

    pub fn target(&self, priority: Priority) -> Duration {
        Duration::from_secs(self.target_minutes[priority.0 as usize - 1] as u64 * 60)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn default_matrix_is_itil() {
        let m = PriorityMatrix::default();
        assert_eq!(
            m.priority(Impact::Organisation, Urgency::Blocked)
                .to_string(),
            "P1"
        );
        assert_eq!(
            m.priority(Impact::Team, Urgency::Degraded).to_string(),
            "P3"
        );
        assert_eq!(
            m.priority(Impact::Individual, Urgency::Request).to_string(),
            "P5"
        );
        assert_eq!(m.target("P2".parse().unwrap()), Duration::from_secs(3600));
    }

    #[test]
    fn matrix_is_configurable_from_toml() {
        let m: PriorityMatrix = toml::from_str(
            "organisation = [\"P1\", \"P1\", \"P2\"]\ntarget_minutes = [10, 30, 120, 480, 2400]",
        )
        .unwrap();
        assert_eq!(
            m.priority(Impact::Organisation, Urgency::Degraded).level(),
            1
        );
        assert_eq!(
            m.priority(Impact::Team, Urgency::Blocked).level(),
            2,
            "unset rows keep defaults"
        );
        assert!(
            toml::from_str::<PriorityMatrix>("team = [\"P9\", \"P1\", \"P1\"]")
                .unwrap_err()
                .to_string()
                .contains("unknown priority `P9`")
        );
    }
}
