//! Ticket references: `HD-2026-000123`, what callers hear and technicians search for.

use serde::{Deserialize, Serialize};
use std::fmt;
use std::str::FromStr;

/// A ticket's human-readable reference: the year and a sequence number that is never reused.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub struct TicketRef {
    pub year: u16,
    pub number: u32,
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("`{0}` is not a ticket reference like HD-2026-000123")]
pub struct InvalidTicketRef(pub String);

impl fmt::Display for TicketRef {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "HD-{}-{:06}", self.year, self.number)
    }
}

impl FromStr for TicketRef {
    type Err = InvalidTicketRef;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let bad = || InvalidTicketRef(s.to_string());
        let rest = s
            .trim()
            .strip_prefix("HD-")
            .or_else(|| s.trim().strip_prefix("hd-"))
            .ok_or_else(bad)?;
        let (year, number) = rest.split_once('-').ok_or_else(bad)?;
        if year.len() != 4 || number.is_empty() || !number.bytes().all(|b| b.is_ascii_digit()) {
            return Err(bad());
        }
        Ok(TicketRef {
            year: year.parse().map_err(|_| bad())?,
            number: number.parse().map_err(|_| bad())?,
        })
    }
}

impl TryFrom<String> for TicketRef {
    type Error = InvalidTicketRef;
    fn try_from(s: String) -> Result<Self, Self::Error> {
        s.parse()
    }
}

impl From<TicketRef> for String {
    fn from(r: TicketRef) -> String {
        r.to_string()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn round_trips_and_rejects_garbage() {
        let r: TicketRef = "HD-2026-000123".parse().unwrap();
        assert_eq!(
            r,
            TicketRef {
                year: 2026,
                number: 123
            }
        );
        assert_eq!(r.to_string(), "HD-2026-000123");
        assert!("HD-26-1".parse::<TicketRef>().is_err());
        assert!("2026-000123".parse::<TicketRef>().is_err());
        assert_eq!(
            "HD-2026-1234567".parse::<TicketRef>().unwrap().to_string(),
            "HD-2026-1234567"
        );
    }
}
