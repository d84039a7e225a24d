//! The storage suite, run against SQLite always and against PostgreSQL when
//! HOTLINE_TEST_POSTGRES_URL is set (`make test` sets it when the local server runs).

use hotline::store::{NewTicket, Store, TicketField, TicketFilter};
use hotline::tickets::{
    CallEventKind, Category, Disposition, Impact, Language, PriorityMatrix, TicketStatus, Urgency,
};
use std::collections::HashSet;

/// A fresh database for one test: a temporary SQLite file, or a new PostgreSQL database.
struct TestDb {
    store: Store,
    _dir: Option<tempfile::TempDir>,
    pg_admin: Option<(String, String)>,
}

impl TestDb {
    async fn sqlite() -> TestDb {
        let dir = tempfile::tempdir().unwrap();
        let url = format!("sqlite://{}", dir.path().join("t.db").display());
        TestDb {
            store: Store::connect(&url, PriorityMatrix::default())
                .await
                .unwrap(),
            _dir: Some(dir),
            pg_admin: None,
        }
    }

    async fn postgres(admin_url: &str) -> TestDb {
        use sqlx::Executor;
        sqlx::any::install_default_drivers();
        let name = format!("hotline_test_{:016x}", rand::random::<u64>());
        let admin = sqlx::AnyPool::connect(admin_url)
            .await
            .expect("PostgreSQL reachable");
        admin
            .execute(format!("CREATE DATABASE {name}").as_str())
            .await
            .unwrap();
        admin.close().await;
        let base = admin_url.rsplit_once('/').unwrap().0;
        let url = format!("{base}/{name}");
        TestDb {
            store: Store::connect(&url, PriorityMatrix::default())
                .await
                .unwrap(),
            _dir: None,
            pg_admin: Some((admin_url.to_string(), name)),
        }
    }

    async fn drop_db(self) {
        self.store.close().await;
        if let Some((admin_url, name)) = self.pg_admin {
            use sqlx::Executor;
            let admin = sqlx::AnyPool::connect(&admin_url).await.unwrap();
            admin
                .execute(format!("DROP DATABASE IF EXISTS {name} WITH (FORCE)").as_str())
                .await
                .unwrap();
            admin.close().await;
        }
    }
}

/// Runs a test body on SQLite and, when configured, PostgreSQL.
macro_rules! on_both {
    ($($name:ident),+ $(,)?) => {
        $(mod $name {
            use super::*;
            #[tokio::test]
            async fn sqlite() {
                let db = TestDb::sqlite().await;
                super::super::$name(db.store.clone()).await;
                db.drop_db().await;
            }
            #[tokio::test]
            async fn postgres() {
                let Ok(url) = std::env::var("HOTLINE_TEST_POSTGRES_URL") else {
                    eprintln!("HOTLINE_TEST_POSTGRES_URL not set: PostgreSQL run not possible here");
                    return;
                };
                let db = TestDb::postgres(&url).await;
                super::super::$name(db.store.clone()).await;
                db.drop_db().await;
            }
        })+
    };
}

fn call(n: &str) -> NewTicket {
    NewTicket {
        call_id: format!("call-{n}@test"),
        caller_number: n.to_string(),
        caller_name: Some("Test".into()),
    }
}

async fn ticket_references_are_never_reused(store: Store) {
    let a = store.create_ticket(&call("1")).await.unwrap();
    let b = store.create_ticket(&call("2")).await.unwrap();
    store.delete_ticket(b.id).await.unwrap();
    let c = store.create_ticket(&call("3")).await.unwrap();
    assert!(
        c.reference.number > b.reference.number,
        "{} after deleted {}",
        c.reference,
        b.reference
    );
    assert_ne!(a.reference, c.reference);
    assert!(c.reference.to_string().starts_with("HD-20"));
}

async fn concurrent_calls_get_distinct_references(store: Store) {
    let tasks: Vec<_> = (0..50)
        .map(|i| {
            let s = store.clone();
            tokio::spawn(async move {
                s.create_ticket(&call(&i.to_string()))
                    .await
                    .unwrap()
                    .reference
            })
        })
        .collect();
    let mut refs = HashSet::new();
    for t in tasks {
        refs.insert(t.await.unwrap());
    }
    assert_eq!(refs.len(), 50);
}

async fn priority_follows_the_matrix_once_impact_and_urgency_are_known(store: Store) {
    let t = store.create_ticket(&call("1")).await.unwrap();
    store
        .set_field(t.id, TicketField::Language(Language::French))
        .await
        .unwrap();
    store
        .set_field(t.id, TicketField::Category(Category::Network))
        .await
        .unwrap();
    store
        .set_field(t.id, TicketField::Impact(Impact::Team))
        .await
        .unwrap();
    assert_eq!(store.ticket(t.id).await.unwrap().unwrap().priority, None);
    store
        .set_field(t.id, TicketField::Urgency(Urgency::Blocked))
        .await
        .unwrap();
    let t = store.ticket(t.id).await.unwrap().unwrap();
    assert_eq!(t.priority.unwrap().to_string(), "P2");
    assert_eq!(t.language, Some(Language::French));
    assert_eq!(t.category, Some(Category::Network));
}

