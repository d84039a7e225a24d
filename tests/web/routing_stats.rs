//! Statistics of routed calls, per priority: time from the call's start to a technician's
//! answer (median and 90th percentile) and abandonment in queue, on `/api/stats` and `/stats`,
//! from tickets whose timelines are seeded with known times.

use super::Web;
use hotline::store::{NewTicket, TicketField};
use hotline::tickets::{CallEventKind, Disposition, Impact, Ticket, Urgency};
use serde_json::json;

const P1: (Impact, Urgency) = (Impact::Organisation, Urgency::Blocked);
const P2: (Impact, Urgency) = (Impact::Team, Urgency::Blocked);
const P3: (Impact, Urgency) = (Impact::Team, Urgency::Degraded);

/// A routed call: its priority, how it ended, and its routing events at seconds after its start.
async fn routed_call(
    web: &Web,
    caller: &str,
    priority: Option<(Impact, Urgency)>,
    disposition: Disposition,
    events: &[(CallEventKind, i64)],
    days_ago: i64,
) -> Ticket {
    let store = web.store();
    let t = store
        .create_ticket(&NewTicket {
            call_id: format!("routed-{caller}"),
            caller_number: caller.into(),
            caller_name: None,
        })
        .await
        .unwrap();
    if let Some((impact, urgency)) = priority {
        store
            .set_field(t.id, TicketField::Impact(impact))
            .await
            .unwrap();
        store
            .set_field(t.id, TicketField::Urgency(urgency))
            .await
            .unwrap();
    }
    store
        .set_disposition(t.id, disposition, None)
        .await
        .unwrap();
    for (kind, _) in events {
        store.add_event(t.id, *kind, "").await.unwrap();
    }
    // The store stamps tickets and events with the current time: move them to known ones.
    use sqlx::Executor;
    sqlx::any::install_default_drivers();
    let pool = sqlx::AnyPool::connect(&web.server.config.database_url())
        .await
        .unwrap();
    pool.execute(
        sqlx::query("UPDATE tickets SET created_at = created_at - $1 WHERE id = $2")
            .bind(chrono::Duration::days(days_ago).num_milliseconds())
            .bind(t.id),
    )
    .await
    .unwrap();
    for (kind, after) in events {
        pool.execute(
            sqlx::query(
                "UPDATE ticket_events SET at = (SELECT created_at FROM tickets WHERE tickets.id = ticket_events.ticket_id) + $1 \
                 WHERE ticket_id = $2 AND kind = $3",
            )
            .bind(after * 1000)
            .bind(t.id)
            .bind(kind.as_str()),
        )
        .await
        .unwrap();
    }
    pool.close().await;
    t
}

/// Three P1 calls answered after 10, 20 and 90 s (and one of ten days ago, outside the window);
/// four P2 calls queued: one answered after 2 min, two abandoned in the queue, one asking for a
/// call-back; two P3 calls queued: one abandoned, one still waiting; a call abandoned in the
/// menu, without a priority.
async fn seed(web: &Web) {
    use CallEventKind::{Queued, TechnicianAnswered};
    use Disposition::*;
    for (caller, after) in [("p1-a", 20), ("p1-b", 90), ("p1-c", 10)] {
        routed_call(
            web,
            caller,
            Some(P1),
            Answered,
            &[(TechnicianAnswered, after)],
            0,
        )
        .await;
    }
    routed_call(
        web,
        "p1-old",
        Some(P1),
        Answered,
        &[(TechnicianAnswered, 500)],
        10,
    )
    .await;
    routed_call(
        web,
        "p2-a",
        Some(P2),
        Answered,
        &[(Queued, 5), (TechnicianAnswered, 120)],
        1,
    )
    .await;
    for caller in ["p2-b", "p2-c"] {
        routed_call(web, caller, Some(P2), AbandonedInQueue, &[(Queued, 5)], 0).await;
    }
    routed_call(web, "p2-d", Some(P2), CallbackRequested, &[(Queued, 5)], 0).await;
    routed_call(web, "p3-a", Some(P3), AbandonedInQueue, &[(Queued, 8)], 2).await;
    routed_call(web, "p3-b", Some(P3), InProgress, &[(Queued, 8)], 0).await;
    routed_call(web, "menu", None, Abandoned, &[], 0).await;
}

