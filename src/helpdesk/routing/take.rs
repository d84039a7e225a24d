//! "Take call" from the web log: a technician chooses a caller waiting in a queue; Hotline
//! rings the technician's own phones, and the first to answer is handed to the waiting caller
//! as a pick-up (bridged at once, no announcement: the technician chose this call).

use super::queue::Pickup;
use crate::call::outbound::Target;
use crate::helpdesk::Helpdesk;
use crate::tickets::{CallEventKind, TicketRef};
use std::sync::Arc;
use std::time::Duration;
use tokio::sync::oneshot;

/// How long the technician's phones ring for a call they asked for.
const RING_FOR: Duration = Duration::from_secs(30);

/// Why a call cannot be taken; each says what the technician can do about it.
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum TakeError {
    #[error("this caller is not waiting in a queue (answered, hung up, or on another node)")]
    NotWaiting,
    #[error("none of your phones can be rung now: register a phone, or dial *8 from one")]
    NoPhone,
    #[error("the ticket store failed: {0}")]
    Store(String),
}

impl Helpdesk {
    /// Rings `technician`'s phones for the caller of `reference`, who must be waiting in a
    /// queue of this node. Returns once the phones ring; the rest happens in its own task.
    pub async fn take_call(
        self: &Arc<Self>,
        technician: &str,
        reference: TicketRef,
    ) -> Result<(), TakeError> {
        let reference = reference.to_string();
        let waiting = self
            .queues
            .snapshot()
            .into_iter()
            .find(|e| e.reference == reference)
            .ok_or(TakeError::NotWaiting)?;
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
            let detail = format!("{technician} takes the call from the web log");
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
                how: format!("{device} (taken from the web log)"),
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
        self.roster.devices(technician).await
    }
}
