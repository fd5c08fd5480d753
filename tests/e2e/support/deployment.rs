//! A jobcall deployment made of real processes sharing one database: a
//! client created with `jobcall client create`, a token from `jobcall token`.

use std::time::Duration;

use jobcall_jobs::secrets::EncryptionKey;
use reqwest::StatusCode;
use serde_json::Value;

use super::{
    Backend,
    app::JWT_SECRET,
    database::Database,
    process::{ServerProcess, log_file, run},
};

pub struct Deployment {
    pub env: Vec<(String, String)>,
    pub client_id: String,
    pub signing_secret: String,
    pub token: String,
    pub secrets_key: String,
    pub http: reqwest::Client,
    _database: Database,
    pub dir: tempfile::TempDir,
}

impl Deployment {
    /// A fresh database and the settings every process of the deployment
    /// shares, with `extra` on top.
    pub async fn new(backend: &Backend, extra: &[(&str, &str)]) -> Deployment {
        let dir = tempfile::tempdir().unwrap();
        let database = Database::create(backend, dir.path()).await;
        let secrets_key = EncryptionKey::generate().to_base64();
        let mut env: Vec<(String, String)> = [
            ("JOBCALL_DATA_DIR", dir.path().to_str().unwrap()),
            ("JOBCALL_DATABASE_URL", database.url.as_str()),
            ("JOBCALL_LISTEN", "127.0.0.1:0"),
            ("JOBCALL_HTTP_WORKERS", "2"),
            ("JOBCALL_JWT_SECRET", JWT_SECRET),
            ("JOBCALL_SECRETS_KEY", secrets_key.as_str()),
            ("JOBCALL_OUTBOUND_ALLOW_CIDRS", "127.0.0.0/8,::1/128"),
            ("JOBCALL_OUTBOUND_ALLOW_HTTP", "true"),
            ("JOBCALL_CALLBACK_INITIAL_BACKOFF_MS", "200"),
            ("JOBCALL_CALLBACK_MAX_BACKOFF_MS", "1000"),
            ("JOBCALL_CALLBACK_TIMEOUT_MS", "2000"),
            ("JOBCALL_WORKER_TAKEOVER_MS", "2000"),
            ("JOBCALL_WORKER_SHUTDOWN_GRACE_MS", "2000"),
            ("JOBCALL_WORKER_POLL_INTERVAL_MS", "200"),
            ("JOBCALL_SUBMIT_RATE_PER_CLIENT", "0"),
        ]
        .iter()
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect();
        for (key, value) in extra {
            env.retain(|(k, _)| k != key);
            env.push((key.to_string(), value.to_string()));
        }
        let created: Value =
            serde_json::from_str(&run(&["client", "create", "e2e", "--json"], &env)).unwrap();
        let client_id = created["id"].as_str().unwrap().to_owned();
        let token = run(
            &[
                "token",
                "--client",
                &client_id,
                "--scope",
                "jobs:read jobs:write admin",
                "--ttl",
                "1h",
            ],
            &env,
        )
        .trim()
        .to_owned();
        Deployment {
            signing_secret: created["signing_secret"].as_str().unwrap().to_owned(),
            client_id,
            token,
            secrets_key,
            env,
            http: reqwest::Client::builder()
                .timeout(Duration::from_secs(70))
                .build()
                .unwrap(),
            _database: database,
            dir,
        }
    }

    pub async fn start(&self, role: &str, name: &str) -> ServerProcess {
        ServerProcess::start(role, self.env.clone(), &log_file(self.dir.path(), name)).await
    }

    /// Submits a job; `None` when no `202` came back (the server died, say).
    pub async fn try_submit(&self, base: &str, body: &Value) -> Option<Value> {
        let response = self
            .http
            .post(format!("{base}/v1/jobs"))
            .bearer_auth(&self.token)
            .json(body)
            .send()
            .await
            .ok()?;
        if response.status() != StatusCode::ACCEPTED {
            return None;
        }
        response.json().await.ok()
    }

    pub async fn job(&self, base: &str, id: &str, wait: u64) -> Value {
        let response = self
            .http
            .get(format!("{base}/v1/jobs/{id}?wait={wait}"))
            .bearer_auth(&self.token)
            .send()
            .await
            .unwrap();
        assert_eq!(response.status(), StatusCode::OK);
        response.json().await.unwrap()
    }

    /// Long-polls until the job is terminal (at most `seconds`).
    pub async fn finished(&self, base: &str, id: &str, seconds: u64) -> Value {
        let deadline = tokio::time::Instant::now() + Duration::from_secs(seconds);
        loop {
            let job = self.job(base, id, 5).await;
            if ["succeeded", "failed", "canceled"].contains(&job["status"].as_str().unwrap()) {
                return job;
            }
            assert!(
                tokio::time::Instant::now() < deadline,
                "job {id} did not finish in {seconds} s: {job}"
            );
        }
    }
}
