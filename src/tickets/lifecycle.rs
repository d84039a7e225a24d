//! A ticket's status, how its call ended, and the call-event timeline.

use serde::{Deserialize, Serialize};
use std::fmt;
use std::str::FromStr;

/// Where a ticket is in the technicians' workflow.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum TicketStatus {
    New,
    Acknowledged,
    InProgress,
    Resolved,
    Closed,
}

/// How the call behind a ticket ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Disposition {
    /// The call is still running.
    InProgress,
    /// The caller went through the whole menu.
    Completed,
    /// The caller hung up before the end; the step is in `disposition_detail`.
    Abandoned,
    /// The caller left a voicemail (and hung up before the end of the flow).
    Voicemail,
    /// The call was routed to a technician.
    Routed,
    /// A technician answered the routed call.
    Answered,
    /// The caller hung up while waiting in a team's queue.
    AbandonedInQueue,
    /// The caller left the queue to be called back (virtual hold).
    CallbackRequested,
    /// A technician called the caller back.
    CallbackDone,
    /// The call failed; why is in `disposition_detail`.
    Failed,
}

/// One entry of a ticket's call timeline.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum CallEventKind {
    Received,
    Answered,
    PromptPlayed,
    Digit,
    Timeout,
    InvalidInput,
    RetriesExhausted,
    LanguageChosen,
    FieldSet,
    Collected,
    RecordingStarted,
    RecordingStopped,
    RoutingAttempt,
    /// A technician's phone was rung (who, which device).
    Ringing,
    /// How a rung phone ended: no answer, declined, busy, unreachable, cancelled.
    RingResult,
    /// Nobody took the call at one escalation step; the next one starts.
    Escalated,
    /// A technician answered and took the call (after the announcement).
    TechnicianAnswered,
    /// The technician passed the call on during the announcement.
    Passed,
    /// The caller joined a team's queue.
    Queued,
    /// The conversation with the technician ended (who hung up, talk time).
    TalkEnded,
    /// A technician transferred the caller (who → whom, or a refused transfer and why).
    Transferred,
    /// A technician put the caller on hold or took them off hold.
    Hold,
    EstimateGiven,
    Hangup,
    Error,
}

macro_rules! text_form {
    ($ty:ty, $field:literal, { $($variant:ident => $text:literal),+ $(,)? }) => {
        impl $ty {
            /// Every value, in declaration order.
            pub const ALL: &'static [$ty] = &[$(Self::$variant),+];

            /// The stable text form used in the database and the JSON API.
            pub fn as_str(self) -> &'static str {
                match self { $(Self::$variant => $text),+ }
            }
        }
        impl fmt::Display for $ty {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result { f.write_str(self.as_str()) }
        }
        impl FromStr for $ty {
            type Err = super::fields::UnknownValue;
            fn from_str(s: &str) -> Result<Self, Self::Err> {
                match s {
                    $($text => Ok(Self::$variant),)+
                    _ => Err(super::fields::UnknownValue {
                        field: $field,
                        value: s.to_string(),
                        expected: concat!($($text, " "),+).trim_ascii_end(),
                    }),
                }
            }
        }
    };
}

text_form!(TicketStatus, "status", {
    New => "new", Acknowledged => "acknowledged", InProgress => "in_progress", Resolved => "resolved", Closed => "closed",
});

text_form!(Disposition, "disposition", {
    InProgress => "in_progress", Completed => "completed", Abandoned => "abandoned", Voicemail => "voicemail",
    Routed => "routed", Answered => "answered", AbandonedInQueue => "abandoned_in_queue",
    CallbackRequested => "callback_requested", CallbackDone => "callback_done", Failed => "failed",
});

text_form!(CallEventKind, "event kind", {
    Received => "received", Answered => "answered", PromptPlayed => "prompt_played", Digit => "digit",
    Timeout => "timeout", InvalidInput => "invalid_input", RetriesExhausted => "retries_exhausted",
    LanguageChosen => "language_chosen", FieldSet => "field_set", Collected => "collected",
    RecordingStarted => "recording_started", RecordingStopped => "recording_stopped",
    RoutingAttempt => "routing_attempt", Ringing => "ringing", RingResult => "ring_result",
    Escalated => "escalated", TechnicianAnswered => "technician_answered", Passed => "passed",
    Queued => "queued", TalkEnded => "talk_ended",
    Transferred => "transferred", Hold => "hold", EstimateGiven => "estimate_given", Hangup => "hangup", Error => "error",
});

impl TicketStatus {
    /// Still waiting for or under work: counts in the queue ahead of new callers.
    pub fn is_open(self) -> bool {
        matches!(
            self,
            TicketStatus::New | TicketStatus::Acknowledged | TicketStatus::InProgress
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn text_forms_match_the_json_forms() {
        for &s in TicketStatus::ALL {
            assert_eq!(serde_json::to_value(s).unwrap(), s.as_str());
            assert_eq!(s.as_str().parse::<TicketStatus>().unwrap(), s);
        }
        assert_eq!(
            serde_json::to_value(Disposition::InProgress).unwrap(),
            Disposition::InProgress.as_str()
        );
        assert_eq!(
            serde_json::to_value(CallEventKind::RecordingStopped).unwrap(),
            "recording_stopped"
        );
        assert_eq!(
            "closed ".parse::<TicketStatus>().unwrap_err().to_string(),
            "unknown status `closed ` (expected one of: new acknowledged in_progress resolved closed)"
        );
    }
}
