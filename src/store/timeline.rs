//! A ticket's call timeline: what happened during the call, in order.

use super::row::{parse, required, time};
use super::{query_error, Store, StoreError};
use crate::tickets::{CallEvent, CallEventKind};

impl Store {
    /// Appends to the ticket's call timeline. Events come back in the order they were added
    /// (by row id: two events in the same millisecond keep their order).
    pub async fn add_event(
        &self,
        id: i64,
        kind: CallEventKind,
        detail: &str,
    ) -> Result<(), StoreError> {
        self.add_event_at(id, kind, detail, chrono::Utc::now())
            .await
    }

    /// Appends an event that happened at `at` (a write kept through a database outage keeps
    /// the time it happened, not the time it was written). Once the row is in, the event is
    /// stored: a failure to announce it to live views is logged, not returned, so a retry
    /// cannot write it twice.
    pub async fn add_event_at(
        &self,
        id: i64,
        kind: CallEventKind,
        detail: &str,
        at: chrono::DateTime<chrono::Utc>,
    ) -> Result<(), StoreError> {
        // Grouped with other calls' events into one insert (see `event_batch`).
        self.events
            .add(id, at.timestamp_millis(), kind.as_str(), detail)
            .await?;
        // Live views (the board: ringing, talking) follow the timeline too.
        if let Err(e) = self.announce_updated(id).await {
            tracing::warn!(error = %e, "call event stored but not announced to live views");
        }
        Ok(())
    }

    /// The ticket's timeline, oldest first.
    pub async fn events(&self, id: i64) -> Result<Vec<CallEvent>, StoreError> {
        let rows = sqlx::query(
            "SELECT at, kind, detail FROM ticket_events WHERE ticket_id = $1 ORDER BY id",
        )
        .bind(id)
        .fetch_all(self.pool())
        .await
        .map_err(query_error("reading call events"))?;
        rows.iter()
            .map(|r| {
                Ok(CallEvent {
                    at: time(r, "at")?,
                    kind: parse(r, "kind")?,
                    detail: required(r, "detail")?,
                })
            })
            .collect()
    }
}