async fn timeline_comes_back_in_order(store: Store) {
    let t = store.create_ticket(&call("1")).await.unwrap();
    for i in 0..5 {
        store
            .add_event(t.id, CallEventKind::Digit, &i.to_string())
            .await
            .unwrap();
    }
    let events = store.events(t.id).await.unwrap();
    assert_eq!(events[0].kind, CallEventKind::Received);
    let digits: Vec<_> = events[1..].iter().map(|e| e.detail.as_str()).collect();
    assert_eq!(digits, ["0", "1", "2", "3", "4"]);
}

async fn filters_select_the_right_tickets(store: Store) {
    let a = store.create_ticket(&call("1")).await.unwrap();
    let b = store.create_ticket(&call("2")).await.unwrap();
    store
        .set_field(a.id, TicketField::Category(Category::Hardware))
        .await
        .unwrap();
    store
        .set_disposition(b.id, Disposition::Abandoned, Some("category"))
        .await
        .unwrap();
    let hw = store
        .list_tickets(&TicketFilter {
            category: Some(Category::Hardware),
            ..Default::default()
        })
        .await
        .unwrap();
    assert_eq!(hw.iter().map(|t| t.id).collect::<Vec<_>>(), vec![a.id]);
    let abandoned = store
        .list_tickets(&TicketFilter {
            disposition: Some(Disposition::Abandoned),
            ..Default::default()
        })
        .await
        .unwrap();
    assert_eq!(abandoned[0].disposition_detail.as_deref(), Some("category"));
    let all = store
        .list_tickets(&TicketFilter {
            status: Some(TicketStatus::New),
            ..Default::default()
        })
        .await
        .unwrap();
    assert_eq!(
        all.iter().map(|t| t.id).collect::<Vec<_>>(),
        vec![b.id, a.id],
        "newest first"
    );
}

async fn directory_identifies_known_callers_and_keeps_unknown_numbers(store: Store) {
    let dir = tempfile::tempdir().unwrap();
    let csv = dir.path().join("users.csv");
    std::fs::write(
        &csv,
        "number,name,department,email\n5551234,Alice Martin,Finance,alice@example.com\n",
    )
    .unwrap();
    assert_eq!(store.import_directory_csv(&csv).await.unwrap(), 1);
    let known = store.create_ticket(&call("5551234")).await.unwrap();
    assert_eq!(
        known.caller_identity.as_deref(),
        Some("Alice Martin (Finance)")
    );
    let unknown = store.create_ticket(&call("5559999")).await.unwrap();
    assert_eq!(unknown.caller_identity, None);
    assert_eq!(unknown.caller_number, "5559999");
    std::fs::write(&csv, "number,name\n123\n").unwrap();
    let err = store
        .import_directory_csv(&csv)
        .await
        .unwrap_err()
        .to_string();
    assert!(
        err.ends_with("users.csv:2: expected number,name[,department[,email]]"),
        "{err}"
    );
}

async fn estimate_grows_with_the_queue_ahead(store: Store) {
    store.set_technician("Bob", true).await.unwrap();
    let mut last = None;
    let mut estimates = Vec::new();
    for i in 0..8 {
        let t = store.create_ticket(&call(&i.to_string())).await.unwrap();
        store
            .set_field(t.id, TicketField::Impact(Impact::Individual))
            .await
            .unwrap();
        store
            .set_field(t.id, TicketField::Urgency(Urgency::Blocked))
            .await
            .unwrap();
        estimates.push(store.estimate_for(t.id).await.unwrap().unwrap());
        last = Some(t);
    }
    assert!(estimates.windows(2).all(|w| w[0] <= w[1]), "{estimates:?}");
    assert!(estimates[7] > estimates[0]);
    assert_eq!(
        store
            .open_tickets_ahead(&store.ticket(last.unwrap().id).await.unwrap().unwrap())
            .await
            .unwrap(),
        7
    );
}

mod both {
    use super::*;
    on_both!(
        ticket_references_are_never_reused,
        concurrent_calls_get_distinct_references,
        priority_follows_the_matrix_once_impact_and_urgency_are_known,
        timeline_comes_back_in_order,
        filters_select_the_right_tickets,
        directory_identifies_known_callers_and_keeps_unknown_numbers,
        estimate_grows_with_the_queue_ahead
    );
}

#[tokio::test]
async fn bad_database_urls_are_explained() {
    let err = Store::connect("mysql://x", PriorityMatrix::default())
        .await
        .err()
        .unwrap()
        .to_string();
    assert_eq!(
        err,
        "unsupported database URL `mysql://x` (use sqlite://PATH or postgres://…)"
    );
    let err = Store::connect(
        "postgres://nobody:pw@127.0.0.1:1/none",
        PriorityMatrix::default(),
    )
    .await
    .err()
    .unwrap()
    .to_string();
    assert!(
        err.starts_with("cannot open database postgres://nobody:***@127.0.0.1:1/none"),
        "{err}"
    );
}

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

async fn a_job_is_claimed_once_and_completed_once(store: Store) {
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

async fn an_expired_lease_is_taken_over_and_the_old_claim_cannot_finish(store: Store) {
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

async fn failures_back_off_then_give_up_keeping_the_error(store: Store) {
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

async fn running_jobs_are_requeued_after_a_restart(store: Store) {
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

mod queue_both {
    use super::*;
    on_both!(
        a_job_is_claimed_once_and_completed_once,
        an_expired_lease_is_taken_over_and_the_old_claim_cannot_finish,
        failures_back_off_then_give_up_keeping_the_error,
        running_jobs_are_requeued_after_a_restart
    );
}
