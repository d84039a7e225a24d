//! Calls: one task per call, owning its dialog, its media session and its state.
//!
//! The call layer glues a SIP dialog (from `sip`) to an RTP session (from `media`) and turns
//! packets, signals and timers into what the IVR understands: digits, ended playbacks, hang-ups,
//! timeouts.

pub mod answer;
pub mod control;
pub mod end;
pub mod incoming;
pub mod local_ip;
pub mod outbound;

/// A call offered by the SIP endpoint, not answered yet (see [`IncomingCall`]).
pub use crate::sip::endpoint::NewCall;
pub use control::{CallControl, CallEnded, CallEvent};
pub use end::EndCause;
pub use incoming::{refuse, IncomingCall, Refusal};
