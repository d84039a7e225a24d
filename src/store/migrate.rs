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
    (
        3,
        "ticket reference",
        include_str!("../../migrations/sqlite/0003_ticket_reference.sql"),
    ),
    (
        4,
        "transcript parts",
        include_str!("../../migrations/sqlite/0004_transcript_parts.sql"),
    ),
    (
        5,
        "web",
        include_str!("../../migrations/sqlite/0005_web.sql"),
    ),
    (
        6,
        "search",
        include_str!("../../migrations/sqlite/0006_search.sql"),
    ),
    (
        7,
        "phones",
        include_str!("../../migrations/sqlite/0007_phones.sql"),
    ),
    (
        8,
        "oncall",
        include_str!("../../migrations/sqlite/0008_oncall.sql"),
    ),
    (
        9,
        "presence",
        include_str!("../../migrations/sqlite/0009_presence.sql"),
    ),
    (
        10,
        "conversation",
        include_str!("../../migrations/sqlite/0010_conversation.sql"),
    ),
    (
        11,
        "ticket node",
        include_str!("../../migrations/sqlite/0011_ticket_node.sql"),
    ),
    (
        12,
        "call queue",
        include_str!("../../migrations/sqlite/0012_call_queue.sql"),
    ),
    (
        13,
        "queue team",
        include_str!("../../migrations/sqlite/0013_queue_team.sql"),
    ),
    (
        14,
        "talking with",
        include_str!("../../migrations/sqlite/0014_talking_with.sql"),
    ),
    (
        15,
        "busy node",
        include_str!("../../migrations/sqlite/0015_busy_node.sql"),
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
    (
        3,
        "ticket reference",
        include_str!("../../migrations/postgres/0003_ticket_reference.sql"),
    ),
    (
        4,
        "transcript parts",
        include_str!("../../migrations/postgres/0004_transcript_parts.sql"),
    ),
    (
        5,
        "web",
        include_str!("../../migrations/postgres/0005_web.sql"),
    ),
    (
        6,
        "search",
        include_str!("../../migrations/postgres/0006_search.sql"),
    ),
    (
        7,
        "phones",
        include_str!("../../migrations/postgres/0007_phones.sql"),
    ),
    (
        8,
        "oncall",
        include_str!("../../migrations/postgres/0008_oncall.sql"),
    ),
    (
        9,
        "presence",
        include_str!("../../migrations/postgres/0009_presence.sql"),
    ),
    (
        10,
        "conversation",
        include_str!("../../migrations/postgres/0010_conversation.sql"),
    ),
    (
        11,
        "ticket node",
        include_str!("../../migrations/postgres/0011_ticket_node.sql"),
    ),
    (
        12,
        "call queue",
        include_str!("../../migrations/postgres/0012_call_queue.sql"),
    ),
    (
        13,
        "queue team",
        include_str!("../../migrations/postgres/0013_queue_team.sql"),
    ),
    (
        14,
        "talking with",
        include_str!("../../migrations/postgres/0014_talking_with.sql"),
    ),
    (
        15,
        "busy node",
        include_str!("../../migrations/postgres/0015_busy_node.sql"),
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

#[cfg(test)]
mod tests {
    use super::*;

    /// A migration file that is not listed here would silently never run.
    #[test]
    fn every_migration_file_is_embedded_in_order() {
        for (dialect, embedded) in [("sqlite", SQLITE), ("postgres", POSTGRES)] {
            let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
                .join("migrations")
                .join(dialect);
            let mut files: Vec<String> = std::fs::read_dir(&dir)
                .unwrap()
                .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
                .filter(|n| n.ends_with(".sql"))
                .collect();
            files.sort();
            assert_eq!(files.len(), embedded.len(), "{}", dir.display());
            for (file, (version, _, sql)) in files.iter().zip(embedded) {
                let number: i64 = file[..4].parse().unwrap();
                assert_eq!(number, *version, "{dialect}/{file}");
                let on_disk = std::fs::read_to_string(dir.join(file)).unwrap();
                assert_eq!(&on_disk, sql, "{dialect}/{file}");
            }
        }
    }
}

#[cfg(test)]
mod upgrade_tests {
    use super::*;
    use sqlx::Row;

    /// A SQLite database (in a directory dropped with the returned guard) migrated only up to
    /// `version`, as an older Hotline left it.
    async fn sqlite_at_version(version: usize) -> (tempfile::TempDir, sqlx::AnyPool) {
        sqlx::any::install_default_drivers();
        let dir = tempfile::tempdir().unwrap();
        let url = format!("sqlite://{}?mode=rwc", dir.path().join("old.db").display());
        let pool = sqlx::AnyPool::connect(&url).await.unwrap();
        Migrator::new(Embedded(&SQLITE[..version]))
            .await
            .unwrap()
            .run(&pool)
            .await
            .unwrap();
        (dir, pool)
    }

    /// Runs the migrations the database lacks, as Hotline does when it starts.
    async fn upgrade(pool: &sqlx::AnyPool) {
        migrator(Dialect::Sqlite)
            .await
            .unwrap()
            .run(pool)
            .await
            .unwrap();
    }

    /// Ticket `id` (reference `HD-2026-00000<id>`) ended as `disposition`, written as a
    /// version with references (3 and later) wrote it.
    async fn old_ticket(pool: &sqlx::AnyPool, id: i64, disposition: &str) {
        sqlx::query(
            "INSERT INTO tickets (id, created_at, updated_at, call_id, caller_number, status, disposition, reference) \
             VALUES ($1, 1, 1, 'c', '1', 'new', $2, $3)",
        )
        .bind(id)
        .bind(disposition)
        .bind(format!("HD-2026-00000{id}"))
        .execute(pool)
        .await
        .unwrap();
    }

    /// Databases from before references were stored get the reference their tickets already
    /// had: `HD-<UTC year of creation>-<id, six digits>`.
    #[tokio::test]
    async fn existing_tickets_keep_their_reference_after_the_upgrade() {
        let (_dir, pool) = sqlite_at_version(2).await;
        // 2025-12-31T23:59:59Z and 2026-01-01T00:00:00Z, ids 41 and 1234567.
        for (id, ms) in [
            (41_i64, 1_767_225_599_000_i64),
            (1_234_567, 1_767_225_600_000),
        ] {
            sqlx::query(
                "INSERT INTO tickets (id, created_at, updated_at, call_id, caller_number, status, disposition) \
                 VALUES ($1, $2, $2, 'c', '1', 'new', 'completed')",
            )
            .bind(id)
            .bind(ms)
            .execute(&pool)
            .await
            .unwrap();
        }
        upgrade(&pool).await;
        let refs: Vec<String> = sqlx::query("SELECT reference FROM tickets ORDER BY id")
            .fetch_all(&pool)
            .await
            .unwrap()
            .iter()
            .map(|r| r.get("reference"))
            .collect();
        assert_eq!(refs, ["HD-2025-000041", "HD-2026-1234567"]);
        pool.close().await;
    }

    /// Tickets written before the search index existed are found by it after the upgrade.
    #[tokio::test]
    async fn existing_tickets_are_indexed_for_search() {
        let (_dir, pool) = sqlite_at_version(5).await;
        sqlx::query(
            "INSERT INTO tickets (created_at, updated_at, call_id, caller_number, status, disposition, reference, transcript) \
             VALUES (1, 1, 'c', '0612345678', 'new', 'completed', 'HD-2026-000001', 'Le réseau est coupé')",
        )
        .execute(&pool)
        .await
        .unwrap();
        upgrade(&pool).await;
        for query in [r#""reseau""#, r#""0612345678""#, r#""hd" "000001""#] {
            let n: i64 = sqlx::query(
                "SELECT COUNT(*) AS n FROM tickets_search WHERE tickets_search MATCH $1",
            )
            .bind(query)
            .fetch_one(&pool)
            .await
            .unwrap()
            .get("n");
            assert_eq!(n, 1, "{query}");
        }
        pool.close().await;
    }

    /// Call-back requests from before the ticket kept its queue's team get the team their
    /// timeline's last `queued` event names, so `*8` still finds them after the upgrade.
    #[tokio::test]
    async fn existing_call_back_requests_keep_their_team_after_the_upgrade() {
        let (_dir, pool) = sqlite_at_version(12).await;
        for (id, disposition) in [
            (1_i64, "callback_requested"),
            (2, "answered"),
            (3, "callback_requested"),
        ] {
            old_ticket(&pool, id, disposition).await;
        }
        for (ticket, detail) in [
            (1_i64, "accounts, position 2"),
            (1, "service desk, level 2, position 1"),
            (1, "call-back requested"),
            (2, "network, position 1"),
        ] {
            sqlx::query(
                "INSERT INTO ticket_events (ticket_id, at, kind, detail) VALUES ($1, 1, 'queued', $2)",
            )
            .bind(ticket)
            .bind(detail)
            .execute(&pool)
            .await
            .unwrap();
        }
        upgrade(&pool).await;
        let teams: Vec<Option<String>> = sqlx::query("SELECT queue_team FROM tickets ORDER BY id")
            .fetch_all(&pool)
            .await
            .unwrap()
            .iter()
            .map(|r| r.get("queue_team"))
            .collect();
        let last_queue = Some("service desk, level 2".to_string());
        assert_eq!(
            teams,
            [last_queue, None, None],
            "answered, or never queued: no request"
        );
        pool.close().await;
    }

    /// Calls in progress from before the ticket kept who talks on them get the technician of
    /// their timeline's last answer with no end of talk after it, for the restart to free.
    #[tokio::test]
    async fn calls_in_progress_keep_who_talks_on_them_after_the_upgrade() {
        let (_dir, pool) = sqlite_at_version(13).await;
        for (id, disposition) in [(1_i64, "in_progress"), (2, "in_progress"), (3, "answered")] {
            old_ticket(&pool, id, disposition).await;
        }
        for (ticket, kind, detail) in [
            (1_i64, "technician_answered", "max on sip:max@x"),
            (
                1,
                "talk_ended",
                "max: transferred to tess on call after 3 s",
            ),
            (1, "technician_answered", "tess on *8 pick-up"),
            (1, "hold", "tess put the caller on hold"),
            (2, "technician_answered", "tess on sip:tess@x"),
            (
                2,
                "talk_ended",
                "tess: transferred to max on call after 3 s",
            ),
            (3, "technician_answered", "tess on sip:tess@x"),
        ] {
            sqlx::query(
                "INSERT INTO ticket_events (ticket_id, at, kind, detail) VALUES ($1, 1, $2, $3)",
            )
            .bind(ticket)
            .bind(kind)
            .bind(detail)
            .execute(&pool)
            .await
            .unwrap();
        }
        upgrade(&pool).await;
        let talking: Vec<Option<String>> =
            sqlx::query("SELECT talking_with FROM tickets ORDER BY id")
                .fetch_all(&pool)
                .await
                .unwrap()
                .iter()
                .map(|r| r.get("talking_with"))
                .collect();
        assert_eq!(talking, [Some("tess".to_string()), None, None]);
        pool.close().await;
    }

    /// Technicians busy from before the flag named its node keep their flag with no node: on
    /// PostgreSQL no node can tell whose call set it, so no restart frees it by the flag.
    #[tokio::test]
    async fn busy_technicians_stay_busy_with_no_node_after_the_upgrade() {
        let (_dir, pool) = sqlite_at_version(14).await;
        for (name, busy) in [("tess", 1_i64), ("max", 0)] {
            sqlx::query(
                "INSERT INTO users (name, password_hash, role, created_at) VALUES ($1, 'x', 'technician', 1)",
            )
            .bind(name)
            .execute(&pool)
            .await
            .unwrap();
            sqlx::query(
                "INSERT INTO presence (user_name, choice, busy, changed_at) VALUES ($1, 'available', $2, 1)",
            )
            .bind(name)
            .bind(busy)
            .execute(&pool)
            .await
            .unwrap();
        }
        upgrade(&pool).await;
        let rows: Vec<(String, i64, Option<String>)> =
            sqlx::query("SELECT user_name, busy, busy_node FROM presence ORDER BY user_name")
                .fetch_all(&pool)
                .await
                .unwrap()
                .iter()
                .map(|r| (r.get("user_name"), r.get("busy"), r.get("busy_node")))
                .collect();
        assert_eq!(
            rows,
            [("max".to_string(), 0, None), ("tess".to_string(), 1, None)]
        );
        pool.close().await;
    }
}
