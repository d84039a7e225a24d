//! The schema, embedded in the binary so `hotline` migrates any database without the source tree.

use super::Dialect;
use sqlx::error::BoxDynError;
use sqlx::migrate::{Migration, MigrationSource, MigrationType, Migrator};
use std::borrow::Cow;

/// (version, description, SQL) per dialect, from `migrations/<dialect>/`.
const SQLITE: &[(i64, &str, &str)] = &[
    (
        1,
        "tickets",
        include_str!("../../migrations/sqlite/0001_tickets.sql"),
    ),
    (
        2,
        "transcription",
        include_str!("../../migrations/sqlite/0002_transcription.sql"),
    ),
];
const POSTGRES: &[(i64, &str, &str)] = &[
    (
        1,
        "tickets",
        include_str!("../../migrations/postgres/0001_tickets.sql"),
    ),
    (
        2,
        "transcription",
        include_str!("../../migrations/postgres/0002_transcription.sql"),
    ),
];

#[derive(Debug)]
struct Embedded(&'static [(i64, &'static str, &'static str)]);

impl MigrationSource<'static> for Embedded {
    fn resolve(self) -> futures_core_shim::BoxFuture<'static, Result<Vec<Migration>, BoxDynError>> {
        Box::pin(async move {
            Ok(self
                .0
                .iter()
                .map(|(version, description, sql)| {
                    Migration::new(
                        *version,
                        Cow::Borrowed(description),
                        MigrationType::Simple,
                        Cow::Borrowed(sql),
                        false,
                    )
                })
                .collect())
        })
    }
}

/// The `BoxFuture` alias `MigrationSource` is written with.
mod futures_core_shim {
    pub type BoxFuture<'a, T> = std::pin::Pin<Box<dyn std::future::Future<Output = T> + Send + 'a>>;
}

pub(super) async fn migrator(dialect: Dialect) -> Result<Migrator, sqlx::migrate::MigrateError> {
    Migrator::new(Embedded(match dialect {
        Dialect::Sqlite => SQLITE,
        Dialect::Postgres => POSTGRES,
    }))
    .await
}
