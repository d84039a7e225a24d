//! The durable transcription queue: leases, back-off, restart recovery.

use crate::support::{call, Db};
use hotline::store::TranscriptRecord;
use std::time::Duration;

fn record(text: &str) -> TranscriptRecord {
    TranscriptRecord {
        text: Some(text.into()),
        language: "en".into(),
        segments_json: "[]".into(),
        model: "base".into(),
        processing: Duration::from_millis(1500),
    }
}

async fn a_job_is_claimed_once_and_completed_once(Db { store, .. }: Db) {
    let t = store.create_ticket(&call("1")).await.unwrap();
    store
        .enqueue_transcription(t.id, "/data/v1.wav", Some("en"))
        .await
        .unwrap();
    store
        .enqueue_transcription(t.id, "/data/v1.wav", Some("en"))
        .await
        .unwrap();
    let job = store
        .claim_transcription(Duration::from_secs(60))
        .await
        .unwrap()
        .expect("a job");
    assert_eq!(job.attempt, 1);
    assert!(
        store
            .claim_transcription(Duration::from_secs(60))
            .await
            .unwrap()
            .is_none(),
        "one job, leased"
    );
    assert!(store
        .complete_transcription(&job, &record("printer broken"))
        .await
        .unwrap());
    assert!(
        !store
            .complete_transcription(&job, &record("again"))
            .await
            .unwrap(),
        "never completed twice"
    );
    let t = store.ticket(t.id).await.unwrap().unwrap();
    assert_eq!(t.transcript.as_deref(), Some("printer broken"));
    assert_eq!(t.transcript_model.as_deref(), Some("base"));
    assert_eq!(store.transcription_counts().await.unwrap().done, 1);
}

async fn an_expired_lease_is_taken_over_and_the_old_claim_cannot_finish(Db { store, .. }: Db) {
    let t = store.create_ticket(&call("1")).await.unwrap();
    store
        .enqueue_transcription(t.id, "/data/v2.wav", None)
        .await
        .unwrap();
    let first = store
        .claim_transcription(Duration::from_millis(0))
        .await
        .unwrap()
        .unwrap();
    tokio::time::sleep(Duration::from_millis(5)).await;
    let second = store
        .claim_transcription(Duration::from_secs(60))
        .await
        .unwrap()
        .expect("lease expired: taken over");
    assert_eq!(second.attempt, 2);
    assert!(!store
        .complete_transcription(&first, &record("stale"))
        .await
        .unwrap());
    assert!(store
        .complete_transcription(&second, &record("fresh"))
        .await
        .unwrap());
    assert_eq!(
        store
            .ticket(t.id)
            .await
            .unwrap()
            .unwrap()
            .transcript
            .as_deref(),
        Some("fresh")
    );
}

async fn failures_back_off_then_give_up_keeping_the_error(Db { store, .. }: Db) {
    let t = store.create_ticket(&call("1")).await.unwrap();
    store
        .enqueue_transcription(t.id, "/data/v3.wav", None)
        .await
        .unwrap();
    let job = store
        .claim_transcription(Duration::from_secs(60))
        .await
        .unwrap()
        .unwrap();
    store
        .fail_transcription(&job, "audio unreadable")
        .await
        .unwrap();
    assert!(
        store
            .claim_transcription(Duration::from_secs(60))
            .await
            .unwrap()
            .is_none(),
        "backing off"
    );
    assert_eq!(
        store.transcription_error(t.id).await.unwrap().as_deref(),
        Some("audio unreadable")
    );
    let counts = store.transcription_counts().await.unwrap();
    assert_eq!((counts.queued, counts.failed), (1, 0));
}

async fn running_jobs_are_requeued_after_a_restart(Db { store, .. }: Db) {
    let t = store.create_ticket(&call("1")).await.unwrap();
    store
        .enqueue_transcription(t.id, "/data/v4.wav", None)
        .await
        .unwrap();
    store
        .claim_transcription(Duration::from_secs(600))
        .await
        .unwrap()
        .unwrap();
    assert_eq!(store.requeue_running_transcriptions().await.unwrap(), 1);
    let again = store
        .claim_transcription(Duration::from_secs(60))
        .await
        .unwrap()
        .expect("requeued");
    assert_eq!(again.attempt, 2);
}

async fn parts_finishing_out_of_order_still_read_in_order(Db { store, .. }: Db) {
    let t = store.create_ticket(&call("1")).await.unwrap();
    store
        .enqueue_transcription_part(t.id, "/data/v.part0.wav", Some("en"), 0)
        .await
        .unwrap();
    store
        .enqueue_transcription_part(t.id, "/data/v.part1.wav", Some("en"), 1)
        .await
        .unwrap();
    let first = store
        .claim_transcription(Duration::from_secs(60))
        .await
        .unwrap()
        .unwrap();
    let second = store
        .claim_transcription(Duration::from_secs(60))
        .await
        .unwrap()
        .unwrap();
    assert_eq!((first.part, second.part), (Some(0), Some(1)));
    let mut late = record("stopped working this morning");
    late.segments_json =
        r#"[{"start_ms":30000,"end_ms":32000,"text":"stopped working this morning"}]"#.into();
    assert!(store.complete_transcription(&second, &late).await.unwrap());
    let partial = store.ticket(t.id).await.unwrap().unwrap();
    assert_eq!(
        partial.transcript.as_deref(),
        Some("stopped working this morning"),
        "shown as soon as a part is done"
    );
    let mut early = record("My printer");
    early.segments_json = r#"[{"start_ms":0,"end_ms":1500,"text":"My printer"}]"#.into();
    assert!(store.complete_transcription(&first, &early).await.unwrap());
    let t = store.ticket(t.id).await.unwrap().unwrap();
    assert_eq!(
        t.transcript.as_deref(),
        Some("My printer stopped working this morning")
    );
    let starts: Vec<u64> = t
        .transcript_segments
        .unwrap()
        .as_array()
        .unwrap()
        .iter()
        .map(|s| s["start_ms"].as_u64().unwrap())
        .collect();
    assert_eq!(starts, vec![0, 30000]);
    assert_eq!(store.transcript_parts_done(t.id).await.unwrap(), 2);
}

on_both!(
    parts_finishing_out_of_order_still_read_in_order,
    a_job_is_claimed_once_and_completed_once,
    an_expired_lease_is_taken_over_and_the_old_claim_cannot_finish,
    failures_back_off_then_give_up_keeping_the_error,
    running_jobs_are_requeued_after_a_restart
);
