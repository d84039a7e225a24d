//! Calls: one task per call, owning its dialog, its media session and its state.
//!
//! The call layer glues a SIP dialog (from `sip`) to an RTP session (from `media`) and turns
//! packets, signals and timers into what the IVR understands: digits, ended playbacks, hang-ups,
//! timeouts.

pub mod answer;
pub mod control;
pub mod end;
pub mod local_ip;

pub use control::{CallControl, CallEnded};
pub use end::EndCause;
