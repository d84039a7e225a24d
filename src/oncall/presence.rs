//! Presence: whether a technician can take a call now.

use serde::Serialize;
use std::fmt;
use std::str::FromStr;

/// What a technician chose, from the phone (`*1`, `*0`) or the web log.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum PresenceChoice {
    Available,
    Away,
}

impl PresenceChoice {
    pub fn as_str(self) -> &'static str {
        match self {
            PresenceChoice::Available => "available",
            PresenceChoice::Away => "away",
        }
    }
}

impl FromStr for PresenceChoice {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match s {
            "available" => Ok(PresenceChoice::Available),
            "away" => Ok(PresenceChoice::Away),
            _ => Err(format!(
                "unknown presence `{s}` (expected available or away)"
            )),
        }
    }
}

/// What callers' routing sees: the choice, overruled by what Hotline knows (on a call, or no
/// phone that answers).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Presence {
    Available,
    /// On a call (set by Hotline itself).
    Busy,
    Away,
    /// No registered phone that answers its keep-alive.
    Offline,
}

impl Presence {
    /// Offline wins (nobody can be rung), then busy, then the technician's own choice.
    pub fn effective(choice: PresenceChoice, busy: bool, reachable_phones: usize) -> Presence {
        if reachable_phones == 0 {
            Presence::Offline
        } else if busy {
            Presence::Busy
        } else {
            match choice {
                PresenceChoice::Available => Presence::Available,
                PresenceChoice::Away => Presence::Away,
            }
        }
    }

    pub fn as_str(self) -> &'static str {
        match self {
            Presence::Available => "available",
            Presence::Busy => "busy",
            Presence::Away => "away",
            Presence::Offline => "offline",
        }
    }
}

impl fmt::Display for Presence {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn no_reachable_phone_is_offline_whatever_was_chosen() {
        assert_eq!(
            Presence::effective(PresenceChoice::Available, false, 0),
            Presence::Offline
        );
        assert_eq!(
            Presence::effective(PresenceChoice::Available, true, 1),
            Presence::Busy
        );
        assert_eq!(
            Presence::effective(PresenceChoice::Away, false, 2),
            Presence::Away
        );
        assert_eq!(
            Presence::effective(PresenceChoice::Available, false, 1),
            Presence::Available
        );
    }
}
