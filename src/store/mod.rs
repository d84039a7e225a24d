//! Storage: the only place that writes SQL. SQLite (embedded default) and PostgreSQL (several
//! nodes) through one code path, sqlx's `Any` driver, with portable SQL and `$n` parameters.

mod board;
mod changes;
mod directory;
mod event_batch;
mod jobs;
mod migrate;
mod node;
mod oncall;
mod other_nodes;
mod phones;
mod queue;
mod row;
mod search;
mod staffing;
mod stats;
mod tickets;
mod timeline;
mod wake;
mod web;

pub use crate::tickets::{CallEvent, Ticket, TicketField};
pub use board::LiveCall;
pub use changes::{AlertKind, CallAlert, ChangeKind, TicketChange};
pub use directory::DirectoryEntry;
pub use jobs::{QueueCounts, TranscriptRecord, TranscriptStage, TranscriptionJob, MAX_ATTEMPTS};
pub use node::{NodeName, NodeNameError, MAX_NODE_NAME};
pub use oncall::{TeamSettings, TechnicianStatus};
pub use phones::{Phone, PhoneView};
pub use queue::{
    queue_level, QueueSpot, TakeRequest, TakeVia, WaitingCaller, QUEUE_ROW_STALE_AFTER,
    TAKE_REQUEST_EXPIRES_AFTER,
};
pub use search::SearchQuery;
pub use tickets::{NewTicket, TicketFilter};

use crate::tickets::PriorityMatrix;
use sqlx::any::AnyPoolOptions;
use sqlx::AnyPool;
use std::time::Duration;

/// Why the store failed. Database errors say which operation failed; bad stored values name the
/// column.
#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    #[error("unsupported database URL `{0}` (use sqlite://PATH or postgres://…)")]
    Url(String),
    #[error("cannot open database {url}: {source}")]
    Connect { url: String, source: sqlx::Error },
    #[error("cannot create database directory {path}: {source}")]
    Directory {
        path: String,
        source: std::io::Error,
    },
    #[error("migrating the database schema: {0}")]
    Migrate(#[from] sqlx::migrate::MigrateError),
    #[error("{operation}: {source}")]
    Query {
        operation: &'static str,
        source: sqlx::Error,
    },
    #[error("no ticket with id {id}")]
    NoTicket { id: i64 },
    #[error("column `{column}` holds an invalid value: {reason}")]
    Corrupt {
        column: &'static str,
        reason: String,
    },
    #[error("cannot read {path}: {source}")]
    Read {
        path: String,
        source: std::io::Error,
    },
    #[error("{path}:{line}: {reason}")]
    Csv {
        path: String,
        line: usize,
        reason: String,
    },
}

impl StoreError {
    /// Whether the database could not be reached (down, restarting, the network), as opposed
    /// to refusing this statement: the same write may succeed later, so it is worth keeping.
    pub fn is_unavailable(&self) -> bool {
        let StoreError::Query { source, .. } = self else {
            return false;
        };
        match source {
            sqlx::Error::Io(_)
            | sqlx::Error::PoolTimedOut
            | sqlx::Error::Protocol(_)
            | sqlx::Error::Tls(_)
            | sqlx::Error::WorkerCrashed => true,
            // SQLSTATE class 08 (connection exception) and 57P (operator intervention: the
            // server shutting down or starting up) are PostgreSQL restarting under us.
            sqlx::Error::Database(e) => e
                .code()
                .is_some_and(|c| c.starts_with("08") || c.starts_with("57P")),
            _ => false,
        }
    }
}

/// Which SQL dialect the pool speaks (for the few statements that differ).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Dialect {
    Sqlite,
    Postgres,
}

impl Dialect {
    /// How a transaction that will write begins (see [`Store::begin_write`]).
    fn begin_write(self) -> &'static str {
        match self {
            Dialect::Sqlite => "BEGIN IMMEDIATE",
            Dialect::Postgres => "BEGIN",
        }
    }
}

