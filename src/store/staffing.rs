//! The queue and the staff: what the live response-time estimate is computed from.

use super::row::required;
use super::{query_error, Store, StoreError};
use crate::tickets::{estimate_response_time, Priority, QueueState, Ticket, TicketStatus};
use std::time::Duration;

/// The priority assumed for a ticket whose caller hung up before impact and urgency were
/// known: medium, neither jumping the queue nor forgotten at its end.
pub const UNKNOWN_PRIORITY: Priority = Priority::ALL[2];

impl Store {
    /// Open tickets that will be handled before `ticket`: older (a smaller number), still open
    /// (new, acknowledged or in progress) and of the same or a more urgent priority. Tickets
    /// without a priority yet are not counted: they have not finished their call.
    pub async fn open_tickets_ahead(&self, ticket: &Ticket) -> Result<u32, StoreError> {
        let priority = ticket.priority.unwrap_or(UNKNOWN_PRIORITY);
        let mut values: Vec<String> = Vec::new();
        let mut slots = |texts: Vec<String>| {
            let first = values.len() + 2;
            let list: Vec<String> = (first..first + texts.len())
                .map(|n| format!("${n}"))
                .collect();
            values.extend(texts);
            list.join(", ")
        };
        let open = slots(
            TicketStatus::ALL
                .iter()
                .filter(|s| s.is_open())
                .map(|s| s.as_str().to_string())
                .collect(),
        );
        let as_urgent = slots(
            Priority::ALL
                .iter()
                .filter(|p| **p <= priority)
                .map(|p| p.to_string())
                .collect(),
        );
        let sql = format!(
            "SELECT COUNT(*) AS n FROM tickets WHERE id < $1 AND status IN ({open}) AND priority IN ({as_urgent})"
        );
        let mut query = sqlx::query(&sql).bind(ticket.id);
        for v in &values {
            query = query.bind(v);
        }
        let row = query
            .fetch_one(self.pool())
            .await
            .map_err(query_error("counting tickets ahead"))?;
        let n: i64 = required(&row, "n")?;
        Ok(u32::try_from(n).unwrap_or(u32::MAX))
    }

    /// How many technicians are on duty now.
    pub async fn technicians_on_duty(&self) -> Result<u32, StoreError> {
        let row = sqlx::query("SELECT COUNT(*) AS n FROM technicians WHERE on_duty = 1")
            .fetch_one(self.pool())
            .await
            .map_err(query_error("counting technicians on duty"))?;
        let n: i64 = required(&row, "n")?;
        Ok(u32::try_from(n).unwrap_or(u32::MAX))
    }

    /// Adds a technician, or changes whether they are on duty.
    pub async fn set_technician(&self, name: &str, on_duty: bool) -> Result<(), StoreError> {
        sqlx::query(
            "INSERT INTO technicians (name, on_duty) VALUES ($1, $2) \
             ON CONFLICT (name) DO UPDATE SET on_duty = $2",
        )
        .bind(name)
        .bind(i64::from(on_duty))
        .execute(self.writer())
        .await
        .map_err(query_error("saving a technician"))?;
        Ok(())
    }

    /// What the estimate for `ticket` is computed from, read now.
    pub async fn queue_state(&self, ticket: &Ticket) -> Result<QueueState, StoreError> {
        // The rota decides once a team handles the ticket's category: the on-call technicians
        // who are available now. Without one (no rota set up, or the category unknown yet) the
        // manual on-duty list still counts.
        let from_rota = match ticket.category {
            Some(category) => self.available_on_call(category, chrono::Utc::now()).await?,
            None => None,
        };
        let on_duty = match from_rota {
            Some(n) => n,
            None => self.technicians_on_duty().await?,
        };
        Ok(QueueState {
            ahead: self.open_tickets_ahead(ticket).await?,
            on_duty,
            target: self
                .matrix()
                .target(ticket.priority.unwrap_or(UNKNOWN_PRIORITY)),
        })
    }

    /// The response time to tell the caller of ticket `id`, computed now from the queue ahead,
    /// the staff on duty and the priority's target (`None` if there is no such ticket). Store
    /// what is spoken with `set_estimate`.
    pub async fn estimate_for(&self, id: i64) -> Result<Option<Duration>, StoreError> {
        let Some(ticket) = self.ticket(id).await? else {
            return Ok(None);
        };
        Ok(Some(estimate_response_time(
            self.queue_state(&ticket).await?,
        )))
    }
}
