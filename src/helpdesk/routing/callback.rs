//! "Call back" from the web log (click-to-call): Hotline rings the technician's own phones
//! first; once they answer and hear ringback, it dials the caller through the configured
//! outbound gateway (`sip:NUMBER@gateway`) and joins the two when the caller answers. The
//! ticket records each leg and ends `callback_done` after a conversation. A caller's
//! `callback_requested` is claimed in the store first, by the click as by `*8`, so only one
//! technician calls them back. When the technician has the web log's browser phone open, that
//! page is their leg instead: it is asked to answer by itself (`answer-after=0`), so the click
//! dials the caller from the browser.

use crate::call::answer as call_answer;
use crate::call::outbound::{self, Presentation, Progress, Target};
use crate::call::{CallControl, CallEvent, EndCause};
use crate::helpdesk::ticket_writer::TicketWrite;
use crate::helpdesk::Helpdesk;
use crate::sip::transport::Flow;
use crate::tickets::{CallEventKind, Disposition, Ticket, TicketRef};
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;
use tokio::time::Instant;

/// How long the technician's phones ring.
const TECHNICIAN_RING_FOR: Duration = Duration::from_secs(30);
/// How long the caller's phone rings before the technician is told nobody answered.
const CALLER_RING_FOR: Duration = Duration::from_secs(45);

/// Why a call-back cannot start; each says what to do about it.
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum CallBackError {
    #[error("no outbound gateway is configured (sip.outbound_gateway): Hotline cannot reach callers' numbers")]
    NoGateway,
    #[error("this call is still in progress")]
    InProgress,
    #[error("the caller's number is unknown")]
    NoNumber,
    #[error("none of your phones can be rung now: register a phone first")]
    NoPhone,
    #[error("no such ticket")]
    NoTicket,
    #[error("another technician is already calling this caller back")]
    Taken,
    #[error("the ticket store failed: {0}")]
    Store(String),
}

impl Helpdesk {
    /// Rings `technician`'s phones, then the caller of `reference`, and joins them. Returns
    /// once the technician's phones ring; the rest happens in its own task. A call-back request
    /// is claimed first ([`CallBackError::Taken`] when someone took it a moment ago) and given
    /// back when the technician or the caller does not answer.
    pub async fn call_back(
        self: &Arc<Self>,
        technician: &str,
        reference: TicketRef,
    ) -> Result<(), CallBackError> {
        let gateway = self.gateway.ok_or(CallBackError::NoGateway)?;
        let ticket = self
            .store
            .ticket_by_ref(&reference)
            .await
            .map_err(|e| CallBackError::Store(e.to_string()))?
            .ok_or(CallBackError::NoTicket)?;
        if ticket.disposition == Disposition::InProgress {
            return Err(CallBackError::InProgress);
        }
        if !dialable(&ticket.caller_number) {
            return Err(CallBackError::NoNumber);
        }
        let devices = self.phones_to_ring(technician).await;
        if devices.is_empty() {
            return Err(CallBackError::NoPhone);
        }
        // An open browser phone is the technician's leg: it answers by itself (this is their
        // own click) and their desk phones are left alone.
        let pages: Vec<Target> = devices
            .iter()
            .filter(|d| crate::browser::is_page_contact(&d.uri))
            .cloned()
            .collect();
        let from_page = !pages.is_empty();
        let devices = if from_page { pages } else { devices };
        // A caller's request is claimed as `*8` claims it, so that two technicians (or a click
        // and a `*8`) never ring the same caller; any other ended call is simply called back.
        let claimed = ticket.disposition == Disposition::CallbackRequested;
        if claimed
            && !self
                .store
                .claim_callback(ticket.id)
                .await
                .map_err(|e| CallBackError::Store(e.to_string()))?
        {
            return Err(CallBackError::Taken);
        }
        let helpdesk = self.clone();
        let technician = technician.to_string();
        tokio::spawn(async move {
            let reached = helpdesk
                .ring_technician_then_caller(&ticket, &technician, &devices, from_page, gateway)
                .await;
            if claimed && !reached {
                helpdesk.release_call_back(&ticket).await;
            }
        });
        Ok(())
    }

