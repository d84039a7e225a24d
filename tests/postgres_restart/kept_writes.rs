//! Hotline dies while PostgreSQL is down: the writes its calls kept for the database are not
//! lost with the process. They were journalled on disk as they were kept, and the next start
//! stores them before it closes the calls the crash cut — a call that ended during the outage
//! keeps the outcome it had, one still in the menus keeps what the caller chose.
//!
//! The crash is the end of the runtime the calls' writers ran on: their memory and their
//! retrying tasks are gone, exactly what `kill -9` leaves of them (the journal is appended with
//! `write(2)`, so what it holds is in the kernel either way).

use super::{PrivatePostgres, SERIAL};
use hotline::helpdesk::kept_writes::KeptWrites;
use hotline::helpdesk::restart;
use hotline::helpdesk::ticket_writer::{Reachability, TicketWrite, TicketWriters};
use hotline::helpdesk::voicemail::{TranscriptionQueue, Voicemail};
use hotline::store::{NewTicket, Store};
use hotline::tickets::{CallEventKind, Category, Disposition, Impact, PriorityMatrix, TicketField};
use std::sync::Arc;

fn call(number: &str) -> NewTicket {
    NewTicket {
        call_id: format!("call-{number}@test"),
        caller_number: number.to_string(),
        caller_name: None,
    }
}

async fn store(pg: &PrivatePostgres) -> Store {
    Store::connect(&pg.url(), PriorityMatrix::default())
        .await
        .unwrap()
}

#[test]
fn writes_kept_through_an_outage_survive_a_crash_and_are_stored_at_the_next_start() {
    let _one_at_a_time = SERIAL.blocking_lock();
    let Some(pg) = PrivatePostgres::init() else {
        eprintln!("SKIPPED: no PostgreSQL binaries under /usr/lib/postgresql/*/bin");
        return;
    };
    let data = tempfile::tempdir().unwrap();

    // A new process starts its gauges at zero; this one goes on (the other tests here read
    // them), so what the dead runtime leaves up is put back as it was, below.
    use hotline::metrics::{DATABASE_DOWN, TICKET_WRITES_WAITING};
    let gauges = (TICKET_WRITES_WAITING.get(), DATABASE_DOWN.get());

    // The run that dies: two calls; the database stops while both are in the menus.
    let before_crash = tokio::runtime::Runtime::new().unwrap();
    let (ended, in_menus) = before_crash.block_on(async {
        let store = store(&pg).await;
        let ended = store.create_ticket(&call("1")).await.unwrap();
        let in_menus = store.create_ticket(&call("2")).await.unwrap();
        let writers = TicketWriters::new(store.clone(), Arc::new(Reachability::default()))
            .journalled(KeptWrites::new(data.path()));
        let (a, b) = (
            writers.for_ticket(ended.id),
            writers.for_ticket(in_menus.id),
        );
        let category = TicketWrite::Field(TicketField::Category(Category::Network));
        a.write(category.clone()).await;
        b.write(category).await;

        pg.stop();
        // The first write finds the database gone (within the inline wait); the rest are
        // kept at once, behind it.
        for writer in [&a, &b] {
            writer
                .write(TicketWrite::Field(TicketField::Impact(
                    Impact::Organisation,
                )))
                .await;
            writer
                .event(CallEventKind::FieldSet, "impact: organisation")
                .await;
        }
        a.event(CallEventKind::Hangup, "caller hung up").await;
        a.write(TicketWrite::Disposition {
            disposition: Disposition::Abandoned,
            detail: Some("hung up at urgency".into()),
        })
        .await;
        (ended, in_menus)
    });
    drop(before_crash);
    assert!(TICKET_WRITES_WAITING.get() > gauges.0, "writes were kept");
    TICKET_WRITES_WAITING.set(gauges.0);
    DATABASE_DOWN.set(gauges.1);

    // The next start, with the database back.
    pg.start();
    let after = tokio::runtime::Runtime::new().unwrap();
    after.block_on(async {
        let store = store(&pg).await;
        let voicemail = Voicemail::new(
            data.path(),
            hotline::transcribe::worker::TranscriptionConfig::default().chunk_policy(),
            store.clone(),
            TranscriptionQueue::new(store.clone(), None),
        );
        let kept = KeptWrites::new(data.path());
        restart::recover(&store, &voicemail, &kept).await.unwrap();

        let ended_now = store.ticket(ended.id).await.unwrap().unwrap();
        assert_eq!(ended_now.category, Some(Category::Network));
        assert_eq!(
            ended_now.impact,
            Some(Impact::Organisation),
            "kept, then stored"
        );
        assert_eq!(
            ended_now.disposition,
            Disposition::Abandoned,
            "the call ended during the outage: not closed as cut"
        );
        let menus_now = store.ticket(in_menus.id).await.unwrap().unwrap();
        assert_eq!(menus_now.impact, Some(Impact::Organisation));
        assert_eq!(
            menus_now.disposition,
            Disposition::Failed,
            "cut by the crash"
        );

        let kinds = |events: Vec<hotline::tickets::CallEvent>| -> Vec<(CallEventKind, String)> {
            events
                .into_iter()
                .filter(|e| e.kind != CallEventKind::Received)
                .map(|e| (e.kind, e.detail))
                .collect()
        };
        assert_eq!(
            kinds(store.events(ended.id).await.unwrap()),
            [
                (CallEventKind::FieldSet, "impact: organisation".to_string()),
                (CallEventKind::Hangup, "caller hung up".to_string()),
            ],
            "each kept event once, in order"
        );
        let menus_events = kinds(store.events(in_menus.id).await.unwrap());
        assert_eq!(
            menus_events[0],
            (CallEventKind::FieldSet, "impact: organisation".to_string())
        );
        assert_eq!(menus_events.last().unwrap().0, CallEventKind::Hangup);
        assert!(
            kept.pending().unwrap().is_empty(),
            "the journal is empty once stored"
        );

        // A second start stores nothing twice.
        restart::recover(&store, &voicemail, &kept).await.unwrap();
        assert_eq!(store.events(ended.id).await.unwrap().len(), 3);
        store.close().await;
    });
}
