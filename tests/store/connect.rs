//! Opening a database: what a wrong URL says, and that reopening keeps everything.

use crate::support::call;
use hotline::store::Store;
use hotline::tickets::PriorityMatrix;

async fn connect_error(url: &str) -> String {
    Store::connect(url, PriorityMatrix::default())
        .await
        .err()
        .expect("connect must fail")
        .to_string()
}

#[tokio::test]
async fn bad_database_urls_are_explained() {
    for url in ["mysql://x", "", "sqlite://", "data/hotline.db"] {
        assert_eq!(
            connect_error(url).await,
            format!("unsupported database URL `{url}` (use sqlite://PATH or postgres://…)")
        );
    }
    let err = connect_error("postgres://nobody:pw@127.0.0.1:1/none").await;
    assert!(
        err.starts_with("cannot open database postgres://nobody:***@127.0.0.1:1/none: "),
        "{err}"
    );
    let err = connect_error("sqlite:///proc/hotline/h.db").await;
    assert!(
        err.starts_with("cannot create database directory /proc/hotline: "),
        "{err}"
    );
}

#[tokio::test]
async fn a_sqlite_database_is_created_in_wal_mode_and_reopened_intact() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("nested/dir/hotline.db");
    let url = format!("sqlite://{}", path.display());
    let store = Store::connect(&url, PriorityMatrix::default())
        .await
        .unwrap();
    let t = store.create_ticket(&call("1")).await.unwrap();
    store.migrate().await.unwrap();
    store.close().await;
    assert!(path.exists());

    let store = Store::connect(&url, PriorityMatrix::default())
        .await
        .unwrap();
    assert_eq!(store.ticket_by_ref(&t.reference).await.unwrap(), Some(t));
    store.close().await;

    sqlx::any::install_default_drivers();
    let raw = sqlx::AnyPool::connect(&url).await.unwrap();
    let mode: String = sqlx::query_scalar("PRAGMA journal_mode")
        .fetch_one(&raw)
        .await
        .unwrap();
    assert_eq!(mode, "wal");
    raw.close().await;
}
