//! "Take call" from the web log: a technician chooses a caller waiting in a queue; Hotline
//! rings the technician's own phones, and the first to answer is handed to the waiting caller
//! as a pick-up (bridged at once, no announcement: the technician chose this call).
//!
//! A caller waiting on another node (nodes sharing PostgreSQL) is asked for through the store:
//! a take request, which the caller's node claims and serves with this same flow
//! (`remote_take`): the technician's phones are bindings in the shared database, so any node
//! can ring them.

use super::queue::{Pickup, QueueEntry};
use crate::call::outbound::Target;
use crate::helpdesk::Helpdesk;
use crate::store::TakeVia;
use crate::tickets::{CallEventKind, TicketRef};
use std::sync::Arc;
use std::time::Duration;
use tokio::sync::oneshot;

/// How long the technician's phones ring for a call they asked for.
const RING_FOR: Duration = Duration::from_secs(30);

/// Why a call cannot be taken; each says what the technician can do about it.
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum TakeError {
    #[error("this caller is not waiting in a queue (answered or hung up)")]
    NotWaiting,
    #[error("none of your phones can be rung now: register a phone, or dial *8 from one")]
    NoPhone,
    #[error("the ticket store failed: {0}")]
    Store(String),
}

impl Helpdesk {
    /// Rings `technician`'s phones for the caller of `reference`, who must be waiting in a
    /// queue: of this node (returns once the phones ring; the rest happens in its own task),
    /// or of another node sharing the database (returns once that node is asked to).
    pub async fn take_call(
        self: &Arc<Self>,
        technician: &str,
        reference: TicketRef,
    ) -> Result<(), TakeError> {
        let text = reference.to_string();
        match self
            .queues
            .snapshot()
            .into_iter()
            .find(|e| e.reference == text)
        {
            Some(waiting) => {
                self.take_waiting(technician, waiting, TakeVia::WebLog)
                    .await
            }
            None => self.ask_other_node(technician, reference).await,
        }
    }

    /// Writes a take request for a caller waiting on another node, once it is known they wait
    /// there and the technician has a phone that node can ring.
    async fn ask_other_node(
        &self,
        technician: &str,
        reference: TicketRef,
    ) -> Result<(), TakeError> {
        let store_error = |e: crate::store::StoreError| TakeError::Store(e.to_string());
        let Some(store) = self.queues.shared_store() else {
            return Err(TakeError::NotWaiting);
        };
        let now = chrono::Utc::now();
        let ticket = store
            .ticket_by_ref(&reference)
            .await
            .map_err(store_error)?
            .ok_or(TakeError::NotWaiting)?;
        let elsewhere = store
            .waiting_caller(ticket.id, now)
            .await
            .map_err(store_error)?
            // Our own row without our own caller: they are leaving right now.
            .filter(|w| w.node != store.node().as_str())
            .ok_or(TakeError::NotWaiting)?;
        if self.phones_to_ring(technician).await.is_empty() {
            return Err(TakeError::NoPhone);
        }
        store
            .request_take(ticket.id, technician, TakeVia::WebLog, now)
            .await
            .map_err(store_error)?;
        tracing::info!(ticket = %reference, node = %elsewhere.node, %technician, "take request written for another node");
        Ok(())
    }

    /// For `*8` when none of `teams`' callers waits here: the ticket of the first one waiting
    /// on another node (or the caller of `reference`), if `technician` has a phone that node
    /// can ring. `None` too when the store cannot be read: `*8` then goes on as if alone.
    pub(crate) async fn first_waiting_elsewhere(
        &self,
        technician: &str,
        teams: &[String],
        reference: Option<TicketRef>,
    ) -> Option<i64> {
        let store = self.queues.shared_store()?;
        let waiting = store
            .first_waiting_elsewhere(teams, reference.as_ref(), chrono::Utc::now())
            .await
            .inspect_err(|e| tracing::error!(error = %e, "cannot read the shared queue"))
            .ok()??;
        if self.phones_to_ring(technician).await.is_empty() {
            tracing::info!(%technician, "a caller waits on another node, but no phone of the technician can be rung");
            return None;
        }
        Some(waiting.ticket_id)
    }

    /// Asks the node where `ticket_id` waits to ring `technician`'s phones (`*8`).
    pub(crate) async fn request_take_elsewhere(&self, ticket_id: i64, technician: &str) {
        if let Some(store) = self.queues.shared_store() {
            let now = chrono::Utc::now();
            crate::helpdesk::log_store(
                store
                    .request_take(ticket_id, technician, TakeVia::FeatureCode, now)
                    .await,
            );
        }
    }

    /// Rings `technician`'s phones for `waiting`, a caller of this node, and hands the first
    /// to answer over to them.
    pub(super) async fn take_waiting(
        self: &Arc<Self>,
        technician: &str,
        waiting: QueueEntry,
        via: TakeVia,
    ) -> Result<(), TakeError> {
        let reference = waiting.reference.clone();
        let devices = self.phones_to_ring(technician).await;
        if devices.is_empty() {
            return Err(TakeError::NoPhone);
        }
        let ticket = self
            .store
            .ticket(waiting.ticket)
            .await
            .map_err(|e| TakeError::Store(e.to_string()))?
            .ok_or(TakeError::NotWaiting)?;
        let helpdesk = self.clone();
        let technician = technician.to_string();
        tokio::spawn(async move {
            let language = helpdesk.dialplan().default_language;
            let router = helpdesk.router(language);
            let detail = format!("{technician} takes the call {}", via_words(via));
            router
                .event(&ticket, CallEventKind::RoutingAttempt, &detail)
                .await;
            let Ok(Some((attempt, answer))) = router
                .ring_devices(None, &ticket, &technician, &devices, RING_FOR)
                .await
            else {
                return;
            };
            let device = attempt.target().uri.clone();
            let leg = match attempt.connect(&helpdesk.answer, answer).await {
                Ok(leg) => leg,
                Err(e) => {
                    tracing::info!(error = %e, %technician, "the phone that answered could not be connected");
                    return;
                }
            };
            let (done, finished) = oneshot::channel();
            let pickup = Pickup {
                technician: technician.clone(),
                leg,
                how: format!("{device} (taken {})", via_words(via)),
                done,
            };
            let teams = [waiting.team.clone()];
            // The caller may leave while the phone rings (no longer queued) or at the very
            // moment of the hand-over (the leg comes back): either way, say so and hang up.
            let leg = match helpdesk.queues.pick_up(&teams, Some(&reference), pickup) {
                Ok(_) => match finished.await {
                    Ok(Some(leg)) => leg,
                    _ => return,
                },
                Err(pickup) => pickup.leg,
            };
            helpdesk
                .tell_and_hang_up(leg, language, "pickup_none")
                .await;
        });
        Ok(())
    }

    /// The technician's phones that can be rung now: read once, checked, then rung.
    pub(super) async fn phones_to_ring(&self, technician: &str) -> Vec<Target> {
        use super::Roster;
        self.roster.devices(technician).await.value
    }
}

/// How the call was taken, for the timeline (`… takes the call from the web log`).
fn via_words(via: TakeVia) -> &'static str {
    match via {
        TakeVia::WebLog => "from the web log",
        TakeVia::FeatureCode => "with *8 on another node",
    }
}
