//! How a call ended, as its ticket records it: the disposition, its detail, and who hung up.
//!
//! Pure functions of what happened, so each rule is tested here without a call.

use crate::call::answer::AnswerError;
use crate::call::EndCause;
use crate::ivr::{IvrEnd, IvrResult, RouteOutcome};
use crate::tickets::{CallEvent, CallEventKind, Disposition};

/// The ticket's final disposition and its detail (the step of an abandoned call, the reason of
/// a failed one, the technician who answered).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Outcome {
    pub disposition: Disposition,
    pub detail: Option<String>,
}

impl Outcome {
    fn new(disposition: Disposition, detail: Option<String>) -> Outcome {
        Outcome {
            disposition,
            detail,
        }
    }
}

/// A call that never got answered: the caller gave up while it rang, or setting it up failed.
pub fn unanswered(error: &AnswerError) -> Outcome {
    match error {
        AnswerError::Ended(EndCause::Cancelled | EndCause::CallerHangup) => {
            Outcome::new(Disposition::Abandoned, Some("ringing".into()))
        }
        other => Outcome::new(Disposition::Failed, Some(other.reason())),
    }
}

/// An answered call, once the dialplan is done with it. `voicemail` says whether the caller
/// left a message with speech in it.
pub fn answered(result: &IvrResult, voicemail: bool) -> Outcome {
    match (&result.end, &result.routed) {
        (_, Some(RouteOutcome::Answered { technician })) => {
            Outcome::new(Disposition::Answered, Some(technician.clone()))
        }
        (IvrEnd::Completed, Some(RouteOutcome::NobodyAvailable)) => {
            Outcome::new(Disposition::Routed, Some("nobody available".into()))
        }
        (_, Some(RouteOutcome::CallbackRequested)) => {
            Outcome::new(Disposition::CallbackRequested, None)
        }
        (IvrEnd::Completed, None) => Outcome::new(Disposition::Completed, None),
        (IvrEnd::StepLimit { node }, _) => {
            Outcome::new(Disposition::Failed, Some(format!("step limit at {node}")))
        }
        (IvrEnd::Ended { .. }, _) if voicemail => Outcome::new(Disposition::Voicemail, None),
        (IvrEnd::Ended { node, cause }, _) => match cause.0 {
            EndCause::CallerHangup | EndCause::Cancelled => {
                Outcome::new(Disposition::Abandoned, Some(node.clone()))
            }
            other => Outcome::new(Disposition::Failed, Some(format!("{other} at {node}"))),
        },
    }
}

/// Where a call the server was running when it died had got to.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CutAt {
    /// In the menus, or anywhere not listed below.
    Elsewhere,
    /// Recording a voicemail with speech in it: kept and transcribed as for a caller who hung
    /// up while speaking.
    Voicemail,
    /// Waiting in a team's queue: the caller keeps their place as a call-back request.
    Queue,
    /// Calling back a caller who asked for it (a claimed request): the request waits again,
    /// keeping its place, as when the caller does not answer.
    CallBack,
}

/// A call the server was running when it died (found still `in_progress` at the next start).
/// `step` is the ticket's detail as the stop left it: the last dialplan node the call was
/// known to be in, or for a call-back the request's own detail, which it keeps.
pub fn cut_by_restart(step: Option<&str>, at: CutAt) -> Outcome {
    let restarted = || match step {
        Some(step) => Some(format!("server restarted at {step}")),
        None => Some("server restarted".to_string()),
    };
    match at {
        CutAt::Voicemail => Outcome::new(Disposition::Voicemail, restarted()),
        CutAt::Queue => Outcome::new(Disposition::CallbackRequested, restarted()),
        CutAt::Elsewhere => Outcome::new(Disposition::Failed, restarted()),
        CutAt::CallBack => Outcome::new(Disposition::CallbackRequested, step.map(str::to_string)),
    }
}

/// Whether a ticket found `in_progress` was calling its caller back rather than taking their
/// call: the caller's own call had already ended, so its hang-up is on the timeline (a call
/// cut by a crash has none until the restart writes it).
pub fn calling_back(events: &[CallEvent]) -> bool {
    events.iter().any(|e| e.kind == CallEventKind::Hangup)
}

