//! PostgreSQL stopped and started again while calls arrive: the call in progress keeps going
//! and everything it did reaches its ticket, in order, once the database is back; a new call
//! arriving meanwhile is refused with 503 and Retry-After at once (never answered without a
//! ticket); calls after the restart are answered as before. A caller being routed to a
//! technician keeps the routing's writes too (`routed`), and one who reaches routing while the
//! database is down is routed by what routing last read (`routed_from_last_known`). Two nodes
//! sharing it hear each other again after it (`other_nodes`); the writes kept through the
//! outage survive a crash during it (`kept_writes`).
//!
//! The database is a private PostgreSQL (initdb and pg_ctl on a temporary directory and a free
//! port): the shared one on 5432 serves other tests and is never touched. Without Debian's
//! PostgreSQL binaries the test says SKIPPED loudly. Its own binary: it reads process-wide
//! metrics, and its tests run one at a time ([`SERIAL`]) for the same reason.

#[path = "postgres_restart/kept_writes.rs"]
mod kept_writes;
#[path = "postgres_restart/other_nodes.rs"]
mod other_nodes;
#[path = "postgres_restart/routed.rs"]
mod routed;
#[path = "postgres_restart/routed_from_last_known.rs"]
mod routed_from_last_known;
#[path = "support/mod.rs"]
mod support;

use hotline::tickets::{CallEventKind, Category, Disposition, Impact, Language, Urgency};
use std::time::{Duration, Instant};
use support::http::metric;
use support::private_postgres::PrivatePostgres;
use support::server::TestServer;
use support::ua::Ua;

/// The metrics are the process's: one restart at a time.
static SERIAL: tokio::sync::Mutex<()> = tokio::sync::Mutex::const_new(());

/// Scrapes until `series` equals `value` (up to 15 s); returns what it last was.
/// A server on `pg` for tests whose SIPp phones expect an INVITE and nothing else (no OPTIONS
/// keep-alive), and its store.
async fn server_for_phones(pg: &PrivatePostgres) -> (TestServer, hotline::store::Store) {
    let url = pg.url();
    let server = TestServer::start_with(|c| {
        c.database_url = Some(url);
        c.registrar.keepalive_secs = 0;
    })
    .await;
    let store = server.server.as_ref().unwrap().store().clone();
    (server, store)
}

async fn metric_becomes(server: &TestServer, series: &str, value: f64) -> f64 {
    let deadline = Instant::now() + Duration::from_secs(15);
    loop {
        let now = metric(server.http, series).await;
        if now == value || Instant::now() > deadline {
            return now;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

#[tokio::test]
async fn a_postgres_restart_loses_nothing_of_the_call_in_progress_and_refuses_new_calls_meanwhile()
{
    let _one_at_a_time = SERIAL.lock().await;
    let Some(pg) = PrivatePostgres::init() else {
        eprintln!("SKIPPED: no PostgreSQL binaries under /usr/lib/postgresql/*/bin");
        return;
    };
    let url = pg.url();
    let server = TestServer::start_with(|c| c.database_url = Some(url)).await;
    let store = server.server.as_ref().unwrap().store().clone();

    // A caller in the menu: welcome skipped, English chosen, with the database up.
    let mut a = Ua::udp(server.sip).await;
    a.connect().await;
    a.send_silence(200).await;
    a.press_rfc4733('#').await;
    a.press_rfc4733('1').await;
    a.send_silence(300).await;

    pg.stop();
    let stopped = Instant::now();
    // Software, only me, degraded: answered while the database is down. The menu goes on.
    for key in ['2', '3', '2'] {
        a.press_rfc4733(key).await;
        a.send_silence(300).await;
    }
    // The first write after the stop gives up waiting after 2 s; from then on the database is
    // known down and nothing is tried inline.
    assert_eq!(
        metric_becomes(&server, "hotline_database_down", 1.0).await,
        1.0
    );
    a.send_silence(300).await;
    let kept = metric(server.http, "hotline_ticket_writes_waiting").await;
    assert!(kept >= 3.0, "{kept} writes kept");

    // A new caller meanwhile: refused at once with 503 and Retry-After, and no ticket.
    let mut b = Ua::udp(server.sip).await;
    let asked = Instant::now();
    let refused = b.invite().await;
    let refusal_took = asked.elapsed();
    assert_eq!(refused.status_code.code(), 503, "{refused}");
    assert!(refused.to_string().contains("Retry-After: 10"), "{refused}");
    assert!(refusal_took < Duration::from_secs(2), "{refusal_took:?}");

    pg.start();
    let down_for = stopped.elapsed();
    // The caller hangs up in the recording instructions; what they did is written once the
    // database is back, in order, and the call ends with its disposition.
    a.send_silence(500).await;
    assert_eq!(a.bye().await.status_code.code(), 200);
    let t = support::tickets::ticket_when(
        &store,
        &a.call_id,
        Duration::from_secs(30),
        "the final disposition after the restart",
        |t| t.disposition != Disposition::InProgress,
    )
    .await;
    assert_eq!(t.language, Some(Language::English));
    assert_eq!(t.category, Some(Category::Software));
    assert_eq!(t.impact, Some(Impact::Individual));
    assert_eq!(t.urgency, Some(Urgency::Degraded));
    assert_eq!(t.priority.unwrap().to_string(), "P4");
    assert_eq!(t.disposition, Disposition::Abandoned);
    // The disposition is written just before the hang-up event: wait for that last one too.
    let events = events_through_hangup(&store, t.id).await;
    let digits: Vec<&str> = events
        .iter()
        .filter(|e| e.kind == CallEventKind::Digit)
        .map(|e| e.detail.as_str())
        .collect();
    assert_eq!(
        digits,
        ["# (skipped prompt)", "1", "2", "3", "2"],
        "{events:#?}"
    );
    assert_eq!(
        events.last().unwrap().kind,
        CallEventKind::Hangup,
        "{events:#?}"
    );
    assert!(
        events.windows(2).all(|w| w[0].at <= w[1].at),
        "kept events keep their times, in order: {events:#?}"
    );
    assert!(store.ticket_by_call_id(&b.call_id).await.unwrap().is_none());

    // After the restart, calls are answered as before.
    assert_eq!(
        metric_becomes(&server, "hotline_ticket_writes_waiting", 0.0).await,
        0.0
    );
    assert_eq!(
        metric_becomes(&server, "hotline_database_down", 0.0).await,
        0.0
    );
    let mut c = Ua::udp(server.sip).await;
    c.connect().await;
    assert_eq!(c.bye().await.status_code.code(), 200);
    support::tickets::settled_ticket(&store, &c.call_id).await;
    eprintln!(
        "postgres down {down_for:?}: 3 calls placed, 2 answered, 1 refused with 503 in {refusal_took:?}; \
         {kept} writes kept, {} events on the call in progress, {} retries",
        events.len(),
        metric(server.http, "hotline_ticket_write_retries_total").await
    );
}

/// A ticket's timeline once its hang-up (a call's last write) is stored, or as it is after
/// 10 s.
async fn events_through_hangup(
    store: &hotline::store::Store,
    ticket: i64,
) -> Vec<hotline::tickets::CallEvent> {
    let deadline = Instant::now() + Duration::from_secs(10);
    loop {
        let events = store.events(ticket).await.unwrap();
        let ended = events
            .last()
            .is_some_and(|e| e.kind == CallEventKind::Hangup);
        if ended || Instant::now() > deadline {
            return events;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}
