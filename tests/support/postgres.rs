//! A fresh PostgreSQL database per test, for the tests that start the whole server on it.

/// A new, empty PostgreSQL database on HOTLINE_TEST_POSTGRES_URL's server, so a test starts
/// from the migrations.
pub struct PgDatabase {
    admin_url: String,
    name: String,
    pub url: String,
}

impl PgDatabase {
    /// None, saying so, when HOTLINE_TEST_POSTGRES_URL is not set.
    pub async fn create(prefix: &str) -> Option<PgDatabase> {
        use sqlx::Executor;
        let Ok(admin_url) = std::env::var("HOTLINE_TEST_POSTGRES_URL") else {
            eprintln!("HOTLINE_TEST_POSTGRES_URL not set: PostgreSQL part skipped");
            return None;
        };
        sqlx::any::install_default_drivers();
        let name = format!("{prefix}_{:016x}", rand::random::<u64>());
        let admin = sqlx::AnyPool::connect(&admin_url).await.unwrap();
        admin
            .execute(format!("CREATE DATABASE {name}").as_str())
            .await
            .unwrap();
        admin.close().await;
        let url = format!("{}/{name}", admin_url.rsplit_once('/').unwrap().0);
        Some(PgDatabase {
            admin_url,
            name,
            url,
        })
    }

    pub async fn drop(self) {
        use sqlx::Executor;
        let admin = sqlx::AnyPool::connect(&self.admin_url).await.unwrap();
        admin
            .execute(format!("DROP DATABASE IF EXISTS {} WITH (FORCE)", self.name).as_str())
            .await
            .unwrap();
        admin.close().await;
    }
}
