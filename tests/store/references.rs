//! Ticket references: what callers write down must never point at another ticket.

use crate::support::{call, Db};
use hotline::store::TicketFilter;
use hotline::tickets::PriorityMatrix;
use std::collections::HashSet;

async fn ticket_references_are_never_reused(Db { store, .. }: Db) {
    let a = store.create_ticket(&call("1")).await.unwrap();
    let b = store.create_ticket(&call("2")).await.unwrap();
    // Deleting the newest ticket is the case a MAX(id)+1 numbering would get wrong.
    store.delete_ticket(b.id).await.unwrap();
    let c = store.create_ticket(&call("3")).await.unwrap();
    assert!(
        c.reference.number > b.reference.number,
        "{} after deleted {}",
        c.reference,
        b.reference
    );
    store.delete_ticket(a.id).await.unwrap();
    store.delete_ticket(c.id).await.unwrap();
    let d = store.create_ticket(&call("4")).await.unwrap();
    assert!(
        d.reference.number > c.reference.number,
        "empty table: {}",
        d.reference
    );
    assert_eq!(store.ticket_by_ref(&b.reference).await.unwrap(), None);
    assert!(
        store.events(b.id).await.unwrap().is_empty(),
        "timeline deleted with its ticket"
    );
}

/// 50 calls arriving at once on two Hotline nodes sharing the database.
async fn concurrent_calls_get_distinct_references(db: Db) {
    let other_node = db.node(PriorityMatrix::default()).await;
    let tasks: Vec<_> = (0..50)
        .map(|i| {
            let node = if i % 2 == 0 {
                db.store.clone()
            } else {
                other_node.clone()
            };
            tokio::spawn(async move { node.create_ticket(&call(&i.to_string())).await.unwrap() })
        })
        .collect();
    let mut references = HashSet::new();
    for t in tasks {
        let t = t.await.unwrap();
        assert_eq!(t.reference.number as i64, t.id);
        references.insert(t.reference);
    }
    assert_eq!(references.len(), 50);
    let stored = db
        .store
        .list_tickets(&TicketFilter {
            limit: 100,
            ..Default::default()
        })
        .await
        .unwrap();
    assert_eq!(stored.len(), 50);
    assert!(stored.iter().all(|t| references.contains(&t.reference)));
    for t in &stored {
        assert_eq!(
            db.store.events(t.id).await.unwrap().len(),
            1,
            "{}",
            t.reference
        );
    }
    other_node.close().await;
}

on_both!(
    ticket_references_are_never_reused,
    concurrent_calls_get_distinct_references,
);
