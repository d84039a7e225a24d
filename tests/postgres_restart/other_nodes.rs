//! Two nodes on one database hear each other again after it restarts: each node's listener
//! connects again by itself, so a technician freed on one node wakes the queues of the other at
//! once and a call on one shows on the other's pages, as before the restart.

use super::support::nodes::joined;
use super::{PrivatePostgres, SERIAL};
use hotline::store::{ChangeKind, Store};
use hotline::tickets::PriorityMatrix;
use std::time::{Duration, Instant};

async fn node(pg: &PrivatePostgres, name: &str) -> Store {
    Store::connect(&pg.url(), PriorityMatrix::default())
        .await
        .unwrap()
        .with_node(name.parse().unwrap())
}

fn call(number: &str) -> hotline::store::NewTicket {
    hotline::store::NewTicket {
        call_id: format!("call-{number}@test"),
        caller_number: number.to_string(),
        caller_name: None,
    }
}

#[tokio::test]
async fn two_nodes_hear_each_other_again_after_a_postgres_restart() {
    let _one_at_a_time = SERIAL.lock().await;
    let Some(pg) = PrivatePostgres::init() else {
        eprintln!("SKIPPED: no PostgreSQL binaries under /usr/lib/postgresql/*/bin");
        return;
    };
    let a = node(&pg, "pbx-a").await;
    let b = node(&pg, "pbx-b").await;
    a.upsert_user("tess", "x", hotline::accounts::Role::Technician)
        .await
        .unwrap();
    joined(&a).await;
    joined(&b).await;
    let mut on_b = b.subscribe();

    pg.stop();
    // Down long enough for the listeners to find it gone and fail to connect again.
    tokio::time::sleep(Duration::from_millis(1500)).await;
    pg.start();
    let restarted = Instant::now();

    // B's pages see A's calls again once B listens again (a call placed before that is not
    // shown on B: a hint lost, not a ticket). A new call every half second until one is seen.
    let mut seen = None;
    for n in 0..30 {
        let ticket = loop {
            // A's pool finds its connections cut and makes new ones.
            match a.create_ticket(&call(&n.to_string())).await {
                Ok(ticket) => break ticket,
                Err(_) => tokio::time::sleep(Duration::from_millis(200)).await,
            }
        };
        let deadline = tokio::time::Instant::now() + Duration::from_millis(500);
        while let Ok(Ok(change)) = tokio::time::timeout_at(deadline, on_b.recv()).await {
            if change.reference == ticket.reference && change.kind == ChangeKind::Created {
                seen = Some(restarted.elapsed());
            }
        }
        if seen.is_some() {
            break;
        }
    }
    let seen = seen.expect("B sees A's calls again within 15 s of the restart");
    eprintln!(
        "B sees A's calls again {} ms after the restart",
        seen.as_millis()
    );

    // And a technician freed on A wakes B's waiting callers at once.
    let woken = b.queue_moved();
    tokio::pin!(woken);
    woken.as_mut().enable();
    let freed = Instant::now();
    a.set_busy("tess", false).await.unwrap();
    tokio::time::timeout(Duration::from_secs(5), woken)
        .await
        .expect("A's wake-up reaches B after the restart");
    eprintln!(
        "B woken {} ms after A freed tess",
        freed.elapsed().as_millis()
    );
    a.close().await;
    b.close().await;
}
