//! `cargo bench --bench web_log`: the call log at a year of a busy helpdesk. Seeds 1,000,000
//! tickets (`HOTLINE_BENCH_TICKETS` to change) into a fresh SQLite database — and into a fresh
//! PostgreSQL database too when HOTLINE_TEST_POSTGRES_URL is set — then times the queries
//! technicians make, through the store and through the real HTTP server (`GET /api/tickets`
//! with a bearer token, JSON included), and prints p50/p99 as a markdown table.
//!
//! Seeding writes rows directly (multi-row INSERTs in 10,000-row transactions) rather than
//! through `create_ticket`: a year of calls one by one would take longer than the queries are
//! worth measuring. The search index is still filled by the migration's own triggers (SQLite)
//! or generated column (PostgreSQL), as in production.

use hotline::accounts::Role;
use hotline::store::{Store, TicketFilter};
use hotline::tickets::{Category, Priority, PriorityMatrix, TicketStatus};
use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};
use std::net::SocketAddr;
use std::time::{Duration, Instant};
use tokio::io::{AsyncReadExt, AsyncWriteExt};

const ROWS_PER_STATEMENT: usize = 100;
const ROWS_PER_TRANSACTION: usize = 10_000;
const RUNS: usize = 100;
/// 2025-01-01T00:00:00Z: the seeded year.
const YEAR_START_MS: i64 = 1_735_689_600_000;
const YEAR_MS: i64 = 365 * 24 * 3600 * 1000;

const SENTENCES: &[&str] = &[
    "My printer says paper jam but there is no paper in it.",
    "I cannot log in to my account since this morning.",
    "The network is down on the whole third floor.",
    "My laptop does not start after the update.",
    "Outlook keeps asking for my password.",
    "The VPN disconnects every ten minutes.",
    "I need a new badge, mine was lost.",
    "Please call me back on my mobile.",
    "Mon imprimante ne marche plus depuis ce matin.",
    "Le réseau est coupé dans tout le bâtiment.",
    "Je n'arrive pas à me connecter à ma messagerie.",
    "Mon ordinateur portable ne démarre plus.",
    "Le téléphone de la salle de réunion ne sonne pas.",
    "J'ai oublié mon mot de passe.",
    "L'écran reste noir après la mise à jour.",
    "Merci de me rappeler au plus vite.",
];
const NAMES: &[&str] = &[
    "Ada Lovelace",
    "Zoé Martin",
    "Grace Hopper",
    "Élodie Bernard",
    "Alan Turing",
    "François Petit",
    "Margaret Hamilton",
    "Hélène Durand",
];

type Result<T> = std::result::Result<T, Box<dyn std::error::Error>>;

fn main() -> Result<()> {
    let tickets: usize = std::env::var("HOTLINE_BENCH_TICKETS")
        .ok()
        .and_then(|n| n.parse().ok())
        .unwrap_or(1_000_000);
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()?;
    runtime.block_on(async {
        let dir = tempfile::tempdir()?;
        let url = format!("sqlite://{}", dir.path().join("bench.db").display());
        let mut tables = vec![bench("SQLite", &url, tickets).await?];
        if let Ok(admin_url) = std::env::var("HOTLINE_TEST_POSTGRES_URL") {
            tables.push(bench_postgres(&admin_url, tickets).await?);
        }
        for table in tables {
            println!("{table}");
        }
        Ok(())
    })
}

async fn bench_postgres(admin_url: &str, tickets: usize) -> Result<String> {
    use sqlx::Executor;
    sqlx::any::install_default_drivers();
    let name = format!("hotline_bench_{:08x}", rand::random::<u32>());
    let admin = sqlx::AnyPool::connect(admin_url).await?;
    admin
        .execute(format!("CREATE DATABASE {name}").as_str())
        .await?;
    let url = format!(
        "{}/{name}",
        admin_url.rsplit_once('/').ok_or("URL ends in /DB")?.0
    );
    let outcome = bench("PostgreSQL", &url, tickets).await;
    admin
        .execute(format!("DROP DATABASE IF EXISTS {name} WITH (FORCE)").as_str())
        .await?;
    outcome
}

