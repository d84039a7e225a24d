//! Nodes sharing one PostgreSQL: used by `tests/store` and `tests/postgres_restart`.

use hotline::store::Store;
use std::time::Duration;

/// Joins `store` to the other nodes and returns once its listener listens (it wakes the
/// queues as soon as it does), so nothing sent after is missed.
pub async fn joined(store: &Store) {
    let listening = store.queue_moved();
    tokio::pin!(listening);
    listening.as_mut().enable();
    store.join_other_nodes();
    tokio::time::timeout(Duration::from_secs(5), listening)
        .await
        .expect("the node listens to the others");
}
