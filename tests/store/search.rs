//! Full-text search of the call log, and the changes the store announces to live views.

use crate::support::Db;
use hotline::store::{ChangeKind, NewTicket, Store, TicketChange, TicketFilter, TranscriptRecord};
use hotline::tickets::{Ticket, TicketStatus};
use std::time::Duration;

fn record(text: &str, language: &str) -> TranscriptRecord {
    TranscriptRecord {
        text: Some(text.into()),
        language: language.into(),
        segments_json: "[]".into(),
        model: "base".into(),
        processing: Duration::from_millis(100),
    }
}

async fn caller(store: &Store, number: &str, name: &str) -> Ticket {
    store
        .create_ticket(&NewTicket {
            call_id: format!("call-{number}@test"),
            caller_number: number.into(),
            caller_name: Some(name.into()),
        })
        .await
        .unwrap()
}

/// Transcribes a voicemail the way the worker does: queue, claim, complete (in parts if
/// several texts are given).
async fn transcribe(store: &Store, ticket: &Ticket, texts: &[&str], language: &str) {
    for (n, _) in texts.iter().enumerate() {
        let path = format!("/data/{}-{n}.wav", ticket.reference);
        if texts.len() == 1 {
            store
                .enqueue_transcription(ticket.id, &path, Some(language))
                .await
                .unwrap();
        } else {
            store
                .enqueue_transcription_part(ticket.id, &path, Some(language), n as i64)
                .await
                .unwrap();
        }
    }
    for _ in texts {
        let job = store
            .claim_transcription(Duration::from_secs(60), chrono::Utc::now())
            .await
            .unwrap()
            .expect("a job");
        let text = texts[job.part.unwrap_or(0) as usize];
        assert!(store
            .complete_transcription(&job, &record(text, language), chrono::Utc::now())
            .await
            .unwrap());
    }
}

async fn found(store: &Store, q: &str) -> Vec<String> {
    found_with(store, q, TicketFilter::default()).await
}

async fn found_with(store: &Store, q: &str, filter: TicketFilter) -> Vec<String> {
    store
        .list_tickets(&TicketFilter {
            q: Some(q.into()),
            ..filter
        })
        .await
        .unwrap_or_else(|e| panic!("search {q:?}: {e}"))
        .iter()
        .map(|t| t.reference.to_string())
        .collect()
}

async fn search_finds_transcript_words_callers_and_references(Db { store, .. }: Db) {
    let french = caller(&store, "0140000001", "Zoé Martin").await;
    transcribe(
        &store,
        &french,
        &["Mon imprimante ne marche plus,", "et le réseau est coupé."],
        "fr",
    )
    .await;
    let english = caller(&store, "+33612345678", "Ada Lovelace").await;
    transcribe(&store, &english, &["My printer is on fire."], "en").await;
    let silent = caller(&store, "4711", "Bob").await;
    let (fr, en, quiet) = (
        french.reference.to_string(),
        english.reference.to_string(),
        silent.reference.to_string(),
    );

    assert_eq!(found(&store, "printer").await, [en.as_str()]);
    assert_eq!(found(&store, "PRINTER fire").await, [en.as_str()]);
    assert_eq!(found(&store, "imprimante").await, [fr.as_str()]);
    // The second part of the voicemail, assembled into the ticket's transcript.
    assert_eq!(found(&store, "réseau").await, [fr.as_str()]);
    assert_eq!(
        found(&store, "reseau").await,
        [fr.as_str()],
        "accents folded"
    );
    assert_eq!(found(&store, "RÉSEAU coupe").await, [fr.as_str()]);
    assert_eq!(found(&store, "imprim").await, [fr.as_str()], "prefix");
    assert_eq!(found(&store, "+33612345678").await, [en.as_str()]);
    assert_eq!(found(&store, "3361").await, [en.as_str()], "number prefix");
    assert_eq!(found(&store, "zoe").await, [fr.as_str()], "caller name");
    assert_eq!(found(&store, &quiet).await, [quiet.as_str()], "reference");
    assert!(
        found(&store, "printer réseau").await.is_empty(),
        "all words"
    );
    assert!(found(&store, "printers").await.is_empty(), "no stemming");
    assert_eq!(
        found(&store, "m").await,
        [en.as_str(), fr.as_str()],
        "newest match first"
    );
    assert_eq!(
        found_with(
            &store,
            "m",
            TicketFilter {
                status: Some(TicketStatus::New),
                limit: 1,
                offset: 1,
                ..Default::default()
            }
        )
        .await,
        [fr.as_str()],
        "search combines with filters and pages"
    );

    store.delete_ticket(english.id).await.unwrap();
    assert!(
        found(&store, "printer").await.is_empty(),
        "deleted: unindexed"
    );
}

async fn hostile_search_text_is_plain_words(Db { store, .. }: Db) {
    let t = caller(&store, "100", "Eve").await;
    transcribe(&store, &t, &["AND the printer OR NEAR the \"door\""], "en").await;
    let r = t.reference.to_string();
    for q in [
        "\"",
        "*",
        "-",
        "AND",
        "OR",
        "NOT",
        "NEAR(",
        "printer\"",
        "\"printer",
        "a OR b",
        "-printer",
        "printer*",
        "col:printer",
        "'; DROP TABLE tickets; --",
        "(",
        ")",
        "^",
        ":",
        "''",
        "!",
        "&",
        "|",
        "<->",
        "\\",
        "printer:*",
        "🙂",
        "\u{0}",
    ] {
        found(&store, q).await;
    }
    assert_eq!(found(&store, "\"door\"").await, [r.as_str()]);
    assert_eq!(
        found(&store, "AND").await,
        [r.as_str()],
        "operators are words"
    );
    assert_eq!(found(&store, "printer:*").await, [r.as_str()]);
    assert!(found(&store, "*").await.is_empty(), "no word: nothing");
    assert_eq!(
        store.list_tickets(&Default::default()).await.unwrap().len(),
        1
    );
}

async fn changes_are_announced_once_committed(Db { store, .. }: Db) {
    let mut changes = store.subscribe();
    let t = caller(&store, "200", "Ann").await;
    store
        .set_status(t.id, TicketStatus::Acknowledged)
        .await
        .unwrap();
    transcribe(&store, &t, &["hello"], "en").await;
    let mut got = Vec::new();
    while let Ok(change) = changes.try_recv() {
        got.push(change);
    }
    let change = |kind| TicketChange {
        reference: t.reference,
        kind,
    };
    assert_eq!(
        got,
        [
            change(ChangeKind::Created),
            change(ChangeKind::Updated),
            change(ChangeKind::Transcript)
        ]
    );
    assert!(
        store
            .set_status(t.id + 1000, TicketStatus::Closed)
            .await
            .is_err(),
        "unknown ticket"
    );
    assert!(changes.try_recv().is_err(), "nothing announced for it");
}

on_both!(
    search_finds_transcript_words_callers_and_references,
    hostile_search_text_is_plain_words,
    changes_are_announced_once_committed,
);
