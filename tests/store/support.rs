//! One fresh database per test: a temporary SQLite file always, and a new PostgreSQL database
//! when HOTLINE_TEST_POSTGRES_URL is set (dropped afterwards, even when the test fails).

#[path = "../support/nodes.rs"]
pub mod nodes;

use hotline::store::{NewTicket, Store};
use hotline::tickets::PriorityMatrix;
use std::future::Future;

/// The database under test: the store, and its URL for a second node or raw SQL.
#[derive(Clone)]
pub struct Db {
    pub store: Store,
    pub url: String,
}

impl Db {
    /// Another Hotline node on the same database, with its own pool and matrix.
    pub async fn node(&self, matrix: PriorityMatrix) -> Store {
        Store::connect(&self.url, matrix).await.unwrap()
    }

    /// A plain connection pool, for what no store function does (corrupting a row on purpose).
    pub async fn raw(&self) -> sqlx::AnyPool {
        sqlx::any::install_default_drivers();
        sqlx::AnyPool::connect(&self.url).await.unwrap()
    }
}

/// A call from `number`.
pub fn call(number: &str) -> NewTicket {
    NewTicket {
        call_id: format!("call-{number}@test"),
        caller_number: number.to_string(),
        caller_name: Some("Test".into()),
    }
}

type Panic = Box<dyn std::any::Any + Send>;

/// Runs `body` in its own task so that a failing assertion still lets us clean up; returns the
/// panic for the caller to re-raise once it has.
async fn run<F, Fut>(db: Db, body: F) -> Result<(), Panic>
where
    F: FnOnce(Db) -> Fut,
    Fut: Future<Output = ()> + Send + 'static,
{
    let outcome = tokio::spawn(body(db.clone())).await;
    db.store.close().await;
    outcome.map_err(|e| e.into_panic())
}

pub async fn on_sqlite<F, Fut>(body: F)
where
    F: FnOnce(Db) -> Fut,
    Fut: Future<Output = ()> + Send + 'static,
{
    let dir = tempfile::tempdir().unwrap();
    let url = format!("sqlite://{}", dir.path().join("hotline.db").display());
    let store = Store::connect(&url, PriorityMatrix::default())
        .await
        .unwrap();
    if let Err(panic) = run(Db { store, url }, body).await {
        std::panic::resume_unwind(panic);
    }
}

pub async fn on_postgres<F, Fut>(body: F)
where
    F: FnOnce(Db) -> Fut,
    Fut: Future<Output = ()> + Send + 'static,
{
    use sqlx::Executor;
    let Ok(admin_url) = std::env::var("HOTLINE_TEST_POSTGRES_URL") else {
        eprintln!("HOTLINE_TEST_POSTGRES_URL not set: PostgreSQL run skipped");
        return;
    };
    sqlx::any::install_default_drivers();
    let name = format!("hotline_test_{:016x}", rand::random::<u64>());
    let admin = sqlx::AnyPool::connect(&admin_url)
        .await
        .expect("HOTLINE_TEST_POSTGRES_URL reachable");
    admin
        .execute(format!("CREATE DATABASE {name}").as_str())
        .await
        .unwrap();
    let (base, _) = admin_url.rsplit_once('/').expect("URL ends in /DATABASE");
    let url = format!("{base}/{name}");
    let outcome = match Store::connect(&url, PriorityMatrix::default()).await {
        Ok(store) => Ok(run(Db { store, url }, body).await),
        Err(e) => Err(e),
    };
    admin
        .execute(format!("DROP DATABASE IF EXISTS {name} WITH (FORCE)").as_str())
        .await
        .unwrap();
    admin.close().await;
    if let Err(panic) = outcome.unwrap() {
        std::panic::resume_unwind(panic);
    }
}

/// A test body run on SQLite and, when configured, on PostgreSQL: `mod name { sqlite, postgres }`.
macro_rules! on_both {
    ($($name:ident),+ $(,)?) => {
        $(mod $name {
            #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
            async fn sqlite() {
                $crate::support::on_sqlite(super::$name).await;
            }
            #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
            async fn postgres() {
                $crate::support::on_postgres(super::$name).await;
            }
        })+
    };
}
