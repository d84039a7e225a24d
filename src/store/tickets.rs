//! Tickets and their call timelines.

use super::{now_ms, parse_opt, query_error, Store, StoreError};
use crate::tickets::{
    estimate_response_time, CallEventKind, Category, Disposition, Impact, Language, Priority,
    QueueState, TicketField, TicketRef, TicketStatus, Urgency,
};
use chrono::{DateTime, Datelike, TimeZone, Utc};
use serde::Serialize;
use sqlx::any::AnyRow;
use sqlx::Row;
use std::time::Duration;

/// A ticket as stored. Its JSON form is the stable API documented in docs/tickets.md.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Ticket {
    #[serde(skip)]
    pub id: i64,
    pub reference: TicketRef,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
    pub call_id: String,
    pub caller_number: String,
    pub caller_name: Option<String>,
    /// Who the directory says the caller is (name, department), when the number is known.
    pub caller_identity: Option<String>,
    pub language: Option<Language>,
    pub category: Option<Category>,
    pub impact: Option<Impact>,
    pub urgency: Option<Urgency>,
    pub priority: Option<Priority>,
    pub status: TicketStatus,
    pub disposition: Disposition,
    pub disposition_detail: Option<String>,
    pub assignee: Option<String>,
    /// The estimated response time the caller heard, in seconds.
    pub estimated_response_secs: Option<i64>,
    /// Digits the caller entered in `collect` nodes, as a JSON object (name → digits).
    pub collected: Option<serde_json::Value>,
    pub recording_path: Option<String>,
    pub recording_duration_ms: Option<i64>,
    pub recording_end_cause: Option<String>,
    pub transcript: Option<String>,
    /// The language the transcript is in (ISO 639-1).
    pub transcript_language: Option<String>,
    /// The transcript's timed segments: `[{start_ms, end_ms, text}]`.
    pub transcript_segments: Option<serde_json::Value>,
    /// The model that made it and how long it took (ms).
    pub transcript_model: Option<String>,
    pub transcript_ms: Option<i64>,
}

/// A call, as the ticket is created for it.
#[derive(Debug, Clone)]
pub struct NewTicket {
    pub call_id: String,
    pub caller_number: String,
    pub caller_name: Option<String>,
}

/// One entry of a ticket's timeline.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct CallEvent {
    pub at: DateTime<Utc>,
    pub kind: CallEventKind,
    pub detail: String,
}

/// Which tickets to list, newest first.
#[derive(Debug, Clone, Default)]
pub struct TicketFilter {
    pub status: Option<TicketStatus>,
    pub priority: Option<Priority>,
    pub category: Option<Category>,
    pub disposition: Option<Disposition>,
    pub limit: u32,
    pub offset: u32,
}

const COLUMNS: &str = "id, created_at, updated_at, call_id, caller_number, caller_name, caller_identity, language, \
    category, impact, urgency, priority, status, disposition, disposition_detail, assignee, estimated_response_secs, \
    collected, recording_path, recording_duration_ms, recording_end_cause, transcript, transcript_language, \
    transcript_segments, transcript_model, transcript_ms";

fn time(ms: i64, column: &'static str) -> Result<DateTime<Utc>, StoreError> {
    Utc.timestamp_millis_opt(ms)
        .single()
        .ok_or(StoreError::Corrupt {
            column,
            reason: format!("{ms} is not a timestamp"),
        })
}

fn get<'r, T: sqlx::Decode<'r, sqlx::Any> + sqlx::Type<sqlx::Any>>(
    row: &'r AnyRow,
    column: &'static str,
) -> Result<T, StoreError> {
    row.try_get(column).map_err(|e| StoreError::Corrupt {
        column,
        reason: e.to_string(),
    })
}