/// Whether a call's timeline (oldest first) shows it waiting in a queue at its end: it joined
/// one, and neither a technician took it nor did it leave the queue (given up after the
/// queue's time; a call-back request is a place kept too).
pub fn waiting_in_queue(events: &[CallEvent]) -> bool {
    let Some(joined) = events.iter().rposition(|e| e.kind == CallEventKind::Queued) else {
        return false;
    };
    !events[joined..].iter().any(|e| {
        e.kind == CallEventKind::TechnicianAnswered
            || (e.kind == CallEventKind::Escalated && e.detail.starts_with("left "))
    })
}

/// Why the call ends, for the hang-up: the dialplan finishing is ours to end with BYE.
pub fn end_cause(end: &IvrEnd) -> EndCause {
    match end {
        IvrEnd::Completed | IvrEnd::StepLimit { .. } => EndCause::Completed,
        IvrEnd::Ended { cause, .. } => cause.0,
    }
}

/// The timeline's hang-up entry: who hung up and why (`by hotline (completed)`).
pub fn hangup_detail(cause: EndCause) -> String {
    let by = if cause.needs_bye() {
        "hotline"
    } else {
        "caller"
    };
    format!("by {by} ({cause})")
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::call::CallEnded;

    fn result(end: IvrEnd, routed: Option<RouteOutcome>) -> IvrResult {
        IvrResult {
            end,
            recorded: false,
            routed,
            path: Vec::new(),
        }
    }

    fn ended(node: &str, cause: EndCause) -> IvrEnd {
        IvrEnd::Ended {
            node: node.into(),
            cause: CallEnded(cause),
        }
    }

    #[test]
    fn a_caller_who_hangs_up_while_it_rings_abandoned_at_ringing() {
        for cause in [EndCause::Cancelled, EndCause::CallerHangup] {
            let o = unanswered(&AnswerError::Ended(cause));
            assert_eq!(o.disposition, Disposition::Abandoned);
            assert_eq!(o.detail.as_deref(), Some("ringing"));
        }
    }

    #[test]
    fn a_call_that_could_not_be_set_up_failed_with_the_reason() {
        let o = unanswered(&AnswerError::Ended(EndCause::AckTimeout));
        assert_eq!(o.disposition, Disposition::Failed);
        assert_eq!(o.detail.as_deref(), Some("ack_timeout"));
    }

    #[test]
    fn the_whole_menu_is_completed() {
        let o = answered(&result(IvrEnd::Completed, None), true);
        assert_eq!(o, Outcome::new(Disposition::Completed, None));
    }

    #[test]
    fn an_urgent_call_nobody_took_is_routed_nobody_available() {
        let o = answered(
            &result(IvrEnd::Completed, Some(RouteOutcome::NobodyAvailable)),
            false,
        );
        assert_eq!(o.disposition, Disposition::Routed);
        assert_eq!(o.detail.as_deref(), Some("nobody available"));
    }

    #[test]
    fn a_call_a_technician_answered_names_the_technician_however_it_ended() {
        let o = answered(
            &result(
                ended("route", EndCause::CallerHangup),
                Some(RouteOutcome::Answered {
                    technician: "alice".into(),
                }),
            ),
            false,
        );
        assert_eq!(o.disposition, Disposition::Answered);
        assert_eq!(o.detail.as_deref(), Some("alice"));
    }

    #[test]
    fn hanging_up_in_a_menu_is_abandoned_at_that_menu() {
        let o = answered(
            &result(ended("category", EndCause::CallerHangup), None),
            false,
        );
        assert_eq!(o.disposition, Disposition::Abandoned);
        assert_eq!(o.detail.as_deref(), Some("category"));
    }

    #[test]
    fn hanging_up_after_speaking_a_voicemail_is_a_voicemail() {
        let o = answered(
            &result(ended("voicemail", EndCause::CallerHangup), None),
            true,
        );
        assert_eq!(o, Outcome::new(Disposition::Voicemail, None));
    }

    #[test]
    fn silent_media_fails_with_the_cause_and_the_step() {
        let o = answered(&result(ended("impact", EndCause::RtpTimeout), None), false);
        assert_eq!(o.disposition, Disposition::Failed);
        assert_eq!(o.detail.as_deref(), Some("rtp_timeout at impact"));
    }

    #[test]
    fn a_looping_dialplan_fails_at_the_step_limit() {
        let o = answered(
            &result(
                IvrEnd::StepLimit {
                    node: "loop".into(),
                },
                None,
            ),
            false,
        );
        assert_eq!(o.disposition, Disposition::Failed);
        assert_eq!(o.detail.as_deref(), Some("step limit at loop"));
    }

    #[test]
    fn a_call_cut_by_a_restart_fails_at_its_step_unless_it_left_a_voicemail_or_waited() {
        let o = cut_by_restart(Some("category"), CutAt::Elsewhere);
        assert_eq!(o.disposition, Disposition::Failed);
        assert_eq!(o.detail.as_deref(), Some("server restarted at category"));
        let o = cut_by_restart(Some("voicemail"), CutAt::Voicemail);
        assert_eq!(o.disposition, Disposition::Voicemail);
        let o = cut_by_restart(Some("queue"), CutAt::Queue);
        assert_eq!(o.disposition, Disposition::CallbackRequested);
        assert_eq!(
            cut_by_restart(None, CutAt::Elsewhere).detail.as_deref(),
            Some("server restarted")
        );
    }

    #[test]
    fn a_call_back_cut_by_a_restart_is_requested_again_with_the_requests_detail() {
        let o = cut_by_restart(Some("server restarted at queue"), CutAt::CallBack);
        assert_eq!(
            o,
            Outcome::new(
                Disposition::CallbackRequested,
                Some("server restarted at queue".into())
            )
        );
        assert_eq!(cut_by_restart(None, CutAt::CallBack).detail, None);
    }

    #[test]
    fn a_ticket_whose_caller_had_hung_up_is_calling_back_and_a_cut_call_is_not() {
        let e = |kind: CallEventKind, detail: &str| CallEvent {
            at: chrono::Utc::now(),
            kind,
            detail: detail.into(),
        };
        // Cut while queued: no hang-up until the restart writes it.
        let cut = vec![
            e(CallEventKind::Answered, ""),
            e(CallEventKind::Queued, "network, position 1"),
            e(CallEventKind::TechnicianAnswered, "tess on sip:tess@x"),
        ];
        assert!(!calling_back(&cut));
        let mut requested = cut[..2].to_vec();
        requested.push(e(CallEventKind::Queued, "call-back requested"));
        requested.push(e(CallEventKind::Hangup, "by caller (caller_hangup)"));
        requested.push(e(CallEventKind::RoutingAttempt, "call-back by tess: *8"));
        assert!(calling_back(&requested));
        requested.push(e(CallEventKind::TechnicianAnswered, "tess on *8 call-back"));
        assert!(calling_back(&requested), "talking");
    }

    #[test]
    fn a_call_is_waiting_in_a_queue_from_joining_until_taken_or_given_up() {
        let e = |kind: CallEventKind, detail: &str| CallEvent {
            at: chrono::Utc::now(),
            kind,
            detail: detail.into(),
        };
        let joined = vec![
            e(CallEventKind::Answered, ""),
            e(CallEventKind::Queued, "network, position 1"),
        ];
        assert!(waiting_in_queue(&joined));
        // Offered to a technician who did not take it: still waiting.
        let mut offered = joined.clone();
        offered.push(e(CallEventKind::Ringing, "tess: sip:tess@x"));
        offered.push(e(CallEventKind::RingResult, "tess: sip:tess@x: no answer"));
        assert!(waiting_in_queue(&offered));
        let mut taken = offered.clone();
        taken.push(e(CallEventKind::TechnicianAnswered, "tess on *8 pick-up"));
        assert!(!waiting_in_queue(&taken));
        let mut given_up = joined.clone();
        given_up.push(e(
            CallEventKind::Escalated,
            "left network's queue after 600 s",
        ));
        assert!(!waiting_in_queue(&given_up));
        assert!(!waiting_in_queue(&joined[..1]), "never queued");
    }

    #[test]
    fn the_dialplan_ending_is_hung_up_by_hotline_and_a_bye_by_the_caller() {
        assert_eq!(end_cause(&IvrEnd::Completed), EndCause::Completed);
        assert_eq!(
            hangup_detail(end_cause(&IvrEnd::Completed)),
            "by hotline (completed)"
        );
        let cause = end_cause(&ended("language", EndCause::CallerHangup));
        assert_eq!(hangup_detail(cause), "by caller (caller_hangup)");
    }
}
