//! [`TestApp`]: a jobcall server on port 0 with its own database, a client
//! with tokens, and a receiver for its callbacks.

use std::{sync::Once, time::Duration};

use jobcall::{
    Application, Customize, Role, Settings,
    app::{ClockControl, migrate},
    settings::{RawSettings, Secret},
};
use jobcall_api::auth::{Scope, TokenIssuer};
use jobcall_entity::ClientId;
use jobcall_jobs::{
    clients::CreateClient, secrets::EncryptionKey, signals::Signals, store::Writer,
};
use reqwest::{Method, StatusCode};
use serde_json::Value;
use tokio::{sync::oneshot, task::JoinHandle};

use super::{Backend, Receiver, database::Database};

pub const JWT_SECRET: &str = "e2e-test-secret-that-is-at-least-32-bytes-long";

/// An API client: its id, its signing secret and a token.
#[derive(Debug, Clone)]
pub struct Client {
    pub id: ClientId,
    pub signing_secret: String,
    pub token: String,
}

pub struct TestApp {
    pub base: String,
    pub http: reqwest::Client,
    /// A client with `jobs:read jobs:write admin`.
    pub client: Client,
    pub receiver: Receiver,
    pub settings: Settings,
    /// The server runs on a test clock: the system's, plus what
    /// [`TestApp::advance`] moved it by.
    clock: ClockControl,
    issuer: TokenIssuer,
    stop: Option<oneshot::Sender<()>>,
    running: Option<JoinHandle<anyhow::Result<()>>>,
    database: Database,
    _dir: tempfile::TempDir,
}

fn init_logs() {
    static ONCE: Once = Once::new();
    ONCE.call_once(|| {
        if std::env::var_os("TEST_LOG").is_some() {
            let _ = tracing_subscriber::fmt()
                .with_env_filter(jobcall::telemetry::filter("info"))
                .with_test_writer()
                .try_init();
        }
    });
}

/// Settings for tests: loopback allowed, short backoffs and timeouts.
pub fn test_settings(dir: &std::path::Path, database_url: &str) -> RawSettings {
    RawSettings {
        data_dir: dir.to_path_buf(),
        database_url: Some(Secret::new(database_url)),
        database_max_connections: 8,
        listen: "127.0.0.1:0".into(),
        http_workers: 2,
        jwt_secret: Some(Secret::new(JWT_SECRET)),
        secrets_key: Some(Secret::new(&EncryptionKey::generate().to_base64())),
        outbound_allow_cidrs: "127.0.0.0/8,::1/128".into(),
        outbound_allow_http: true,
        callback_initial_backoff_ms: 100,
        callback_max_backoff_ms: 1000,
        callback_timeout_ms: 2000,
        job_retry_initial_backoff_ms: 50,
        job_retry_max_backoff_ms: 500,
        worker_takeover_ms: 3000,
        worker_shutdown_grace_ms: 1000,
        worker_poll_interval_ms: 200,
        submit_rate_per_client: 0,
        ..RawSettings::default()
    }
}

impl TestApp {
    pub async fn spawn(backend: Backend) -> TestApp {
        Self::spawn_with(backend, |_| {}, Customize::default()).await
    }

    /// A server with `configure` applied to the test settings and
    /// `customize` to the application (whose clock is always a test clock).
    pub async fn spawn_with(
        backend: Backend,
        configure: impl FnOnce(&mut RawSettings),
        customize: Customize,
    ) -> TestApp {
        init_logs();
        let dir = tempfile::tempdir().unwrap();
        let database = Database::create(&backend, dir.path()).await;
        let mut raw = test_settings(dir.path(), &database.url);
        configure(&mut raw);
        let settings = Settings::check(raw).expect("test settings are valid");
        let client = bootstrap_client(&settings, "e2e").await;
        Self::start(dir, database, settings, client, customize).await
    }

    /// A server on a database written before it started (a fixture), whose
    /// client `client` (id and signing secret) it already holds; `configure`
    /// sets the keys that database was written with.
    pub async fn open(
        dir: tempfile::TempDir,
        database: Database,
        configure: impl FnOnce(&mut RawSettings),
        client: (ClientId, String),
    ) -> TestApp {
        init_logs();
        let mut raw = test_settings(dir.path(), &database.url);
        configure(&mut raw);
        let settings = Settings::check(raw).expect("test settings are valid");
        Self::start(dir, database, settings, client, Customize::default()).await
    }

    async fn start(
        dir: tempfile::TempDir,
        database: Database,
        settings: Settings,
        client: (ClientId, String),
        customize: Customize,
    ) -> TestApp {
        let customize = Customize {
            test_clock: Some(customize.test_clock.unwrap_or_default()),
            ..customize
        };
        let jwt_secret = settings
            .jwt
            .secret
            .as_ref()
            .expect("tests sign tokens with HS256")
            .expose()
            .to_owned();
        let app = Application::build(settings.clone(), Role::Serve, customize)
            .await
            .expect("the application starts");
        let base = format!("http://127.0.0.1:{}", app.port().unwrap());
        let clock = app.clock_control().expect("built with a test clock");
        let (stop, stopped) = oneshot::channel::<()>();
        let running = tokio::spawn(app.run_until_stopped(async move {
            let _ = stopped.await;
        }));
        let issuer = TokenIssuer::hs256(jwt_secret.as_bytes(), None, None);
        let token = issuer
            .mint(
                &client.0,
                &[Scope::JobsRead, Scope::JobsWrite, Scope::Admin],
                Duration::from_secs(3600),
            )
            .unwrap();
        TestApp {
            base,
            http: reqwest::Client::new(),
            client: Client {
                id: client.0,
                signing_secret: client.1,
                token,
            },
            receiver: Receiver::start().await,
            settings,
            clock,
            issuer,
            stop: Some(stop),
            running: Some(running),
            database,
            _dir: dir,
        }
    }