/// Seeds, serves and measures one database; returns its markdown table.
async fn bench(label: &str, url: &str, tickets: usize) -> Result<String> {
    let store = Store::connect(url, PriorityMatrix::default()).await?;
    let started = Instant::now();
    seed(url, tickets).await?;
    let seeded = started.elapsed();
    eprintln!("{label}: {tickets} tickets seeded in {seeded:.1?}");
    // A fresh store: new connections gather the planner statistics (see Store::connect).
    store.close().await;
    let store = Store::connect(url, PriorityMatrix::default()).await?;
    if label == "PostgreSQL" {
        use sqlx::Executor;
        sqlx::AnyPool::connect(url)
            .await?
            .execute("ANALYZE")
            .await?;
    }

    hotline::web::add_user(&store, "bench", Role::Technician, "bench password").await?;
    let token = hotline::web::new_api_token(&store, "bench")
        .await?
        .ok_or("no bench user")?;
    let listener = hotline::web::bind("127.0.0.1:0".parse()?).await?;
    let http = listener.local_addr()?;
    let (stop, stop_rx) = tokio::sync::watch::channel(false);
    let web = tokio::spawn(hotline::web::serve(
        listener,
        store.clone(),
        None,
        Default::default(),
        None,
        stop_rx,
    ));

    let day = |d: &str| -> Result<chrono::DateTime<chrono::Utc>> {
        Ok(chrono::NaiveDate::parse_from_str(d, "%Y-%m-%d")?
            .and_hms_opt(0, 0, 0)
            .ok_or("midnight")?
            .and_utc())
    };
    let deep_page = (tickets as u32 / 50 / 2).max(1);
    let cases: Vec<(String, TicketFilter, String)> = vec![
        ("first page".into(), TicketFilter::default(), String::new()),
        (
            "priority P2 + status new".into(),
            TicketFilter {
                priority: Priority::new(2),
                status: Some(TicketStatus::New),
                ..Default::default()
            },
            "priority=P2&status=new".into(),
        ),
        (
            "June (date range)".into(),
            TicketFilter {
                created_from: Some(day("2025-06-01")?),
                created_before: Some(day("2025-07-01")?),
                ..Default::default()
            },
            "from=2025-06-01&to=2025-06-30".into(),
        ),
        (
            format!("page {deep_page} (middle of the log)"),
            TicketFilter {
                offset: (deep_page - 1) * 50,
                ..Default::default()
            },
            format!("page={deep_page}"),
        ),
        (
            "search `printer` (common word)".into(),
            TicketFilter {
                q: Some("printer".into()),
                ..Default::default()
            },
            "q=printer".into(),
        ),
        (
            "search `réseau coupé` + status new".into(),
            TicketFilter {
                q: Some("réseau coupé".into()),
                status: Some(TicketStatus::New),
                ..Default::default()
            },
            "q=r%C3%A9seau%20coup%C3%A9&status=new".into(),
        ),
        (
            "search caller number prefix".into(),
            TicketFilter {
                q: Some("0614".into()),
                ..Default::default()
            },
            "q=0614".into(),
        ),
    ];

    let mut table = format!(
        "### {label}, {tickets} tickets (seeded in {:.0} s)\n\n\
         | query | rows | store p50 (ms) | store p99 (ms) | HTTP p50 (ms) | HTTP p99 (ms) |\n\
         |---|---|---|---|---|---|\n",
        seeded.as_secs_f64()
    );
    for (name, filter, query) in cases {
        let mut rows = 0;
        let mut store_times = Vec::with_capacity(RUNS);
        for run in 0..RUNS + 3 {
            let t = Instant::now();
            rows = store.list_tickets(&filter).await?.len();
            if run >= 3 {
                store_times.push(t.elapsed());
            }
        }
        let mut http_times = Vec::with_capacity(RUNS);
        for run in 0..RUNS + 3 {
            let t = Instant::now();
            let status = get(http, &format!("/api/tickets?{query}"), &token).await?;
            if status != 200 {
                return Err(format!("{name}: HTTP {status}").into());
            }
            if run >= 3 {
                http_times.push(t.elapsed());
            }
        }
        let (s50, s99) = percentiles(&mut store_times);
        let (h50, h99) = percentiles(&mut http_times);
        table += &format!("| {name} | {rows} | {s50:.2} | {s99:.2} | {h50:.2} | {h99:.2} |\n");
        eprintln!("{label}: {name} done");
    }
    let _ = stop.send(true);
    let _ = web.await;
    store.close().await;
    Ok(table)
}

/// (p50, p99) in milliseconds.
fn percentiles(times: &mut [Duration]) -> (f64, f64) {
    times.sort();
    let at = |p: f64| {
        let i = ((times.len() as f64 - 1.0) * p).round() as usize;
        times[i].as_secs_f64() * 1000.0
    };
    (at(0.50), at(0.99))
}

