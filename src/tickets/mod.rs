//! The helpdesk domain: what a ticket is, how it is prioritised, how long the caller will wait.

pub mod estimate;
pub mod fields;
pub mod lifecycle;
pub mod priority;
pub mod reference;

pub use estimate::{estimate_response_time, QueueState};
pub use fields::{Category, Impact, Language, TicketField, UnknownValue, Urgency};
pub use lifecycle::{CallEventKind, Disposition, TicketStatus};
pub use priority::{Priority, PriorityMatrix};
pub use reference::TicketRef;
