//! Statistics for leads (`/stats`, `/api/stats`) and the CSV export (`/tickets.csv`), over the
//! real server: the numbers are checked exactly against tickets seeded through the store.

use super::Web;
use hotline::store::{NewTicket, TicketField, TranscriptRecord};
use hotline::tickets::{Category, Disposition, Impact, Ticket, TicketStatus, Urgency};
use serde_json::json;
use std::collections::BTreeMap;
use std::time::Duration;

const PRINTER: &str = "The printer on the third floor is jammed and shows error 50";
const PRINTER_AGAIN: &str = "Third floor printer jammed again, error 50, please help";
const EMAIL: &str = "I cannot log in to my email account since this morning";

/// Seeds tickets through the store API.
struct Seed<'a> {
    web: &'a Web,
}

impl Seed<'_> {
    async fn ticket(
        &self,
        caller: &str,
        category: Option<Category>,
        impact_urgency: Option<(Impact, Urgency)>,
        disposition: Disposition,
        detail: Option<&str>,
    ) -> Ticket {
        let store = self.web.store();
        let t = store
            .create_ticket(&NewTicket {
                call_id: format!("stats-{caller}"),
                caller_number: caller.into(),
                caller_name: None,
            })
            .await
            .unwrap();
        if let Some(c) = category {
            store
                .set_field(t.id, TicketField::Category(c))
                .await
                .unwrap();
        }
        if let Some((i, u)) = impact_urgency {
            store.set_field(t.id, TicketField::Impact(i)).await.unwrap();
            store
                .set_field(t.id, TicketField::Urgency(u))
                .await
                .unwrap();
        }
        store
            .set_disposition(t.id, disposition, detail)
            .await
            .unwrap();
        t
    }

    /// A finished transcription job, as the worker would leave it.
    async fn transcript(&self, t: &Ticket, text: &str) {
        let store = self.web.store();
        let path = format!("/nonexistent/{}.wav", t.reference);
        store
            .enqueue_transcription(t.id, &path, Some("en"))
            .await
            .unwrap();
        let job = store
            .claim_transcription(Duration::from_secs(60), chrono::Utc::now())
            .await
            .unwrap()
            .unwrap();
        assert_eq!(job.ticket_id, t.id);
        store
            .complete_transcription(
                &job,
                &TranscriptRecord {
                    text: Some(text.into()),
                    language: "en".into(),
                    segments_json: "[]".into(),
                    model: "test".into(),
                    processing: Duration::from_millis(1),
                },
                chrono::Utc::now(),
            )
            .await
            .unwrap();
    }

    /// Moves a ticket's creation into the past (the store stamps it with the current time).
    async fn backdate(&self, t: &Ticket, by: chrono::Duration) {
        use sqlx::Executor;
        sqlx::any::install_default_drivers();
        let pool = sqlx::AnyPool::connect(&self.web.server.config.database_url())
            .await
            .unwrap();
        pool.execute(
            sqlx::query("UPDATE tickets SET created_at = created_at - $1 WHERE id = $2")
                .bind(by.num_milliseconds())
                .bind(t.id),
        )
        .await
        .unwrap();
        pool.close().await;
    }

    async fn status(&self, t: &Ticket, status: TicketStatus) {
        self.web
            .store()
            .set_status_by(t.id, status, "alice")
            .await
            .unwrap();
    }
}

/// References of the seeded tickets worth naming.
struct Scenario {
    a: String,
    b: String,
    c: String,
    /// Every ticket in the default window (the last 7 days).
    in_window: Vec<String>,
}

