//! SIP (RFC 3261): messages, transports, transactions, dialogs, and the endpoint that ties them.

pub mod dialog;
pub mod endpoint;
pub mod message;
pub mod transaction;
pub mod transport;