    /// The web "Call back" once it may start: rings `devices` of `technician`, then, once
    /// one answers, the caller of `ticket`. Returns whether the caller answered.
    async fn ring_technician_then_caller(
        self: &Arc<Self>,
        ticket: &Ticket,
        technician: &str,
        devices: &[Target],
        from_page: bool,
        gateway: SocketAddr,
    ) -> bool {
        let language = self.dialplan().default_language;
        let router = self.router(language);
        let detail = if from_page {
            format!("call-back by {technician}: from their browser phone")
        } else {
            format!("call-back by {technician}: ringing their phone first")
        };
        router
            .event(ticket, CallEventKind::RoutingAttempt, &detail)
            .await;
        let shown = Presentation {
            display_name: super::ring::presentation(ticket),
            user: ticket.caller_number.clone(),
            auto_answer: from_page,
        };
        let Ok(Some((attempt, answer))) = router
            .ring_devices_as(
                None,
                ticket,
                technician,
                devices,
                TECHNICIAN_RING_FOR,
                &shown,
            )
            .await
        else {
            return false;
        };
        let Ok(tech) = attempt.connect(&self.answer, answer).await else {
            return false;
        };
        self.call_back_on(tech, ticket, technician, gateway, "call-back")
            .await
    }

    /// `*8` with nobody waiting live: takes the first call-back request of `teams` (or the
    /// one of `reference`), in the board's order, and claims it in the store so that nobody
    /// else calls that caller back too. `None` without a gateway or a request to take.
    pub(crate) async fn claim_call_back(
        &self,
        teams: &[String],
        reference: Option<TicketRef>,
    ) -> Option<(Ticket, SocketAddr)> {
        let gateway = self.gateway?;
        let requests = match self
            .store
            .callback_requests_of(teams, reference.as_ref())
            .await
        {
            Ok(r) => r,
            Err(e) => {
                tracing::error!(error = %e, "cannot read the call-back requests");
                return None;
            }
        };
        for ticket in requests {
            if !dialable(&ticket.caller_number) {
                continue;
            }
            match self.store.claim_callback(ticket.id).await {
                Ok(true) => return Some((ticket, gateway)),
                // Another technician took it a moment ago: the next one is ours to try.
                Ok(false) => continue,
                Err(e) => {
                    tracing::error!(error = %e, "cannot claim a call-back request");
                    return None;
                }
            }
        }
        None
    }

    /// Calls back the caller of `ticket` (claimed by [`Helpdesk::claim_call_back`]) on the
    /// leg `tech` of the technician who dialled `*8`. When the caller could not be reached
    /// the request goes back to waiting, keeping its place.
    pub(crate) async fn star_8_call_back(
        self: &Arc<Self>,
        tech: CallControl,
        ticket: Ticket,
        technician: &str,
        gateway: SocketAddr,
    ) {
        let router = self.router(self.dialplan().default_language);
        let detail = format!("call-back by {technician}: *8 on their phone");
        router
            .event(&ticket, CallEventKind::RoutingAttempt, &detail)
            .await;
        let how = "*8 call-back";
        if !self
            .call_back_on(tech, &ticket, technician, gateway, how)
            .await
        {
            self.release_call_back(&ticket).await;
        }
    }

    /// Gives back a call-back request claimed from `ticket` (as read before the claim) whose
    /// caller was not reached: it is `callback_requested` again, keeping its place on the board.
    async fn release_call_back(&self, ticket: &Ticket) {
        let write = TicketWrite::Disposition {
            disposition: Disposition::CallbackRequested,
            detail: ticket.disposition_detail.clone(),
        };
        self.writers.for_ticket(ticket.id).write(write).await;
    }

