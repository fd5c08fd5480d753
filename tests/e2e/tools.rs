//! The official tools against a live jobcall: the OpenAPI validator,
//! the Standard Webhooks verifiers of PyPI and npm, SDKs generated from the
//! spec in Python and TypeScript, and schemathesis. Each needs the tools
//! `.ci/run` installs; without them the test reports itself skipped (unless
//! `TEST_REQUIRE_TOOLS` is set, as in CI).

use std::{
    path::{Path, PathBuf},
    process::Command,
};

use jobcall::Customize;
use jobcall_jobs::outbound::NameResolver;
use serde_json::{Value, json};

use crate::support::{Backend, Received, Reply, TestApp};

const SPEC: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/openapi.yaml");
const CI: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/ci");

fn tool_dir(variable: &str) -> Option<PathBuf> {
    match std::env::var_os(variable) {
        Some(path) => Some(PathBuf::from(path)),
        None if std::env::var_os("TEST_REQUIRE_TOOLS").is_some() => {
            panic!("TEST_REQUIRE_TOOLS is set but {variable} is not")
        }
        None => {
            eprintln!("skipped: {variable} is not set");
            None
        }
    }
}

/// The Python of the tools' virtual environment, and its `bin` folder.
fn python() -> Option<(PathBuf, PathBuf)> {
    let python = tool_dir("TEST_PYTHON")?;
    let bin = python.parent().unwrap().to_path_buf();
    Some((python, bin))
}

/// The folder whose `node_modules` holds the Node tools.
fn node() -> Option<PathBuf> {
    tool_dir("TEST_NODE_DIR")
}

/// Runs a command; panics with its output unless it succeeds. Returns stdout.
fn run(command: &mut Command) -> String {
    let output = command
        .output()
        .unwrap_or_else(|e| panic!("{command:?}: {e}"));
    let stdout = String::from_utf8_lossy(&output.stdout).into_owned();
    assert!(
        output.status.success(),
        "{command:?} failed ({}):\n{stdout}\n{}",
        output.status,
        String::from_utf8_lossy(&output.stderr)
    );
    stdout
}

#[test]
fn the_spec_passes_the_openapi_validator() {
    let Some((_, bin)) = python() else { return };
    let out = run(Command::new(bin.join("openapi-spec-validator")).arg(SPEC));
    assert!(out.contains("OK"), "{out}");
}

