//! A database of its own for each test.

use std::sync::Arc;

/// Which database a test runs on.
#[derive(Debug, Clone)]
pub enum Backend {
    Sqlite,
    /// The server URL of a PostgreSQL the test may create databases on.
    Postgres(Arc<String>),
}

impl Backend {
    /// PostgreSQL, when `TEST_POSTGRES_URL` names one. Without it the test
    /// reports itself skipped, unless `TEST_REQUIRE_POSTGRES` is set
    /// (as in CI), where a missing server is a failure.
    pub fn postgres() -> Option<Backend> {
        match std::env::var("TEST_POSTGRES_URL") {
            Ok(url) if !url.is_empty() => Some(Backend::Postgres(Arc::new(url))),
            _ => {
                if std::env::var_os("TEST_REQUIRE_POSTGRES").is_some() {
                    panic!("TEST_REQUIRE_POSTGRES is set but TEST_POSTGRES_URL is not");
                }
                eprintln!("skipped: TEST_POSTGRES_URL is not set");
                None
            }
        }
    }
}

/// A database created for one test and dropped after it.
pub struct Database {
    pub url: String,
    drop_on: Option<(String, String)>,
}

impl Database {
    pub async fn create(backend: &Backend, dir: &std::path::Path) -> Database {
        match backend {
            Backend::Sqlite => Database {
                url: format!("sqlite://{}", dir.join("jobcall.db").display()),
                drop_on: None,
            },
            Backend::Postgres(server) => {
                let name = format!(
                    "jobcall_test_{}",
                    ulid::Ulid::generate().to_string().to_lowercase()
                );
                let admin = sqlx::PgPool::connect(server)
                    .await
                    .expect("TEST_POSTGRES_URL accepts connections");
                sqlx::query(sqlx::AssertSqlSafe(format!("CREATE DATABASE {name}")))
                    .execute(&admin)
                    .await
                    .expect("the test database can be created");
                admin.close().await;
                let mut url = url::Url::parse(server).expect("TEST_POSTGRES_URL is a URL");
                url.set_path(&name);
                Database {
                    url: url.to_string(),
                    drop_on: Some((server.to_string(), name)),
                }
            }
        }
    }
}

impl Database {
    /// A database for one test holding what a fixture holds: a copy of the
    /// SQLite file `sqlite`, or the PostgreSQL dump `dump` loaded with psql.
    pub async fn restore(
        backend: &Backend,
        dir: &std::path::Path,
        sqlite: &std::path::Path,
        dump: &std::path::Path,
    ) -> Database {
        let database = Database::create(backend, dir).await;
        match backend {
            Backend::Sqlite => {
                std::fs::copy(sqlite, dir.join("jobcall.db")).expect("the fixture copies");
            }
            Backend::Postgres(_) => {
                let loaded = std::process::Command::new("psql")
                    .args(["-q", "-v", "ON_ERROR_STOP=1", "-f"])
                    .arg(dump)
                    .arg(&database.url)
                    .output()
                    .expect("psql runs");
                assert!(
                    loaded.status.success(),
                    "the dump loads: {}",
                    String::from_utf8_lossy(&loaded.stderr)
                );
            }
        }
        database
    }
}

impl Drop for Database {
    fn drop(&mut self) {
        let Some((server, name)) = self.drop_on.take() else {
            return;
        };
        // Drop runs outside async code; a thread with its own runtime does the work.
        let _ = std::thread::spawn(move || {
            let runtime = tokio::runtime::Builder::new_current_thread()
                .enable_all()
                .build()
                .unwrap();
            runtime.block_on(async move {
                if let Ok(admin) = sqlx::PgPool::connect(&server).await {
                    let drop = format!("DROP DATABASE IF EXISTS {name} WITH (FORCE)");
                    let _ = sqlx::query(sqlx::AssertSqlSafe(drop)).execute(&admin).await;
                    admin.close().await;
                }
            });
        })
        .join();
    }
}
