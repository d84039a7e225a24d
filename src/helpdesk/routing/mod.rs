//! Routing a caller to a technician: ring the on-call phones, announce, bridge, escalate, queue.

pub mod announce;
pub mod busy;
pub mod callback;
pub mod escalation;
pub mod fork;
mod last_known;
pub mod queue;
pub mod recorded;
pub mod remote_take;
pub mod ring;
pub mod roster;
pub mod store_roster;
pub mod take;
mod transfer;

pub use callback::CallBackError;
pub use queue::{CallQueues, Pickup};
pub use ring::Router;
pub use roster::{EscalationStep, Known, Roster};
pub use store_roster::StoreRoster;
pub use take::TakeError;
