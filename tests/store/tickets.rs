//! A ticket from the moment the call arrives to its last answer: fields, priority, timeline,
//! filters, and what a damaged row does.

use crate::support::{call, Db};
use hotline::store::{StoreError, TicketField, TicketFilter};
use hotline::tickets::{
    CallEventKind, Category, Disposition, Impact, Language, Priority, PriorityMatrix, TicketRef,
    TicketStatus, Urgency,
};
use std::time::Duration;

async fn a_new_call_is_a_new_ticket_found_by_its_reference(Db { store, .. }: Db) {
    let t = store.create_ticket(&call("5551234")).await.unwrap();
    assert_eq!(t.status, TicketStatus::New);
    assert_eq!(t.disposition, Disposition::InProgress);
    assert_eq!(t.caller_number, "5551234");
    assert_eq!(t.caller_name.as_deref(), Some("Test"));
    assert_eq!((t.language, t.category, t.priority), (None, None, None));
    assert_eq!(
        t.reference.to_string(),
        format!("HD-{}-{:06}", chrono::Utc::now().format("%Y"), t.id)
    );
    assert!((chrono::Utc::now() - t.created_at).num_seconds() < 60);

    let by_ref = store.ticket_by_ref(&t.reference).await.unwrap().unwrap();
    assert_eq!(by_ref, t);
    let unpadded: TicketRef = format!("HD-{}-{}", t.reference.year, t.reference.number)
        .parse()
        .unwrap();
    assert_eq!(
        store.ticket_by_ref(&unpadded).await.unwrap(),
        Some(t.clone())
    );
    let other_year = TicketRef {
        year: t.reference.year - 1,
        ..t.reference
    };
    assert_eq!(store.ticket_by_ref(&other_year).await.unwrap(), None);
    assert_eq!(
        store.ticket_by_call_id("call-5551234@test").await.unwrap(),
        Some(t.clone())
    );

    let events = store.events(t.id).await.unwrap();
    assert_eq!(events.len(), 1);
    assert_eq!(events[0].kind, CallEventKind::Received);
    assert_eq!(events[0].detail, "call from 5551234");
}

/// The default matrix, written out as the ITIL table rather than computed from the code.
const ITIL: [(Impact, Urgency, &str); 9] = [
    (Impact::Organisation, Urgency::Blocked, "P1"),
    (Impact::Organisation, Urgency::Degraded, "P2"),
    (Impact::Organisation, Urgency::Request, "P3"),
    (Impact::Team, Urgency::Blocked, "P2"),
    (Impact::Team, Urgency::Degraded, "P3"),
    (Impact::Team, Urgency::Request, "P4"),
    (Impact::Individual, Urgency::Blocked, "P3"),
    (Impact::Individual, Urgency::Degraded, "P4"),
    (Impact::Individual, Urgency::Request, "P5"),
];

async fn priority_follows_the_matrix_once_impact_and_urgency_are_known(Db { store, .. }: Db) {
    for (impact, urgency, expected) in ITIL {
        // Impact first, as the bundled menu asks it…
        let t = store.create_ticket(&call("1")).await.unwrap();
        store
            .set_field(t.id, TicketField::Impact(impact))
            .await
            .unwrap();
        let half = store.ticket(t.id).await.unwrap().unwrap();
        assert_eq!(half.priority, None, "only impact known");
        store
            .set_field(t.id, TicketField::Urgency(urgency))
            .await
            .unwrap();
        let t = store.ticket(t.id).await.unwrap().unwrap();
        assert_eq!(
            t.priority.map(|p| p.to_string()).as_deref(),
            Some(expected),
            "{impact} × {urgency}"
        );
        // …and urgency first, as another dialplan may.
        let u = store.create_ticket(&call("2")).await.unwrap();
        store
            .set_field(u.id, TicketField::Urgency(urgency))
            .await
            .unwrap();
        store
            .set_field(u.id, TicketField::Impact(impact))
            .await
            .unwrap();
        let u = store.ticket(u.id).await.unwrap().unwrap();
        assert_eq!(u.priority, t.priority, "{urgency} then {impact}");
    }
}