fn ticket_from_row(row: &AnyRow) -> Result<Ticket, StoreError> {
    let id: i64 = get(row, "id")?;
    let created_at = time(get(row, "created_at")?, "created_at")?;
    let collected: Option<String> = get(row, "collected")?;
    Ok(Ticket {
        id,
        reference: TicketRef {
            year: created_at.year() as u16,
            number: id as u32,
        },
        created_at,
        updated_at: time(get(row, "updated_at")?, "updated_at")?,
        call_id: get(row, "call_id")?,
        caller_number: get(row, "caller_number")?,
        caller_name: get(row, "caller_name")?,
        caller_identity: get(row, "caller_identity")?,
        language: parse_opt(row, "language")?,
        category: parse_opt(row, "category")?,
        impact: parse_opt(row, "impact")?,
        urgency: parse_opt(row, "urgency")?,
        priority: parse_opt(row, "priority")?,
        status: parse_opt(row, "status")?.ok_or(StoreError::Corrupt {
            column: "status",
            reason: "missing".into(),
        })?,
        disposition: parse_opt(row, "disposition")?.ok_or(StoreError::Corrupt {
            column: "disposition",
            reason: "missing".into(),
        })?,
        disposition_detail: get(row, "disposition_detail")?,
        assignee: get(row, "assignee")?,
        estimated_response_secs: get(row, "estimated_response_secs")?,
        collected: collected
            .map(|c| serde_json::from_str(&c))
            .transpose()
            .map_err(|e| StoreError::Corrupt {
                column: "collected",
                reason: e.to_string(),
            })?,
        recording_path: get(row, "recording_path")?,
        recording_duration_ms: get(row, "recording_duration_ms")?,
        recording_end_cause: get(row, "recording_end_cause")?,
        transcript: get(row, "transcript")?,
        transcript_language: get(row, "transcript_language")?,
        transcript_segments: get::<Option<String>>(row, "transcript_segments")?
            .map(|s| serde_json::from_str(&s))
            .transpose()
            .map_err(|e| StoreError::Corrupt {
                column: "transcript_segments",
                reason: e.to_string(),
            })?,
        transcript_model: get(row, "transcript_model")?,
        transcript_ms: get(row, "transcript_ms")?,
    })
}

impl Store {
    /// Writes the ticket of a new call. Called before the call is answered, so every call —
    /// abandoned, failed or complete — has its ticket.
    pub async fn create_ticket(&self, call: &NewTicket) -> Result<Ticket, StoreError> {
        let now = now_ms();
        let identity = self
            .lookup_caller(&call.caller_number)
            .await?
            .map(|e| e.identity());
        let sql = format!(
            "INSERT INTO tickets (created_at, updated_at, call_id, caller_number, caller_name, caller_identity, status, disposition) \
             VALUES ($1, $1, $2, $3, $4, $5, $6, $7) RETURNING {COLUMNS}"
        );
        let row = sqlx::query(&sql)
            .bind(now)
            .bind(&call.call_id)
            .bind(&call.caller_number)
            .bind(&call.caller_name)
            .bind(&identity)
            .bind(TicketStatus::New.as_str())
            .bind(Disposition::InProgress.as_str())
            .fetch_one(self.pool())
            .await
            .map_err(query_error("creating a ticket"))?;
        let ticket = ticket_from_row(&row)?;
        self.add_event(
            ticket.id,
            CallEventKind::Received,
            &format!("call from {}", call.caller_number),
        )
        .await?;
        Ok(ticket)
    }

    /// Records one menu answer; the priority follows as soon as impact and urgency are known.
    pub async fn set_field(&self, id: i64, field: TicketField) -> Result<(), StoreError> {
        let (column, value) = match field {
            TicketField::Language(v) => ("language", v.as_str()),
            TicketField::Category(v) => ("category", v.as_str()),
            TicketField::Impact(v) => ("impact", v.as_str()),
            TicketField::Urgency(v) => ("urgency", v.as_str()),
        };
        let sql = format!("UPDATE tickets SET {column} = $1, updated_at = $2 WHERE id = $3");
        sqlx::query(&sql)
            .bind(value)
            .bind(now_ms())
            .bind(id)
            .execute(self.pool())
            .await
            .map_err(query_error("setting a ticket field"))?;
        if matches!(field, TicketField::Impact(_) | TicketField::Urgency(_)) {
            let row = sqlx::query("SELECT impact, urgency FROM tickets WHERE id = $1")
                .bind(id)
                .fetch_one(self.pool())
                .await
                .map_err(query_error("reading impact and urgency"))?;
            let impact: Option<Impact> = parse_opt(&row, "impact")?;
            let urgency: Option<Urgency> = parse_opt(&row, "urgency")?;
            if let (Some(i), Some(u)) = (impact, urgency) {
                let priority = self.matrix().priority(i, u);
                sqlx::query("UPDATE tickets SET priority = $1 WHERE id = $2")
                    .bind(priority.to_string())
                    .bind(id)
                    .execute(self.pool())
                    .await
                    .map_err(query_error("setting the priority"))?;
            }
        }
        Ok(())
    }

