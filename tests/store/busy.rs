//! The technicians' busy flag names the node whose call set it, so that a node restarting after
//! a crash frees the technicians it had on calls and leaves the other nodes' alone.

use crate::support::Db;
use hotline::accounts::Role;
use hotline::store::{Dialect, NodeName, Store};
use hotline::tickets::PriorityMatrix;
use sqlx::Row;

fn node(name: &str) -> NodeName {
    name.parse().unwrap()
}

/// `name`'s row in `presence`: (busy, the node that set it).
async fn busy_row(db: &Db, name: &str) -> (i64, Option<String>) {
    let raw = db.raw().await;
    let row = sqlx::query("SELECT busy, busy_node FROM presence WHERE user_name = $1")
        .bind(name)
        .fetch_one(&raw)
        .await
        .unwrap();
    raw.close().await;
    (row.get("busy"), row.get("busy_node"))
}

async fn technicians(store: &Store, names: &[&str]) {
    for name in names {
        store
            .upsert_user(name, "x", Role::Technician)
            .await
            .unwrap();
    }
}

async fn a_busy_flag_names_the_node_that_set_it_until_cleared(db: Db) {
    let a = db.store.clone().with_node(node("pbx-a"));
    technicians(&a, &["tess"]).await;
    a.set_busy("tess", true).await.unwrap();
    assert_eq!(busy_row(&db, "tess").await, (1, Some("pbx-a".into())));
    a.set_busy("tess", false).await.unwrap();
    assert_eq!(busy_row(&db, "tess").await, (0, None));
}

async fn a_restart_frees_the_technicians_its_node_had_busy(db: Db) {
    let a = db.store.clone().with_node(node("pbx-a"));
    let b = db
        .node(PriorityMatrix::default())
        .await
        .with_node(node("pbx-b"));
    technicians(&a, &["ana", "max", "old", "tess"]).await;
    a.set_busy("tess", true).await.unwrap();
    b.set_busy("max", true).await.unwrap();
    // Busy from before flags named their node (migration 0015).
    a.set_busy("old", true).await.unwrap();
    let raw = db.raw().await;
    sqlx::query("UPDATE presence SET busy_node = NULL WHERE user_name = 'old'")
        .execute(&raw)
        .await
        .unwrap();
    raw.close().await;
    // Busy then free again: nothing to free.
    a.set_busy("ana", true).await.unwrap();
    a.set_busy("ana", false).await.unwrap();

    let freed = a.free_own_busy().await.unwrap();

    match db.store.dialect() {
        Dialect::Postgres => {
            assert_eq!(freed, ["tess"]);
            assert_eq!(busy_row(&db, "max").await, (1, Some("pbx-b".into())));
            assert_eq!(
                busy_row(&db, "old").await,
                (1, None),
                "nobody can tell whose call set it"
            );
            assert_eq!(b.free_own_busy().await.unwrap(), ["max"]);
            assert_eq!(busy_row(&db, "old").await, (1, None));
        }
        // One node owns an SQLite file: every busy flag is its own stop's.
        Dialect::Sqlite => assert_eq!(freed, ["max", "old", "tess"]),
    }
    assert_eq!(busy_row(&db, "tess").await, (0, None));
    assert!(a.free_own_busy().await.unwrap().is_empty());
    b.close().await;
}

on_both!(
    a_busy_flag_names_the_node_that_set_it_until_cleared,
    a_restart_frees_the_technicians_its_node_had_busy,
);
