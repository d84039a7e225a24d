//! Which Hotline node took a call. Several nodes share one PostgreSQL database; each ticket
//! records the node that runs its call, so a node restarting after a crash closes the calls it
//! was running — and only those (see `helpdesk::restart`).

use std::fmt;
use std::str::FromStr;

/// The longest node name: a host name's limit (`HOST_NAME_MAX`), room enough for a name that
/// still fits a log line.
pub const MAX_NODE_NAME: usize = 64;

/// The name used when the host name cannot be read or is not a valid node name.
const FALLBACK: &str = "hotline";

/// A node's name: 1 to [`MAX_NODE_NAME`] printable ASCII characters, no spaces — it is
/// written to logs and to every ticket, and compared byte for byte at restart.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct NodeName(String);

/// Why a text is not a node name.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum NodeNameError {
    #[error("a node name cannot be empty")]
    Empty,
    #[error("a node name has at most {MAX_NODE_NAME} characters (`{0}` is longer)")]
    TooLong(String),
    #[error("a node name is printable ASCII without spaces (`{0}` is not)")]
    NotPrintable(String),
}

impl NodeName {
    /// This machine's host name, or `hotline` when it cannot be read or is not a valid name
    /// (one node per database needs no name; several need `node` set, docs/operations.md).
    pub fn of_this_host() -> NodeName {
        std::fs::read_to_string("/proc/sys/kernel/hostname")
            .ok()
            .and_then(|name| name.trim().parse().ok())
            .unwrap_or_else(|| NodeName(FALLBACK.into()))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl FromStr for NodeName {
    type Err = NodeNameError;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        if s.is_empty() {
            Err(NodeNameError::Empty)
        } else if s.chars().count() > MAX_NODE_NAME {
            Err(NodeNameError::TooLong(s.into()))
        } else if !s.chars().all(|c| c.is_ascii_graphic()) {
            Err(NodeNameError::NotPrintable(s.escape_debug().to_string()))
        } else {
            Ok(NodeName(s.into()))
        }
    }
}

impl fmt::Display for NodeName {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl<'de> serde::Deserialize<'de> for NodeName {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let s = String::deserialize(d)?;
        s.parse().map_err(serde::de::Error::custom)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_node_name_is_short_printable_and_not_empty() {
        assert_eq!("pbx-1".parse::<NodeName>().unwrap().as_str(), "pbx-1");
        assert_eq!("".parse::<NodeName>(), Err(NodeNameError::Empty));
        assert!(matches!(
            "a".repeat(MAX_NODE_NAME + 1).parse::<NodeName>(),
            Err(NodeNameError::TooLong(_))
        ));
        assert!("a".repeat(MAX_NODE_NAME).parse::<NodeName>().is_ok());
        for bad in ["pbx 1", "pbx\n1", "pbx\u{7f}", "pbx-é"] {
            assert!(
                matches!(bad.parse::<NodeName>(), Err(NodeNameError::NotPrintable(_))),
                "{bad:?}"
            );
        }
    }

    #[test]
    fn the_default_node_name_is_always_valid() {
        let name = NodeName::of_this_host();
        assert_eq!(name.as_str().parse::<NodeName>(), Ok(name));
    }
}
