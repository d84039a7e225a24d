//! Tickets: created when a call arrives, completed as the caller answers, read by the CLI and
//! the web log.

use super::changes::{ChangeKind, TicketChange};
use super::row::{get, parse, ticket_from_row, TICKET_COLUMNS};
use super::search::{tickets_matching, SearchQuery};
use super::{now_ms, query_error, Store, StoreError};
use crate::tickets::{
    CallEventKind, Category, Disposition, Impact, Priority, RecordingState, Ticket, TicketField,
    TicketRef, TicketStatus, Urgency,
};
use chrono::{DateTime, Datelike, Utc};
use std::time::Duration;

/// A call, as its ticket is created.
#[derive(Debug, Clone)]
pub struct NewTicket {
    /// The SIP Call-ID.
    pub call_id: String,
    /// The user part of the From URI (looked up in the directory).
    pub caller_number: String,
    /// The From header's display name.
    pub caller_name: Option<String>,
}

/// Which tickets to list, newest first. Unset fields do not filter.
#[derive(Debug, Clone, Default)]
pub struct TicketFilter {
    pub status: Option<TicketStatus>,
    pub priority: Option<Priority>,
    pub category: Option<Category>,
    pub disposition: Option<Disposition>,
    /// Only tickets created at or after this instant.
    pub created_from: Option<DateTime<Utc>>,
    /// Only tickets created before this instant.
    pub created_before: Option<DateTime<Utc>>,
    /// Only tickets with a smaller row id: the next chunk after the last one read, for walking
    /// a long list (the CSV export) without an ever larger OFFSET.
    pub before_id: Option<i64>,
    /// Words to find in the transcript, caller number, name or identity, or reference (see
    /// `SearchQuery`: all must match, the last as a prefix). Text without a letter or digit
    /// matches nothing.
    pub q: Option<String>,
    /// At most this many (0 means 50; never more than 1000).
    pub limit: u32,
    pub offset: u32,
}

/// Fails with `NoTicket` when a delete touched no row: the caller's ticket id is stale.
fn one_row(id: i64, result: sqlx::any::AnyQueryResult) -> Result<(), StoreError> {
    if result.rows_affected() == 0 {
        Err(StoreError::NoTicket { id })
    } else {
        Ok(())
    }
}

impl Store {
    /// Announces the change an `UPDATE … RETURNING reference` made; `NoTicket` when it touched
    /// no row (the caller's ticket id is stale).
    fn updated(&self, id: i64, row: Option<sqlx::any::AnyRow>) -> Result<(), StoreError> {
        let row = row.ok_or(StoreError::NoTicket { id })?;
        self.publish(TicketChange {
            reference: parse::<TicketRef>(&row, "reference")?,
            kind: ChangeKind::Updated,
        });
        Ok(())
    }

