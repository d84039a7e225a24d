//! Blind transfer during a conversation, as a PBX does it: the technician's leg (a desk phone
//! or the browser phone's gateway) sends a REFER in its dialog naming a technician or a team
//! (`Refer-To: <sip:bob@hotline>`, `<sip:network@hotline>`). Hotline keeps the caller's leg:
//! it answers 202, plays the caller ringback while it rings the target (announced as any routed
//! call, presented as transferred by whom), and bridges on "1". The technician's leg hears
//! nothing more but stays up until it has been told how the transfer went (RFC 3515 §2.4.4:
//! NOTIFY `100 Trying`, then the target's final status), then gets our BYE. If the target does
//! not take it, the caller goes back to the ticket's team's escalation, once. A target that is
//! unknown or cannot be rung now is refused and the call goes on.

use super::ring::{presentation, Router, Taken, Turns, Waiting};
use super::roster::{EscalationStep, Roster};
use crate::call::answer as call_answer;
use crate::call::outbound::Presentation;
use crate::call::{control, CallControl, CallEnded, CallEvent, EndCause};
use crate::oncall::Presence;
use crate::sip::refer::TransferProgress;
use crate::tickets::{CallEventKind, Ticket};
use rsip::StatusCode;
use std::time::Duration;
use tokio::time::Instant;

/// How long a technician named in a transfer is rung (a team's steps ring as its policy says).
const TECHNICIAN_RING_FOR: Duration = Duration::from_secs(30);

/// Whom the caller is being transferred to, and the steps to ring for it.
pub(super) struct TransferTarget {
    /// The technician or team the REFER named.
    pub name: String,
    /// Who transferred the call.
    pub by: String,
    steps: Vec<EscalationStep>,
}

/// The technician whose REFER was accepted, on their leg (no longer bridged) until they have
/// been told how the transfer went; only then do they get our BYE, so their phone shows the
/// transfer's result before its call ends.
pub(super) struct Transferor {
    leg: Option<CallControl>,
}

impl Transferor {
    /// Takes over the transferring leg and tells it the transfer is under way.
    pub(super) async fn new(mut leg: CallControl) -> Transferor {
        // One transfer per conversation: a second REFER on this leg is refused (403).
        leg.allow_transfer(false);
        leg.notify_transfer(TransferProgress::trying()).await;
        Transferor { leg: Some(leg) }
    }

    /// The last NOTIFY (the target's final `status`: 200 when its phone answered), then our
    /// BYE; only the first call does anything.
    pub(super) async fn finish(&mut self, status: u16) {
        let Some(mut leg) = self.leg.take() else {
            return;
        };
        // What the phone sent while the target rang is read first: after its own BYE there
        // is no dialog left to notify or hang up.
        while let Ok(event) = leg.next_event(Some(Instant::now())).await {
            if event == CallEvent::Timeout {
                break;
            }
        }
        leg.notify_transfer(TransferProgress::status(status)).await;
        let cause = leg.ended().unwrap_or(EndCause::Completed);
        call_answer::finish(leg, cause).await;
    }
}

/// Why a REFER is refused; the status tells the phone, the text the timeline and the page.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
enum Refusal {
    #[error("{0}")]
    Unusable(String),
    #[error("no technician or team is called {0:?}")]
    Unknown(String),
    #[error("{0} is not available")]
    Unavailable(String),
    #[error("nobody in team {0} is available")]
    TeamUnavailable(String),
}

impl Refusal {
    fn status(&self) -> StatusCode {
        match self {
            Refusal::Unusable(_) => StatusCode::BadRequest,
            Refusal::Unknown(_) => StatusCode::NotFound,
            Refusal::Unavailable(_) | Refusal::TeamUnavailable(_) => {
                StatusCode::TemporarilyUnavailable
            }
        }
    }
}