/// One `GET` with a bearer token over a fresh connection; returns the status once the whole
/// body has been read (the server closes the connection after it).
async fn get(addr: SocketAddr, path: &str, token: &str) -> Result<u16> {
    let mut stream = tokio::net::TcpStream::connect(addr).await?;
    let request = format!(
        "GET {path} HTTP/1.1\r\nHost: {addr}\r\nAuthorization: Bearer {token}\r\nConnection: close\r\n\r\n"
    );
    stream.write_all(request.as_bytes()).await?;
    let mut reply = Vec::new();
    stream.read_to_end(&mut reply).await?;
    let status = String::from_utf8_lossy(&reply[..reply.len().min(12)])
        .get(9..12)
        .and_then(|s| s.parse().ok())
        .ok_or("no status line")?;
    Ok(status)
}

/// A year of calls: a mix of categories, priorities, statuses (older tickets mostly closed)
/// and caller numbers, four in ten with a voicemail transcript of one to three sentences.
async fn seed(url: &str, tickets: usize) -> Result<()> {
    sqlx::any::install_default_drivers();
    let pool = sqlx::any::AnyPoolOptions::new()
        .max_connections(1)
        .connect(url)
        .await?;
    if url.starts_with("sqlite:") {
        use sqlx::Executor;
        // Seeding only: the database is thrown away if the bench crashes.
        pool.execute("PRAGMA synchronous = OFF").await?;
    }
    let mut rng = StdRng::seed_from_u64(2025);
    let categories: Vec<&str> = Category::ALL.iter().map(|c| c.as_str()).collect();
    const COLUMNS: usize = 13;
    let mut id = 0usize;
    while id < tickets {
        let mut tx = pool.begin().await?;
        let end = (id + ROWS_PER_TRANSACTION).min(tickets);
        while id < end {
            let batch = ROWS_PER_STATEMENT.min(end - id);
            let placeholders: Vec<String> = (0..batch)
                .map(|r| {
                    let p: Vec<String> = (1..=COLUMNS)
                        .map(|c| format!("${}", r * COLUMNS + c))
                        .collect();
                    format!("({})", p.join(", "))
                })
                .collect();
            let sql = format!(
                "INSERT INTO tickets (id, reference, created_at, updated_at, call_id, caller_number, caller_name, \
                 language, category, priority, status, disposition, transcript) VALUES {}",
                placeholders.join(", ")
            );
            let mut query = sqlx::query(&sql);
            for _ in 0..batch {
                id += 1;
                let age = 1.0 - id as f64 / tickets as f64;
                let created = YEAR_START_MS
                    + (id as i64 - 1) * YEAR_MS / tickets as i64
                    + rng.random_range(0..(YEAR_MS / tickets as i64).max(1));
                let french = rng.random_bool(0.5);
                let priority = match rng.random_range(0..100) {
                    0..5 => Some("P1"),
                    5..20 => Some("P2"),
                    20..50 => Some("P3"),
                    50..80 => Some("P4"),
                    80..95 => Some("P5"),
                    _ => None,
                };
                // Last week's calls are still open; a year's are closed.
                let status = if rng.random_bool((age * 1.2).min(0.97)) {
                    ["resolved", "closed", "closed"][rng.random_range(0..3)]
                } else {
                    ["new", "acknowledged", "in_progress"][rng.random_range(0..3)]
                };
                let voicemail = rng.random_bool(0.4);
                let transcript = voicemail.then(|| {
                    let offset = if french { 8 } else { 0 };
                    (0..rng.random_range(1..=3))
                        .map(|_| SENTENCES[offset + rng.random_range(0..8)])
                        .collect::<Vec<_>>()
                        .join(" ")
                });
                query = query
                    .bind(id as i64)
                    .bind(format!("HD-2025-{id:06}"))
                    .bind(created)
                    .bind(created + 60_000)
                    .bind(format!("call-{id}@bench"))
                    .bind(format!(
                        "06{:08}",
                        rng.random_range(0..5_000) * 19_997 % 100_000_000
                    ))
                    .bind(NAMES[rng.random_range(0..NAMES.len())])
                    .bind(if french { "fr" } else { "en" })
                    .bind(categories[rng.random_range(0..categories.len())])
                    .bind(priority)
                    .bind(status)
                    .bind(if voicemail { "voicemail" } else { "completed" })
                    .bind(transcript);
            }
            query.execute(&mut *tx).await?;
        }
        tx.commit().await?;
    }
    pool.close().await;
    Ok(())
}