    /// The technician's leg `tech` is connected: they hear ringback while Hotline dials the
    /// caller of `ticket` through `gateway`, then the two talk and the ticket ends
    /// `callback_done`. Shared by "Call back" on the web and `*8`; `how` names it on the
    /// timeline. Returns whether the caller answered (their talk is over when it returns).
    async fn call_back_on(
        self: &Arc<Self>,
        mut tech: CallControl,
        ticket: &Ticket,
        technician: &str,
        gateway: SocketAddr,
        how: &str,
    ) -> bool {
        let number = &ticket.caller_number;
        let language = self.dialplan().default_language;
        let router = self.router(language);
        // The technician hears ringback while the caller's phone rings.
        let ringback = router.prompt(language, "ringback");
        let mut ringing = ringback.clone().map(|p| tech.start_playing(vec![p]));
        let uri = format!("sip:{number}@{gateway}");
        let target = Target {
            uri: uri.clone(),
            to: uri.clone(),
            flow: Flow::Udp,
            dest: gateway,
        };
        let from = Presentation {
            display_name: "Helpdesk".into(),
            user: "helpdesk".into(),
            auto_answer: false,
        };
        let mut dialled = match outbound::dial(&self.answer, &target, &from).await {
            Ok(a) => a,
            Err(e) => {
                let detail = format!("caller: {uri}: cannot ring ({e})");
                router
                    .event(ticket, CallEventKind::RingResult, &detail)
                    .await;
                tech.stop_playing();
                self.tell_and_hang_up(tech, language, "callback_no_answer")
                    .await;
                return false;
            }
        };
        router
            .event(ticket, CallEventKind::Ringing, &format!("caller: {uri}"))
            .await;
        let deadline = Instant::now() + CALLER_RING_FOR;
        let ctx = &self.answer;
        let outcome = loop {
            tokio::select! {
                progress = dialled.next(ctx) => match progress {
                    Some(Progress::Ringing) => {}
                    Some(Progress::Answered(a)) => break Ok(a),
                    Some(Progress::Failed(code)) => break Err(format!("answered {code}")),
                    None => break Err("no answer".to_string()),
                },
                event = tech.next_event(Some(deadline)) => match event {
                    Ok(CallEvent::PlaybackFinished(id)) if Some(id) == ringing => {
                        ringing = ringback.clone().map(|p| tech.start_playing(vec![p]));
                    }
                    Ok(CallEvent::Timeout) => {
                        dialled.cancel().await;
                        break Err("no answer".to_string());
                    }
                    Ok(_) => {}
                    Err(_) => {
                        // The technician gave up: stop ringing the caller.
                        dialled.cancel().await;
                        break Err("cancelled by the technician".to_string());
                    }
                },
            }
        };
        tech.stop_playing();
        let answer = match outcome {
            Ok(answer) => answer,
            Err(reason) => {
                let detail = format!("caller: {uri}: {reason}");
                router
                    .event(ticket, CallEventKind::RingResult, &detail)
                    .await;
                dialled.finish_unwanted(ctx);
                self.tell_and_hang_up(tech, language, "callback_no_answer")
                    .await;
                return false;
            }
        };
        let mut caller = match dialled.connect(ctx, answer).await {
            Ok(leg) => leg,
            Err(e) => {
                tracing::info!(error = %e, "the caller's answer could not be connected");
                call_answer::finish(tech, EndCause::Completed).await;
                return false;
            }
        };
        // The technician's hang-up ends the talk; the caller's leg is ours to end then.
        let talked = router
            .talk(&mut caller, tech, ticket, technician, how)
            .await;
        let cause = match talked {
            Ok(_) => EndCause::Completed,
            Err(_) => caller.ended().unwrap_or(EndCause::CallerHangup),
        };
        call_answer::finish(caller, cause).await;
        let write = TicketWrite::Disposition {
            disposition: Disposition::CallbackDone,
            detail: Some(technician.to_string()),
        };
        router.write(ticket, write).await;
        true
    }
}

/// Whether `number` can be dialled: it goes into a SIP URI's user part, so nothing that could
/// change the URI.
fn dialable(number: &str) -> bool {
    !number.is_empty()
        && number != "unknown"
        && number
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b"+.-_".contains(&b))
}