/// The database, shared by every call task and route (a pool: cheap to clone).
#[derive(Clone)]
pub struct Store {
    pool: AnyPool,
    /// Where every write goes. On SQLite, one connection of its own: SQLite lets one writer in
    /// at a time, and writers on several connections meet at the file lock, whose busy handler
    /// sleeps 1 to 100 ms between tries however soon the lock is free — under load a write
    /// then waited seconds for a lock held microseconds at a time (issue 16). Queued for one
    /// connection instead, writes follow each other at once, in arrival order. On PostgreSQL,
    /// the pool itself.
    writer: AnyPool,
    /// Timeline events, written in groups on `writer` (see `event_batch`).
    events: event_batch::EventBatcher,
    dialect: Dialect,
    matrix: PriorityMatrix,
    /// The node whose calls this store writes: recorded on every ticket it creates.
    node: NodeName,
    /// Committed ticket changes, for live views (see `changes`).
    changes: tokio::sync::broadcast::Sender<TicketChange>,
    /// Routed calls told to the technician they ring (see `changes`).
    alerts: tokio::sync::broadcast::Sender<CallAlert>,
    /// Waiting callers woken when they might be offered (see `wake`).
    wake: std::sync::Arc<wake::Wake>,
    /// The other nodes on the same PostgreSQL database (see `other_nodes`).
    nodes: std::sync::Arc<other_nodes::OtherNodes>,
}

impl Store {
    /// Opens the database at `url` and brings its schema up to date.
    ///
    /// `sqlite://PATH` creates the file (and its directory) if missing and runs in WAL mode with
    /// a busy timeout and foreign keys on; `postgres://…` (or `postgresql://…`) connects to an
    /// existing database. Anything else is a `StoreError::Url`.
    pub async fn connect(url: &str, matrix: PriorityMatrix) -> Result<Store, StoreError> {
        sqlx::any::install_default_drivers();
        let (dialect, connect_url) = connect_url(url)?;
        if dialect == Dialect::Sqlite {
            let path = sqlite_path(url);
            if let Some(dir) = std::path::Path::new(path)
                .parent()
                .filter(|d| !d.as_os_str().is_empty())
            {
                std::fs::create_dir_all(dir).map_err(|source| StoreError::Directory {
                    path: dir.display().to_string(),
                    source,
                })?;
            }
        }
        let connect_error = |source| StoreError::Connect {
            url: redact(url),
            source,
        };
        // One plain connection first: a wrong host, password or database is reported at once,
        // where the pool would retry until its acquire timeout.
        {
            use sqlx::Connection;
            let probe = sqlx::AnyConnection::connect(&connect_url)
                .await
                .map_err(connect_error)?;
            let _ = probe.close().await;
        }
        // SQLite: a few connections for reads (WAL readers never wait for the writer) and one
        // for writes (see `Store::writer`); PostgreSQL serves every call task and web request
        // in parallel from one pool.
        let max = if dialect == Dialect::Sqlite { 4 } else { 16 };
        let pool = pool_options(dialect, max)
            .connect(&connect_url)
            .await
            .map_err(connect_error)?;
        let writer = match dialect {
            Dialect::Sqlite => pool_options(dialect, 1)
                .connect(&connect_url)
                .await
                .map_err(connect_error)?,
            Dialect::Postgres => pool.clone(),
        };
        let events = event_batch::EventBatcher::start(writer.clone(), dialect);
        let store = Store {
            pool,
            writer,
            events,
            dialect,
            matrix,
            node: NodeName::of_this_host(),
            changes: tokio::sync::broadcast::channel(changes::BACKLOG).0,
            alerts: tokio::sync::broadcast::channel(changes::BACKLOG).0,
            wake: wake::Wake::new(),
            nodes: other_nodes::OtherNodes::new(
                (dialect == Dialect::Postgres).then(|| connect_url.clone()),
            ),
        };
        store.migrate().await?;
        Ok(store)
    }

    /// Applies pending migrations (also run by `hotline migrate`).
    pub async fn migrate(&self) -> Result<(), StoreError> {
        migrate::migrator(self.dialect)
            .await?
            .run(&self.writer)
            .await?;
        Ok(())
    }

    pub fn dialect(&self) -> Dialect {
        self.dialect
    }

    pub fn matrix(&self) -> &PriorityMatrix {
        &self.matrix
    }

    /// The same database, writing for `node` (the configured `node`; by default the host
    /// name): the tickets it creates from now on are that node's.
    pub fn with_node(mut self, node: NodeName) -> Store {
        self.node = node;
        self
    }

