//! The durable transcription queue: leases, back-off, restart recovery.

use crate::support::{call, Db};
use chrono::Utc;
use hotline::store::{TranscriptRecord, MAX_ATTEMPTS};
use hotline::transcribe::job::{self, backoff, JobError, NextStep};
use hotline::transcribe::ModelError;
use std::time::Duration;

/// The lease every claim here takes.
const LEASE: Duration = Duration::from_secs(60);

fn secs(n: i64) -> chrono::Duration {
    chrono::Duration::seconds(n)
}

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
    let now = Utc::now();
    let job = store
        .claim_transcription(LEASE, now)
        .await
        .unwrap()
        .expect("a job");
    assert_eq!(job.attempt, 1);
    assert!(
        store
            .claim_transcription(LEASE, now)
            .await
            .unwrap()
            .is_none(),
        "one job, leased"
    );
    let latencies = hotline::metrics::TRANSCRIPTION_JOB_LATENCY.count();
    assert!(store
        .complete_transcription(&job, &record("printer broken"), now)
        .await
        .unwrap());
    // The job's latency (queued → transcript stored) is observed for /metrics.
    assert!(hotline::metrics::TRANSCRIPTION_JOB_LATENCY.count() > latencies);
    assert!(
        !store
            .complete_transcription(&job, &record("again"), now)
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
    let t0 = Utc::now();
    let first = store.claim_transcription(LEASE, t0).await.unwrap().unwrap();
    assert!(
        store
            .claim_transcription(LEASE, t0 + secs(59))
            .await
            .unwrap()
            .is_none(),
        "the lease still holds"
    );
    let second = store
        .claim_transcription(LEASE, t0 + secs(61))
        .await
        .unwrap()
        .expect("lease expired: taken over");
    assert_eq!((second.id, second.attempt), (first.id, 2));
    let late = t0 + secs(62);
    assert!(
        !store
            .complete_transcription(&first, &record("stale"), late)
            .await
            .unwrap(),
        "the old claim's completion is refused"
    );
    assert!(
        !store
            .fail_transcription(&first, "whisper crashed", None, late)
            .await
            .unwrap(),
        "nor can the old claim fail the job"
    );
    let model_error = JobError::Model(ModelError::Transcribe("out of memory".into()));
    assert_eq!(
        job::record_failure(&store, &first, &model_error, late)
            .await
            .unwrap(),
        NextStep::LeaveToNewOwner
    );
    assert_eq!(store.transcription_counts().await.unwrap().running, 1);
    assert!(store
        .complete_transcription(&second, &record("fresh"), late)
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
    let t0 = Utc::now();
    let mut now = t0;
    let model_error = JobError::Model(ModelError::Transcribe("out of memory".into()));
    for attempt in 1..MAX_ATTEMPTS {
        let job = store
            .claim_transcription(LEASE, now)
            .await
            .unwrap()
            .expect("due");
        assert_eq!(job.attempt, attempt);
        let step = job::record_failure(&store, &job, &model_error, now)
            .await
            .unwrap();
        let after = backoff(attempt);
        assert_eq!(step, NextStep::Retry { after });
        let wait = chrono::Duration::from_std(after).unwrap();
        assert!(
            store
                .claim_transcription(LEASE, now + wait - chrono::Duration::milliseconds(1))
                .await
                .unwrap()
                .is_none(),
            "attempt {attempt}: backing off for {after:?}"
        );
        now += wait;
    }
    assert_eq!(
        store.transcription_error(t.id).await.unwrap().as_deref(),
        Some("transcription failed: out of memory")
    );
    let counts = store.transcription_counts().await.unwrap();
    assert_eq!((counts.queued, counts.failed), (1, 0));
    let last = store
        .claim_transcription(LEASE, now)
        .await
        .unwrap()
        .unwrap();
    assert_eq!(last.attempt, MAX_ATTEMPTS);
    assert_eq!(
        job::record_failure(&store, &last, &model_error, now)
            .await
            .unwrap(),
        NextStep::Fail
    );
    let counts = store.transcription_counts().await.unwrap();
    assert_eq!((counts.queued, counts.failed), (0, 1));
    assert!(store
        .claim_transcription(LEASE, now + chrono::Duration::days(1))
        .await
        .unwrap()
        .is_none());
}

async fn a_missing_recording_fails_for_good_at_once(Db { store, .. }: Db) {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("deleted.wav");
    let t = store.create_ticket(&call("1")).await.unwrap();
    store
        .enqueue_transcription(t.id, path.to_str().unwrap(), None)
        .await
        .unwrap();
    let now = Utc::now();
    let claimed = store
        .claim_transcription(LEASE, now)
        .await
        .unwrap()
        .unwrap();
    let error = job::read_recording(&path).unwrap_err();
    assert!(matches!(error, JobError::RecordingMissing { .. }));
    assert_eq!(
        job::record_failure(&store, &claimed, &error, now)
            .await
            .unwrap(),
        NextStep::Fail
    );
    assert_eq!(store.transcription_counts().await.unwrap().failed, 1);
    assert_eq!(
        store.transcription_error(t.id).await.unwrap(),
        Some(format!("recording {} does not exist", path.display()))
    );
}

async fn running_jobs_are_requeued_after_a_restart(Db { store, .. }: Db) {
    let t = store.create_ticket(&call("1")).await.unwrap();
    store
        .enqueue_transcription(t.id, "/data/v4.wav", None)
        .await
        .unwrap();
    store
        .claim_transcription(Duration::from_secs(600), Utc::now())
        .await
        .unwrap()
        .unwrap();
    assert_eq!(store.requeue_running_transcriptions().await.unwrap(), 1);
    let again = store
        .claim_transcription(Duration::from_secs(60), Utc::now())
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
        .claim_transcription(Duration::from_secs(60), Utc::now())
        .await
        .unwrap()
        .unwrap();
    let second = store
        .claim_transcription(Duration::from_secs(60), Utc::now())
        .await
        .unwrap()
        .unwrap();
    assert_eq!((first.part, second.part), (Some(0), Some(1)));
    let mut late = record("stopped working this morning");
    late.segments_json =
        r#"[{"start_ms":30000,"end_ms":32000,"text":"stopped working this morning"}]"#.into();
    assert!(store
        .complete_transcription(&second, &late, Utc::now())
        .await
        .unwrap());
    let partial = store.ticket(t.id).await.unwrap().unwrap();
    assert_eq!(
        partial.transcript.as_deref(),
        Some("stopped working this morning"),
        "shown as soon as a part is done"
    );
    let mut early = record("My printer");
    early.segments_json = r#"[{"start_ms":0,"end_ms":1500,"text":"My printer"}]"#.into();
    assert!(store
        .complete_transcription(&first, &early, Utc::now())
        .await
        .unwrap());
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

/// The final pass: the whole recording's job, queued after the last part, waits behind every
/// part (of any ticket) and then replaces the parts' draft; a part finished after it is kept
/// but does not bring the draft back; a final pass that heard nothing leaves the draft.
async fn the_whole_recording_replaces_the_parts_draft_and_goes_after_every_part(
    Db { store, .. }: Db,
) {
    let (a, b) = (
        store.create_ticket(&call("1")).await.unwrap(),
        store.create_ticket(&call("2")).await.unwrap(),
    );
    let lease = |job: &hotline::store::TranscriptionJob| (job.ticket_id, job.part);
    for n in 0..2 {
        store
            .enqueue_transcription_part(a.id, &format!("/data/a.part{n}.wav"), Some("en"), n)
            .await
            .unwrap();
    }
    store
        .enqueue_transcription(a.id, "/data/a.wav", Some("en"))
        .await
        .unwrap();
    // Another caller's part queued after a's final pass still goes first.
    store
        .enqueue_transcription_part(b.id, "/data/b.part0.wav", Some("en"), 0)
        .await
        .unwrap();
    let now = Utc::now();
    let mut claimed = Vec::new();
    while let Some(job) = store.claim_transcription(LEASE, now).await.unwrap() {
        claimed.push(job);
    }
    assert_eq!(
        claimed.iter().map(lease).collect::<Vec<_>>(),
        vec![
            (a.id, Some(0)),
            (a.id, Some(1)),
            (b.id, Some(0)),
            (a.id, None)
        ]
    );
    let (part0, part1, whole) = (&claimed[0], &claimed[1], &claimed[3]);
    assert!(store
        .complete_transcription(part0, &record("My printer"), now)
        .await
        .unwrap());
    let draft = store.ticket(a.id).await.unwrap().unwrap();
    assert_eq!(draft.transcript.as_deref(), Some("My printer"));
    assert!(store
        .complete_transcription(whole, &record("My printer stopped working."), now)
        .await
        .unwrap());
    let fin = store.ticket(a.id).await.unwrap().unwrap();
    assert_eq!(
        fin.transcript.as_deref(),
        Some("My printer stopped working.")
    );
    // A part finishing late (a retry) is kept, and the final text stays.
    assert!(store
        .complete_transcription(part1, &record("stop working"), now)
        .await
        .unwrap());
    assert_eq!(store.transcript_parts_done(a.id).await.unwrap(), 2);
    let t = store.ticket(a.id).await.unwrap().unwrap();
    assert_eq!(t.transcript.as_deref(), Some("My printer stopped working."));

    // b: the final pass hears nothing where its part heard words: the draft stays.
    let b_part = &claimed[2];
    assert!(store
        .complete_transcription(b_part, &record("VPN is down"), now)
        .await
        .unwrap());
    store
        .enqueue_transcription(b.id, "/data/b.wav", Some("en"))
        .await
        .unwrap();
    // Queued just now: claimed as of now, not as of the first claims.
    let b_whole = store
        .claim_transcription(LEASE, Utc::now())
        .await
        .unwrap()
        .unwrap();
    assert_eq!(lease(&b_whole), (b.id, None));
    let mut nothing = record("");
    nothing.text = None;
    assert!(store
        .complete_transcription(&b_whole, &nothing, now)
        .await
        .unwrap());
    let t = store.ticket(b.id).await.unwrap().unwrap();
    assert_eq!(t.transcript.as_deref(), Some("VPN is down"));
}

/// What the ticket page tells a technician about the text: parts still coming, a draft the
/// final pass will replace, or settled (final pass done, failed for good, or never queued).
async fn a_transcript_is_a_draft_until_its_final_pass_is_done(Db { store, .. }: Db) {
    use hotline::store::TranscriptStage::{FinalPending, PartsPending, Settled};
    let a = store.create_ticket(&call("1")).await.unwrap();
    assert_eq!(store.transcript_stage(a.id).await.unwrap(), Settled);
    store
        .enqueue_transcription_part(a.id, "/data/a.part0.wav", Some("en"), 0)
        .await
        .unwrap();
    assert_eq!(store.transcript_stage(a.id).await.unwrap(), PartsPending);
    store
        .enqueue_transcription(a.id, "/data/a.wav", Some("en"))
        .await
        .unwrap();
    let now = Utc::now();
    let part = store
        .claim_transcription(LEASE, now)
        .await
        .unwrap()
        .unwrap();
    // Being transcribed still counts as coming.
    assert_eq!(store.transcript_stage(a.id).await.unwrap(), PartsPending);
    store
        .complete_transcription(&part, &record("My printer"), now)
        .await
        .unwrap();
    assert_eq!(store.transcript_stage(a.id).await.unwrap(), FinalPending);
    assert!(!store.transcript_final(a.id).await.unwrap());
    let whole = store
        .claim_transcription(LEASE, now)
        .await
        .unwrap()
        .unwrap();
    assert_eq!(whole.part, None);
    assert_eq!(store.transcript_stage(a.id).await.unwrap(), FinalPending);
    store
        .complete_transcription(&whole, &record("My printer is broken."), now)
        .await
        .unwrap();
    assert_eq!(store.transcript_stage(a.id).await.unwrap(), Settled);
    assert!(store.transcript_final(a.id).await.unwrap());

    // Another ticket's jobs do not count.
    let b = store.create_ticket(&call("2")).await.unwrap();
    store
        .enqueue_transcription(b.id, "/data/b.wav", Some("en"))
        .await
        .unwrap();
    assert_eq!(store.transcript_stage(a.id).await.unwrap(), Settled);
    assert_eq!(store.transcript_stage(b.id).await.unwrap(), FinalPending);
}

on_both!(
    a_transcript_is_a_draft_until_its_final_pass_is_done,
    the_whole_recording_replaces_the_parts_draft_and_goes_after_every_part,
    parts_finishing_out_of_order_still_read_in_order,
    a_job_is_claimed_once_and_completed_once,
    an_expired_lease_is_taken_over_and_the_old_claim_cannot_finish,
    failures_back_off_then_give_up_keeping_the_error,
    a_missing_recording_fails_for_good_at_once,
    running_jobs_are_requeued_after_a_restart
);
