//! A web log account.

use super::Role;
use serde::Serialize;

/// A person who logs in to the web log (or whose API token a script uses).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct User {
    pub id: i64,
    pub name: String,
    pub role: Role,
}

impl User {
    pub fn is_lead(&self) -> bool {
        self.role == Role::Lead
    }
}
