//! Hotline: an IT-helpdesk phone line.
//!
//! The modules are the layers, lowest first; a lower layer never imports a higher one:
//!
//! - [`sip`] and [`media`]: the protocols (SIP transactions and dialogs, RTP, DTMF, prompts,
//!   bridging).
//! - [`call`]: one task per call, turning packets and timers into digits, hang-ups, timeouts.
//! - [`ivr`]: dialplans, their checker, and the interpreter that runs a call through one.
//! - [`helpdesk`]: the helpdesk's side of a call: its ticket, the IVR host, voicemail, its
//!   disposition, what a restart repairs, technicians' feature codes, routing to the on-call
//!   technician (ring, queue, pick-up, take call, call back).
//! - [`phones`]: the registrar task technicians' phones REGISTER with, their keep-alive, and
//!   recognising a technician's own (authenticated) call.
//! - Domain, used by the layers above: [`tickets`], [`accounts`], [`oncall`]; [`store`] is the
//!   only place that writes SQL.
//! - [`transcribe`]: voicemail transcription; [`web`]: the web log and API.
//! - [`metrics`]: process-wide counters every layer may bump, read by `/metrics`.
//! - [`server`] wires everything from [`config`]; `main.rs` (with `cli/`) is the command line.
//!
//! Outside `src/`: `migrations/`, `dialplans/`, `prompts/`, `tests/` (the real server on port
//! 0), `benches/` and `bench/`, `scripts/`, `docs/` (see the README's layout table).

pub mod accounts;
pub mod browser;
pub mod call;
pub mod config;
pub mod helpdesk;
pub mod ivr;
pub mod media;
pub mod metrics;
pub mod oncall;
pub mod phones;
pub mod server;
pub mod sip;
pub mod store;
pub mod tickets;
pub mod tls;
pub mod transcribe;
pub mod web;
