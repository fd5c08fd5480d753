//! Keys: every process refuses to start with a secrets key other than the
//! one the database's secrets were sealed with; development keys only where
//! they are safe, from a file only its owner can read; tokens not valid yet
//! are refused.

use std::{os::unix::fs::PermissionsExt, path::PathBuf};

use jobcall::{Application, Customize, Role, Settings, settings::Secret};
use jobcall_jobs::secrets::EncryptionKey;
use jsonwebtoken::{EncodingKey, Header};
use reqwest::StatusCode;
use serde_json::json;

use crate::{
    e2e,
    support::{
        Backend, Database, JWT_SECRET, TestApp,
        deployment::Deployment,
        process::{ServerProcess, refused},
    },
};

/// What a process is started with when nothing about keys is configured.
fn bare_env(dir: &std::path::Path, database_url: &str) -> Vec<(String, String)> {
    [
        ("JOBCALL_DATA_DIR", dir.to_str().unwrap()),
        ("JOBCALL_DATABASE_URL", database_url),
        ("JOBCALL_LISTEN", "127.0.0.1:0"),
        ("JOBCALL_HTTP_WORKERS", "1"),
    ]
    .iter()
    .map(|(k, v)| (k.to_string(), v.to_string()))
    .collect()
}

async fn build(settings: Settings, role: Role) -> String {
    match Application::build(settings, role, Customize::default()).await {
        Ok(_) => panic!("{role:?} started with a secrets key the database does not know"),
        Err(e) => format!("{e:#}"),
    }
}

e2e! {
    async fn a_process_with_another_secrets_key_refuses_to_start(backend: Backend) {
        let app = TestApp::spawn(backend).await;
        let mut other = app.settings.clone();
        other.secrets_key = Some(Secret::new(&EncryptionKey::generate().to_base64()));
        for role in [Role::Serve, Role::Api, Role::Worker] {
            let message = build(other.clone(), role).await;
            assert!(message.contains("JOBCALL_SECRETS_KEY"), "{message}");
            assert!(message.contains("does not match"), "{message}");
        }
        // The right key still starts, next to the first process.
        let same = Application::build(app.settings.clone(), Role::Worker, Customize::default()).await;
        same.expect("the same key starts").run_until_stopped(async {}).await.unwrap();
    }
}

e2e! {
    async fn the_real_worker_refuses_a_key_that_is_not_the_deployments(backend: Backend) {
        // `jobcall client create` sealed the client's secret with the
        // deployment's key and recorded its fingerprint.
        let deployment = Deployment::new(&backend, &[]).await;
        let mut env = deployment.env.clone();
        env.retain(|(k, _)| k != "JOBCALL_SECRETS_KEY");
        env.push(("JOBCALL_SECRETS_KEY".into(), EncryptionKey::generate().to_base64()));
        let stderr = refused(&["worker"], &env).await;
        assert!(stderr.contains("JOBCALL_SECRETS_KEY") && stderr.contains("does not match"), "{stderr}");
        let stderr = refused(&["client", "create", "another"], &env).await;
        assert!(stderr.contains("does not match"), "{stderr}");
        // With the deployment's key it starts.
        let mut worker = deployment.start("worker", "worker").await;
        worker.terminate().await;
    }
}

e2e! {
    async fn split_roles_and_postgresql_need_explicit_keys(backend: Backend) {
        let dir = tempfile::tempdir().unwrap();
        let database = Database::create(&backend, dir.path()).await;
        // The incident: api and worker in two directories, nothing set.
        for role in ["api", "worker"] {
            let own_dir = dir.path().join(role);
            let stderr = refused(&[role], &bare_env(&own_dir, &database.url)).await;
            assert!(stderr.contains("JOBCALL_SECRETS_KEY"), "{role}: {stderr}");
            assert!(!own_dir.join("jobcall.keys").exists(), "{role} made a key file");
        }
        let stderr = refused(&["api"], &bare_env(dir.path(), &database.url)).await;
        assert!(stderr.contains("JOBCALL_JWT_SECRET and JOBCALL_SECRETS_KEY must be set"), "{stderr}");
        if matches!(backend, Backend::Postgres(_)) {
            let stderr = refused(&["serve"], &bare_env(dir.path(), &database.url)).await;
            assert!(stderr.contains("JOBCALL_JWT_SECRET and JOBCALL_SECRETS_KEY must be set"), "{stderr}");
            assert!(stderr.contains("PostgreSQL"), "{stderr}");
        }
    }
}

