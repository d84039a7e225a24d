//! The team queues as every node sees them. Each node keeps its own waiting callers in memory
//! (`helpdesk::routing::queue`: the calls it runs, the channels a pick-up is handed through)
//! and writes them here as they join and leave, so that the position told to a caller counts
//! every node's callers, and a technician on one node can take a caller waiting on another
//! (a take request, claimed by the caller's node).
//!
//! A node that dies leaves its rows behind until it starts again (it deletes them then). Two
//! rules keep them from counting meanwhile: a row counts only while its ticket is still
//! `in_progress` (a restart gives every cut call its final disposition), and only while its
//! node refreshes `seen_at` (every few seconds while it lives, see [`Store::keep_queue_alive`]).

use super::row::{required, time};
use super::{query_error, Store, StoreError};
use crate::tickets::{Disposition, Priority, TicketRef};
use chrono::{DateTime, Utc};
use std::time::Duration;

/// A row not refreshed for this long belongs to a node presumed dead: it no longer counts.
pub const QUEUE_ROW_STALE_AFTER: Duration = Duration::from_secs(30);

/// A take request not claimed for this long is deleted: the caller's node is gone (or the
/// caller left), and a technician's phone ringing half a minute later would surprise them.
pub const TAKE_REQUEST_EXPIRES_AFTER: Duration = Duration::from_secs(10);

/// The sort level of a priority: P1 = 1 … P5 = 5; no priority waits behind every known one.
pub fn queue_level(priority: Option<Priority>) -> i64 {
    i64::from(priority.map_or(9, Priority::level))
}

/// A caller's row in the shared queue: what their position is counted from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct QueueSpot {
    pub id: i64,
    pub ticket_id: i64,
    pub team: String,
    pub level: i64,
    pub joined_at: DateTime<Utc>,
}

/// A caller waiting on some node, as the store knows them.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct WaitingCaller {
    pub ticket_id: i64,
    pub team: String,
    pub node: String,
}

/// How a technician asked for a caller waiting on another node: told on the caller's timeline.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TakeVia {
    /// "Take call" on the web log.
    WebLog,
    /// `*8` dialled on a phone connected to another node.
    FeatureCode,
}

impl TakeVia {
    pub fn as_str(self) -> &'static str {
        match self {
            TakeVia::WebLog => "web",
            TakeVia::FeatureCode => "star8",
        }
    }

    fn parse(text: &str) -> Result<TakeVia, StoreError> {
        match text {
            "web" => Ok(TakeVia::WebLog),
            "star8" => Ok(TakeVia::FeatureCode),
            other => Err(StoreError::Corrupt {
                column: "via",
                reason: format!("`{other}` is not a way to take a call"),
            }),
        }
    }
}

/// A technician's request for a caller, claimed by the node the caller waits on.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TakeRequest {
    pub id: i64,
    pub ticket_id: i64,
    pub technician: String,
    pub via: TakeVia,
    pub requested_at: DateTime<Utc>,
}

/// `now - after`, in the store's milliseconds.
fn ms_before(now: DateTime<Utc>, after: Duration) -> i64 {
    now.timestamp_millis() - after.as_millis() as i64
}

/// The join and conditions every "who is waiting" read shares: `w` a live row (its call still
/// running, its node alive as of `$1`, `$2` being `in_progress`).
const LIVE: &str = "FROM queue_waiting w JOIN tickets t ON t.id = w.ticket_id \
     WHERE t.disposition = $2 AND w.seen_at >= $1";

impl Store {
    /// Writes that `ticket_id` waits in `team`'s queue on this node since `joined_at`.
    pub async fn join_queue(
        &self,
        ticket_id: i64,
        team: &str,
        priority: Option<Priority>,
        joined_at: DateTime<Utc>,
    ) -> Result<QueueSpot, StoreError> {
        let level = queue_level(priority);
        let at = joined_at.timestamp_millis();
        let row = sqlx::query(
            "INSERT INTO queue_waiting (ticket_id, team, priority_level, joined_at, node, seen_at) \
             VALUES ($1, $2, $3, $4, $5, $4) RETURNING id",
        )
        .bind(ticket_id)
        .bind(team)
        .bind(level)
        .bind(at)
        .bind(self.node().as_str())
        .fetch_one(self.writer())
        .await
        .map_err(query_error("joining a queue"))?;
        Ok(QueueSpot {
            id: required(&row, "id")?,
            ticket_id,
            team: team.to_string(),
            level,
            // Read back as stored: positions compare milliseconds.
            joined_at: DateTime::from_timestamp_millis(at).unwrap_or(joined_at),
        })
    }