    /// Writes the ticket of a new call and its first timeline event, `received`.
    ///
    /// Called as soon as the INVITE is accepted, before anything else can fail, so every call —
    /// cancelled, abandoned, failed or complete — has its ticket. It therefore depends on
    /// nothing but the tickets table: a failing directory lookup only costs the caller's
    /// identity. The row and its reference are written in one transaction, so no ticket is ever
    /// seen without its reference.
    pub async fn create_ticket(&self, call: &NewTicket) -> Result<Ticket, StoreError> {
        let identity = match self.lookup_caller(&call.caller_number).await {
            Ok(entry) => entry.map(|e| e.identity()),
            Err(e) => {
                tracing::warn!(error = %e, number = %call.caller_number, "directory lookup failed; ticket keeps the number only");
                None
            }
        };
        let now = Utc::now();
        let mut tx = self.begin_write("starting a ticket").await?;
        let row = sqlx::query(
            "INSERT INTO tickets (created_at, updated_at, call_id, caller_number, caller_name, caller_identity, status, disposition, node) \
             VALUES ($1, $1, $2, $3, $4, $5, $6, $7, $8) RETURNING id",
        )
        .bind(now.timestamp_millis())
        .bind(&call.call_id)
        .bind(&call.caller_number)
        .bind(&call.caller_name)
        .bind(&identity)
        .bind(TicketStatus::New.as_str())
        .bind(Disposition::InProgress.as_str())
        .bind(self.node().as_str())
        .fetch_one(&mut *tx)
        .await
        .map_err(query_error("creating a ticket"))?;
        let id: i64 = get(&row, "id")?;
        // The number is the row id: AUTOINCREMENT (SQLite) and sequences (PostgreSQL) never
        // hand out a value twice, even after deletes or across nodes.
        let reference = TicketRef {
            year: u16::try_from(now.year()).unwrap_or(0),
            number: u32::try_from(id).map_err(|_| StoreError::Corrupt {
                column: "id",
                reason: format!("{id} does not fit a ticket reference"),
            })?,
        };
        let row = sqlx::query(&format!(
            "UPDATE tickets SET reference = $1 WHERE id = $2 RETURNING {TICKET_COLUMNS}"
        ))
        .bind(reference.to_string())
        .bind(id)
        .fetch_one(&mut *tx)
        .await
        .map_err(query_error("numbering a ticket"))?;
        let ticket = ticket_from_row(&row)?;
        sqlx::query(
            "INSERT INTO ticket_events (ticket_id, at, kind, detail) VALUES ($1, $2, $3, $4)",
        )
        .bind(id)
        .bind(now.timestamp_millis())
        .bind(CallEventKind::Received.as_str())
        .bind(format!("call from {}", call.caller_number))
        .execute(&mut *tx)
        .await
        .map_err(query_error("adding a call event"))?;
        tx.commit()
            .await
            .map_err(query_error("committing a new ticket"))?;
        crate::metrics::TICKETS_CREATED.inc();
        self.publish(TicketChange {
            reference,
            kind: ChangeKind::Created,
        });
        Ok(ticket)
    }

    /// Records one menu answer. Setting impact or urgency also sets the priority from the
    /// store's matrix once both are known — in the same statement, so the priority can never
    /// disagree with the impact and urgency stored beside it.
    pub async fn set_field(&self, id: i64, field: TicketField) -> Result<(), StoreError> {
        let m = self.matrix();
        let texts = |row: [Priority; 3]| row.map(|p| p.to_string());
        let (sql, value, priorities) = match field {
            TicketField::Language(v) => ("UPDATE tickets SET language = $1, updated_at = $2 WHERE id = $3 RETURNING reference", v.as_str(), None),
            TicketField::Category(v) => ("UPDATE tickets SET category = $1, updated_at = $2 WHERE id = $3 RETURNING reference", v.as_str(), None),
            // The new impact picks a row of the matrix; the stored urgency picks the column.
            TicketField::Impact(v) => (
                "UPDATE tickets SET impact = $1, updated_at = $2, priority = CASE urgency \
                 WHEN 'blocked' THEN $4 WHEN 'degraded' THEN $5 WHEN 'request' THEN $6 END WHERE id = $3 RETURNING reference",
                v.as_str(),
                Some(texts(
                    [Urgency::Blocked, Urgency::Degraded, Urgency::Request].map(|u| m.priority(v, u)),
                )),
            ),
            // The new urgency picks a column; the stored impact picks the row.
            TicketField::Urgency(v) => (
                "UPDATE tickets SET urgency = $1, updated_at = $2, priority = CASE impact \
                 WHEN 'organisation' THEN $4 WHEN 'team' THEN $5 WHEN 'individual' THEN $6 END WHERE id = $3 RETURNING reference",
                v.as_str(),
                Some(texts(
                    [Impact::Organisation, Impact::Team, Impact::Individual].map(|i| m.priority(i, v)),
                )),
            ),
        };
        let mut query = sqlx::query(sql).bind(value).bind(now_ms()).bind(id);
        for p in priorities.into_iter().flatten() {
            query = query.bind(p);
        }
        let row = query
            .fetch_optional(self.writer())
            .await
            .map_err(query_error("setting a ticket field"))?;
        self.updated(id, row)
    }

    /// Records a value the caller keyed in a `collect` node (kept as a JSON object by name).
    pub async fn set_collected(&self, id: i64, name: &str, digits: &str) -> Result<(), StoreError> {
        let current = self.ticket(id).await?.ok_or(StoreError::NoTicket { id })?;
        let mut map = match current.collected {
            Some(serde_json::Value::Object(map)) => map,
            _ => serde_json::Map::new(),
        };
        map.insert(name.into(), serde_json::Value::String(digits.into()));
        let row = sqlx::query(
            "UPDATE tickets SET collected = $1, updated_at = $2 WHERE id = $3 RETURNING reference",
        )
        .bind(serde_json::Value::Object(map).to_string())
        .bind(now_ms())
        .bind(id)
        .fetch_optional(self.writer())
        .await
        .map_err(query_error("storing a collected value"))?;
        self.updated(id, row)
    }