/// Eight calls in the last week (and one older): priorities P1, P2 ×2, P3; three abandoned;
/// two printer voicemails of one category two hours apart, the same words under another
/// category, and a different complaint.
async fn seed(web: &Web) -> Scenario {
    use Category::*;
    let s = Seed { web };
    let hours = chrono::Duration::hours;
    let a = s
        .ticket(
            "a",
            Some(Hardware),
            Some((Impact::Organisation, Urgency::Blocked)),
            Disposition::Voicemail,
            None,
        )
        .await;
    s.transcript(&a, PRINTER).await;
    s.status(&a, TicketStatus::Acknowledged).await; // P1, answered at once: met.

    let b = s
        .ticket(
            "b",
            Some(Hardware),
            Some((Impact::Team, Urgency::Blocked)),
            Disposition::Voicemail,
            None,
        )
        .await;
    s.transcript(&b, PRINTER_AGAIN).await;
    s.status(&b, TicketStatus::InProgress).await;
    s.backdate(&b, hours(2)).await; // P2 (60 min), answered after 2 h: missed.

    let c = s
        .ticket(
            "c",
            Some(Hardware),
            Some((Impact::Team, Urgency::Degraded)),
            Disposition::Completed,
            None,
        )
        .await;
    s.transcript(&c, EMAIL).await; // P3, open, within 240 min.

    let d = s
        .ticket(
            "d",
            Some(Network),
            Some((Impact::Organisation, Urgency::Degraded)),
            Disposition::Voicemail,
            None,
        )
        .await;
    s.transcript(&d, PRINTER).await;
    s.backdate(&d, hours(3)).await; // P2, open for 3 h: overdue.

    let e = s
        .ticket("e", None, None, Disposition::Abandoned, Some("category"))
        .await;
    let f = s
        .ticket("f", None, None, Disposition::Abandoned, Some("category"))
        .await;
    let g = s
        .ticket("g", None, None, Disposition::Abandoned, Some("ringing"))
        .await;

    let old = s
        .ticket(
            "h",
            Some(Hardware),
            Some((Impact::Organisation, Urgency::Blocked)),
            Disposition::Voicemail,
            None,
        )
        .await;
    s.transcript(&old, PRINTER).await;
    s.backdate(&old, chrono::Duration::days(10)).await; // Outside the window.

    let i = s
        .ticket("i", Some(Software), None, Disposition::Completed, None)
        .await;
    s.backdate(&i, chrono::Duration::days(2)).await;

    let name = |t: &Ticket| t.reference.to_string();
    Scenario {
        in_window: [&a, &b, &c, &d, &e, &f, &g, &i].map(name).to_vec(),
        a: name(&a),
        b: name(&b),
        c: name(&c),
    }
}

