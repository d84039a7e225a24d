//! Routing a caller to a technician: ring the on-call phones, announce, bridge, escalate, queue.

pub mod announce;
pub mod fork;