/// `[{secret, headers, body}]` for the verifier scripts.
fn deliveries(received: &[Received], secrets: &[&str]) -> Value {
    let mut list = Vec::new();
    for callback in received {
        for secret in secrets {
            list.push(json!({
                "secret": secret,
                "headers": {
                    "webhook-id": callback.header("webhook-id"),
                    "webhook-timestamp": callback.header("webhook-timestamp"),
                    "webhook-signature": callback.header("webhook-signature"),
                },
                "body": callback.body,
            }));
        }
    }
    Value::Array(list)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_official_verifiers_accept_real_callbacks() {
    let Some((python, _)) = python() else { return };
    let Some(node_dir) = node() else { return };
    let app = TestApp::spawn(Backend::Sqlite).await;
    let old = app.client.signing_secret.clone();
    let job = app
        .submit(json!({
            "kind": "echo",
            "input": {"message": "verify me", "delay_ms": 600},
            "callback_url": app.receiver.url("/hook"),
            "callback_events": ["job.started", "job.progress", "job.succeeded"]
        }))
        .await;
    app.receiver.wait_for_event("job.succeeded", 20).await;
    app.finished(job["id"].as_str().unwrap()).await;
    let single = app.receiver.received();

    // While a secret is being rotated, both signatures verify.
    let (_, rotated) = app
        .post(
            &app.client.token,
            &format!("/v1/clients/{}/rotate-secret", app.client.id),
            &json!({}),
        )
        .await;
    let new = rotated["signing_secret"].as_str().unwrap().to_owned();
    // The rotation went through this process: its test sends sign with the
    // new secret at once.
    app.receiver.always(Reply::Status(200));
    app.post(
        &app.client.token,
        "/v1/callbacks/test",
        &json!({"url": app.receiver.url("/probe")}),
    )
    .await;
    app.submit(json!({"kind": "echo", "callback_url": app.receiver.url("/hook")}))
        .await;
    let all = app.receiver.wait_for(single.len() + 2, 20).await;
    let rotated_callbacks = &all[single.len()..];

    let mut list = deliveries(&single, &[&old]).as_array().unwrap().clone();
    list.extend(
        deliveries(rotated_callbacks, &[&old, &new])
            .as_array()
            .unwrap()
            .clone(),
    );
    assert!(list.len() >= 7, "{list:?}");
    let file = tempfile::NamedTempFile::new().unwrap();
    std::fs::write(file.path(), serde_json::to_vec(&list).unwrap()).unwrap();

    let out = run(Command::new(&python)
        .arg(format!("{CI}/webhooks/verify.py"))
        .arg(file.path()));
    eprintln!("{}", out.trim());
    eprintln!(
        "{}",
        run_node_script(&node_dir, "webhooks/verify.mjs", file.path()).trim()
    );
}

/// Runs a Node script of `ci/` on `input`; returns its output. ES modules
/// resolve packages from the script's folder: it runs from one that links
/// the tools' node_modules.
fn run_node_script(node_dir: &Path, script: &str, input: &Path) -> String {
    let scripts = tempfile::tempdir().unwrap();
    std::os::unix::fs::symlink(
        node_dir.join("node_modules"),
        scripts.path().join("node_modules"),
    )
    .unwrap();
    let copy = scripts.path().join(Path::new(script).file_name().unwrap());
    std::fs::copy(format!("{CI}/{script}"), &copy).unwrap();
    run(Command::new("node").arg(copy).arg(input))
}

/// `v1a` (ed25519) signatures of real callbacks, verified by
/// implementations independent of jobcall's (Python's `cryptography`, Node's
/// `crypto`), for a client signing with both schemes (also while its key
/// rotates) and one signing with `v1a` only. The official libraries verify
/// the `v1` half and, having no `v1a`, refuse the `v1a`-only headers.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn independent_ed25519_verifiers_accept_v1a_callbacks() {
    let Some((python, _)) = python() else { return };
    let Some(node_dir) = node() else { return };
    let app = TestApp::spawn(Backend::Sqlite).await;
    let admin = app.client.token.clone();
    let mut list = Vec::new();
    for schemes in [json!(["v1", "v1a"]), json!(["v1a"])] {
        let (_, created) = app
            .post(
                &admin,
                "/v1/clients",
                &json!({"name": "ed25519", "signatures": schemes}),
            )
            .await;
        let id = jobcall_entity::ClientId::parse(created["id"].as_str().unwrap()).unwrap();
        let token = app.token(&id, &[jobcall_api::auth::Scope::JobsWrite]);
        let mut keys = vec![created["signing_public_key"].as_str().unwrap().to_owned()];
        let rounds = if schemes.as_array().unwrap().len() == 2 {
            2
        } else {
            1
        };
        for round in 0..rounds {
            if round == 1 {
                let (_, rotated) = app
                    .post(
                        &admin,
                        &format!("/v1/clients/{id}/rotate-signing-key"),
                        &json!({}),
                    )
                    .await;
                keys.insert(
                    0,
                    rotated["data"][0]["public_key"]
                        .as_str()
                        .unwrap()
                        .to_owned(),
                );
            }
            let before = app.receiver.received().len();
            let (status, _) = app
                .post(
                    &token,
                    "/v1/jobs",
                    &json!({
                        "kind": "echo",
                        "callback_url": app.receiver.url("/hook"),
                        "callback_events": ["job.started", "job.succeeded"]
                    }),
                )
                .await;
            assert_eq!(status, reqwest::StatusCode::ACCEPTED);
            for callback in &app.receiver.wait_for(before + 2, 20).await[before..] {
                // Each key in the header verifies on its own.
                for key in &keys {
                    list.push(json!({
                        "public_key": key,
                        "secret": created["signing_secret"],
                        "headers": {
                            "webhook-id": callback.header("webhook-id"),
                            "webhook-timestamp": callback.header("webhook-timestamp"),
                            "webhook-signature": callback.header("webhook-signature"),
                        },
                        "body": callback.body,
                    }));
                }
            }
        }
    }
    assert_eq!(list.len(), 2 + 2 * 2 + 2, "{list:?}");
    let file = tempfile::NamedTempFile::new().unwrap();
    std::fs::write(file.path(), serde_json::to_vec(&list).unwrap()).unwrap();
    let out = run(Command::new(&python)
        .arg(format!("{CI}/webhooks/verify_v1a.py"))
        .arg(file.path()));
    eprintln!("{}", out.trim());
    assert!(out.contains("skipped the 2 with only v1a"), "{out}");
    let out = run_node_script(&node_dir, "webhooks/verify_v1a.mjs", file.path());
    eprintln!("{}", out.trim());
    assert!(out.contains("skipped the 2 with only v1a"), "{out}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_python_client_generated_from_the_spec_works() {
    let Some((python, bin)) = python() else {
        return;
    };
    let app = TestApp::spawn(Backend::Sqlite).await;
    let dir = tempfile::tempdir().unwrap();
    run(Command::new(bin.join("openapi-python-client"))
        .args([
            "generate",
            "--meta",
            "none",
            "--path",
            SPEC,
            "--output-path",
        ])
        .arg(dir.path().join("jobcall_client")));
    let out = run(Command::new(&python)
        .arg(format!("{CI}/sdk/python_sdk_e2e.py"))
        .env("PYTHONPATH", dir.path())
        .env("JOBCALL_URL", &app.base)
        .env("JOBCALL_TOKEN", &app.client.token)
        .env("JOBCALL_SIGNING_SECRET", &app.client.signing_secret));
    assert_sdk_run_succeeded(&out);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_typescript_client_generated_from_the_spec_works() {
    let Some(node_dir) = node() else { return };
    let app = TestApp::spawn(Backend::Sqlite).await;
    let dir = tempfile::tempdir().unwrap();
    let tools = node_dir.join("node_modules");
    let bin = tools.join(".bin");
    std::os::unix::fs::symlink(&tools, dir.path().join("node_modules")).unwrap();
    std::fs::write(dir.path().join("package.json"), r#"{"type": "module"}"#).unwrap();
    std::fs::write(
        dir.path().join("tsconfig.json"),
        r#"{"compilerOptions": {"strict": true, "noEmit": true, "target": "es2022", "module": "nodenext",
            "moduleResolution": "nodenext", "skipLibCheck": true, "types": ["node"]}}"#,
    )
    .unwrap();
    std::fs::copy(
        format!("{CI}/sdk/typescript-sdk-e2e.ts"),
        dir.path().join("sdk-e2e.ts"),
    )
    .unwrap();
    run(Command::new(bin.join("openapi-typescript"))
        .arg(SPEC)
        .arg("-o")
        .arg(dir.path().join("schema.d.ts")));
    run(Command::new(bin.join("tsc")).arg("-p").arg(dir.path()));
    let out = run(Command::new(bin.join("tsx"))
        .arg(dir.path().join("sdk-e2e.ts"))
        .current_dir(dir.path())
        .env("JOBCALL_URL", &app.base)
        .env("JOBCALL_TOKEN", &app.client.token)
        .env("JOBCALL_SIGNING_SECRET", &app.client.signing_secret));
    assert_sdk_run_succeeded(&out);
}

const SDK: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/sdk");

/// The committed SDK code is what `sdk/generate.sh` makes of openapi.yaml
/// with the pinned generators.
#[test]
fn the_sdks_are_generated_from_the_spec_as_committed() {
    let Some((_, bin)) = python() else { return };
    let Some(node_dir) = node() else { return };
    let out = run(Command::new(format!("{SDK}/generate.sh"))
        .arg("--check")
        .env("JOBCALL_SDK_PYTHON_BIN", &bin)
        .env("JOBCALL_SDK_NODE_DIR", &node_dir));
    assert!(out.contains("up to date"), "{out}");
}

/// What an SDK's tests need to reach the server.
fn sdk_env(command: &mut Command, app: &TestApp) {
    command
        .env("JOBCALL_URL", &app.base)
        .env("JOBCALL_TOKEN", &app.client.token)
        .env("JOBCALL_CLIENT_ID", app.client.id.as_str())
        .env("JOBCALL_SIGNING_SECRET", &app.client.signing_secret);
}

/// `pip install ./sdk/python` (from a copy, so that the build leaves the
/// checkout clean; no build isolation, so that it needs no download: the
/// tools' virtual environment has the backend and the dependencies), then
/// the package's own tests against a live server.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_python_sdk_installs_and_passes_its_tests() {
    let Some((python, _)) = python() else { return };
    let app = TestApp::spawn(Backend::Sqlite).await;
    let dir = tempfile::tempdir().unwrap();
    run(Command::new("cp")
        .args(["-r", &format!("{SDK}/python")])
        .arg(dir.path().join("source")));
    run(Command::new(&python)
        .args([
            "-m",
            "pip",
            "install",
            "--quiet",
            "--disable-pip-version-check",
        ])
        .args(["--no-deps", "--no-build-isolation", "--target"])
        .arg(dir.path().join("site"))
        .arg(dir.path().join("source")));
    let mut pytest = Command::new(&python);
    pytest
        .args(["-m", "pytest", "-q", "-p", "no:cacheprovider", "tests"])
        .current_dir(dir.path().join("source"))
        // Only the installed package: the copied source is not importable
        // from the tests' folder.
        .env("PYTHONPATH", dir.path().join("site"));
    sdk_env(&mut pytest, &app);
    let out = tokio::task::spawn_blocking(move || run(&mut pytest))
        .await
        .unwrap();
    eprintln!("{}", out.trim());
    assert!(out.contains("5 passed"), "{out}");
}

