//! Several nodes on one database: each ticket names the node that took its call, and a node
//! restarting after a crash closes its own cut calls and leaves the other nodes' alone.

use crate::support::{call, Db};
use hotline::helpdesk::restart;
use hotline::helpdesk::voicemail::{TranscriptionQueue, Voicemail};
use hotline::store::{Dialect, NodeName, Store};
use hotline::tickets::{CallEventKind, Disposition, PriorityMatrix, RecordingState};
use std::time::Duration;

fn node(name: &str) -> NodeName {
    name.parse().unwrap()
}

/// Runs `store`'s start-up recovery, as `hotline serve` does before taking calls.
async fn restart(store: &Store) {
    let data = tempfile::tempdir().unwrap();
    let voicemail = Voicemail::new(
        data.path(),
        hotline::transcribe::worker::TranscriptionConfig::default().chunk_policy(),
        store.clone(),
        TranscriptionQueue::new(store.clone(), None),
    );
    let kept = hotline::helpdesk::kept_writes::KeptWrites::new(data.path());
    restart::recover(store, &voicemail, &kept).await.unwrap();
}

async fn disposition(store: &Store, id: i64) -> Disposition {
    store.ticket(id).await.unwrap().unwrap().disposition
}

async fn a_restarted_node_closes_its_own_cut_calls_and_leaves_the_others(db: Db) {
    let a = db.store.clone().with_node(node("pbx-a"));
    let b = db
        .node(PriorityMatrix::default())
        .await
        .with_node(node("pbx-b"));
    // Node A dies with a caller in the menus and one waiting in a queue.
    let menus = a.create_ticket(&call("1")).await.unwrap();
    let queued = a.create_ticket(&call("2")).await.unwrap();
    a.add_event(queued.id, CallEventKind::Queued, "network")
        .await
        .unwrap();
    // Node B runs a call, and a voicemail still being recorded on B's own disk.
    let running = b.create_ticket(&call("3")).await.unwrap();
    let recording = b.create_ticket(&call("4")).await.unwrap();
    b.set_recording(
        recording.id,
        "/elsewhere/pbx-b/recordings/4.wav",
        Duration::ZERO,
        RecordingState::Recording,
    )
    .await
    .unwrap();

    restart(&a).await;

    assert_eq!(disposition(&a, menus.id).await, Disposition::Failed);
    assert_eq!(
        disposition(&a, queued.id).await,
        Disposition::CallbackRequested,
        "a queued caller keeps their place"
    );
    let hangups = a.events(queued.id).await.unwrap();
    assert!(
        hangups
            .iter()
            .any(|e| e.kind == CallEventKind::Hangup && e.detail == "server restarted"),
        "{hangups:?}"
    );
    let recording = a.ticket(recording.id).await.unwrap().unwrap();
    match db.store.dialect() {
        Dialect::Postgres => {
            assert_eq!(disposition(&a, running.id).await, Disposition::InProgress);
            assert_eq!(recording.disposition, Disposition::InProgress);
            assert_eq!(
                recording.recording_end_cause.as_deref(),
                Some("recording"),
                "B's recording is B's to repair"
            );
            // B's own restart closes B's calls.
            restart(&b).await;
            assert_eq!(disposition(&b, running.id).await, Disposition::Failed);
            assert_eq!(
                b.ticket(recording.id)
                    .await
                    .unwrap()
                    .unwrap()
                    .recording_end_cause
                    .as_deref(),
                Some("lost"),
                "the missing file is B's to find missing"
            );
        }
        // One node owns an SQLite file: a row under another name (a renamed host) was cut
        // by this node's stop all the same.
        Dialect::Sqlite => {
            assert_eq!(disposition(&a, running.id).await, Disposition::Failed);
            assert_ne!(recording.recording_end_cause.as_deref(), Some("recording"));
        }
    }
    b.close().await;
}

/// Tickets written before tickets named their node (migration 0011) are this node's on
/// SQLite, and nobody's on PostgreSQL (no node can tell whether another runs them).
async fn tickets_from_before_node_names_are_closed_on_sqlite_only(db: Db) {
    let old = db.store.create_ticket(&call("5")).await.unwrap();
    let raw = db.raw().await;
    sqlx::query("UPDATE tickets SET node = NULL WHERE id = $1")
        .bind(old.id)
        .execute(&raw)
        .await
        .unwrap();
    raw.close().await;
    restart(&db.store).await;
    let expected = match db.store.dialect() {
        Dialect::Sqlite => Disposition::Failed,
        Dialect::Postgres => Disposition::InProgress,
    };
    assert_eq!(disposition(&db.store, old.id).await, expected);
}

/// A caller's call-back request claimed on node A becomes A's call: cut by A's crash, it waits
/// again for its team once A restarts; node B's restart leaves it to A on PostgreSQL.
async fn a_call_back_cut_by_a_crash_waits_again_after_its_nodes_restart(db: Db) {
    let a = db.store.clone().with_node(node("pbx-a"));
    let b = db
        .node(PriorityMatrix::default())
        .await
        .with_node(node("pbx-b"));
    // The caller asked B to call them back and hung up.
    let request = b.create_ticket(&call("6")).await.unwrap();
    b.set_queue_team(request.id, "network").await.unwrap();
    b.set_disposition(request.id, Disposition::CallbackRequested, None)
        .await
        .unwrap();
    b.add_event(
        request.id,
        CallEventKind::Hangup,
        "by caller (caller_hangup)",
    )
    .await
    .unwrap();
    assert!(a.claim_callback(request.id).await.unwrap());

    restart(&b).await;
    if db.store.dialect() == Dialect::Postgres {
        assert_eq!(
            disposition(&b, request.id).await,
            Disposition::InProgress,
            "A may be calling back right now"
        );
        restart(&a).await;
    }

    assert_eq!(
        disposition(&a, request.id).await,
        Disposition::CallbackRequested
    );
    let teams = ["network".to_string()];
    let waiting = a.callback_requests_of(&teams, None).await.unwrap();
    assert_eq!(waiting.len(), 1);
    assert_eq!(waiting[0].id, request.id);
    b.close().await;
}

on_both!(
    a_restarted_node_closes_its_own_cut_calls_and_leaves_the_others,
    tickets_from_before_node_names_are_closed_on_sqlite_only,
    a_call_back_cut_by_a_crash_waits_again_after_its_nodes_restart,
);
