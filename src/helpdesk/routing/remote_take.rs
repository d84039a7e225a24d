//! Serving technicians of other nodes: "Take call" on another node's web log, or `*8` dialled
//! on a phone connected to another node, for a caller waiting here. The other node writes a
//! take request to the shared store (`store::queue`); this node claims the requests for its
//! own callers and rings the technician's phones as a local "Take call" does.
//!
//! Polling, not PostgreSQL's LISTEN/NOTIFY: it works on every database and through a database
//! restart, and half a second is short beside a phone's ringing. The same task keeps this
//! node's queue rows alive, so that other nodes count its callers while it runs.

use crate::helpdesk::Helpdesk;
use crate::store::TakeRequest;
use std::sync::Arc;
use std::time::Duration;
use tokio::sync::watch;

/// How often this node looks for take requests addressed to its callers.
const POLL: Duration = Duration::from_millis(500);

/// How often this node marks its queue rows alive (well within `QUEUE_ROW_STALE_AFTER`).
const HEARTBEAT: Duration = Duration::from_secs(5);

/// Starts the task serving take requests; it ends with `shutdown`. Only for queues shared
/// through the store: a node alone on its database has nobody to serve.
pub fn start(
    helpdesk: Arc<Helpdesk>,
    mut shutdown: watch::Receiver<bool>,
) -> Option<tokio::task::JoinHandle<()>> {
    let store = helpdesk.queues.shared_store()?.clone();
    Some(tokio::spawn(async move {
        let mut poll = tokio::time::interval(POLL);
        poll.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        let mut last_heartbeat: Option<tokio::time::Instant> = None;
        let mut failing = false;
        loop {
            tokio::select! {
                _ = poll.tick() => {}
                _ = shutdown.changed() => return,
            }
            let now = chrono::Utc::now();
            if last_heartbeat.is_none_or(|at| at.elapsed() >= HEARTBEAT) {
                // A failure is retried at the next poll, and said by the claim below.
                if store.keep_queue_alive(now).await.is_ok() {
                    last_heartbeat = Some(tokio::time::Instant::now());
                }
            }
            match store.claim_take_requests(now).await {
                Ok(requests) => {
                    if std::mem::replace(&mut failing, false) {
                        tracing::info!("take requests readable again");
                    }
                    for request in requests {
                        serve(&helpdesk, request).await;
                    }
                }
                // An outage: the requests wait (or expire), the local queue goes on. Said
                // once, not twice a second.
                Err(e) => {
                    if !std::mem::replace(&mut failing, true) {
                        tracing::warn!(error = %e, "cannot read take requests");
                    }
                }
            }
        }
    }))
}

/// Rings the technician's phones for the caller `request` names, if they still wait here.
async fn serve(helpdesk: &Arc<Helpdesk>, request: TakeRequest) {
    let TakeRequest {
        ticket_id,
        technician,
        via,
        ..
    } = request;
    let Some(waiting) = helpdesk
        .queues
        .snapshot()
        .into_iter()
        .find(|e| e.ticket == ticket_id)
    else {
        tracing::info!(ticket_id, %technician, "take request for a caller no longer waiting here: dropped");
        return;
    };
    let reference = waiting.reference.clone();
    match helpdesk.take_waiting(&technician, waiting, via).await {
        Ok(()) => {
            tracing::info!(ticket = %reference, %technician, "ringing a technician of another node")
        }
        Err(e) => {
            tracing::info!(ticket = %reference, %technician, error = %e, "take request not served")
        }
    }
}
