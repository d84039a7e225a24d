//! SIP (RFC 3261): messages, transports, transactions, dialogs, and the endpoint that ties them.

pub mod admission;
pub mod dialog;
pub mod digest;
pub mod endpoint;
pub mod limits;
pub mod message;
pub mod refer;
pub mod registrar;
pub mod transaction;
pub mod transport;
pub mod validate;
