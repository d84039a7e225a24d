//! Storage: the only place that writes SQL. SQLite (embedded default) and PostgreSQL (several
//! nodes) through one code path, sqlx's `Any` driver, with portable SQL and `$n` parameters.

mod directory;
mod jobs;
mod migrate;
mod tickets;

pub use crate::tickets::TicketField;
pub use directory::DirectoryEntry;
pub use jobs::{QueueCounts, TranscriptRecord, TranscriptionJob, MAX_ATTEMPTS};
pub use tickets::{CallEvent, NewTicket, Ticket, TicketFilter};

use crate::tickets::PriorityMatrix;
use sqlx::any::{AnyPoolOptions, AnyRow};
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
    #[error("column `{column}` holds an invalid value: {reason}")]
    Corrupt {
        column: &'static str,
        reason: String,
    },
    #[error("{path}:{line}: {reason}")]
    Csv {
        path: String,
        line: usize,
        reason: String,
    },
}

/// Which SQL dialect the pool speaks (for the few statements that differ).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Dialect {
    Sqlite,
    Postgres,
}

/// The database, shared by every call task and route (a pool: cheap to clone).
#[derive(Clone)]
pub struct Store {
    pool: AnyPool,
    dialect: Dialect,
    matrix: PriorityMatrix,
}

impl Store {
    /// Opens (creating if needed) the database at `url` and brings its schema up to date.
    pub async fn connect(url: &str, matrix: PriorityMatrix) -> Result<Store, StoreError> {
        sqlx::any::install_default_drivers();
        let (dialect, connect_url) = if let Some(path) = url.strip_prefix("sqlite://") {
            if path.is_empty() {
                return Err(StoreError::Url(url.into()));
            }
            if let Some(dir) = std::path::Path::new(path)
                .parent()
                .filter(|d| !d.as_os_str().is_empty())
            {
                std::fs::create_dir_all(dir).map_err(|source| StoreError::Directory {
                    path: dir.display().to_string(),
                    source,
                })?;
            }
            // WAL lets the web log read while calls write; the busy timeout absorbs the short
            // write locks of concurrent calls instead of failing them.
            (Dialect::Sqlite, format!("sqlite://{path}?mode=rwc"))
        } else if url.starts_with("postgres://") || url.starts_with("postgresql://") {
            (Dialect::Postgres, url.to_string())
        } else {
            return Err(StoreError::Url(url.into()));
        };
        let max = if dialect == Dialect::Sqlite { 4 } else { 16 };
        let pool = AnyPoolOptions::new()
            .max_connections(max)
            .acquire_timeout(Duration::from_secs(10))
            .after_connect(move |conn, _| {
                Box::pin(async move {
                    if dialect == Dialect::Sqlite {
                        use sqlx::Executor;
                        conn.execute("PRAGMA journal_mode = WAL; PRAGMA busy_timeout = 5000; PRAGMA foreign_keys = ON; PRAGMA synchronous = NORMAL;")
                            .await?;
                    }
                    Ok(())
                })
            })
            .connect(&connect_url)
            .await
            .map_err(|source| StoreError::Connect {
                url: redact(url),
                source,
            })?;
        let store = Store {
            pool,
            dialect,
            matrix,
        };
        store.migrate().await?;
        Ok(store)
    }

    /// Applies pending migrations (also run by `hotline migrate`).
    pub async fn migrate(&self) -> Result<(), StoreError> {
        migrate::migrator(self.dialect)
            .await?
            .run(&self.pool)
            .await?;
        Ok(())
    }

    pub fn dialect(&self) -> Dialect {
        self.dialect
    }

    pub fn matrix(&self) -> &PriorityMatrix {
        &self.matrix
    }

    pub(crate) fn pool(&self) -> &AnyPool {
        &self.pool
    }

    pub async fn close(&self) {
        self.pool.close().await;
    }
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

fn query_error(operation: &'static str) -> impl Fn(sqlx::Error) -> StoreError {
    move |source| StoreError::Query { operation, source }
}

fn now_ms() -> i64 {
    chrono::Utc::now().timestamp_millis()
}

/// Reads an optional text column and parses it into a domain type, naming the column on error.
fn parse_opt<T: std::str::FromStr>(
    row: &AnyRow,
    column: &'static str,
) -> Result<Option<T>, StoreError>
where
    T::Err: std::fmt::Display,
{
    use sqlx::Row;
    let text: Option<String> = row.try_get(column).map_err(|e| StoreError::Corrupt {
        column,
        reason: e.to_string(),
    })?;
    text.map(|t| {
        t.parse().map_err(|e: T::Err| StoreError::Corrupt {
            column,
            reason: e.to_string(),
        })
    })
    .transpose()
}

#[cfg(test)]
mod tests {
    #[test]
    fn passwords_are_hidden_in_errors() {
        assert_eq!(
            super::redact("postgres://u:secret@h/db"),
            "postgres://u:***@h/db"
        );
        assert_eq!(super::redact("sqlite://data/x.db"), "sqlite://data/x.db");
    }
}
