//! A ticket's audit trail: who changed what, when.

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use std::fmt;
use std::str::FromStr;

/// What an entry of the audit trail records. Stored as its text form (`note`, `status`,
/// `assignee`), which the JSON API shows too, so scripts and old rows keep their meaning.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ActivityKind {
    /// A technician's note; the detail is its text.
    Note,
    /// A status change; the detail is the new status.
    Status,
    /// An assignment; the detail is the new assignee, empty when unassigned.
    Assignee,
}

/// A kind the audit trail does not know (a corrupt row, or one written by a newer version).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("unknown activity kind `{0}` (expected note, status or assignee)")]
pub struct UnknownActivityKind(pub String);

impl ActivityKind {
    pub const ALL: [ActivityKind; 3] = [
        ActivityKind::Note,
        ActivityKind::Status,
        ActivityKind::Assignee,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            ActivityKind::Note => "note",
            ActivityKind::Status => "status",
            ActivityKind::Assignee => "assignee",
        }
    }
}

impl fmt::Display for ActivityKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl FromStr for ActivityKind {
    type Err = UnknownActivityKind;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        ActivityKind::ALL
            .into_iter()
            .find(|k| k.as_str() == s)
            .ok_or_else(|| UnknownActivityKind(s.to_string()))
    }
}

/// One entry of a ticket's audit trail.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Activity {
    pub at: DateTime<Utc>,
    pub actor: String,
    pub kind: ActivityKind,
    pub detail: String,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn kinds_keep_their_stored_text() {
        for kind in ActivityKind::ALL {
            assert_eq!(kind.as_str().parse::<ActivityKind>(), Ok(kind));
            assert_eq!(serde_json::to_value(kind).unwrap(), kind.as_str());
        }
        assert_eq!(
            "comment".parse::<ActivityKind>().unwrap_err().to_string(),
            "unknown activity kind `comment` (expected note, status or assignee)"
        );
    }
}