    /// Moves the server's clock forward by `by`, at once: what a test would
    /// otherwise sleep through.
    pub async fn advance(&self, by: Duration) {
        self.clock.advance(by).await.expect("the clock moves");
    }

    /// How many tasks apalis's queue table holds (due or not, locked or not).
    pub async fn queue_tasks(&self) -> i64 {
        if self.database.url.starts_with("sqlite:") {
            let pool = sqlx::SqlitePool::connect(&self.database.url).await.unwrap();
            let count = sqlx::query_scalar("SELECT COUNT(*) FROM Jobs")
                .fetch_one(&pool)
                .await
                .unwrap();
            pool.close().await;
            count
        } else {
            let pool = sqlx::PgPool::connect(&self.database.url).await.unwrap();
            let count = sqlx::query_scalar("SELECT COUNT(*) FROM apalis.jobs")
                .fetch_one(&pool)
                .await
                .unwrap();
            pool.close().await;
            count
        }
    }

    /// Stops the server the way SIGTERM does, and waits for it.
    pub async fn stop(mut self) {
        if let Some(stop) = self.stop.take() {
            let _ = stop.send(());
        }
        if let Some(running) = self.running.take() {
            running.await.unwrap().unwrap();
        }
    }

    pub fn url(&self, path: &str) -> String {
        format!("{}{path}", self.base)
    }

    pub fn token(&self, client: &ClientId, scopes: &[Scope]) -> String {
        self.issuer
            .mint(client, scopes, Duration::from_secs(3600))
            .unwrap()
    }

    /// Another client, created through the admin API.
    pub async fn new_client(&self, name: &str) -> Client {
        let (status, body) = self
            .post(
                &self.client.token,
                "/v1/clients",
                &serde_json::json!({"name": name}),
            )
            .await;
        assert_eq!(status, StatusCode::CREATED, "{body}");
        let id = ClientId::parse(body["id"].as_str().unwrap()).unwrap();
        Client {
            token: self.token(&id, &[Scope::JobsRead, Scope::JobsWrite]),
            signing_secret: body["signing_secret"].as_str().unwrap().to_owned(),
            id,
        }
    }

    pub fn request(&self, method: Method, token: &str, path: &str) -> reqwest::RequestBuilder {
        self.http.request(method, self.url(path)).bearer_auth(token)
    }

    /// POSTs JSON; the response is checked against the spec.
    pub async fn post(&self, token: &str, path: &str, body: &Value) -> (StatusCode, Value) {
        let response = self
            .request(Method::POST, token, path)
            .json(body)
            .send()
            .await
            .unwrap();
        read(Method::POST, path, response).await
    }

    /// GETs; the response is checked against the spec.
    pub async fn get(&self, token: &str, path: &str) -> (StatusCode, Value) {
        let response = self.request(Method::GET, token, path).send().await.unwrap();
        read(Method::GET, path, response).await
    }

    /// Submits a job as the main client; panics unless it is accepted.
    pub async fn submit(&self, body: Value) -> Value {
        let (status, job) = self.post(&self.client.token, "/v1/jobs", &body).await;
        assert_eq!(status, StatusCode::ACCEPTED, "{job}");
        job
    }

    pub async fn job(&self, id: &str) -> Value {
        let (status, job) = self
            .get(&self.client.token, &format!("/v1/jobs/{id}"))
            .await;
        assert_eq!(status, StatusCode::OK, "{job}");
        job
    }

    /// Long-polls the job until it is terminal (at most 30 s).
    pub async fn finished(&self, id: &str) -> Value {
        for _ in 0..3 {
            let (status, job) = self
                .get(&self.client.token, &format!("/v1/jobs/{id}?wait=10"))
                .await;
            assert_eq!(status, StatusCode::OK, "{job}");
            if ["succeeded", "failed", "canceled"].contains(&job["status"].as_str().unwrap()) {
                return job;
            }
        }
        panic!("job {id} did not finish within 30 s");
    }

    /// Reads the job until `check` holds (at most `seconds`).
    pub async fn job_until(
        &self,
        id: &str,
        seconds: u64,
        what: &str,
        check: impl Fn(&Value) -> bool,
    ) -> Value {
        super::eventually(seconds, what, || async {
            let job = self.job(id).await;
            check(&job).then_some(job)
        })
        .await
    }
}

impl Drop for TestApp {
    fn drop(&mut self) {
        if let Some(stop) = self.stop.take() {
            let _ = stop.send(());
        }
    }
}

/// The status and JSON body of a response (`Null` when there is no JSON),
/// after checking both against the spec.
pub async fn read(method: Method, path: &str, response: reqwest::Response) -> (StatusCode, Value) {
    let status = response.status();
    let content_type = response
        .headers()
        .get(reqwest::header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .unwrap_or_default()
        .to_owned();
    let text = response.text().await.unwrap();
    let body = serde_json::from_str(&text).unwrap_or(Value::Null);
    super::spec::SPEC.check_response(method.as_str(), path, status.as_u16(), &content_type, &body);
    (status, body)
}

/// The first client, written straight to the database as `jobcall client
/// create` does: every token must name an existing client.
async fn bootstrap_client(settings: &Settings, name: &str) -> (ClientId, String) {
    let db = migrate(settings).await.unwrap();
    let key = EncryptionKey::parse(settings.secrets_key.as_ref().unwrap().expose()).unwrap();
    let writer = Writer::start(db.clone(), Signals::new(db.clock().clone()));
    let (client, secret) = writer
        .run(CreateClient::new(name.into(), &key))
        .await
        .unwrap();
    drop(writer);
    db.close().await;
    (client.id, secret.expose())
}
