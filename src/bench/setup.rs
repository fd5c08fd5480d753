//! A server for one backend, with its database, a client and a receiver;
//! and waiting for callbacks to arrive.

use std::time::{Duration, Instant};

use jobcall_jobs::secrets::EncryptionKey;
use serde_json::Value;

use super::{
    args::BenchArgs,
    load::Client,
    receiver::Receiver,
    server::{Server, run},
};

/// A server for one backend, its database, a client and a receiver.
pub struct Setup {
    _dir: tempfile::TempDir,
    pub database_url: String,
    /// The PostgreSQL server and the database to drop at the end.
    drop_database: Option<(String, String)>,
    pub receiver: Receiver,
    env: Vec<(String, String)>,
    pub client_id: String,
    pub token: String,
    log: std::path::PathBuf,
}

impl Setup {
    pub async fn new(
        backend: &str,
        postgres: Option<&str>,
        args: &BenchArgs,
        extra_env: &[(&str, String)],
    ) -> anyhow::Result<Setup> {
        let dir = tempfile::tempdir()?;
        let (database_url, drop_database) = match postgres {
            None => (
                format!("sqlite://{}", dir.path().join("bench.db").display()),
                None,
            ),
            Some(server) => {
                let name = format!(
                    "jobcall_bench_{}",
                    ulid::Ulid::generate().to_string().to_lowercase()
                );
                let admin = sqlx::PgPool::connect(server).await?;
                sqlx::query(sqlx::AssertSqlSafe(format!("CREATE DATABASE {name}")))
                    .execute(&admin)
                    .await?;
                admin.close().await;
                let mut url = url::Url::parse(server)?;
                url.set_path(&name);
                (url.to_string(), Some((server.to_owned(), name)))
            }
        };
        let receiver = Receiver::start().await?;
        let mut env: Vec<(String, String)> = [
            ("JOBCALL_DATA_DIR", dir.path().to_str().unwrap_or(".")),
            ("JOBCALL_DATABASE_URL", database_url.as_str()),
            ("JOBCALL_LISTEN", "127.0.0.1:0"),
            (
                "JOBCALL_JWT_SECRET",
                "benchmark-secret-of-at-least-thirty-two-bytes",
            ),
            (
                "JOBCALL_SECRETS_KEY",
                &EncryptionKey::generate().to_base64(),
            ),
            ("JOBCALL_OUTBOUND_ALLOW_CIDRS", "127.0.0.0/8"),
            ("JOBCALL_OUTBOUND_ALLOW_HTTP", "true"),
            ("JOBCALL_SUBMIT_RATE_PER_CLIENT", "0"),
            ("JOBCALL_MAX_QUEUED_JOBS", "100000000"),
            ("JOBCALL_LOG_LEVEL", args.log_level.as_str()),
        ]
        .iter()
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect();
        env.extend(extra_env.iter().map(|(k, v)| (k.to_string(), v.clone())));
        let created: Value =
            serde_json::from_str(&run(&["client", "create", "bench", "--json"], &env)?)?;
        let client_id = created["id"].as_str().unwrap_or_default().to_owned();
        let token = run(
            &[
                "token",
                "--client",
                &client_id,
                "--scope",
                "jobs:read jobs:write",
                "--ttl",
                "12h",
            ],
            &env,
        )?
        .trim()
        .to_owned();
        let log = match &args.log_dir {
            Some(logs) => {
                std::fs::create_dir_all(logs)?;
                logs.join(format!("{}.log", backend.to_lowercase()))
            }
            None => dir.path().join("server.log"),
        };
        Ok(Setup {
            _dir: dir,
            database_url,
            drop_database,
            receiver,
            env,
            client_id,
            token,
            log,
        })
    }

    pub async fn start_server(&self, args: &BenchArgs) -> anyhow::Result<Server> {
        Server::start(&self.env, &self.log, args.server_wrapper.as_deref()).await
    }

    pub async fn finish(self) -> anyhow::Result<()> {
        if let Some((server, name)) = self.drop_database {
            let admin = sqlx::PgPool::connect(&server).await?;
            sqlx::query(sqlx::AssertSqlSafe(format!(
                "DROP DATABASE IF EXISTS {name} WITH (FORCE)"
            )))
            .execute(&admin)
            .await?;
            admin.close().await;
        }
        Ok(())
    }
}

pub fn backend_title(backend: &str, postgres: Option<&str>) -> String {
    format!(
        "{backend}{}",
        if postgres.is_none() {
            " (WAL, synchronous=NORMAL)"
        } else {
            ""
        }
    )
}

/// Waits until every accepted job has called back; false on timeout.
pub async fn drain(client: &Client, receiver: &Receiver, limit: Duration) -> anyhow::Result<bool> {
    let deadline = Instant::now() + limit;
    while (receiver.succeeded() as u64) < client.accepted() {
        if Instant::now() > deadline {
            return Ok(false);
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    Ok(true)
}