/// `npm install --install-links ./sdk/typescript` into a project of its
/// own, then the package's own tests (node's test runner) against a live
/// server.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_typescript_sdk_installs_and_passes_its_tests() {
    let Some(_) = node() else { return };
    let app = TestApp::spawn(Backend::Sqlite).await;
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(
        dir.path().join("package.json"),
        r#"{"private": true, "type": "module"}"#,
    )
    .unwrap();
    run(Command::new("npm")
        .args([
            "install",
            "--install-links",
            "--prefer-offline",
            "--no-audit",
            "--no-fund",
        ])
        .args(["--loglevel=error", &format!("{SDK}/typescript")])
        .current_dir(dir.path()));
    std::fs::copy(
        format!("{SDK}/typescript/test/sdk.test.mjs"),
        dir.path().join("sdk.test.mjs"),
    )
    .unwrap();
    let mut test = Command::new("node");
    test.args(["--test", "sdk.test.mjs"])
        .current_dir(dir.path());
    sdk_env(&mut test, &app);
    let out = tokio::task::spawn_blocking(move || run(&mut test))
        .await
        .unwrap();
    eprintln!("{}", out.trim());
    assert!(
        out.contains("# pass 5") && out.contains("# fail 0"),
        "{out}"
    );
}

/// Every name resolves to 127.0.0.1 at once: fuzzed URLs neither wait on
/// DNS nor leave the machine (the test settings allow loopback, and nothing
/// listens on the ports they name, so their requests are refused at once).
struct Loopback;