    /// Deletes a caller's row: they left the queue (answered, hung up, call-back, gave up).
    pub async fn leave_queue(&self, spot_id: i64) -> Result<(), StoreError> {
        sqlx::query("DELETE FROM queue_waiting WHERE id = $1")
            .bind(spot_id)
            .execute(self.writer())
            .await
            .map_err(query_error("leaving a queue"))?;
        // The next caller may be the team's head now, here or on another node.
        self.wake_queues().await;
        Ok(())
    }

    /// The position of `spot` in its team's queue across every node: 1 + the live callers
    /// served before it (a lower priority level, or the same level and an earlier arrival).
    pub async fn queue_position(
        &self,
        spot: &QueueSpot,
        now: DateTime<Utc>,
    ) -> Result<usize, StoreError> {
        let at = spot.joined_at.timestamp_millis();
        let row = sqlx::query(&format!(
            "SELECT COUNT(*) AS ahead {LIVE} AND w.team = $3 AND w.id <> $4 \
               AND (w.priority_level < $5 OR (w.priority_level = $5 \
                    AND (w.joined_at < $6 OR (w.joined_at = $6 AND w.id < $4))))"
        ))
        .bind(ms_before(now, QUEUE_ROW_STALE_AFTER))
        .bind(Disposition::InProgress.as_str())
        .bind(spot.team.as_str())
        .bind(spot.id)
        .bind(spot.level)
        .bind(at)
        .fetch_one(self.pool())
        .await
        .map_err(query_error("counting a queue"))?;
        let ahead: i64 = required(&row, "ahead")?;
        Ok(ahead as usize + 1)
    }

    /// The caller a technician of `teams` is served first among those waiting on *other*
    /// nodes (or the caller of `reference`, if given): priority, then arrival.
    pub async fn first_waiting_elsewhere(
        &self,
        teams: &[String],
        reference: Option<&TicketRef>,
        now: DateTime<Utc>,
    ) -> Result<Option<WaitingCaller>, StoreError> {
        if teams.is_empty() {
            return Ok(None);
        }
        // $1 and $2 are LIVE's, $3 this node, then the reference if given, then the teams.
        let first_team = if reference.is_some() { 5 } else { 4 };
        let teams_in: Vec<String> = (0..teams.len())
            .map(|i| format!("${}", i + first_team))
            .collect();
        let by_reference = if reference.is_some() {
            "AND t.reference = $4"
        } else {
            ""
        };
        let sql = format!(
            "SELECT w.ticket_id, w.team, w.node {LIVE} AND w.node <> $3 {by_reference} \
               AND w.team IN ({}) ORDER BY w.priority_level, w.joined_at, w.id LIMIT 1",
            teams_in.join(", ")
        );
        let mut query = sqlx::query(&sql)
            .bind(ms_before(now, QUEUE_ROW_STALE_AFTER))
            .bind(Disposition::InProgress.as_str())
            .bind(self.node().as_str());
        if let Some(reference) = reference {
            query = query.bind(reference.to_string());
        }
        for team in teams {
            query = query.bind(team.as_str());
        }
        let row = query
            .fetch_optional(self.pool())
            .await
            .map_err(query_error("finding a caller waiting on another node"))?;
        row.map(|r| waiting_from_row(&r)).transpose()
    }

    /// The live caller served first in `team`'s queue across every node (priority, then
    /// arrival): the one caller of the team its node may offer to the on-call technicians.
    pub async fn queue_head(
        &self,
        team: &str,
        now: DateTime<Utc>,
    ) -> Result<Option<WaitingCaller>, StoreError> {
        let row = sqlx::query(&format!(
            "SELECT w.ticket_id, w.team, w.node {LIVE} AND w.team = $3 \
             ORDER BY w.priority_level, w.joined_at, w.id LIMIT 1"
        ))
        .bind(ms_before(now, QUEUE_ROW_STALE_AFTER))
        .bind(Disposition::InProgress.as_str())
        .bind(team)
        .fetch_optional(self.pool())
        .await
        .map_err(query_error("finding the head of a queue"))?;
        row.map(|r| waiting_from_row(&r)).transpose()
    }

