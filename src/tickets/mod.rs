//! The helpdesk domain: what a ticket is, how it is prioritised, how long the caller will wait,
//! and how a ticket reads on a terminal. No I/O: the store fills these types, the IVR and the CLI
//! use them.

pub mod estimate;
pub mod fields;
pub mod lifecycle;
pub mod priority;
pub mod recording;
pub mod recurring;
pub mod reference;
pub mod report;
pub mod stats;
pub mod ticket;

pub use estimate::{estimate_response_time, QueueState};
pub use fields::{Category, Impact, Language, TicketField, UnknownValue, Urgency};
pub use lifecycle::{CallEventKind, Disposition, TicketStatus};
pub use priority::{Priority, PriorityMatrix};
pub use recording::{RecordingEnd, RecordingState};
pub use recurring::{recurring_clusters, RecurrenceRule};
pub use reference::TicketRef;
pub use report::{render_ticket_detail, render_ticket_table};
pub use ticket::{CallEvent, Ticket};
