//! The technician's home page board: calls now with what is happening on each, the queue,
//! the callers waiting to be called back, someone's open tickets, open urgent tickets, and a
//! technician's own presence choice.

use super::row::{parse_opt, ticket_from_row, TICKET_COLUMNS};
use super::{query_error, Store, StoreError};
use crate::oncall::PresenceChoice;
use crate::tickets::{CallEvent, CallEventKind, Disposition, Ticket, TicketRef};

/// A call in progress and its timeline (oldest first), for "what is happening now".
#[derive(Debug, Clone)]
pub struct LiveCall {
    pub ticket: Ticket,
    pub events: Vec<CallEvent>,
}

impl LiveCall {
    /// Waiting in the queue: the latest routing event is `queued` (ringing, an answer or a
    /// pass after it means the call left the queue).
    pub fn is_queued(&self) -> bool {
        self.events
            .iter()
            .rev()
            .find(|e| is_routing(e.kind))
            .is_some_and(|e| e.kind == CallEventKind::Queued)
    }

    /// When the call last entered the queue.
    pub fn queued_at(&self) -> Option<chrono::DateTime<chrono::Utc>> {
        self.events
            .iter()
            .rev()
            .find(|e| e.kind == CallEventKind::Queued)
            .map(|e| e.at)
    }
}

fn is_routing(kind: CallEventKind) -> bool {
    matches!(
        kind,
        CallEventKind::RoutingAttempt
            | CallEventKind::Ringing
            | CallEventKind::RingResult
            | CallEventKind::Escalated
            | CallEventKind::TechnicianAnswered
            | CallEventKind::Passed
            | CallEventKind::Queued
            | CallEventKind::TalkEnded
    )
}

/// Open statuses, as written in the tickets table (see `TicketStatus::is_open`).
const OPEN: &str = "status IN ('new', 'acknowledged', 'in_progress')";

/// The order a queue would have served the callers who asked to be called back: priority
/// (none last), then arrival.
const CALLBACK_ORDER: &str =
    "ORDER BY CASE WHEN priority IS NULL THEN 1 ELSE 0 END, priority, created_at, id LIMIT 100";

impl Store {
    /// Calls in progress (at most 100), oldest first, each with its timeline.
    pub async fn live_calls(&self) -> Result<Vec<LiveCall>, StoreError> {
        let rows = sqlx::query(&format!(
            "SELECT {TICKET_COLUMNS} FROM tickets WHERE disposition = $1 \
             ORDER BY created_at, id LIMIT 100"
        ))
        .bind(Disposition::InProgress.as_str())
        .fetch_all(self.pool())
        .await
        .map_err(query_error("listing calls in progress"))?;
        let mut calls = Vec::with_capacity(rows.len());
        for row in &rows {
            let ticket = ticket_from_row(row)?;
            let events = self.events(ticket.id).await?;
            calls.push(LiveCall { ticket, events });
        }
        Ok(calls)
    }

    /// Open tickets assigned to `user`, oldest first (at most 100).
    pub async fn open_tickets_of(&self, user: &str) -> Result<Vec<Ticket>, StoreError> {
        let rows = sqlx::query(&format!(
            "SELECT {TICKET_COLUMNS} FROM tickets WHERE assignee = $1 AND {OPEN} \
             ORDER BY created_at, id LIMIT 100"
        ))
        .bind(user)
        .fetch_all(self.pool())
        .await
        .map_err(query_error("listing someone's open tickets"))?;
        rows.iter().map(ticket_from_row).collect()
    }

    /// Open P1 and P2 tickets, P1 first, then oldest first (at most 100).
    pub async fn open_urgent_tickets(&self) -> Result<Vec<Ticket>, StoreError> {
        let rows = sqlx::query(&format!(
            "SELECT {TICKET_COLUMNS} FROM tickets WHERE priority IN ('P1', 'P2') AND {OPEN} \
             ORDER BY priority, created_at, id LIMIT 100"
        ))
        .fetch_all(self.pool())
        .await
        .map_err(query_error("listing open urgent tickets"))?;
        rows.iter().map(ticket_from_row).collect()
    }

    /// Callers who left a queue to be called back (virtual hold) and are still waiting for it,
    /// in the order the queue would have served them: priority (none last), then arrival.
    /// The call is over, so this is the ticket, not the queue's memory: a restart or another
    /// node sees the same order.
    pub async fn callback_requests(&self) -> Result<Vec<Ticket>, StoreError> {
        let rows = sqlx::query(&format!(
            "SELECT {TICKET_COLUMNS} FROM tickets WHERE disposition = $1 AND {OPEN} \
             {CALLBACK_ORDER}"
        ))
        .bind(Disposition::CallbackRequested.as_str())
        .fetch_all(self.pool())
        .await
        .map_err(query_error("listing call-back requests"))?;
        rows.iter().map(ticket_from_row).collect()
    }

    /// The call-back requests of callers who left the queue of one of `teams` (or the request
    /// of `reference` if given, when it is one of theirs), in the board's order: what a
    /// technician of those teams may take with `*8`.
    pub async fn callback_requests_of(
        &self,
        teams: &[String],
        reference: Option<&TicketRef>,
    ) -> Result<Vec<Ticket>, StoreError> {
        if teams.is_empty() {
            return Ok(Vec::new());
        }
        // $1 the disposition, then the reference if given, then the teams.
        let first_team = if reference.is_some() { 3 } else { 2 };
        let teams_in: Vec<String> = (0..teams.len())
            .map(|i| format!("${}", i + first_team))
            .collect();
        let by_reference = if reference.is_some() {
            "AND reference = $2"
        } else {
            ""
        };
        let sql = format!(
            "SELECT {TICKET_COLUMNS} FROM tickets WHERE disposition = $1 AND {OPEN} \
             {by_reference} AND queue_team IN ({}) {CALLBACK_ORDER}",
            teams_in.join(", ")
        );
        let mut query = sqlx::query(&sql).bind(Disposition::CallbackRequested.as_str());
        if let Some(reference) = reference {
            query = query.bind(reference.to_string());
        }
        for team in teams {
            query = query.bind(team.as_str());
        }
        let rows = query
            .fetch_all(self.pool())
            .await
            .map_err(query_error("listing a team's call-back requests"))?;
        rows.iter().map(ticket_from_row).collect()
    }

    /// What `user` chose (available until they say otherwise), whatever their phones do.
    pub async fn presence_choice(&self, user: &str) -> Result<PresenceChoice, StoreError> {
        let row = sqlx::query("SELECT choice FROM presence WHERE user_name = $1")
            .bind(user)
            .fetch_optional(self.pool())
            .await
            .map_err(query_error("reading presence"))?;
        Ok(match row {
            Some(row) => {
                parse_opt::<PresenceChoice>(&row, "choice")?.unwrap_or(PresenceChoice::Available)
            }
            None => PresenceChoice::Available,
        })
    }
}