    /// Where the caller of `ticket_id` waits, if they wait live on any node.
    pub async fn waiting_caller(
        &self,
        ticket_id: i64,
        now: DateTime<Utc>,
    ) -> Result<Option<WaitingCaller>, StoreError> {
        let row = sqlx::query(&format!(
            "SELECT w.ticket_id, w.team, w.node {LIVE} AND w.ticket_id = $3 \
             ORDER BY w.id DESC LIMIT 1"
        ))
        .bind(ms_before(now, QUEUE_ROW_STALE_AFTER))
        .bind(Disposition::InProgress.as_str())
        .bind(ticket_id)
        .fetch_optional(self.pool())
        .await
        .map_err(query_error("finding a waiting caller"))?;
        row.map(|r| waiting_from_row(&r)).transpose()
    }

    /// Marks this node's rows as alive as of `now`; returns how many it holds.
    pub async fn keep_queue_alive(&self, now: DateTime<Utc>) -> Result<u64, StoreError> {
        let done = sqlx::query("UPDATE queue_waiting SET seen_at = $1 WHERE node = $2")
            .bind(now.timestamp_millis())
            .bind(self.node().as_str())
            .execute(self.writer())
            .await
            .map_err(query_error("refreshing this node's queue"))?;
        Ok(done.rows_affected())
    }

    /// Deletes the rows a stop left behind: no call survives a restart. This node's only on
    /// PostgreSQL; every row on SQLite (one node owns the file).
    pub async fn forget_own_queue(&self) -> Result<u64, StoreError> {
        let done = match self.own_rows() {
            Some(node) => {
                sqlx::query("DELETE FROM queue_waiting WHERE node = $1")
                    .bind(node.as_str())
                    .execute(self.writer())
                    .await
            }
            None => {
                sqlx::query("DELETE FROM queue_waiting")
                    .execute(self.writer())
                    .await
            }
        }
        .map_err(query_error("deleting the queue a stop left"))?;
        Ok(done.rows_affected())
    }

    /// Asks the node where `ticket_id` waits to ring `technician`'s phones for it.
    pub async fn request_take(
        &self,
        ticket_id: i64,
        technician: &str,
        via: TakeVia,
        now: DateTime<Utc>,
    ) -> Result<(), StoreError> {
        sqlx::query(
            "INSERT INTO queue_take_requests (ticket_id, technician, via, requested_at) \
             VALUES ($1, $2, $3, $4)",
        )
        .bind(ticket_id)
        .bind(technician)
        .bind(via.as_str())
        .bind(now.timestamp_millis())
        .execute(self.writer())
        .await
        .map_err(query_error("requesting to take a call"))?;
        Ok(())
    }

    /// Claims the take requests for callers waiting on this node: each is deleted as it is
    /// returned, so exactly one claim gets it. Requests older than
    /// [`TAKE_REQUEST_EXPIRES_AFTER`] (whoever they were for) are deleted unclaimed first.
    pub async fn claim_take_requests(
        &self,
        now: DateTime<Utc>,
    ) -> Result<Vec<TakeRequest>, StoreError> {
        sqlx::query("DELETE FROM queue_take_requests WHERE requested_at < $1")
            .bind(ms_before(now, TAKE_REQUEST_EXPIRES_AFTER))
            .execute(self.writer())
            .await
            .map_err(query_error("expiring take requests"))?;
        let rows = sqlx::query(
            "DELETE FROM queue_take_requests WHERE ticket_id IN \
               (SELECT ticket_id FROM queue_waiting WHERE node = $1) \
             RETURNING id, ticket_id, technician, via, requested_at",
        )
        .bind(self.node().as_str())
        .fetch_all(self.writer())
        .await
        .map_err(query_error("claiming take requests"))?;
        let mut requests = rows
            .iter()
            .map(|r| {
                Ok(TakeRequest {
                    id: required(r, "id")?,
                    ticket_id: required(r, "ticket_id")?,
                    technician: required(r, "technician")?,
                    via: TakeVia::parse(&required::<String>(r, "via")?)?,
                    requested_at: time(r, "requested_at")?,
                })
            })
            .collect::<Result<Vec<_>, StoreError>>()?;
        // RETURNING has no order: the oldest request is served first.
        requests.sort_by_key(|r| r.id);
        Ok(requests)
    }
}

fn waiting_from_row(row: &sqlx::any::AnyRow) -> Result<WaitingCaller, StoreError> {
    Ok(WaitingCaller {
        ticket_id: required(row, "ticket_id")?,
        team: required(row, "team")?,
        node: required(row, "node")?,
    })
}
