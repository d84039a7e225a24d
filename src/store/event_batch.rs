//! Timeline events written in groups: one `INSERT` of many rows instead of one per event.
//!
//! Events are most of a call's writes (received, answered, each prompt, each key, hang-up),
//! and every statement is a round trip to the database's connection — on SQLite to the one
//! writer connection's thread, which all calls share. Under load those round trips, not the
//! rows, set how many calls the store keeps up with (issue 16: at 2,000 calls the writer's
//! queue reached 2.7 s and new calls were refused). So events go to one task that takes
//! whatever has queued while its previous insert ran, up to [`MAX_ROWS`], and writes them as
//! one statement: no added wait when the store is idle (a lone event is written at once), and
//! the busier the store, the bigger the groups.
//!
//! Each caller still waits for its own event to be stored and gets its own result. If a group's
//! insert fails, its events are written again one by one, so each caller sees the error of its
//! own row (a database that is down, or a ticket that does not exist) and one bad row cannot
//! lose the others.

use super::{query_error, Dialect, StoreError};
use sqlx::{AnyConnection, AnyPool, Connection};
use tokio::sync::{mpsc, oneshot};

/// Rows in one insert: 4 parameters each stays far below SQLite's and PostgreSQL's limits.
pub const MAX_ROWS: usize = 256;

const OPERATION: &str = "adding a call event";

/// One event waiting to be written.
struct Pending {
    ticket_id: i64,
    at_ms: i64,
    kind: &'static str,
    detail: String,
    done: oneshot::Sender<Result<(), StoreError>>,
}

/// The handle the store keeps: cheap to clone, the task ends when the last one is dropped.
#[derive(Clone)]
pub(super) struct EventBatcher {
    queue: mpsc::UnboundedSender<Pending>,
}

impl EventBatcher {
    /// Starts the writing task on `writer`. Must be called inside a tokio runtime.
    pub(super) fn start(writer: AnyPool, dialect: Dialect) -> EventBatcher {
        let (queue, pending) = mpsc::unbounded_channel();
        tokio::spawn(run(writer, dialect, pending));
        EventBatcher { queue }
    }

    /// Writes one event; returns once it is stored (or could not be).
    pub(super) async fn add(
        &self,
        ticket_id: i64,
        at_ms: i64,
        kind: &'static str,
        detail: &str,
    ) -> Result<(), StoreError> {
        let (done, result) = oneshot::channel();
        let pending = Pending {
            ticket_id,
            at_ms,
            kind,
            detail: detail.to_string(),
            done,
        };
        let closed = || StoreError::Query {
            operation: OPERATION,
            source: sqlx::Error::PoolClosed,
        };
        self.queue.send(pending).map_err(|_| closed())?;
        result.await.unwrap_or_else(|_| Err(closed()))
    }
}

async fn run(writer: AnyPool, dialect: Dialect, mut pending: mpsc::UnboundedReceiver<Pending>) {
    let inserts = Inserts::new();
    let mut group = Vec::with_capacity(MAX_ROWS);
    while pending.recv_many(&mut group, MAX_ROWS).await > 0 {
        // The connection first: that is where a database that is down keeps us waiting.
        let mut conn = match writer.acquire().await {
            Ok(conn) => conn,
            Err(e) => {
                let message = e.to_string();
                for event in group.drain(..) {
                    let _ = event.done.send(Err(unreachable(&e, &message)));
                }
                continue;
            }
        };
        // A caller who stopped waiting meanwhile (`TicketWriter` gives up after a while and
        // keeps the event to write it later itself) must not have it written twice.
        group.retain(|event| !event.done.is_closed());
        match insert_chunked(&mut conn, dialect, &inserts, &group).await {
            Ok(()) => {
                for event in group.drain(..) {
                    let _ = event.done.send(Ok(()));
                }
            }
            Err(e) => {
                if group.len() > 1 {
                    tracing::debug!(error = %e, rows = group.len(), "grouped event insert failed; writing the events one by one");
                }
                for event in group.drain(..) {
                    let result = inserts
                        .insert(&mut *conn, std::slice::from_ref(&event))
                        .await
                        .map_err(query_error(OPERATION));
                    let _ = event.done.send(result);
                }
            }
        }
    }
}

/// Each waiting caller's copy of a failure to get the connection (sqlx errors cannot be
/// cloned): still an error that says the database could not be reached.
fn unreachable(e: &sqlx::Error, message: &str) -> StoreError {
    let source = match e {
        sqlx::Error::PoolClosed => sqlx::Error::PoolClosed,
        sqlx::Error::PoolTimedOut => sqlx::Error::PoolTimedOut,
        _ => sqlx::Error::Protocol(message.to_string()),
    };
    query_error(OPERATION)(source)
}

/// Writes `rows` in one transaction, as inserts of [`CHUNKS`] rows: a handful of distinct
/// statements, so each is prepared once and kept in the connection's statement cache (a
/// statement per group size would be prepared anew almost every time).
async fn insert_chunked(
    conn: &mut AnyConnection,
    dialect: Dialect,
    inserts: &Inserts,
    rows: &[Pending],
) -> Result<(), sqlx::Error> {
    match rows.len() {
        0 => return Ok(()),
        1 => return inserts.insert(&mut *conn, rows).await,
        _ => {}
    }
    let mut tx = conn.begin_with(dialect.begin_write()).await?;
    let mut rest = rows;
    while !rest.is_empty() {
        let size = CHUNKS.into_iter().find(|&c| c <= rest.len()).unwrap_or(1);
        let (chunk, after) = rest.split_at(size);
        inserts.insert(&mut *tx, chunk).await?;
        rest = after;
    }
    tx.commit().await
}

/// Row counts of the insert statements used: whatever fits, largest first.
const CHUNKS: [usize; 4] = [64, 16, 4, 1];

/// The insert statement for each size in [`CHUNKS`], built once for the task.
struct Inserts([String; CHUNKS.len()]);

impl Inserts {
    fn new() -> Inserts {
        Inserts(CHUNKS.map(statement))
    }

    /// One `INSERT … VALUES (…), (…)` for `rows` (a size in [`CHUNKS`]), in their order (so
    /// row ids keep it too). The error is left raw: a group's failure is not counted as a
    /// store error, only the rows' own.
    async fn insert<'e>(
        &self,
        executor: impl sqlx::Executor<'e, Database = sqlx::Any>,
        rows: &[Pending],
    ) -> Result<(), sqlx::Error> {
        let size = CHUNKS
            .iter()
            .position(|&c| c == rows.len())
            .expect("inserts come in the sizes of CHUNKS");
        let mut query = sqlx::query(&self.0[size]);
        for row in rows {
            query = query
                .bind(row.ticket_id)
                .bind(row.at_ms)
                .bind(row.kind)
                .bind(row.detail.as_str());
        }
        query.execute(executor).await.map(drop)
    }
}

fn statement(rows: usize) -> String {
    let mut sql = String::from("INSERT INTO ticket_events (ticket_id, at, kind, detail) VALUES ");
    for row in 0..rows {
        let n = row * 4;
        if row > 0 {
            sql.push_str(", ");
        }
        sql.push_str(&format!("(${}, ${}, ${}, ${})", n + 1, n + 2, n + 3, n + 4));
    }
    sql
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_statement_numbers_four_parameters_per_row() {
        assert_eq!(
            statement(2),
            "INSERT INTO ticket_events (ticket_id, at, kind, detail) VALUES ($1, $2, $3, $4), ($5, $6, $7, $8)"
        );
    }
}
