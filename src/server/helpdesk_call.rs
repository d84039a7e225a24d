//! One helpdesk call: its ticket, its answer, its run through the dialplan, its end.
//!
//! The ticket is written before the call is answered, so every call — abandoned, failed or
//! complete — leaves one. Store errors after that are logged, never allowed to drop the caller.

use super::Services;
use crate::call::answer::{self, Caller};
use crate::call::{CallControl, CallEnded, EndCause};
use crate::ivr::{
    self, CallHost, IvrEffect, IvrEnd, PromptRef, RecordSpec, RecordingEnd, RecordingOutcome,
    RouteOutcome,
};
use crate::media::dtmf::Digit;
use crate::media::prompt;
use crate::media::recording::{RecordStop, Recorder};
use crate::sip::endpoint::NewCall;
use crate::store::{NewTicket, Store, Ticket};
use crate::tickets::{CallEventKind, Disposition, Language, Priority, TicketField};
use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

/// Handles one call from INVITE to hang-up.
pub(super) async fn handle(call: NewCall, services: Arc<Services>) {
    let caller = Caller::of(&call.invite);
    let call_id =
        crate::sip::message::header_value(&call.invite.headers, "Call-ID").unwrap_or_default();
    let span = tracing::info_span!("call", %call_id, caller = %caller.number);
    tracing::info!(parent: &span, display_name = ?caller.display_name, "incoming call");

    let new_ticket = NewTicket {
        call_id: call_id.clone(),
        caller_number: caller.number.clone(),
        caller_name: caller.display_name.clone(),
    };
    let ticket = match services.store.create_ticket(&new_ticket).await {
        Ok(t) => t,
        Err(e) => {
            // Without a ticket the call would leave no trace: refuse it so the caller retries.
            tracing::error!(parent: &span, error = %e, "cannot create the ticket; refusing the call");
            refuse(call, &services).await;
            return;
        }
    };
    tracing::info!(parent: &span, ticket = %ticket.reference, "ticket created");

    let mut control = match answer::answer(call, &services.answer).await {
        Ok(c) => c,
        Err(e) => {
            tracing::info!(parent: &span, error = %e, "call not answered");
            let (disposition, step) = match &e {
                answer::AnswerError::Ended(EndCause::Cancelled)
                | answer::AnswerError::Ended(EndCause::CallerHangup) => {
                    (Disposition::Abandoned, "ringing".to_string())
                }
                other => (Disposition::Failed, other.reason()),
            };
            log_store(
                services
                    .store
                    .set_disposition(ticket.id, disposition, Some(&step))
                    .await,
            );
            log_store(
                services
                    .store
                    .add_event(ticket.id, CallEventKind::Hangup, &e.to_string())
                    .await,
            );
            return;
        }
    };
    log_store(
        services
            .store
            .add_event(ticket.id, CallEventKind::Answered, "")
            .await,
    );
    tracing::info!(parent: &span, "answered");

    let plan = services.dialplan.read().expect("poisoned").clone();
    let mut host = HelpdeskHost {
        control: &mut control,
        services: &services,
        ticket: &ticket,
        language: plan.default_language,
        language_chosen: false,
        voicemail: false,
    };
    let result = ivr::run(&plan, &mut host).await;
    let voicemail = host.voicemail;
    let cause = match &result.end {
        IvrEnd::Completed | IvrEnd::StepLimit { .. } => EndCause::Completed,
        IvrEnd::Ended { cause, .. } => cause.0,
    };
    let (disposition, detail) = match (&result.end, &result.routed) {
        (_, Some(RouteOutcome::Answered { technician })) => {
            (Disposition::Answered, Some(technician.clone()))
        }
        (IvrEnd::Completed, Some(RouteOutcome::NobodyAvailable)) => {
            (Disposition::Routed, Some("nobody available".into()))
        }
        (IvrEnd::Completed, None) => (Disposition::Completed, None),
        (IvrEnd::StepLimit { node }, _) => {
            (Disposition::Failed, Some(format!("step limit at {node}")))
        }
        (IvrEnd::Ended { .. }, _) if voicemail => (Disposition::Voicemail, None),
        (IvrEnd::Ended { node, cause }, _) => match cause.0 {
            EndCause::CallerHangup | EndCause::Cancelled => {
                (Disposition::Abandoned, Some(node.clone()))
            }
            other => (Disposition::Failed, Some(format!("{other} at {node}"))),
        },
    };
    log_store(
        services
            .store
            .set_disposition(ticket.id, disposition, detail.as_deref())
            .await,
    );
    let by = if cause.needs_bye() {
        "hotline"
    } else {
        "caller"
    };
    log_store(
        services
            .store
            .add_event(
                ticket.id,
                CallEventKind::Hangup,
                &format!("by {by} ({cause})"),
            )
            .await,
    );
    let stats = answer::finish(control, cause).await;
    tracing::info!(
        parent: &span,
        %cause,
        %disposition,
        path = %result.path.join(" > "),
        packets_sent = stats.packets_sent,
        packets_received = stats.packets_received,
        "call ended"
    );
}

/// 503 for a call we cannot keep a ticket for.
async fn refuse(call: NewCall, services: &Services) {
    let mut r = crate::sip::message::response(
        &call.invite,
        rsip::StatusCode::ServiceUnavailable,
        Some("refused"),
    );
    r.headers.push(rsip::Header::RetryAfter("30".into()));
    services.answer.endpoint.respond(&call.transaction, r).await;
    services
        .answer
        .endpoint
        .forget(&call_id_of(&call), &from_tag_of(&call))
        .await;
}