async fn a_changed_answer_changes_the_priority(Db { store, .. }: Db) {
    let t = store.create_ticket(&call("1")).await.unwrap();
    store
        .set_field(t.id, TicketField::Impact(Impact::Individual))
        .await
        .unwrap();
    store
        .set_field(t.id, TicketField::Urgency(Urgency::Request))
        .await
        .unwrap();
    store
        .set_field(t.id, TicketField::Impact(Impact::Organisation))
        .await
        .unwrap();
    let t = store.ticket(t.id).await.unwrap().unwrap();
    assert_eq!(t.priority, Priority::new(3));
    assert_eq!(t.impact, Some(Impact::Organisation));
}

async fn the_configured_matrix_is_the_one_applied(db: Db) {
    let strict = PriorityMatrix {
        organisation: [Priority::new(1).unwrap(); 3],
        ..Default::default()
    };
    let node = db.node(strict).await;
    let t = node.create_ticket(&call("1")).await.unwrap();
    node.set_field(t.id, TicketField::Impact(Impact::Organisation))
        .await
        .unwrap();
    node.set_field(t.id, TicketField::Urgency(Urgency::Request))
        .await
        .unwrap();
    assert_eq!(
        node.ticket(t.id).await.unwrap().unwrap().priority,
        Priority::new(1)
    );
    node.close().await;
}

async fn every_answer_and_outcome_is_stored(Db { store, .. }: Db) {
    let t = store.create_ticket(&call("1")).await.unwrap();
    let id = t.id;
    store
        .set_field(id, TicketField::Language(Language::French))
        .await
        .unwrap();
    store
        .set_field(id, TicketField::Category(Category::Account))
        .await
        .unwrap();
    store.set_collected(id, "employee", "4242").await.unwrap();
    store.set_collected(id, "asset", "77#").await.unwrap();
    store
        .set_estimate(id, Duration::from_secs(45 * 60))
        .await
        .unwrap();
    store
        .set_recording(
            id,
            "/data/v.wav",
            Duration::from_millis(12_340),
            hotline::tickets::RecordingState::Ended {
                end: hotline::tickets::RecordingEnd::Silence,
                speech: true,
            },
        )
        .await
        .unwrap();
    store
        .set_disposition(id, Disposition::Voicemail, None)
        .await
        .unwrap();
    store
        .set_status(id, TicketStatus::InProgress)
        .await
        .unwrap();
    store.set_assignee(id, Some("Bob")).await.unwrap();
    let t = store.ticket(id).await.unwrap().unwrap();
    assert_eq!(t.language, Some(Language::French));
    assert_eq!(t.category, Some(Category::Account));
    assert_eq!(
        t.collected,
        Some(serde_json::json!({"employee": "4242", "asset": "77#"}))
    );
    assert_eq!(t.estimated_response(), Some(Duration::from_secs(45 * 60)));
    assert_eq!(t.recording_path.as_deref(), Some("/data/v.wav"));
    assert_eq!(t.recording_duration_ms, Some(12_340));
    assert_eq!(t.recording_end_cause.as_deref(), Some("silence"));
    assert_eq!(t.disposition, Disposition::Voicemail);
    assert_eq!(t.status, TicketStatus::InProgress);
    assert_eq!(t.assignee.as_deref(), Some("Bob"));
    assert!(t.updated_at >= t.created_at);

    store
        .set_disposition(id, Disposition::Abandoned, Some("urgency"))
        .await
        .unwrap();
    let t = store.ticket(id).await.unwrap().unwrap();
    assert_eq!(
        (t.disposition, t.disposition_detail.as_deref()),
        (Disposition::Abandoned, Some("urgency"))
    );
}

async fn updating_a_missing_ticket_is_an_error(Db { store, .. }: Db) {
    let missing = 987_654;
    let err = store
        .set_field(missing, TicketField::Impact(Impact::Team))
        .await
        .unwrap_err();
    assert!(matches!(err, StoreError::NoTicket { id } if id == missing));
    assert_eq!(err.to_string(), "no ticket with id 987654");
    assert!(store
        .set_disposition(missing, Disposition::Completed, None)
        .await
        .is_err());
    assert!(store.delete_ticket(missing).await.is_err());
    assert_eq!(store.ticket(missing).await.unwrap(), None);
}

