//! The IVR: dialplans (the menu as data), their checker, and the interpreter that runs calls.

pub mod check;
pub mod dialplan;
pub mod host;
pub mod interpreter;
pub mod say;

pub use check::{check_file, check_str, DialplanReport};
pub use dialplan::{Dialplan, RouteMode, RouteSpec};
pub use host::{
    CallHost, IvrEffect, PromptRef, RecordSpec, RecordingEnd, RecordingOutcome, RouteOutcome,
};
pub use interpreter::{run, IvrEnd, IvrResult};