    pub fn node(&self) -> &NodeName {
        &self.node
    }

    /// Which node's rows a restart of this node may repair: on PostgreSQL, its own (the
    /// others may be running theirs right now); on SQLite, every row (`None`) — one node owns
    /// an SQLite file, so whatever ran was cut by its own stop, even rows written before
    /// tickets named their node or under an earlier host name.
    pub(crate) fn own_rows(&self) -> Option<&NodeName> {
        match self.dialect {
            Dialect::Sqlite => None,
            Dialect::Postgres => Some(&self.node),
        }
    }

    /// For reads.
    pub(crate) fn pool(&self) -> &AnyPool {
        &self.pool
    }

    /// For writes: statements that change rows, and transactions that will.
    pub(crate) fn writer(&self) -> &AnyPool {
        &self.writer
    }

    /// A transaction that will write. On SQLite it takes the write lock at once (BEGIN
    /// IMMEDIATE): preparing a statement on `tickets` may read first (its triggers open the
    /// FTS5 search table), and a deferred transaction that has read cannot wait for the lock —
    /// it fails with "database is locked" when another writer got in between.
    pub(crate) async fn begin_write(
        &self,
        operation: &'static str,
    ) -> Result<sqlx::Transaction<'static, sqlx::Any>, StoreError> {
        self.writer
            .begin_with(self.dialect.begin_write())
            .await
            .map_err(query_error(operation))
    }

    /// The cheapest round trip to the database (`SELECT 1`), for readiness checks: it takes a
    /// pooled connection, so it fails when the database is down or the pool is closed.
    pub async fn ping(&self) -> Result<(), StoreError> {
        sqlx::query("SELECT 1")
            .execute(&self.pool)
            .await
            .map_err(query_error("checking the database"))?;
        Ok(())
    }

    pub async fn close(&self) {
        self.writer.close().await;
        self.pool.close().await;
    }
}

/// The options of a pool of `max` connections, each set up for `dialect` as it opens.
fn pool_options(dialect: Dialect, max: u32) -> AnyPoolOptions {
    AnyPoolOptions::new()
        .max_connections(max)
        .acquire_timeout(Duration::from_secs(10))
        .after_connect(move |conn, _| {
            Box::pin(async move {
                if dialect == Dialect::Sqlite {
                    use sqlx::Executor;
                    // WAL lets the web log and the CLI read while calls write; the busy
                    // timeout makes concurrent calls wait for the write lock instead of
                    // failing; NORMAL sync is durable across process crashes in WAL mode.
                    // optimize=0x10002 (SQLite's advice for long-lived connections) keeps
                    // the statistics that make the planner walk the time index for a call
                    // log filtered on a common status, instead of sorting every match.
                    conn.execute(
                        "PRAGMA journal_mode = WAL; PRAGMA busy_timeout = 5000; \
                         PRAGMA foreign_keys = ON; PRAGMA synchronous = NORMAL; \
                         PRAGMA optimize = 0x10002;",
                    )
                    .await?;
                }
                Ok(())
            })
        })
}

/// The dialect of `url` and the URL to hand to sqlx (SQLite gets `mode=rwc`: create if missing).
fn connect_url(url: &str) -> Result<(Dialect, String), StoreError> {
    if let Some(rest) = url.strip_prefix("sqlite://") {
        if sqlite_path(url).is_empty() {
            return Err(StoreError::Url(url.into()));
        }
        let connect = match rest.split_once('?') {
            Some((_, query)) if query.split('&').any(|kv| kv.starts_with("mode=")) => {
                url.to_string()
            }
            Some(_) => format!("{url}&mode=rwc"),
            None => format!("{url}?mode=rwc"),
        };
        Ok((Dialect::Sqlite, connect))
    } else if url.starts_with("postgres://") || url.starts_with("postgresql://") {
        Ok((Dialect::Postgres, url.to_string()))
    } else {
        Err(StoreError::Url(url.into()))
    }
}

/// The database file of a `sqlite://PATH[?options]` URL; `None` for any other URL.
pub fn sqlite_file(url: &str) -> Option<&std::path::Path> {
    url.starts_with("sqlite://")
        .then(|| std::path::Path::new(sqlite_path(url)))
}