    /// How the call ended (or that it is still running); `detail` is the step of an abandoned
    /// call or the reason of a failed one.
    pub async fn set_disposition(
        &self,
        id: i64,
        disposition: Disposition,
        detail: Option<&str>,
    ) -> Result<(), StoreError> {
        let row = sqlx::query(
            "UPDATE tickets SET disposition = $1, disposition_detail = $2, updated_at = $3 WHERE id = $4 RETURNING reference",
        )
        .bind(disposition.as_str())
        .bind(detail)
        .bind(now_ms())
        .bind(id)
        .fetch_optional(self.writer())
        .await
        .map_err(query_error("setting the disposition"))?;
        self.updated(id, row)
    }

    /// Takes a caller's call-back request for one technician: `callback_requested` becomes
    /// `in_progress` (on this node, whose restart closes it again) only if it still is. The
    /// condition is in the UPDATE, so two technicians pressing `*8` at once, on one node or
    /// two, cannot both get `true` and call the same caller back twice.
    pub async fn claim_callback(&self, id: i64) -> Result<bool, StoreError> {
        let row = sqlx::query(
            "UPDATE tickets SET disposition = $1, node = $2, updated_at = $3 \
             WHERE id = $4 AND disposition = $5 RETURNING reference",
        )
        .bind(Disposition::InProgress.as_str())
        .bind(self.node().as_str())
        .bind(now_ms())
        .bind(id)
        .bind(Disposition::CallbackRequested.as_str())
        .fetch_optional(self.writer())
        .await
        .map_err(query_error("claiming a call-back request"))?;
        match row {
            Some(row) => self.updated(id, Some(row)).map(|()| true),
            None => Ok(false),
        }
    }

    /// Moves the ticket along the technicians' workflow.
    pub async fn set_status(&self, id: i64, status: TicketStatus) -> Result<(), StoreError> {
        let row = sqlx::query(
            "UPDATE tickets SET status = $1, updated_at = $2 WHERE id = $3 RETURNING reference",
        )
        .bind(status.as_str())
        .bind(now_ms())
        .bind(id)
        .fetch_optional(self.writer())
        .await
        .map_err(query_error("setting the status"))?;
        self.updated(id, row)
    }

    /// Records the team whose queue the call joins: a call-back request it leaves with is
    /// that team's to take.
    pub async fn set_queue_team(&self, id: i64, team: &str) -> Result<(), StoreError> {
        let row = sqlx::query(
            "UPDATE tickets SET queue_team = $1, updated_at = $2 WHERE id = $3 RETURNING reference",
        )
        .bind(team)
        .bind(now_ms())
        .bind(id)
        .fetch_optional(self.writer())
        .await
        .map_err(query_error("setting the queue's team"))?;
        self.updated(id, row)
    }

    /// Records who talks with the caller now (`None` once their talk ended), so that a restart
    /// after a crash frees the technician of a call it cut. Not shown anywhere: no change is
    /// announced.
    pub async fn set_talking_with(
        &self,
        id: i64,
        technician: Option<&str>,
    ) -> Result<(), StoreError> {
        sqlx::query("UPDATE tickets SET talking_with = $1 WHERE id = $2")
            .bind(technician)
            .bind(id)
            .execute(self.writer())
            .await
            .map_err(query_error("recording who talks with the caller"))?;
        Ok(())
    }

    /// The technician talking with the caller of ticket `id` when it was last written.
    pub async fn talking_with(&self, id: i64) -> Result<Option<String>, StoreError> {
        let row = sqlx::query("SELECT talking_with FROM tickets WHERE id = $1")
            .bind(id)
            .fetch_optional(self.pool())
            .await
            .map_err(query_error("reading who talks with the caller"))?;
        match row {
            Some(row) => super::row::get(&row, "talking_with"),
            None => Ok(None),
        }
    }