impl<R: Roster> Router<'_, R> {
    /// Answers the REFER `tech` just received: 202 and the target when it can be rung now, a
    /// refusal (the conversation goes on) otherwise. Both go to the timeline.
    pub(super) async fn accept_transfer(
        &self,
        tech: &mut CallControl,
        ticket: &Ticket,
        technician: &str,
    ) -> Option<TransferTarget> {
        let request = tech.take_transfer()?;
        let resolved = match &request.target {
            Ok(name) => self.resolve(ticket, technician, name).await,
            Err(e) => Err(Refusal::Unusable(e.to_string())),
        };
        match resolved {
            Ok(target) => {
                tech.answer_transfer(request, control::accepted()).await;
                let detail = format!("{technician} → {}", target.name);
                self.event(ticket, CallEventKind::Transferred, &detail)
                    .await;
                Some(target)
            }
            Err(refusal) => {
                tech.answer_transfer(request, refusal.status()).await;
                let detail = format!("{technician}: transfer refused: {refusal}");
                self.event(ticket, CallEventKind::Transferred, &detail)
                    .await;
                None
            }
        }
    }

    /// A technician account first, then a team; either must have someone to ring now.
    async fn resolve(
        &self,
        ticket: &Ticket,
        technician: &str,
        name: &str,
    ) -> Result<TransferTarget, Refusal> {
        let target = |steps| TransferTarget {
            name: name.to_string(),
            by: technician.to_string(),
            steps,
        };
        let users = self.store.user_names().await.unwrap_or_default();
        if users.iter().any(|u| u == name) {
            let presence = self.store.presence(name, chrono::Utc::now()).await;
            if name == technician || !matches!(presence, Ok(Presence::Available)) {
                return Err(Refusal::Unavailable(name.to_string()));
            }
            return Ok(target(vec![EscalationStep {
                technician: name.to_string(),
                role: "transfer".into(),
                ring: TECHNICIAN_RING_FOR,
                language: self.language,
            }]));
        }
        if self.roster.team_of(ticket, Some(name)).await.as_deref() != Some(name) {
            return Err(Refusal::Unknown(name.to_string()));
        }
        let steps: Vec<_> = self
            .roster
            .steps(ticket, Some(name))
            .await
            .value
            .into_iter()
            .filter(|s| s.technician != technician)
            .collect();
        if steps.is_empty() {
            return Err(Refusal::TeamUnavailable(name.to_string()));
        }
        Ok(target(steps))
    }

    /// Rings the target while the caller hears ringback; if nobody there takes the call, the
    /// ticket's team's escalation once more. `None` (the caller told nobody answered) when
    /// neither took it. The `transferor` learns the target's outcome before its BYE: 200 as
    /// soon as a target's phone answers, 480 when none did, 487 when the caller hung up first.
    pub(super) async fn transfer_caller(
        &self,
        caller: &mut CallControl,
        ticket: &Ticket,
        target: TransferTarget,
        mut transferor: Transferor,
    ) -> Result<Option<Taken>, CallEnded> {
        let from = Presentation {
            display_name: format!("{} (transfer from {})", presentation(ticket), target.by),
            user: ticket.caller_number.clone(),
            auto_answer: false,
        };
        let mut waiting = Waiting::start(caller, self.prompt(self.language, "ringback"));
        let rung = self
            .ring_in_turn(
                caller,
                ticket,
                &target.steps,
                Turns::transfer(&from, Some(&mut transferor)),
                &mut waiting,
            )
            .await;
        // A target's phone that answered told the transferor already (a no-op here then).
        match &rung {
            Ok(Some(_)) => {}
            Ok(None) => transferor.finish(480).await,
            Err(_) => transferor.finish(487).await,
        }
        if let Some(taken) = rung? {
            return Ok(Some(taken));
        }
        let detail = format!(
            "transfer to {} not taken: back to the team's escalation",
            target.name
        );
        self.event(ticket, CallEventKind::Escalated, &detail).await;
        let steps = self.roster.steps(ticket, None).await.value;
        if let Some(taken) = self
            .ring_in_turn(
                caller,
                ticket,
                &steps,
                Turns::transfer(&from, None),
                &mut waiting,
            )
            .await?
        {
            return Ok(Some(taken));
        }
        caller.stop_playing();
        caller
            .play(self.prompts_for(self.language, &["nobody_answered"]), false)
            .await?;
        Ok(None)
    }
}