/// The file path of a `sqlite://PATH[?options]` URL.
fn sqlite_path(url: &str) -> &str {
    let rest = url.strip_prefix("sqlite://").unwrap_or(url);
    rest.split_once('?').map_or(rest, |(path, _)| path)
}

/// Hides a password in a URL for error messages.
fn redact(url: &str) -> String {
    match (url.find("://"), url.rfind('@')) {
        (Some(scheme), Some(at)) if at > scheme => {
            let userinfo = &url[scheme + 3..at];
            match userinfo.split_once(':') {
                Some((user, _)) => format!("{}://{user}:***@{}", &url[..scheme], &url[at + 1..]),
                None => url.to_string(),
            }
        }
        _ => url.to_string(),
    }
}

/// Every failed query passes here, so `/metrics` counts store errors by operation.
fn query_error(operation: &'static str) -> impl Fn(sqlx::Error) -> StoreError {
    move |source| {
        crate::metrics::count_store_error(operation);
        StoreError::Query { operation, source }
    }
}

fn now_ms() -> i64 {
    chrono::Utc::now().timestamp_millis()
}

#[cfg(test)]
mod tests {
    #[test]
    fn a_database_that_cannot_be_reached_is_told_from_one_that_refuses_the_statement() {
        let query = |source| super::StoreError::Query {
            operation: "adding a call event",
            source,
        };
        let refused = std::io::Error::from(std::io::ErrorKind::ConnectionRefused);
        assert!(query(sqlx::Error::Io(refused)).is_unavailable());
        assert!(query(sqlx::Error::PoolTimedOut).is_unavailable());
        // Closed on purpose (shutting down), or a statement that can never succeed: not kept.
        assert!(!query(sqlx::Error::PoolClosed).is_unavailable());
        assert!(!query(sqlx::Error::RowNotFound).is_unavailable());
        assert!(!super::StoreError::NoTicket { id: 1 }.is_unavailable());
    }

    #[test]
    fn passwords_are_hidden_in_errors() {
        assert_eq!(
            super::redact("postgres://u:secret@h/db"),
            "postgres://u:***@h/db"
        );
        assert_eq!(super::redact("sqlite://data/x.db"), "sqlite://data/x.db");
    }

    #[test]
    fn sqlite_urls_create_the_file_and_keep_given_options() {
        let url = |u| {
            super::connect_url(u)
                .map(|(_, c)| c)
                .map_err(|e| e.to_string())
        };
        assert_eq!(
            url("sqlite://data/h.db"),
            Ok("sqlite://data/h.db?mode=rwc".into())
        );
        assert_eq!(
            url("sqlite://data/h.db?cache=shared"),
            Ok("sqlite://data/h.db?cache=shared&mode=rwc".into())
        );
        assert_eq!(
            url("sqlite://h.db?mode=ro"),
            Ok("sqlite://h.db?mode=ro".into())
        );
        assert_eq!(
            url("sqlite://"),
            Err("unsupported database URL `sqlite://` (use sqlite://PATH or postgres://…)".into())
        );
        assert_eq!(super::sqlite_path("sqlite:///var/h.db?x=1"), "/var/h.db");
    }

    /// The store writes `$1`, `$2`… for both databases. SQLite treats `$NNN` as a *named*
    /// parameter; sqlx-sqlite maps the name back to argument NNN, so numbers, not order of
    /// appearance, decide what is bound (and `$1` may appear twice).
    #[tokio::test]
    async fn sqlite_binds_dollar_parameters_by_number() {
        use sqlx::Row;
        let dir = tempfile::tempdir().unwrap();
        let url = format!("sqlite://{}", dir.path().join("p.db").display());
        let store = super::Store::connect(&url, Default::default())
            .await
            .unwrap();
        let row = sqlx::query("SELECT $2 AS a, $1 AS b, $2 AS c")
            .bind("first")
            .bind("second")
            .fetch_one(store.pool())
            .await
            .unwrap();
        let got: (String, String, String) = (row.get("a"), row.get("b"), row.get("c"));
        assert_eq!(got, ("second".into(), "first".into(), "second".into()));
        store.close().await;
    }
}
