//! The dialplan's view of a live helpdesk call: what `ivr::run` asks of the call, done with the
//! call's control, its ticket and the helpdesk's services.

use super::ticket_writer::{TicketWrite, TicketWriter};
use super::Helpdesk;
use crate::call::{CallControl, CallEnded};
use crate::ivr::{CallHost, IvrEffect, PromptRef, RecordSpec, RecordingOutcome, RouteOutcome};
use crate::media::dtmf::Digit;
use crate::media::prompt;
use crate::store::{StoreError, Ticket};
use crate::tickets::{CallEventKind, Disposition, Language, Priority, TicketField};
use std::time::Duration;

/// One answered call with its ticket, as the interpreter drives it.
pub(super) struct HelpdeskHost<'a> {
    pub control: &'a mut CallControl,
    pub helpdesk: &'a Helpdesk,
    pub ticket: &'a Ticket,
    /// The ticket as this call's own answers made it (category, impact, urgency, priority):
    /// what triage and routing go by when the store cannot be read (a database outage).
    pub known: Ticket,
    /// Every write to the ticket, in order, kept through a database outage.
    pub writer: &'a TicketWriter,
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

impl HelpdeskHost<'_> {
    /// Reads from the store for the dialplan; `None` (the dialplan's fallback) when it fails,
    /// or at once when the database is known down, so the caller is not held in silence for
    /// the pool's connect timeout.
    async fn read<T, F, Fut>(&self, query: F) -> Option<T>
    where
        F: FnOnce(crate::store::Store, i64) -> Fut,
        Fut: std::future::Future<Output = Result<T, StoreError>>,
    {
        let helpdesk = self.helpdesk;
        if helpdesk.reachability.is_down() {
            return None;
        }
        let read = query(helpdesk.store.clone(), self.ticket.id);
        match tokio::time::timeout(super::ticket_writer::INLINE_WAIT, read).await {
            Ok(Ok(value)) => Some(value),
            Ok(Err(e)) => {
                if e.is_unavailable() {
                    helpdesk.reachability.mark_down(&helpdesk.store);
                }
                tracing::error!(error = %e, "reading the ticket failed");
                None
            }
            Err(_) => {
                helpdesk.reachability.mark_down(&helpdesk.store);
                tracing::error!("reading the ticket timed out");
                None
            }
        }
    }
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
            .record(self.control, self.ticket, self.writer, spec, language)
            .await;
        self.voicemail = recorded.outcome.has_speech;
        match recorded.ended {
            Some(ended) => Err(ended),
            None => Ok(recorded.outcome),
        }
    }

    async fn effect(&mut self, effect: IvrEffect) {
        let write = match effect {
            IvrEffect::Field(field) => {
                self.known.set_field(field, self.helpdesk.store.matrix());
                if let TicketField::Language(l) = field {
                    self.language = l;
                    self.language_chosen = true;
                }
                TicketWrite::Field(field)
            }
            IvrEffect::Collected { variable, digits } => TicketWrite::Collected {
                name: variable,
                digits,
            },
            IvrEffect::Event { kind, detail } => {
                if kind == CallEventKind::Digit {
                    tracing::info!(ticket = %self.ticket.reference, digit = %detail, "digit");
                }
                TicketWrite::event(kind, detail)
            }
        };
        self.writer.write(write).await;
    }

    async fn ticket_number(&mut self) -> u32 {
        self.ticket.reference.number
    }

    async fn response_estimate(&mut self) -> Duration {
        let estimate = match self
            .read(|s, id| async move { s.estimate_for(id).await })
            .await
        {
            Some(Some(d)) => d,
            _ => crate::tickets::estimate::NO_STAFF_WAIT,
        };
        // What is spoken is what is stored.
        self.writer.write(TicketWrite::Estimate(estimate)).await;
        estimate
    }

    async fn priority(&mut self) -> Option<Priority> {
        let ticket = self.read(|s, id| async move { s.ticket(id).await }).await;
        match ticket.flatten() {
            Some(t) => t.priority,
            None => self.known.priority,
        }
    }

    async fn entered(&mut self, node: &str) {
        // Kept while the call runs, so a restart after a crash can say where it was cut.
        self.writer
            .write(TicketWrite::Disposition {
                disposition: Disposition::InProgress,
                detail: Some(node.to_string()),
            })
            .await;
    }

    fn caller_is_technician(&self) -> bool {
        self.technician.is_some()
    }

    async fn route(&mut self, spec: &crate::ivr::RouteSpec) -> Result<RouteOutcome, CallEnded> {
        // The ticket as it is now: the menu filled in category, impact and priority.
        let ticket = self.read(|s, id| async move { s.ticket(id).await }).await;
        let ticket = ticket.flatten().unwrap_or_else(|| self.known.clone());
        let router = self.helpdesk.router(self.language);
        let outcome = router.offer(self.control, &ticket, spec).await;
        if outcome.is_err() && spec.mode == crate::ivr::RouteMode::Queue {
            self.abandoned_in_queue = true;
        }
        outcome
    }
}