    /// Gives the ticket to a technician (or takes it back with `None`).
    pub async fn set_assignee(&self, id: i64, assignee: Option<&str>) -> Result<(), StoreError> {
        let row = sqlx::query(
            "UPDATE tickets SET assignee = $1, updated_at = $2 WHERE id = $3 RETURNING reference",
        )
        .bind(assignee)
        .bind(now_ms())
        .bind(id)
        .fetch_optional(self.writer())
        .await
        .map_err(query_error("setting the assignee"))?;
        self.updated(id, row)
    }

    /// Stores the estimate exactly as spoken to the caller.
    pub async fn set_estimate(&self, id: i64, estimate: Duration) -> Result<(), StoreError> {
        let row = sqlx::query(
            "UPDATE tickets SET estimated_response_secs = $1, updated_at = $2 WHERE id = $3 RETURNING reference",
        )
        .bind(i64::try_from(estimate.as_secs()).unwrap_or(i64::MAX))
        .bind(now_ms())
        .bind(id)
        .fetch_optional(self.writer())
        .await
        .map_err(query_error("storing the estimate"))?;
        self.updated(id, row)
    }

    /// Where the voicemail is, how long it is and where it stands (recording, why it stopped…).
    pub async fn set_recording(
        &self,
        id: i64,
        path: &str,
        duration: Duration,
        state: RecordingState,
    ) -> Result<(), StoreError> {
        let row = sqlx::query(
            "UPDATE tickets SET recording_path = $1, recording_duration_ms = $2, recording_end_cause = $3, updated_at = $4 WHERE id = $5 RETURNING reference",
        )
        .bind(path)
        .bind(i64::try_from(duration.as_millis()).unwrap_or(i64::MAX))
        .bind(state.to_string())
        .bind(now_ms())
        .bind(id)
        .fetch_optional(self.writer())
        .await
        .map_err(query_error("storing the recording"))?;
        self.updated(id, row)
    }

    /// Where the recorded conversation with a technician is, and how long it is.
    pub async fn set_conversation(
        &self,
        id: i64,
        path: &str,
        duration: Duration,
    ) -> Result<(), StoreError> {
        let row = sqlx::query(
            "UPDATE tickets SET conversation_path = $1, conversation_duration_ms = $2, updated_at = $3 WHERE id = $4 RETURNING reference",
        )
        .bind(path)
        .bind(i64::try_from(duration.as_millis()).unwrap_or(i64::MAX))
        .bind(now_ms())
        .bind(id)
        .fetch_optional(self.writer())
        .await
        .map_err(query_error("storing the conversation recording"))?;
        self.updated(id, row)
    }

    /// The ticket with this row id.
    pub async fn ticket(&self, id: i64) -> Result<Option<Ticket>, StoreError> {
        let row = sqlx::query(&format!(
            "SELECT {TICKET_COLUMNS} FROM tickets WHERE id = $1"
        ))
        .bind(id)
        .fetch_optional(self.pool())
        .await
        .map_err(query_error("reading a ticket"))?;
        row.map(|r| ticket_from_row(&r)).transpose()
    }

    /// The ticket with this reference (`HD-2026-123` and `HD-2026-000123` are the same).
    pub async fn ticket_by_ref(&self, reference: &TicketRef) -> Result<Option<Ticket>, StoreError> {
        let row = sqlx::query(&format!(
            "SELECT {TICKET_COLUMNS} FROM tickets WHERE reference = $1"
        ))
        .bind(reference.to_string())
        .fetch_optional(self.pool())
        .await
        .map_err(query_error("reading a ticket by reference"))?;
        row.map(|r| ticket_from_row(&r)).transpose()
    }

    /// The latest ticket of a SIP call.
    pub async fn ticket_by_call_id(&self, call_id: &str) -> Result<Option<Ticket>, StoreError> {
        let row = sqlx::query(&format!(
            "SELECT {TICKET_COLUMNS} FROM tickets WHERE call_id = $1 ORDER BY id DESC LIMIT 1"
        ))
        .bind(call_id)
        .fetch_optional(self.pool())
        .await
        .map_err(query_error("reading a ticket by call"))?;
        row.map(|r| ticket_from_row(&r)).transpose()
    }

