//! RFC 3261 §17 transactions as sans-IO state machines.
//!
//! A transaction takes inputs (a message, a response from the TU, the current time) and returns
//! [`Action`]s; it never touches a socket or a clock. The endpoint owns the sockets, asks each
//! transaction for its next deadline and calls `on_timer` when it passes — so the retransmission
//! schedule is unit-tested by feeding instants, with no sleeping.

pub mod client_invite;
pub mod client_non_invite;
pub mod key;
pub mod server_invite;
pub mod server_non_invite;
pub mod timer;

pub use client_invite::ClientInviteTransaction;
pub use client_non_invite::ClientNonInviteTransaction;
pub use key::{KeyError, TransactionKey};
pub use server_invite::ServerInviteTransaction;
pub use server_non_invite::ServerNonInviteTransaction;
pub use timer::Timers;

/// What a transaction asks its owner to do.
#[derive(Debug, Clone, PartialEq)]
pub enum Action {
    /// Send this message to the peer (a response for server transactions, a request for client ones).
    Transmit(rsip::SipMessage),
    /// Hand this response to the transaction user (client transactions).
    Deliver(rsip::Response),
    /// The transaction gave up: no ACK to our final response (Timer H / L), or no response to our
    /// request (Timer F). The TU must end what depended on it.
    TimedOut,
    /// Start a CANCEL for our pending INVITE (§9.1): its own non-INVITE client transaction.
    Cancel(rsip::Request),
    /// The transaction is over; drop it.
    Terminated,
}