/// Checks `/api/stats` (default window) and `/stats` against the scenario.
async fn check(web: &Web, scenario: &Scenario) {
    let auth = web.bearer().await;
    let r = web.get("/api/stats", &[("Authorization", &auth)]).await;
    assert_eq!(r.status, 200, "{}", r.text());
    let stats = r.json();
    let today = chrono::Utc::now().date_naive();
    assert_eq!(stats["to"], today.to_string());
    assert_eq!(
        stats["from"],
        (today - chrono::Duration::days(6)).to_string()
    );
    assert_eq!(stats["calls"], 8);

    // Per day: every day of the window, counted from the tickets' stored creation times.
    let mut expected: BTreeMap<String, u64> = (0..7)
        .map(|n| ((today - chrono::Duration::days(6 - n)).to_string(), 0))
        .collect();
    for reference in &scenario.in_window {
        let t = web
            .store()
            .ticket_by_ref(&reference.parse().unwrap())
            .await
            .unwrap()
            .unwrap();
        *expected
            .get_mut(&t.created_at.date_naive().to_string())
            .expect("in the window") += 1;
    }
    let per_day: BTreeMap<String, u64> = stats["calls_per_day"]
        .as_array()
        .unwrap()
        .iter()
        .map(|d| {
            (
                d["day"].as_str().unwrap().into(),
                d["calls"].as_u64().unwrap(),
            )
        })
        .collect();
    assert_eq!(per_day, expected);

    assert_eq!(
        stats["calls_per_category"],
        json!([
            {"category": "hardware", "calls": 3},
            {"category": "software", "calls": 1},
            {"category": "network", "calls": 1},
            {"category": "account", "calls": 0},
            {"category": "other", "calls": 0},
            {"category": null, "calls": 3},
        ])
    );
    assert_eq!(
        stats["priorities"],
        json!([
            {"priority": "P1", "tickets": 1, "share": 0.125},
            {"priority": "P2", "tickets": 2, "share": 0.25},
            {"priority": "P3", "tickets": 1, "share": 0.125},
            {"priority": "P4", "tickets": 0, "share": 0.0},
            {"priority": "P5", "tickets": 0, "share": 0.0},
            {"priority": null, "tickets": 4, "share": 0.5},
        ])
    );
    assert_eq!(
        stats["abandonment"],
        json!({
            "ended_calls": 8, "abandoned": 3, "rate": 0.375,
            "steps": [{"step": "category", "calls": 2}, {"step": "ringing", "calls": 1}],
        })
    );
    let row = |p: &str, target: u32, [met, missed, overdue, within]: [u32; 4]| {
        json!({"priority": p, "target_minutes": target, "met": met, "missed": missed,
               "open_overdue": overdue, "open_within_target": within})
    };
    assert_eq!(
        stats["response"],
        json!([
            row("P1", 15, [1, 0, 0, 0]),
            row("P2", 60, [0, 1, 1, 0]),
            row("P3", 240, [0, 0, 0, 1]),
            row("P4", 1440, [0, 0, 0, 0]),
            row("P5", 4320, [0, 0, 0, 0]),
        ])
    );

    // The two printer calls are one incident (oldest first); the email call, the same words
    // under another category, and the printer call of ten days ago are not part of it.
    let recurring = &stats["recurring"];
    assert_eq!(recurring["within_hours"], 24);
    assert_eq!(recurring["min_similarity"], 0.3);
    let clusters = recurring["clusters"].as_array().unwrap();
    assert_eq!(clusters.len(), 1, "{recurring}");
    assert_eq!(clusters[0]["category"], "hardware");
    let members: Vec<&str> = clusters[0]["tickets"]
        .as_array()
        .unwrap()
        .iter()
        .map(|t| t["reference"].as_str().unwrap())
        .collect();
    assert_eq!(members, [scenario.b.as_str(), scenario.a.as_str()]);
    assert_eq!(clusters[0]["tickets"][1]["excerpt"], PRINTER);

    // Two hours apart is too far for a one-hour rule.
    let narrow = web
        .get("/api/stats?within_hours=1", &[("Authorization", &auth)])
        .await
        .json();
    assert_eq!(narrow["recurring"]["clusters"], json!([]));

    // A window before any call.
    let empty = web
        .get(
            "/api/stats?from=2020-01-01&to=2020-01-31",
            &[("Authorization", &auth)],
        )
        .await
        .json();
    assert_eq!(empty["calls"], 0);
    assert_eq!(empty["calls_per_day"].as_array().unwrap().len(), 31);
    assert_eq!(empty["abandonment"]["rate"], 0.0);

    let (cookie, _) = web.session().await;
    let r = web.get("/stats", &[("Cookie", &cookie)]).await;
    assert_eq!(r.status, 200);
    let html = r.text();
    assert!(html.matches("<svg").count() >= 4, "charts inline");
    // The charts are inline SVG: the only script is the screen pop every logged-in page has.
    assert_eq!(
        html.matches("<script").count(),
        1,
        "no JavaScript but the screen pop"
    );
    assert!(html.contains(r#"<script src="/assets/phone.js" defer></script>"#));
    for expected in [
        "8 calls from",
        "Calls per day",
        r#"<rect class="p1""#,
        "P2 high",
        "25.0 % (2)",
        "3 of 8 ended calls abandoned (37.5 %)",
        "category: 2",
        "<td>60 min</td>",
        &format!(r#"<a href="/tickets/{}">"#, scenario.a),
        &format!(r#"<a href="/tickets/{}">"#, scenario.b),
        r#"<a href="/stats">Statistics</a>"#,
    ] {
        assert!(html.contains(expected), "page shows {expected}");
    }
    assert!(!html.contains(&format!(r#"<a href="/tickets/{}">"#, scenario.c)));
}

#[tokio::test]
async fn stats_count_calls_priorities_abandonment_response_times_and_recurring_incidents() {
    let web = Web::start().await;
    let scenario = seed(&web).await;
    check(&web, &scenario).await;
}

/// The same statistics from PostgreSQL (when HOTLINE_TEST_POSTGRES_URL is set).
#[tokio::test]
async fn stats_work_on_postgres() {
    let Some(db) = super::PgDatabase::create("hotline_stats").await else {
        return;
    };
    let url = db.url.clone();
    let mut web = Web::start_with(|c| c.database_url = Some(url)).await;

    let scenario = seed(&web).await;
    check(&web, &scenario).await;
    let auth = web.bearer().await;
    let csv = web
        .get(
            "/tickets.csv?category=hardware",
            &[("Authorization", &auth)],
        )
        .await;
    assert_eq!(csv.status, 200);
    assert_eq!(
        csv.text().lines().count(),
        1 + 4,
        "header and the hardware tickets"
    );

    web.server.shutdown().await;
    web.store().close().await;
    db.drop().await;
}

#[tokio::test]
async fn stats_and_export_refuse_anonymous_requests() {
    let web = Web::start().await;
    for path in ["/stats", "/tickets.csv"] {
        let r = web.get(path, &[]).await;
        assert_eq!(r.status, 303, "{path}");
        assert_eq!(r.header("location"), Some("/login"), "{path}");
    }
    for headers in [
        &[][..],
        &[("Authorization", "Bearer hl_not_a_token")][..],
        &[("Cookie", "hotline_session=forged")][..],
    ] {
        let r = web.get("/api/stats", headers).await;
        assert_eq!(r.status, 401, "{headers:?}");
        let r = web.get("/tickets.csv", headers).await;
        assert_eq!(r.status, 303, "{headers:?}");
    }
}

#[tokio::test]
async fn stats_with_bad_dates_are_400_naming_the_parameter() {
    let web = Web::start().await;
    let (cookie, _) = web.session().await;
    let auth = web.bearer().await;
    for (query, name) in [
        ("from=last-week", "from"),
        ("to=2026-02-30", "to"),
        ("from=2026-02-01&to=2026-01-01", "to"),
        ("from=2020-01-01&to=2026-01-01", "from"),
        ("within_hours=0", "within_hours"),
        ("colour=red", "colour"),
    ] {
        let r = web
            .get(&format!("/api/stats?{query}"), &[("Authorization", &auth)])
            .await;
        assert_eq!(r.status, 400, "{query}");
        let error = r.json()["error"].as_str().unwrap().to_string();
        assert!(error.contains(&format!("`{name}`")), "{query}: {error}");
        let r = web
            .get(&format!("/stats?{query}"), &[("Cookie", &cookie)])
            .await;
        assert_eq!(r.status, 400, "{query}");
        assert!(r.text().contains(&format!("`{name}`")), "{query}");
    }
    let r = web
        .get("/tickets.csv?from=soon", &[("Cookie", &cookie)])
        .await;
    assert_eq!(r.status, 400);
    assert!(r.text().contains("`from`"));
}

#[tokio::test]
async fn csv_export_quotes_caller_names_and_keeps_the_call_log_filters() {
    let web = Web::start().await;
    let store = web.store();
    let mut references = Vec::new();
    for (caller, name) in [
        ("801", r#"Lovelace, Ada "the Countess""#),
        ("802", "Grace Hopper"),
        ("803", "=HYPERLINK(\"http://evil\")"),
    ] {
        let t = store
            .create_ticket(&NewTicket {
                call_id: format!("csv-{caller}"),
                caller_number: caller.into(),
                caller_name: Some(name.into()),
            })
            .await
            .unwrap();
        references.push(t.reference.to_string());
    }
    let first = store
        .ticket_by_ref(&references[0].parse().unwrap())
        .await
        .unwrap()
        .unwrap();
    store
        .set_status_by(first.id, TicketStatus::Resolved, "alice")
        .await
        .unwrap();
    let (cookie, _) = web.session().await;
    let c = [("Cookie", cookie.as_str())];

    let r = web.get("/tickets.csv", &c).await;
    assert_eq!(r.status, 200, "{}", r.text());
    assert_eq!(r.header("content-type"), Some("text/csv; charset=utf-8"));
    let disposition = r.header("content-disposition").unwrap();
    assert!(
        disposition.starts_with("attachment; filename=\"hotline-tickets-")
            && disposition.ends_with(".csv\""),
        "{disposition}"
    );
    let text = r.text();
    let lines: Vec<&str> = text.split_terminator("\r\n").collect();
    assert_eq!(lines.len(), 4, "{text}");
    assert!(lines[0].starts_with("reference,created_at,caller_number,caller_name,"));
    // Newest first, like the call log.
    assert!(lines[1].starts_with(&format!("{},", references[2])));
    assert!(lines[3].starts_with(&format!("{},", references[0])));
    assert!(
        lines[3].contains(r#",801,"Lovelace, Ada ""the Countess""",,"#),
        "{}",
        lines[3]
    );
    assert!(lines[2].contains(",802,Grace Hopper,"));
    assert!(
        lines[1].contains(r#",803,"'=HYPERLINK(""http://evil"")","#),
        "a formula is defused: {}",
        lines[1]
    );

    let r = web.get("/tickets.csv?status=resolved&page=2", &c).await;
    let text = r.text();
    let lines: Vec<&str> = text.split_terminator("\r\n").collect();
    assert_eq!(
        lines.len(),
        2,
        "the filter applies, paging does not: {text}"
    );
    assert!(lines[1].starts_with(&references[0]));

    let html = web
        .get("/tickets?status=resolved&per_page=10", &c)
        .await
        .text();
    assert!(
        html.contains(r#"<a href="/tickets.csv?status=resolved" download>Export CSV</a>"#),
        "export link keeps the filters"
    );
    let html = web.get("/tickets", &c).await.text();
    assert!(html.contains(r#"<a href="/tickets.csv" download>Export CSV</a>"#));
}

/// More tickets than one chunk of the export: every one exactly once, in order.
#[tokio::test]
async fn csv_export_walks_every_chunk() {
    let web = Web::start().await;
    let total = hotline::web::export::CHUNK as usize + 3;
    for n in 0..total {
        web.store()
            .create_ticket(&NewTicket {
                call_id: format!("bulk-{n}"),
                caller_number: format!("{}", 10_000 + n),
                caller_name: None,
            })
            .await
            .unwrap();
    }
    let auth = web.bearer().await;
    let r = web.get("/tickets.csv", &[("Authorization", &auth)]).await;
    assert_eq!(r.status, 200);
    let text = r.text();
    let numbers: Vec<usize> = text
        .split_terminator("\r\n")
        .skip(1)
        .map(|l| l.split(',').nth(2).unwrap().parse().unwrap())
        .collect();
    let expected: Vec<usize> = (0..total).rev().map(|n| 10_000 + n).collect();
    assert_eq!(numbers, expected);
}