    /// Tickets matching `filter`, newest first.
    ///
    /// Ordered by creation time (then id, for tickets of the same millisecond) so the time
    /// indexes serve every filter without sorting: SQLite's indexes end with the rowid, and
    /// PostgreSQL's name `id` (migration 0006). Searches come newest match first by id, the
    /// order the full-text index keeps; ids follow creation order (one sequence).
    pub async fn list_tickets(&self, filter: &TicketFilter) -> Result<Vec<Ticket>, StoreError> {
        let mut conditions = Vec::new();
        let mut values: Vec<String> = Vec::new();
        let priority = filter.priority.map(|p| p.to_string());
        for (column, value) in [
            ("status", filter.status.map(TicketStatus::as_str)),
            ("priority", priority.as_deref()),
            ("category", filter.category.map(Category::as_str)),
            ("disposition", filter.disposition.map(Disposition::as_str)),
        ] {
            if let Some(v) = value {
                values.push(v.to_string());
                conditions.push(format!("{column} = ${}", values.len()));
            }
        }
        // Integers from our own types, so written into the SQL (a bound text would not compare
        // with PostgreSQL's BIGINT).
        if let Some(from) = filter.created_from {
            conditions.push(format!("created_at >= {}", from.timestamp_millis()));
        }
        if let Some(before) = filter.created_before {
            conditions.push(format!("created_at < {}", before.timestamp_millis()));
        }
        if let Some(id) = filter.before_id {
            conditions.push(format!("tickets.id < {id}"));
        }
        let mut from = "tickets".to_string();
        let mut order = "created_at DESC, id DESC";
        if let Some(q) = &filter.q {
            let Some(search) = SearchQuery::parse(q) else {
                return Ok(Vec::new());
            };
            values.push(search.bind_text(self.dialect()));
            let matching = tickets_matching(self.dialect(), values.len());
            from = matching.from;
            conditions.extend(matching.condition);
            order = matching.order.unwrap_or(order);
        }
        // Chunks taken with `before_id` must follow the id order they are cut by.
        if filter.before_id.is_some() && order == "created_at DESC, id DESC" {
            order = "id DESC";
        }
        let where_clause = if conditions.is_empty() {
            String::new()
        } else {
            format!("WHERE {}", conditions.join(" AND "))
        };
        let limit = match filter.limit {
            0 => 50,
            n => n.min(1000),
        };
        // LIMIT and OFFSET are integers formatted by us, not user text.
        let sql = format!(
            "SELECT {TICKET_COLUMNS} FROM {from} {where_clause} ORDER BY {order} LIMIT {limit} OFFSET {}",
            filter.offset
        );
        let mut query = sqlx::query(&sql);
        for v in values {
            query = query.bind(v);
        }
        let rows = query
            .fetch_all(self.pool())
            .await
            .map_err(query_error("listing tickets"))?;
        rows.iter().map(ticket_from_row).collect()
    }

    /// Up to `limit` tickets still `in_progress` that this node's restart must close (see
    /// [`Store::own_rows`]: on PostgreSQL the ones this node took, on SQLite all), oldest
    /// first. Runs before the node takes a call, so none of them is a call still running.
    pub async fn calls_cut_by_own_stop(&self, limit: u32) -> Result<Vec<Ticket>, StoreError> {
        let mine = if self.own_rows().is_some() {
            "AND node = $2"
        } else {
            ""
        };
        let sql = format!(
            "SELECT {TICKET_COLUMNS} FROM tickets WHERE disposition = $1 {mine} ORDER BY id LIMIT {limit}"
        );
        let mut query = sqlx::query(&sql).bind(Disposition::InProgress.as_str());
        if let Some(node) = self.own_rows() {
            query = query.bind(node.as_str());
        }
        let rows = query
            .fetch_all(self.pool())
            .await
            .map_err(query_error("listing the calls cut by the last stop"))?;
        rows.iter().map(ticket_from_row).collect()
    }

    /// Deletes a ticket with its timeline and transcription job (the schema cascades). Its
    /// number is never given out again.
    pub async fn delete_ticket(&self, id: i64) -> Result<(), StoreError> {
        let result = sqlx::query("DELETE FROM tickets WHERE id = $1")
            .bind(id)
            .execute(self.writer())
            .await
            .map_err(query_error("deleting a ticket"))?;
        one_row(id, result)
    }
}