impl NameResolver for Loopback {
    fn lookup(
        &self,
        _host: &str,
    ) -> futures::future::BoxFuture<'static, std::io::Result<Vec<std::net::IpAddr>>> {
        Box::pin(async { Ok(vec![std::net::IpAddr::from([127, 0, 0, 1])]) })
    }
}

/// schemathesis with all its checks (`ci/schemathesis.toml` says which one
/// it leaves out on which three operations, and why), `GET /openapi.yaml`
/// included (its YAML body is described both as text and as the parsed
/// document, so that ST108 agrees).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn schemathesis_finds_no_failure() {
    let Some((_, bin)) = python() else { return };
    let customize = Customize {
        resolver: std::sync::Arc::new(Loopback),
        ..Customize::default()
    };
    let app = TestApp::spawn_with(Backend::Sqlite, |_| {}, customize).await;
    let dir = tempfile::tempdir().unwrap();
    let report = dir.path().join("junit.xml");
    let output = Command::new(bin.join("schemathesis"))
        .args(["--config-file", &format!("{CI}/schemathesis.toml")])
        .arg("run")
        .arg(app.url("/openapi.yaml"))
        .args(["-H", &format!("Authorization: Bearer {}", app.client.token)])
        // No --checks: schemathesis runs all of them by default (naming them
        // on the command line would also override the config file's
        // per-operation exception).
        .args(["--max-examples", "100", "--workers", "2", "--seed", "7"])
        .args(["--report", "junit", "--report-junit-path"])
        .arg(&report)
        // A workaround for a CPython 3.11.7 bug, see the module.
        .env("SCHEMATHESIS_HOOKS", "schemathesis_hooks")
        .env("PYTHONPATH", concat!(env!("CARGO_MANIFEST_DIR"), "/ci"))
        .env("HYPOTHESIS_STORAGE_DIRECTORY", dir.path())
        .current_dir(dir.path())
        .output()
        .unwrap();
    let stdout = String::from_utf8_lossy(&output.stdout);
    let summary: Vec<&str> = stdout
        .lines()
        .filter(|l| {
            l.contains("generated") || l.contains("Operations:") || l.contains("Scenarios:")
        })
        .collect();
    eprintln!(
        "schemathesis: {}",
        summary
            .join(" | ")
            .split_whitespace()
            .collect::<Vec<_>>()
            .join(" ")
    );
    assert!(
        output.status.success(),
        "schemathesis found failures:\n{stdout}\n{}",
        String::from_utf8_lossy(&output.stderr)
    );
    assert!(Path::new(&report).exists());
}

/// An SDK script's last line reports its run: the job succeeded and both
/// callbacks passed the official verifier.
fn assert_sdk_run_succeeded(out: &str) {
    let report: Value = serde_json::from_str(out.trim().lines().last().unwrap()).unwrap();
    assert_eq!(report["status"], "succeeded", "{out}");
    assert_eq!(
        report["verified_events"],
        json!(["job.started", "job.succeeded"])
    );
}