async fn timeline_comes_back_in_order(Db { store, .. }: Db) {
    let t = store.create_ticket(&call("1")).await.unwrap();
    let other = store.create_ticket(&call("2")).await.unwrap();
    let steps = [
        (CallEventKind::Answered, "200 OK"),
        (CallEventKind::PromptPlayed, "welcome"),
        (CallEventKind::Digit, "1"),
        (CallEventKind::Timeout, "category"),
        (CallEventKind::InvalidInput, "9"),
        (CallEventKind::Digit, "2"),
        (CallEventKind::FieldSet, "category=software"),
        (CallEventKind::RecordingStarted, "/data/v.wav"),
        (CallEventKind::RecordingStopped, "silence"),
        (CallEventKind::Hangup, "by caller"),
    ];
    // Many events land in the same millisecond; the order must still hold.
    for (kind, detail) in steps {
        store.add_event(t.id, kind, detail).await.unwrap();
        store
            .add_event(other.id, CallEventKind::Digit, "x")
            .await
            .unwrap();
    }
    let events = store.events(t.id).await.unwrap();
    let got: Vec<(CallEventKind, &str)> = events
        .iter()
        .skip(1)
        .map(|e| (e.kind, e.detail.as_str()))
        .collect();
    assert_eq!(got, steps);
    assert!(events.windows(2).all(|w| w[0].at <= w[1].at));
    assert_eq!(store.events(other.id).await.unwrap().len(), 11);
}

async fn filters_select_the_right_tickets(Db { store, .. }: Db) {
    let hw = store.create_ticket(&call("1")).await.unwrap();
    let gone = store.create_ticket(&call("2")).await.unwrap();
    let urgent = store.create_ticket(&call("3")).await.unwrap();
    let done = store.create_ticket(&call("4")).await.unwrap();
    store
        .set_field(hw.id, TicketField::Category(Category::Hardware))
        .await
        .unwrap();
    store
        .set_disposition(gone.id, Disposition::Abandoned, Some("category"))
        .await
        .unwrap();
    for (id, category) in [(urgent.id, Category::Network), (done.id, Category::Network)] {
        store
            .set_field(id, TicketField::Category(category))
            .await
            .unwrap();
        store
            .set_field(id, TicketField::Impact(Impact::Organisation))
            .await
            .unwrap();
        store
            .set_field(id, TicketField::Urgency(Urgency::Blocked))
            .await
            .unwrap();
    }
    store
        .set_status(done.id, TicketStatus::Resolved)
        .await
        .unwrap();

    let ids = |filter: TicketFilter| {
        let store = store.clone();
        async move {
            store
                .list_tickets(&filter)
                .await
                .unwrap()
                .iter()
                .map(|t| t.id)
                .collect::<Vec<_>>()
        }
    };
    assert_eq!(
        ids(TicketFilter::default()).await,
        [done.id, urgent.id, gone.id, hw.id],
        "newest first"
    );
    let category = |c| TicketFilter {
        category: Some(c),
        ..Default::default()
    };
    assert_eq!(ids(category(Category::Hardware)).await, [hw.id]);
    assert_eq!(
        ids(TicketFilter {
            disposition: Some(Disposition::Abandoned),
            ..Default::default()
        })
        .await,
        [gone.id]
    );
    let p1 = TicketFilter {
        priority: Priority::new(1),
        ..Default::default()
    };
    assert_eq!(ids(p1.clone()).await, [done.id, urgent.id]);
    assert_eq!(
        ids(TicketFilter {
            status: Some(TicketStatus::New),
            ..p1.clone()
        })
        .await,
        [urgent.id],
        "filters combine"
    );
    assert_eq!(
        ids(TicketFilter {
            status: Some(TicketStatus::Closed),
            ..Default::default()
        })
        .await,
        Vec::<i64>::new()
    );
    assert_eq!(
        ids(TicketFilter {
            limit: 2,
            offset: 1,
            ..Default::default()
        })
        .await,
        [urgent.id, gone.id],
        "a page"
    );
    assert_eq!(
        ids(TicketFilter {
            before_id: Some(urgent.id),
            limit: 1,
            ..Default::default()
        })
        .await,
        [gone.id],
        "the chunk after a given ticket, as the CSV export walks the list"
    );
}

