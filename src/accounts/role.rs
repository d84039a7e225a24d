//! A web user's role.

use serde::{Deserialize, Serialize};
use std::fmt;
use std::str::FromStr;

/// What a web user may do. Leads may everything technicians may, and also dispatch tickets to
/// others, export the whole log and read statistics of the team.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Role {
    Technician,
    Lead,
}

/// A role name that is not one of ours; says which ones are.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("unknown role `{0}` (expected technician or lead)")]
pub struct UnknownRole(pub String);

impl Role {
    pub const ALL: [Role; 2] = [Role::Technician, Role::Lead];

    /// The stable text form, as stored in the database and shown in the JSON API.
    pub fn as_str(self) -> &'static str {
        match self {
            Role::Technician => "technician",
            Role::Lead => "lead",
        }
    }
}

impl fmt::Display for Role {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl FromStr for Role {
    type Err = UnknownRole;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Role::ALL
            .into_iter()
            .find(|r| r.as_str() == s)
            .ok_or_else(|| UnknownRole(s.to_string()))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn roles_round_trip_through_text_and_json() {
        for role in Role::ALL {
            assert_eq!(role.as_str().parse::<Role>(), Ok(role));
            assert_eq!(serde_json::to_value(role).unwrap(), role.as_str());
        }
    }

    #[test]
    fn an_unknown_role_names_itself_and_the_choices() {
        let err = "boss".parse::<Role>().unwrap_err();
        assert_eq!(err, UnknownRole("boss".into()));
        assert_eq!(
            err.to_string(),
            "unknown role `boss` (expected technician or lead)"
        );
    }
}
