//! A ticket's call timeline: what happened during the call, in order.

use super::row::{parse, required, time};
use super::{now_ms, query_error, Store, StoreError};
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
        sqlx::query(
            "INSERT INTO ticket_events (ticket_id, at, kind, detail) VALUES ($1, $2, $3, $4)",
        )
        .bind(id)
        .bind(now_ms())
        .bind(kind.as_str())
        .bind(detail)
        .execute(self.pool())
        .await
        .map_err(query_error("adding a call event"))?;
        // Live views (the board: ringing, talking) follow the timeline too.
        self.announce_updated(id).await?;
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
