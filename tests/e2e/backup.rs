//! `jobcall backup PATH`: a consistent copy of the SQLite database, taken
//! while the service runs and writes, that starts as it is.

use std::process::{Command, Stdio};

use serde_json::{Value, json};

use crate::support::{
    Backend,
    deployment::Deployment,
    process::{BINARY, ServerProcess, log_file, run},
};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_backup_taken_while_the_service_writes_starts_as_it_is() {
    let deployment = Deployment::new(&Backend::Sqlite, &[]).await;
    let mut server = deployment.start("serve", "serve").await;
    let base = server.base.clone();
    let mut before = Vec::new();
    for i in 0..20 {
        let job = deployment
            .try_submit(&base, &json!({"kind": "echo", "input": {"message": i}}))
            .await
            .unwrap();
        before.push(job["id"].as_str().unwrap().to_owned());
    }
    for id in &before {
        deployment.finished(&base, id, 10).await;
    }
    // Submissions go on while the copy is taken.
    let writing = {
        let (http, base, token) = (
            deployment.http.clone(),
            base.clone(),
            deployment.token.clone(),
        );
        tokio::spawn(async move {
            for _ in 0..200 {
                let response = http
                    .post(format!("{base}/v1/jobs"))
                    .bearer_auth(&token)
                    .json(&json!({"kind": "echo"}))
                    .send()
                    .await
                    .unwrap();
                assert_eq!(response.status(), reqwest::StatusCode::ACCEPTED);
            }
        })
    };
    let copy = deployment.dir.path().join("backup.db");
    let printed = run(&["backup", copy.to_str().unwrap()], &deployment.env);
    assert_eq!(printed.trim(), copy.to_str().unwrap());
    writing.await.unwrap();
    // A backup never overwrites a file.
    let again = Command::new(BINARY)
        .args(["backup", copy.to_str().unwrap()])
        .env_clear()
        .envs(deployment.env.iter().map(|(k, v)| (k, v)))
        .stdin(Stdio::null())
        .output()
        .unwrap();
    assert!(!again.status.success());
    assert!(String::from_utf8_lossy(&again.stderr).contains("exists already"));
    server.terminate().await;

    let restored_dir = tempfile::tempdir().unwrap();
    let mut env = deployment.env.clone();
    env.retain(|(key, _)| key != "JOBCALL_DATABASE_URL" && key != "JOBCALL_DATA_DIR");
    env.push((
        "JOBCALL_DATABASE_URL".into(),
        format!("sqlite://{}", copy.display()),
    ));
    env.push((
        "JOBCALL_DATA_DIR".into(),
        restored_dir.path().to_str().unwrap().into(),
    ));
    let mut restored =
        ServerProcess::start("serve", env, &log_file(restored_dir.path(), "restored")).await;
    for id in &before {
        let job: Value = deployment.job(&restored.base, id, 0).await;
        assert_eq!(job["status"], "succeeded", "{job}");
    }
    let listed: Value = deployment
        .http
        .get(format!("{}/v1/jobs?limit=100", restored.base))
        .bearer_auth(&deployment.token)
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert!(listed["data"].as_array().unwrap().len() >= 20, "{listed}");
    let submitted = deployment
        .try_submit(&restored.base, &json!({"kind": "echo"}))
        .await
        .unwrap();
    deployment
        .finished(&restored.base, submitted["id"].as_str().unwrap(), 10)
        .await;
    restored.terminate().await;
}