    /// Records a value the caller keyed in a `collect` node.
    pub async fn set_collected(&self, id: i64, name: &str, digits: &str) -> Result<(), StoreError> {
        let row = sqlx::query("SELECT collected FROM tickets WHERE id = $1")
            .bind(id)
            .fetch_one(self.pool())
            .await
            .map_err(query_error("reading collected values"))?;
        let current: Option<String> = get(&row, "collected")?;
        let mut map: serde_json::Map<String, serde_json::Value> = current
            .and_then(|c| serde_json::from_str(&c).ok())
            .unwrap_or_default();
        map.insert(
            name.to_string(),
            serde_json::Value::String(digits.to_string()),
        );
        sqlx::query("UPDATE tickets SET collected = $1, updated_at = $2 WHERE id = $3")
            .bind(serde_json::Value::Object(map).to_string())
            .bind(now_ms())
            .bind(id)
            .execute(self.pool())
            .await
            .map_err(query_error("storing a collected value"))?;
        Ok(())
    }

    pub async fn set_disposition(
        &self,
        id: i64,
        disposition: Disposition,
        detail: Option<&str>,
    ) -> Result<(), StoreError> {
        sqlx::query("UPDATE tickets SET disposition = $1, disposition_detail = $2, updated_at = $3 WHERE id = $4")
            .bind(disposition.as_str())
            .bind(detail)
            .bind(now_ms())
            .bind(id)
            .execute(self.pool())
            .await
            .map_err(query_error("setting the disposition"))?;
        Ok(())
    }

    /// Stores the estimate exactly as spoken to the caller.
    pub async fn set_estimate(&self, id: i64, estimate: Duration) -> Result<(), StoreError> {
        sqlx::query(
            "UPDATE tickets SET estimated_response_secs = $1, updated_at = $2 WHERE id = $3",
        )
        .bind(estimate.as_secs() as i64)
        .bind(now_ms())
        .bind(id)
        .execute(self.pool())
        .await
        .map_err(query_error("storing the estimate"))?;
        Ok(())
    }

    pub async fn set_recording(
        &self,
        id: i64,
        path: &str,
        duration: Duration,
        end_cause: &str,
    ) -> Result<(), StoreError> {
        sqlx::query(
            "UPDATE tickets SET recording_path = $1, recording_duration_ms = $2, recording_end_cause = $3, updated_at = $4 WHERE id = $5",
        )
        .bind(path)
        .bind(duration.as_millis() as i64)
        .bind(end_cause)
        .bind(now_ms())
        .bind(id)
        .execute(self.pool())
        .await
        .map_err(query_error("storing the recording"))?;
        Ok(())
    }

