//! What the interpreter needs from a call: the trait the call layer implements (and tests fake).

use super::dialplan::RouteSpec;
use crate::call::CallEnded;
use crate::media::dtmf::Digit;
use crate::tickets::{CallEventKind, Category, Impact, Language, Priority, TicketField, Urgency};
use std::future::Future;
use std::path::PathBuf;
use std::time::Duration;

/// A prompt to play: `prompts/<language>/<name>.wav`, or the recording beep.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum PromptRef {
    File { language: Language, name: String },
    Beep,
}

/// How to record a voicemail.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RecordSpec {
    pub max: Duration,
    /// Stop after this much silence once the caller has spoken.
    pub silence: Duration,
    /// The key that ends the recording.
    pub finish_digit: Option<Digit>,
}

/// Why a recording stopped (a domain value: the ticket stores it).
pub use crate::tickets::RecordingEnd;

/// A finished voicemail.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RecordingOutcome {
    pub path: PathBuf,
    pub duration: Duration,
    pub end: RecordingEnd,
    pub has_speech: bool,
}

/// What happened when the call was offered to a technician.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum RouteOutcome {
    /// A technician took the call and the conversation is over (the technician hung up).
    Answered { technician: String },
    /// Nobody answered, or nobody is on call: the caller goes on to the node's `next`.
    NobodyAvailable,
    /// The caller left the queue to be called back; the ticket keeps its place.
    CallbackRequested,
}

/// What the dialplan did that the ticket must record.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum IvrEffect {
    /// A menu answer, stored on the ticket.
    Field(TicketField),
    /// Digits keyed in a `collect` node.
    Collected { variable: String, digits: String },
    /// A timeline entry.
    Event { kind: CallEventKind, detail: String },
}

/// What the call knows so far, for `branch` nodes.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CallFacts {
    pub language: Language,
    pub category: Option<Category>,
    pub impact: Option<Impact>,
    pub urgency: Option<Urgency>,
    pub priority: Option<Priority>,
    /// Whether the caller is a technician, authenticated on their own phone.
    pub technician: bool,
}

/// The call, as the interpreter drives it. Every method fails with [`CallEnded`] once the call
/// is over, which ends the interpreter.
pub trait CallHost: Send {
    /// Plays prompts in order; with `barge_in`, the first key pressed stops them and is returned.
    fn play(
        &mut self,
        prompts: Vec<PromptRef>,
        barge_in: bool,
    ) -> impl Future<Output = Result<Option<Digit>, CallEnded>> + Send;
    /// The next key, or `None` after `timeout`.
    fn next_digit(
        &mut self,
        timeout: Duration,
    ) -> impl Future<Output = Result<Option<Digit>, CallEnded>> + Send;
    /// Records a voicemail (after any prompt and the beep the interpreter played).
    fn record(
        &mut self,
        spec: RecordSpec,
    ) -> impl Future<Output = Result<RecordingOutcome, CallEnded>> + Send;
    /// Applies a ticket effect.
    fn effect(&mut self, effect: IvrEffect) -> impl Future<Output = ()> + Send;
    /// The ticket number to speak.
    fn ticket_number(&mut self) -> impl Future<Output = u32> + Send;
    /// The estimated response time, computed now; the host stores exactly what is returned.
    fn response_estimate(&mut self) -> impl Future<Output = Duration> + Send;
    /// The priority, once known.
    fn priority(&mut self) -> impl Future<Output = Option<Priority>> + Send;
    /// Offers the call to technicians as `spec` says (ring, announce, bridge, queue).
    fn route(
        &mut self,
        spec: &RouteSpec,
    ) -> impl Future<Output = Result<RouteOutcome, CallEnded>> + Send;
    /// The call reached `node`, one where the caller listens or answers (not `set`, `branch`
    /// or `goto`, which take no time). A host may note it, so that a call cut by a crash can
    /// say where it was; by default nothing is done.
    fn entered(&mut self, node: &str) -> impl Future<Output = ()> + Send {
        let _ = node;
        async {}
    }
    /// Whether the caller is a technician calling from their own, authenticated phone (a
    /// `branch` on `caller` tells them apart). By default: an ordinary caller.
    fn caller_is_technician(&self) -> bool {
        false
    }
}