fn call_id_of(call: &NewCall) -> String {
    crate::sip::message::header_value(&call.invite.headers, "Call-ID").unwrap_or_default()
}

fn from_tag_of(call: &NewCall) -> String {
    use rsip::prelude::*;
    call.invite
        .from_header()
        .ok()
        .and_then(|f| f.tag().ok().flatten())
        .map(|t| t.to_string())
        .unwrap_or_default()
}

fn log_store<T>(result: Result<T, crate::store::StoreError>) {
    if let Err(e) = result {
        tracing::error!(error = %e, "ticket update failed");
    }
}

/// The dialplan's view of a live call with its ticket.
struct HelpdeskHost<'a> {
    control: &'a mut CallControl,
    services: &'a Services,
    ticket: &'a Ticket,
    language: Language,
    /// Whether the caller picked the language (otherwise the transcriber detects it).
    language_chosen: bool,
    voicemail: bool,
}

impl HelpdeskHost<'_> {
    fn recording_path(&self) -> PathBuf {
        let r = self.ticket.reference;
        self.services
            .data_dir
            .join("recordings")
            .join(r.year.to_string())
            .join(format!("{r}.wav"))
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
                    let found = self.services.prompts.get(language.as_str(), name);
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
        let path = self.recording_path();
        let store = &self.services.store;
        let id = self.ticket.id;
        let mut recorder = match Recorder::create(&path) {
            Ok(r) => r.with_parts(self.services.transcript_part),
            Err(e) => {
                tracing::error!(error = %e, "cannot record the voicemail");
                log_store(
                    store
                        .add_event(id, CallEventKind::Error, &e.to_string())
                        .await,
                );
                return Ok(RecordingOutcome {
                    path,
                    duration: Duration::ZERO,
                    end: RecordingEnd::Silence,
                    has_speech: false,
                });
            }
        };
        // The path is stored first: a crash mid-recording still leaves the ticket pointing at
        // the (repairable) file.
        log_store(
            store
                .set_recording(id, &path.display().to_string(), Duration::ZERO, "recording")
                .await,
        );
        log_store(
            store
                .add_event(
                    id,
                    CallEventKind::RecordingStarted,
                    &path.display().to_string(),
                )
                .await,
        );
        // Parts are queued while the caller is still speaking (see `transcribe`).
        let language = self
            .language_chosen
            .then(|| self.language.as_str().to_string());
        let (parts_tx, mut parts_rx) = tokio::sync::mpsc::unbounded_channel::<(usize, PathBuf)>();
        let queue = {
            let store = store.clone();
            let wakeup = self.services.transcription.clone();
            let language = language.clone();
            tokio::spawn(async move {
                while let Some((n, part)) = parts_rx.recv().await {
                    log_store(
                        store
                            .enqueue_transcription_part(
                                id,
                                &part.display().to_string(),
                                language.as_deref(),
                                n as i64,
                            )
                            .await,
                    );
                    if let Some(w) = &wakeup {
                        w.notify();
                    }
                }
            })
        };
        let stop = self
            .control
            .record(
                &mut recorder,
                spec.max,
                spec.silence,
                spec.finish_digit,
                Some(&parts_tx),
            )
            .await;
        drop(parts_tx);
        let _ = queue.await;
        let end = match stop {
            Ok(RecordStop::Digit) => RecordingEnd::Digit,
            Ok(RecordStop::Silence) => RecordingEnd::Silence,
            Ok(RecordStop::MaxLength) => RecordingEnd::MaxLength,
            Err(_) => RecordingEnd::Hangup,
        };
        let info = match recorder.finish() {
            Ok(info) => info,
            Err(e) => {
                tracing::error!(error = %e, "cannot finish the voicemail");
                log_store(
                    store
                        .add_event(id, CallEventKind::Error, &e.to_string())
                        .await,
                );
                return stop.map(|_| RecordingOutcome {
                    path,
                    duration: Duration::ZERO,
                    end,
                    has_speech: false,
                });
            }
        };
        let cause = if info.has_speech {
            end.as_str().to_string()
        } else {
            format!("{} (no speech)", end.as_str())
        };
        log_store(
            store
                .set_recording(id, &info.path.display().to_string(), info.duration, &cause)
                .await,
        );
        log_store(
            store
                .add_event(
                    id,
                    CallEventKind::RecordingStopped,
                    &format!("{} ms, {cause}", info.duration.as_millis()),
                )
                .await,
        );
        self.voicemail = info.has_speech;
        if info.has_speech {
            // Queued even when the caller hung up mid-recording: what was said is kept.
            if let Some((n, part)) = &info.last_part {
                log_store(
                    store
                        .enqueue_transcription_part(
                            id,
                            &part.display().to_string(),
                            language.as_deref(),
                            *n as i64,
                        )
                        .await,
                );
            }
            if let Some(w) = &self.services.transcription {
                w.notify();
            }
        }
        stop?;
        Ok(RecordingOutcome {
            path: info.path,
            duration: info.duration,
            end,
            has_speech: info.has_speech,
        })
    }

    async fn effect(&mut self, effect: IvrEffect) {
        let store: &Store = &self.services.store;
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
        let store = &self.services.store;
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
        match self.services.store.ticket(self.ticket.id).await {
            Ok(Some(t)) => t.priority,
            _ => None,
        }
    }

    async fn route(&mut self) -> Result<RouteOutcome, CallEnded> {
        // Ringing technicians' phones needs registered devices (REGISTER) and a client INVITE
        // leg; until they exist, urgent calls are flagged for immediate call-back.
        tracing::info!(ticket = %self.ticket.reference, "urgent call: no technician phone registered, flagged for call-back");
        Ok(RouteOutcome::NobodyAvailable)
    }
}