/// `jobcall serve` with nothing configured, in its own data directory.
async fn serve_bare(dir: &std::path::Path) -> ServerProcess {
    let env = bare_env(
        dir,
        &format!("sqlite://{}", dir.join("jobcall.db").display()),
    );
    ServerProcess::start("serve", env, &dir.join("serve.log")).await
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sqlite_with_nothing_configured_starts_with_a_private_key_file() {
    let dir = tempfile::tempdir().unwrap();
    let mut serve = serve_bare(dir.path()).await;
    let keys = dir.path().join("jobcall.keys");
    assert_eq!(
        std::fs::metadata(&keys).unwrap().permissions().mode() & 0o777,
        0o600
    );
    let health = reqwest::get(format!("{}/healthz", serve.base))
        .await
        .unwrap();
    assert_eq!(health.status(), StatusCode::OK);
    // It starts again with the key it made, which the database now records.
    serve.terminate().await;
    serve.restart().await;
    serve.terminate().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_key_file_others_can_read_is_refused() {
    let dir = tempfile::tempdir().unwrap();
    let mut serve = serve_bare(dir.path()).await;
    serve.terminate().await;
    let keys = dir.path().join("jobcall.keys");
    std::fs::set_permissions(&keys, std::fs::Permissions::from_mode(0o644)).unwrap();
    let env = bare_env(
        dir.path(),
        &format!("sqlite://{}", dir.path().join("jobcall.db").display()),
    );
    let stderr = refused(&["serve"], &env).await;
    assert!(
        stderr.contains(&format!("chmod 600 {}", keys.display())),
        "{stderr}"
    );
}

fn fixture(name: &str) -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("tests/fixtures/release-0.1.0")
        .join(name)
}

e2e! {
    async fn a_release_0_1_0_database_refuses_a_key_that_opens_none_of_its_secrets(backend: Backend) {
        let dir = tempfile::tempdir().unwrap();
        let database =
            Database::restore(&backend, dir.path(), &fixture("jobcall.db"), &fixture("postgres.sql")).await;
        let mut raw = crate::support::test_settings(dir.path(), &database.url);
        raw.secrets_key = Some(Secret::new(&EncryptionKey::generate().to_base64()));
        let message = build(Settings::check(raw.clone()).unwrap(), Role::Serve).await;
        assert!(message.contains("JOBCALL_SECRETS_KEY") && message.contains("opens none"), "{message}");
        // The key it was written with is adopted; from then on it is the only one.
        let right = std::fs::read_to_string(fixture("secrets_key")).unwrap();
        raw.secrets_key = Some(Secret::new(right.trim()));
        let app = Application::build(Settings::check(raw).unwrap(), Role::Worker, Customize::default()).await;
        app.expect("the key it was written with starts").run_until_stopped(async {}).await.unwrap();
        let mut raw = crate::support::test_settings(dir.path(), &database.url);
        raw.secrets_key = Some(Secret::new(&EncryptionKey::generate().to_base64()));
        let message = build(Settings::check(raw).unwrap(), Role::Worker).await;
        assert!(message.contains("does not match"), "{message}");
    }
}

e2e! {
    async fn a_token_not_valid_yet_is_refused(backend: Backend) {
        let app = TestApp::spawn(backend).await;
        let now = jsonwebtoken::get_current_timestamp();
        let token = |nbf: u64| {
            jsonwebtoken::encode(
                &Header::default(),
                &json!({"sub": app.client.id, "scope": "jobs:read", "exp": now + 7200, "nbf": nbf}),
                &EncodingKey::from_secret(JWT_SECRET.as_bytes()),
            )
            .unwrap()
        };
        let (status, problem) = app.get(&token(now + 3600), "/v1/jobs").await;
        assert_eq!(status, StatusCode::UNAUTHORIZED, "{problem}");
        assert!(problem["detail"].as_str().unwrap().contains("nbf"), "{problem}");
        let (status, _) = app.get(&token(now - 60), "/v1/jobs").await;
        assert_eq!(status, StatusCode::OK);
    }
}
