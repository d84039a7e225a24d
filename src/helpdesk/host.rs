//! The dialplan's view of a live helpdesk call: what `ivr::run` asks of the call, done with the
//! call's control, its ticket and the helpdesk's services.

use super::{log_store, Helpdesk};
use crate::call::{CallControl, CallEnded};
use crate::ivr::{CallHost, IvrEffect, PromptRef, RecordSpec, RecordingOutcome, RouteOutcome};
use crate::media::dtmf::Digit;
use crate::media::prompt;
use crate::store::{Store, Ticket};
use crate::tickets::{CallEventKind, Disposition, Language, Priority, TicketField};
use std::time::Duration;

/// One answered call with its ticket, as the interpreter drives it.
pub(super) struct HelpdeskHost<'a> {
    pub control: &'a mut CallControl,
    pub helpdesk: &'a Helpdesk,
    pub ticket: &'a Ticket,
    pub language: Language,
    /// Whether the caller picked the language (otherwise the transcriber detects it).
    pub language_chosen: bool,
    /// Whether the caller left a voicemail with speech in it.
    pub voicemail: bool,
    /// Whether the caller hung up while waiting in a team's queue.
    pub abandoned_in_queue: bool,
    /// The technician calling from their own phone (authenticated), if it is one.
    pub technician: Option<String>,
}

impl CallHost for HelpdeskHost<'_> {
    async fn play(
        &mut self,
        prompts: Vec<PromptRef>,
        barge_in: bool,
    ) -> Result<Option<Digit>, CallEnded> {
        let audio = prompts
            .iter()
            .filter_map(|p| match p {
                PromptRef::Beep => Some(prompt::beep(250)),
                PromptRef::File { language, name } => {
                    let found = self.helpdesk.prompts.get(language.as_str(), name);
                    if found.is_none() {
                        // The checker prevents this; a prompt deleted since start-up is skipped.
                        tracing::warn!(%language, %name, "prompt missing");
                    }
                    found
                }
            })
            .collect();
        self.control.play(audio, barge_in).await
    }

    async fn next_digit(&mut self, timeout: Duration) -> Result<Option<Digit>, CallEnded> {
        self.control.next_digit(timeout).await
    }

    async fn record(&mut self, spec: RecordSpec) -> Result<RecordingOutcome, CallEnded> {
        let language = self.language_chosen.then_some(self.language);
        let recorded = self
            .helpdesk
            .voicemail
            .record(self.control, self.ticket, spec, language)
            .await;
        self.voicemail = recorded.outcome.has_speech;
        match recorded.ended {
            Some(ended) => Err(ended),
            None => Ok(recorded.outcome),
        }
    }

    async fn effect(&mut self, effect: IvrEffect) {
        let store: &Store = &self.helpdesk.store;
        let id = self.ticket.id;
        match effect {
            IvrEffect::Field(field) => {
                if let TicketField::Language(l) = field {
                    self.language = l;
                    self.language_chosen = true;
                }
                log_store(store.set_field(id, field).await);
            }
            IvrEffect::Collected { variable, digits } => {
                log_store(store.set_collected(id, &variable, &digits).await)
            }
            IvrEffect::Event { kind, detail } => {
                if kind == CallEventKind::Digit {
                    tracing::info!(ticket = %self.ticket.reference, digit = %detail, "digit");
                }
                log_store(store.add_event(id, kind, &detail).await)
            }
        }
    }

    async fn ticket_number(&mut self) -> u32 {
        self.ticket.reference.number
    }

    async fn response_estimate(&mut self) -> Duration {
        let store = &self.helpdesk.store;
        let estimate = match store.estimate_for(self.ticket.id).await {
            Ok(Some(d)) => d,
            other => {
                if let Err(e) = other {
                    tracing::error!(error = %e, "estimate failed");
                }
                crate::tickets::estimate::NO_STAFF_WAIT
            }
        };
        // What is spoken is what is stored.
        log_store(store.set_estimate(self.ticket.id, estimate).await);
        estimate
    }

    async fn priority(&mut self) -> Option<Priority> {
        match self.helpdesk.store.ticket(self.ticket.id).await {
            Ok(Some(t)) => t.priority,
            _ => None,
        }
    }

    async fn entered(&mut self, node: &str) {
        // Kept while the call runs, so a restart after a crash can say where it was cut.
        log_store(
            self.helpdesk
                .store
                .set_disposition(self.ticket.id, Disposition::InProgress, Some(node))
                .await,
        );
    }

    fn caller_is_technician(&self) -> bool {
        self.technician.is_some()
    }

    async fn route(&mut self, spec: &crate::ivr::RouteSpec) -> Result<RouteOutcome, CallEnded> {
        // The ticket as it is now: the menu filled in category, impact and priority.
        let ticket = match self.helpdesk.store.ticket(self.ticket.id).await {
            Ok(Some(t)) => t,
            _ => self.ticket.clone(),
        };
        let router = self.helpdesk.router(self.language);
        let outcome = router.offer(self.control, &ticket, spec).await;
        if outcome.is_err() && spec.mode == crate::ivr::RouteMode::Queue {
            self.abandoned_in_queue = true;
        }
        outcome
    }
}