async fn a_malformed_stored_value_is_an_error_naming_its_column(db: Db) {
    let t = db.store.create_ticket(&call("1")).await.unwrap();
    let raw = db.raw().await;
    sqlx::query("UPDATE tickets SET priority = 'P9' WHERE id = $1")
        .bind(t.id)
        .execute(&raw)
        .await
        .unwrap();
    let err = db.store.ticket(t.id).await.unwrap_err();
    assert_eq!(
        err.to_string(),
        "column `priority` holds an invalid value: unknown priority `P9` (expected P1, P2, P3, P4 or P5)"
    );
    assert!(matches!(
        db.store.list_tickets(&TicketFilter::default()).await,
        Err(StoreError::Corrupt {
            column: "priority",
            ..
        })
    ));
    sqlx::query("UPDATE tickets SET priority = NULL, collected = '{oops' WHERE id = $1")
        .bind(t.id)
        .execute(&raw)
        .await
        .unwrap();
    assert!(matches!(
        db.store.ticket(t.id).await,
        Err(StoreError::Corrupt {
            column: "collected",
            ..
        })
    ));
    sqlx::query("UPDATE ticket_events SET kind = 'exploded' WHERE ticket_id = $1")
        .bind(t.id)
        .execute(&raw)
        .await
        .unwrap();
    assert_eq!(
        db.store.events(t.id).await.unwrap_err().to_string(),
        "column `kind` holds an invalid value: unknown event kind `exploded` (expected one of: received answered \
         prompt_played digit timeout invalid_input retries_exhausted language_chosen field_set collected \
         recording_started recording_stopped routing_attempt ringing ring_result escalated technician_answered passed queued talk_ended transferred hold estimate_given hangup error)"
    );
    raw.close().await;
}

/// Events are written in groups (one insert for whatever queued meanwhile): many calls adding
/// events at once each get theirs stored, in order per ticket, and an event for a ticket that
/// does not exist fails alone instead of taking the rest of its group down.
async fn events_written_at_once_by_many_calls_all_land_in_order(Db { store, .. }: Db) {
    let mut tickets = Vec::new();
    for n in 0..20 {
        tickets.push(store.create_ticket(&call(&format!("g{n}"))).await.unwrap());
    }
    let missing = tickets.iter().map(|t| t.id).max().unwrap() + 1_000;
    let writers = tickets.iter().map(|t| {
        let (store, id) = (store.clone(), t.id);
        tokio::spawn(async move {
            for n in 0..25 {
                store
                    .add_event(id, CallEventKind::Digit, &n.to_string())
                    .await
                    .unwrap();
            }
        })
    });
    let bad = {
        let store = store.clone();
        tokio::spawn(async move {
            let mut errors = 0;
            for _ in 0..25 {
                errors += store
                    .add_event(missing, CallEventKind::Digit, "x")
                    .await
                    .is_err() as usize;
            }
            errors
        })
    };
    for w in writers.collect::<Vec<_>>() {
        w.await.unwrap();
    }
    assert_eq!(
        bad.await.unwrap(),
        25,
        "every event of a missing ticket fails"
    );
    for t in &tickets {
        let digits: Vec<String> = store
            .events(t.id)
            .await
            .unwrap()
            .into_iter()
            .filter(|e| e.kind == CallEventKind::Digit)
            .map(|e| e.detail)
            .collect();
        let expected: Vec<String> = (0..25).map(|n| n.to_string()).collect();
        assert_eq!(digits, expected, "ticket {}", t.id);
    }
}

on_both!(
    a_new_call_is_a_new_ticket_found_by_its_reference,
    priority_follows_the_matrix_once_impact_and_urgency_are_known,
    a_changed_answer_changes_the_priority,
    the_configured_matrix_is_the_one_applied,
    every_answer_and_outcome_is_stored,
    updating_a_missing_ticket_is_an_error,
    timeline_comes_back_in_order,
    events_written_at_once_by_many_calls_all_land_in_order,
    filters_select_the_right_tickets,
    a_malformed_stored_value_is_an_error_naming_its_column,
);
