//! Accounts of the web log, as the helpdesk speaks of them: who a user is, what their role lets
//! them do, and what they did to a ticket. Domain values only: `store` persists them and `web`
//! checks them, and neither owns them.

mod activity;
mod role;
mod user;

pub use activity::{Activity, ActivityKind, UnknownActivityKind};
pub use role::{Role, UnknownRole};
pub use user::User;