async fn check(web: &Web) {
    let auth = web.bearer().await;
    let r = web.get("/api/stats", &[("Authorization", &auth)]).await;
    assert_eq!(r.status, 200, "{}", r.text());
    let row = |p: &str,
               answered: u32,
               p50: Option<u32>,
               p90: Option<u32>,
               queued: u32,
               abandoned: u32,
               rate: f64| {
        json!({"priority": p, "answered": answered, "answer_p50_ms": p50, "answer_p90_ms": p90,
               "queued": queued, "abandoned_in_queue": abandoned, "queue_abandonment_rate": rate})
    };
    assert_eq!(
        r.json()["routing"],
        json!([
            row("P1", 3, Some(20_000), Some(90_000), 0, 0, 0.0),
            row("P2", 1, Some(120_000), Some(120_000), 4, 2, 0.5),
            row("P3", 0, None, None, 1, 1, 1.0),
            row("P4", 0, None, None, 0, 0, 0.0),
            row("P5", 0, None, None, 0, 0, 0.0),
        ])
    );
    // The old P1 call counts once its day is in the window.
    let r = web
        .get(
            &format!(
                "/api/stats?from={}",
                chrono::Utc::now().date_naive() - chrono::Duration::days(12)
            ),
            &[("Authorization", &auth)],
        )
        .await;
    let p1 = &r.json()["routing"][0];
    assert_eq!(
        (&p1["answered"], &p1["answer_p90_ms"]),
        (&json!(4), &json!(500_000))
    );

    let (cookie, _) = web.session().await;
    let html = web.get("/stats", &[("Cookie", &cookie)]).await.text();
    for expected in [
        "<h2>Time to answer and queue abandonment</h2>",
        r#"<span class="prio p1">P1 critical</span></td><td>3</td><td>20 s</td><td>1 min 30 s</td><td>0</td><td>—</td>"#,
        r#"<span class="prio p2">P2 high</span></td><td>1</td><td>2 min 00 s</td><td>2 min 00 s</td><td>4</td><td>2 (50.0 %)</td>"#,
        r#"<span class="prio p3">P3 medium</span></td><td>0</td><td>—</td><td>—</td><td>1</td><td>1 (100.0 %)</td>"#,
        "<title>Median time to answer by a technician</title>",
        "<title>P2 high: 2 min 00 s</title>",
    ] {
        assert!(html.contains(expected), "page shows {expected}");
    }
    let french = web
        .get(
            "/stats",
            &[("Cookie", &format!("{cookie}; hotline_lang=fr"))],
        )
        .await
        .text();
    for expected in [
        "<h2>Délai de prise d'appel et abandons en file</h2>",
        "<th>Pris par un technicien</th>",
        "<th>Abandonnés en file</th>",
    ] {
        assert!(french.contains(expected), "French page shows {expected}");
    }
}

#[tokio::test]
async fn stats_give_time_to_answer_and_queue_abandonment_per_priority() {
    let web = Web::start().await;
    seed(&web).await;
    check(&web).await;
}

/// The same figures from PostgreSQL (when HOTLINE_TEST_POSTGRES_URL is set).
#[tokio::test]
async fn routing_stats_work_on_postgres() {
    let Some(db) = super::PgDatabase::create("hotline_routing_stats").await else {
        return;
    };
    let url = db.url.clone();
    let mut web = Web::start_with(|c| c.database_url = Some(url)).await;
    seed(&web).await;
    check(&web).await;
    web.server.shutdown().await;
    web.store().close().await;
    db.drop().await;
}
