//! The JSON of tickets is an API: every field is documented in docs/tickets.md, and every
//! column decodes on both databases.

use crate::support::{call, Db};
use hotline::store::{DirectoryEntry, TicketField, TranscriptRecord};
use hotline::tickets::report::ticket_json;
use hotline::tickets::{CallEventKind, Category, Impact, Language, Ticket, Urgency};
use std::collections::BTreeSet;
use std::time::Duration;

/// A ticket with every optional field set, through the store's own functions.
async fn full_ticket(db: &Db) -> Ticket {
    let store = &db.store;
    store.set_technician("Bob", true).await.unwrap();
    store
        .upsert_directory(&DirectoryEntry {
            number: "5551234".into(),
            name: "Alice".into(),
            department: Some("Finance".into()),
            email: None,
        })
        .await
        .unwrap();
    let t = store.create_ticket(&call("5551234")).await.unwrap();
    for field in [
        TicketField::Language(Language::English),
        TicketField::Category(Category::Hardware),
        TicketField::Impact(Impact::Team),
        TicketField::Urgency(Urgency::Degraded),
    ] {
        store.set_field(t.id, field).await.unwrap();
    }
    store.set_collected(t.id, "asset", "1234").await.unwrap();
    store.set_assignee(t.id, Some("Bob")).await.unwrap();
    let estimate = store.estimate_for(t.id).await.unwrap().unwrap();
    store.set_estimate(t.id, estimate).await.unwrap();
    store
        .set_recording(
            t.id,
            "/data/v.wav",
            Duration::from_secs(9),
            hotline::tickets::RecordingState::Ended {
                end: hotline::tickets::RecordingEnd::Digit,
                speech: true,
            },
        )
        .await
        .unwrap();
    store
        .set_conversation(t.id, "/data/v-conversation.wav", Duration::from_secs(95))
        .await
        .unwrap();
    store
        .set_disposition(t.id, hotline::tickets::Disposition::Completed, Some("done"))
        .await
        .unwrap();
    store
        .enqueue_transcription(t.id, "/data/v.wav", Some("en"))
        .await
        .unwrap();
    let job = store
        .claim_transcription(Duration::from_secs(60), chrono::Utc::now())
        .await
        .unwrap()
        .unwrap();
    store
        .complete_transcription(
            &job,
            &TranscriptRecord {
                text: Some("the printer is jammed".into()),
                language: "en".into(),
                segments_json: r#"[{"start_ms":0,"end_ms":900,"text":"the printer is jammed"}]"#
                    .into(),
                model: "base".into(),
                processing: Duration::from_millis(700),
            },
            chrono::Utc::now(),
        )
        .await
        .unwrap();
    store
        .add_event(t.id, CallEventKind::Hangup, "by caller")
        .await
        .unwrap();
    store.ticket(t.id).await.unwrap().unwrap()
}

async fn every_field_is_stored_and_serialised(db: Db) {
    let t = full_ticket(&db).await;
    let events = db.store.events(t.id).await.unwrap();
    let json = ticket_json(&t, &events);
    let object = json.as_object().unwrap();
    let nulls: Vec<&String> = object
        .iter()
        .filter(|(_, v)| v.is_null())
        .map(|(k, _)| k)
        .collect();
    assert!(nulls.is_empty(), "fields left null: {nulls:?}");
    assert_eq!(json["priority"], "P3");
    assert_eq!(json["transcript_segments"][0]["end_ms"], 900);
    assert_eq!(json["events"][1]["kind"], "hangup");
    let back: Ticket = serde_json::from_value(json).unwrap();
    assert_eq!(back, Ticket { id: 0, ..t });
}

/// The `| \`field\` |` rows of the JSON table in docs/tickets.md.
fn documented_fields() -> BTreeSet<String> {
    let doc =
        std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/docs/tickets.md")).unwrap();
    let table = doc
        .split("## JSON fields")
        .nth(1)
        .expect("docs/tickets.md has a JSON fields section");
    table
        .lines()
        .take_while(|l| !l.starts_with("## "))
        .filter_map(|l| l.strip_prefix("| `"))
        .filter_map(|l| l.split_once('`').map(|(name, _)| name.to_string()))
        .collect()
}

async fn every_json_field_is_documented(db: Db) {
    let t = full_ticket(&db).await;
    let events = db.store.events(t.id).await.unwrap();
    let json = ticket_json(&t, &events);
    let mut fields: BTreeSet<String> = json.as_object().unwrap().keys().cloned().collect();
    for key in json["events"][0].as_object().unwrap().keys() {
        fields.insert(format!("events[].{key}"));
    }
    assert_eq!(fields, documented_fields());
}

#[test]
fn every_documented_event_kind_exists() {
    let doc =
        std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/docs/tickets.md")).unwrap();
    let section = doc
        .split("## Call events")
        .nth(1)
        .expect("a Call events section");
    let kinds: Vec<&str> = section
        .lines()
        .take_while(|l| !l.starts_with("## "))
        .filter_map(|l| l.strip_prefix("| `"))
        .filter_map(|l| l.split_once('`').map(|(k, _)| k))
        .collect();
    let all: Vec<&str> = CallEventKind::ALL.iter().map(|k| k.as_str()).collect();
    assert_eq!(kinds, all);
}

on_both!(
    every_field_is_stored_and_serialised,
    every_json_field_is_documented
);
