//! The helpdesk domain: what a ticket is, how it is prioritised, how long the caller will wait.

pub mod fields;

pub use fields::{Category, Impact, Language, Urgency};