    /// Appends to the ticket's call timeline.
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
        Ok(())
    }

    pub async fn ticket(&self, id: i64) -> Result<Option<Ticket>, StoreError> {
        let sql = format!("SELECT {COLUMNS} FROM tickets WHERE id = $1");
        let row = sqlx::query(&sql)
            .bind(id)
            .fetch_optional(self.pool())
            .await
            .map_err(query_error("reading a ticket"))?;
        row.map(|r| ticket_from_row(&r)).transpose()
    }

    /// The ticket with this reference (its number is the ticket id; the year must match).
    pub async fn ticket_by_ref(&self, reference: &TicketRef) -> Result<Option<Ticket>, StoreError> {
        Ok(self
            .ticket(reference.number as i64)
            .await?
            .filter(|t| t.reference.year == reference.year))
    }

    /// The latest ticket of a SIP call.
    pub async fn ticket_by_call_id(&self, call_id: &str) -> Result<Option<Ticket>, StoreError> {
        let sql =
            format!("SELECT {COLUMNS} FROM tickets WHERE call_id = $1 ORDER BY id DESC LIMIT 1");
        let row = sqlx::query(&sql)
            .bind(call_id)
            .fetch_optional(self.pool())
            .await
            .map_err(query_error("reading a ticket by call"))?;
        row.map(|r| ticket_from_row(&r)).transpose()
    }

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
                    at: time(get(r, "at")?, "at")?,
                    kind: parse_opt(r, "kind")?.ok_or(StoreError::Corrupt {
                        column: "kind",
                        reason: "missing".into(),
                    })?,
                    detail: get(r, "detail")?,
                })
            })
            .collect()
    }

    /// Tickets matching `filter`, newest first.
    pub async fn list_tickets(&self, filter: &TicketFilter) -> Result<Vec<Ticket>, StoreError> {
        let mut conditions = Vec::new();
        let mut values: Vec<String> = Vec::new();
        let mut add = |column: &str, value: Option<String>| {
            if let Some(v) = value {
                values.push(v);
                conditions.push(format!("{column} = ${}", values.len()));
            }
        };
        add("status", filter.status.map(|s| s.as_str().to_string()));
        add("priority", filter.priority.map(|p| p.to_string()));
        add("category", filter.category.map(|c| c.as_str().to_string()));
        add(
            "disposition",
            filter.disposition.map(|d| d.as_str().to_string()),
        );
        let where_clause = if conditions.is_empty() {
            String::new()
        } else {
            format!("WHERE {}", conditions.join(" AND "))
        };
        let limit = if filter.limit == 0 {
            50
        } else {
            filter.limit.min(1000)
        };
        let sql = format!(
            "SELECT {COLUMNS} FROM tickets {where_clause} ORDER BY id DESC LIMIT {limit} OFFSET {}",
            filter.offset
        );
        let mut query = sqlx::query(&sql);
        for v in &values {
            query = query.bind(v);
        }
        let rows = query
            .fetch_all(self.pool())
            .await
            .map_err(query_error("listing tickets"))?;
        rows.iter().map(ticket_from_row).collect()
    }

    /// Open tickets that will be handled before `ticket`: older, open, and of the same or a
    /// more urgent priority.
    pub async fn open_tickets_ahead(&self, ticket: &Ticket) -> Result<u32, StoreError> {
        let Some(priority) = ticket.priority else {
            return Ok(0);
        };
        let more_urgent: Vec<String> = Priority::ALL
            .iter()
            .filter(|p| **p <= priority)
            .map(|p| p.to_string())
            .collect();
        let placeholders: Vec<String> = (0..more_urgent.len())
            .map(|i| format!("${}", i + 2))
            .collect();
        let sql = format!(
            "SELECT COUNT(*) AS n FROM tickets WHERE id < $1 AND status IN ('new', 'acknowledged', 'in_progress') AND priority IN ({})",
            placeholders.join(", ")
        );
        let mut query = sqlx::query(&sql).bind(ticket.id);
        for p in &more_urgent {
            query = query.bind(p);
        }
        let row = query
            .fetch_one(self.pool())
            .await
            .map_err(query_error("counting tickets ahead"))?;
        let n: i64 = get(&row, "n")?;
        Ok(n as u32)
    }

    pub async fn technicians_on_duty(&self) -> Result<u32, StoreError> {
        let row = sqlx::query("SELECT COUNT(*) AS n FROM technicians WHERE on_duty = 1")
            .fetch_one(self.pool())
            .await
            .map_err(query_error("counting technicians on duty"))?;
        let n: i64 = get(&row, "n")?;
        Ok(n as u32)
    }

    /// Adds a technician (or changes whether they are on duty).
    pub async fn set_technician(&self, name: &str, on_duty: bool) -> Result<(), StoreError> {
        sqlx::query("INSERT INTO technicians (name, on_duty) VALUES ($1, $2) ON CONFLICT (name) DO UPDATE SET on_duty = $2")
            .bind(name)
            .bind(on_duty as i64)
            .execute(self.pool())
            .await
            .map_err(query_error("saving a technician"))?;
        Ok(())
    }

    /// The estimated response time for a ticket, computed now from the queue and the staff.
    pub async fn estimate_for(&self, id: i64) -> Result<Option<Duration>, StoreError> {
        let Some(ticket) = self.ticket(id).await? else {
            return Ok(None);
        };
        let priority = ticket.priority.unwrap_or(Priority::ALL[2]);
        let state = QueueState {
            ahead: self.open_tickets_ahead(&ticket).await?,
            on_duty: self.technicians_on_duty().await?,
            target: self.matrix().target(priority),
        };
        Ok(Some(estimate_response_time(state)))
    }

    /// Deletes a ticket (and its timeline). Its number is never given out again.
    pub async fn delete_ticket(&self, id: i64) -> Result<(), StoreError> {
        sqlx::query("DELETE FROM ticket_events WHERE ticket_id = $1")
            .bind(id)
            .execute(self.pool())
            .await
            .map_err(query_error("deleting call events"))?;
        sqlx::query("DELETE FROM tickets WHERE id = $1")
            .bind(id)
            .execute(self.pool())
            .await
            .map_err(query_error("deleting a ticket"))?;
        Ok(())
    }
}
