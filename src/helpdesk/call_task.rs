//! One helpdesk call from INVITE to hang-up: its ticket, its answer, its run through the
//! dialplan, its end.
//!
//! The ticket is written before the call is answered, so every call — abandoned, failed or
//! complete — leaves one; a call the database cannot take is refused with 503. Writes after
//! that go through the call's `TicketWriter`: kept through a database outage, never allowed
//! to drop the caller.

use super::features::{self, FeatureCode};
use super::host::HelpdeskHost;
use super::ticket_writer::{self, TicketWrite};
use super::{disposition, Helpdesk};
use crate::call::answer;
use crate::call::{IncomingCall, NewCall, Refusal};
use crate::ivr;
use crate::phones::CallerIs;
use crate::store::NewTicket;
use crate::tickets::{CallEventKind, Disposition};
use std::sync::Arc;
use std::time::Duration;

/// How long a caller refused for want of a ticket is asked to wait before retrying: a
/// PostgreSQL restart takes seconds.
const RETRY_AFTER_STORE_FAILURE: Duration = Duration::from_secs(10);

/// Handles one call from INVITE to hang-up.
pub async fn handle_call(call: NewCall, helpdesk: Arc<Helpdesk>) {
    let caller = call.caller();
    let call_id = call.call_id();
    let span = tracing::info_span!("call", %call_id, caller = %caller.number);
    tracing::info!(parent: &span, display_name = ?caller.display_name, "incoming call");

    // A technician's feature code is not a helpdesk call: no ticket. Only INVITEs for a code,
    // or from a technician's registered phone, are challenged; callers are let straight in.
    let feature = FeatureCode::parse(&call.dialled());
    let technician = match helpdesk.phones.identify(&call, feature.is_some()).await {
        CallerIs::Answered => return,
        CallerIs::Technician(technician) => match feature {
            Some(code) => return features::run(call, technician, code, helpdesk).await,
            None => {
                tracing::info!(parent: &span, %technician, "a technician calls the helpdesk");
                Some(technician)
            }
        },
        CallerIs::Caller => None,
    };

    let new_ticket = NewTicket {
        call_id,
        caller_number: caller.number,
        caller_name: caller.display_name,
    };
    let store = &helpdesk.store;
    // Known down, or too much already waiting for it: refused at once, not after the pool's
    // connect timeout.
    let refuse_now = helpdesk.reachability.is_down() || ticket_writer::backlog_full();
    let created = if refuse_now {
        Err(None)
    } else {
        store.create_ticket(&new_ticket).await.map_err(Some)
    };
    let ticket = match created {
        Ok(t) => t,
        Err(e) => {
            match &e {
                Some(e) if e.is_unavailable() => helpdesk.reachability.mark_down(store),
                _ => {}
            }
            // Without a ticket the call would leave no trace: refuse it so the caller retries.
            let error = e.map_or("database unreachable or write backlog full".into(), |e| {
                e.to_string()
            });
            tracing::error!(parent: &span, %error, "cannot create the ticket; refusing the call");
            crate::call::refuse(
                call,
                &helpdesk.answer.endpoint,
                Refusal::ServiceUnavailable,
                Some(RETRY_AFTER_STORE_FAILURE),
            )
            .await;
            return;
        }
    };
    tracing::info!(parent: &span, ticket = %ticket.reference, "ticket created");
    // Routing for this call finds this writer by the ticket (`TicketWriters`): one order.
    let writer = helpdesk.writers.for_ticket(ticket.id);

    let mut control = match answer::answer(call, &helpdesk.answer).await {
        Ok(c) => c,
        Err(e) => {
            tracing::info!(parent: &span, error = %e, "call not answered");
            let outcome = disposition::unanswered(&e);
            writer
                .write(TicketWrite::Disposition {
                    disposition: outcome.disposition,
                    detail: outcome.detail,
                })
                .await;
            writer.event(CallEventKind::Hangup, e.to_string()).await;
            return;
        }
    };
    writer.event(CallEventKind::Answered, "").await;
    tracing::info!(parent: &span, "answered");

    let plan = helpdesk.dialplan();
    let mut host = HelpdeskHost {
        control: &mut control,
        helpdesk: &helpdesk,
        ticket: &ticket,
        known: ticket.clone(),
        writer: &writer,
        language: plan.default_language,
        language_chosen: false,
        voicemail: false,
        abandoned_in_queue: false,
        technician,
    };
    let result = ivr::run(&plan, &mut host).await;
    let mut outcome = disposition::answered(&result, host.voicemail);
    if host.abandoned_in_queue && outcome.disposition == Disposition::Abandoned {
        outcome.disposition = Disposition::AbandonedInQueue;
    }
    let cause = disposition::end_cause(&result.end);
    writer
        .write(TicketWrite::Disposition {
            disposition: outcome.disposition,
            detail: outcome.detail.clone(),
        })
        .await;
    writer
        .event(CallEventKind::Hangup, disposition::hangup_detail(cause))
        .await;
    let stats = answer::finish(control, cause).await;
    tracing::info!(
        parent: &span,
        %cause,
        disposition = %outcome.disposition,
        path = %result.path.join(" > "),
        packets_sent = stats.packets_sent,
        packets_received = stats.packets_received,
        "call ended"
    );
}
