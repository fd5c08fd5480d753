//! Scale-out on PostgreSQL: several API and worker processes on one
//! database; a worker killed; PostgreSQL restarted under load. And SIGTERM:
//! running attempts finish within the grace period, the rest are handed back.

use std::{
    collections::{HashMap, HashSet},
    sync::{Arc, Mutex},
    time::{Duration, Instant},
};

use serde_json::{Value, json};

use crate::{
    e2e,
    support::{
        Backend, Receiver, cluster::Cluster, deployment::Deployment, eventually, process::log_lines,
    },
};

/// Submits jobs round-robin to `bases` from 4 tasks until `stop`; the ids
/// of the accepted ones land in `accepted`. Refusals and errors (a restarting
/// database) are skipped: only a 202 counts.
fn submit_until(
    deployment: &Deployment,
    bases: Vec<String>,
    body: Value,
    accepted: Arc<Mutex<Vec<String>>>,
    stop: tokio_util::sync::CancellationToken,
) -> Vec<tokio::task::JoinHandle<()>> {
    (0..4)
        .map(|n| {
            let (http, token, bases, body, accepted, stop) = (
                deployment.http.clone(),
                deployment.token.clone(),
                bases.clone(),
                body.clone(),
                accepted.clone(),
                stop.clone(),
            );
            tokio::spawn(async move {
                let mut i = n;
                while !stop.is_cancelled() {
                    let base = &bases[i % bases.len()];
                    i += 1;
                    let sent = http
                        .post(format!("{base}/v1/jobs"))
                        .bearer_auth(&token)
                        .json(&body)
                        .send()
                        .await;
                    match sent {
                        Ok(response) if response.status() == 202 => {
                            let job: Value = response.json().await.unwrap();
                            accepted
                                .lock()
                                .unwrap()
                                .push(job["id"].as_str().unwrap().to_owned());
                        }
                        _ => tokio::time::sleep(Duration::from_millis(50)).await,
                    }
                }
            })
        })
        .collect()
}

/// job id → the event types the receiver got for it.
fn events_by_job(receiver: &Receiver) -> HashMap<String, Vec<String>> {
    let mut events: HashMap<String, Vec<String>> = HashMap::new();
    for callback in receiver.received() {
        let body = callback.json();
        events
            .entry(body["data"]["id"].as_str().unwrap_or_default().to_owned())
            .or_default()
            .push(body["type"].as_str().unwrap_or_default().to_owned());
    }
    events
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn two_apis_and_three_workers_run_every_job_once() {
    let Some(backend) = Backend::postgres() else {
        return;
    };
    let deployment = Deployment::new(&backend, &[]).await;
    let receiver = Receiver::start().await;
    let apis = [
        deployment.start("api", "api-1").await,
        deployment.start("api", "api-2").await,
    ];
    let workers = [
        deployment.start("worker", "worker-1").await,
        deployment.start("worker", "worker-2").await,
        deployment.start("worker", "worker-3").await,
    ];
    let started = Instant::now();
    let mut ids = Vec::new();
    for i in 0..300 {
        let body = json!({
            "kind": "echo",
            "input": {"message": i, "delay_ms": 20},
            "callback_url": receiver.url("/hook"),
            "callback_events": ["job.started", "job.succeeded"]
        });
        let job = deployment
            .try_submit(&apis[i % 2].base, &body)
            .await
            .expect("accepted");
        ids.push(job["id"].as_str().unwrap().to_owned());
    }
    let deadline = Instant::now() + Duration::from_secs(60);
    let events = loop {
        let events = events_by_job(&receiver);
        if ids.iter().all(|id| {
            events
                .get(id)
                .is_some_and(|e| e.iter().any(|t| t == "job.succeeded"))
        }) {
            break events;
        }
        if Instant::now() > deadline {
            let missing: Vec<_> = ids
                .iter()
                .filter(|id| {
                    !events
                        .get(*id)
                        .is_some_and(|e| e.iter().any(|t| t == "job.succeeded"))
                })
                .collect();
            let job = deployment.job(&apis[0].base, missing[0], 0).await;
            panic!(
                "{} jobs lack job.succeeded, e.g. {job}; their events: {:?}",
                missing.len(),
                events.get(missing[0])
            );
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    };
    let elapsed = started.elapsed();
    for id in &ids {
        if events[id] != ["job.started", "job.succeeded"] {
            for process in apis.iter().chain(&workers) {
                for line in log_lines(&process.log) {
                    if line["level"] != "INFO" || line.to_string().contains(id.as_str()) {
                        eprintln!("{}: {line}", process.base);
                    }
                }
            }
            let hooks: Vec<_> = receiver
                .received()
                .iter()
                .filter(|r| r.json()["data"]["id"] == id.as_str())
                .map(|r| r.header("webhook-id").to_owned())
                .collect();
            eprintln!("webhook ids: {hooks:?}");
        }
        assert_eq!(
            events[id],
            ["job.started", "job.succeeded"],
            "{id}: each event once, in order"
        );
        let job = deployment.job(&apis[1].base, id, 0).await;
        assert_eq!(
            (job["status"].as_str(), job["attempts"].as_i64()),
            (Some("succeeded"), Some(1)),
            "{job}"
        );
    }
    let per_worker: Vec<usize> = workers
        .iter()
        .map(|w| {
            log_lines(&w.log)
                .iter()
                .filter(|l| l["message"] == "attempt succeeded")
                .count()
        })
        .collect();
    assert_eq!(per_worker.iter().sum::<usize>(), 300, "{per_worker:?}");
    assert!(
        per_worker.iter().filter(|n| **n > 0).count() >= 2,
        "the work was not shared: {per_worker:?}"
    );
    eprintln!(
        "2 api + 3 worker processes: 300 jobs, 600 callbacks, each exactly once, in {:.1} s; attempts per worker {per_worker:?}",
        elapsed.as_secs_f64()
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_killed_worker_has_its_jobs_taken_over() {
    let Some(backend) = Backend::postgres() else {
        return;
    };
    // One client here: it may use every worker (see "Fair shares" in the README).
    let deployment = Deployment::new(
        &backend,
        &[
            ("JOBCALL_WORKER_CONCURRENCY", "10"),
            ("JOBCALL_WORKER_MAX_PER_CLIENT", "10"),
        ],
    )
    .await;
    let receiver = Receiver::start().await;
    let api = deployment.start("api", "api").await;
    let mut doomed = deployment.start("worker", "worker-1").await;
    let mut ids = Vec::new();
    for _ in 0..10 {
        let body = json!({"kind": "echo", "input": {"delay_ms": 4000}, "callback_url": receiver.url("/hook")});
        ids.push(
            deployment.try_submit(&api.base, &body).await.unwrap()["id"]
                .as_str()
                .unwrap()
                .to_owned(),
        );
    }
    eventually(15, "the doomed worker to run every job", || async {
        for id in &ids {
            if deployment.job(&api.base, id, 0).await["status"] != "running" {
                return None;
            }
        }
        Some(())
    })
    .await;
    let _survivor = deployment.start("worker", "worker-2").await;
    doomed.kill9();
    let killed = Instant::now();
    let taken_over = eventually(30, "every job to run again", || async {
        for id in &ids {
            if deployment.job(&api.base, id, 0).await["attempts"] != 2 {
                return None;
            }
        }
        Some(killed.elapsed())
    })
    .await;
    for id in &ids {
        let job = deployment.finished(&api.base, id, 30).await;
        assert_eq!(
            (job["status"].as_str(), job["attempts"].as_i64()),
            (Some("succeeded"), Some(2)),
            "{job}"
        );
    }
    let events = eventually(20, "every callback", || async {
        let events = events_by_job(&receiver);
        ids.iter()
            .all(|id| events.contains_key(id))
            .then_some(events)
    })
    .await;
    assert!(ids.iter().all(|id| events[id] == ["job.succeeded"]));
    eprintln!(
        "kill -9 of a worker with 10 running jobs (JOBCALL_WORKER_TAKEOVER_MS=2000): all taken over {:.2} s after the kill",
        taken_over.as_secs_f64()
    );
    assert!(taken_over < Duration::from_secs(8), "{taken_over:?}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_postgresql_restart_mid_run_loses_no_accepted_job() {
    let Some(cluster) = Cluster::start() else {
        return;
    };
    let deployment = Deployment::new(&cluster.backend(), &[]).await;
    let receiver = Receiver::start().await;
    let api = deployment.start("api", "api").await;
    let worker = deployment.start("worker", "worker").await;
    let accepted = Arc::new(Mutex::new(Vec::new()));
    let stop = tokio_util::sync::CancellationToken::new();
    let body =
        json!({"kind": "echo", "input": {"delay_ms": 100}, "callback_url": receiver.url("/hook")});
    let submitters = submit_until(
        &deployment,
        vec![api.base.clone()],
        body,
        accepted.clone(),
        stop.clone(),
    );
    eventually(20, "jobs flowing", || async {
        (accepted.lock().unwrap().len() >= 100).then_some(())
    })
    .await;

    let before = accepted.lock().unwrap().len();
    let restarting = Instant::now();
    cluster.restart();
    let restarted_in = restarting.elapsed();
    eventually(30, "submissions to be accepted again", || async {
        (accepted.lock().unwrap().len() >= before + 100).then_some(())
    })
    .await;
    let recovered = restarting.elapsed();
    stop.cancel();
    for submitter in submitters {
        submitter.await.unwrap();
    }
    let accepted = accepted.lock().unwrap().clone();
    let unique: HashSet<_> = accepted.iter().collect();
    assert_eq!(unique.len(), accepted.len());
    for id in &accepted {
        let job = deployment.finished(&api.base, id, 60).await;
        assert_eq!(job["status"], "succeeded", "{job}");
    }
    eventually(60, "a callback for every accepted job", || async {
        let events = events_by_job(&receiver);
        accepted
            .iter()
            .all(|id| events.contains_key(id))
            .then_some(())
    })
    .await;
    for process in [&api, &worker] {
        let ready = deployment
            .http
            .get(format!("{}/readyz", process.base))
            .send()
            .await
            .unwrap();
        assert_eq!(ready.status(), 200, "{} did not recover", process.base);
    }
    eprintln!(
        "PostgreSQL restarted under load ({:.1} s): {} jobs accepted before, {} in all; submissions accepted again {:.1} s after the restart began; every job succeeded and called back, no process restarted",
        restarted_in.as_secs_f64(),
        before,
        accepted.len(),
        recovered.as_secs_f64()
    );
}

e2e! {
    async fn sigterm_lets_running_attempts_finish(backend: Backend) {
        let deployment = Deployment::new(&backend, &[("JOBCALL_WORKER_SHUTDOWN_GRACE_MS", "5000")]).await;
        let mut server = deployment.start("serve", "serve").await;
        let job = deployment.try_submit(&server.base, &json!({"kind": "echo", "input": {"delay_ms": 1500}})).await.unwrap();
        let id = job["id"].as_str().unwrap().to_owned();
        eventually(10, "the job to run", || async { (deployment.job(&server.base, &id, 0).await["status"] == "running").then_some(()) }).await;
        let stopping = Instant::now();
        assert_eq!(server.terminate().await, Some(0));
        let stopped_in = stopping.elapsed();
        assert!(stopped_in < Duration::from_secs(5), "{stopped_in:?}");
        let mut again = deployment.start("serve", "serve-again").await;
        let job = deployment.job(&again.base, &id, 0).await;
        assert_eq!((job["status"].as_str(), job["attempts"].as_i64()), (Some("succeeded"), Some(1)), "it finished before the exit: {job}");
        assert_eq!(again.terminate().await, Some(0));
        eprintln!("SIGTERM with a running job: it finished, exit 0 after {:.2} s", stopped_in.as_secs_f64());
    }
}

e2e! {
    async fn sigterm_hands_back_attempts_that_outlast_the_grace_period(backend: Backend) {
        let deployment = Deployment::new(&backend, &[("JOBCALL_WORKER_SHUTDOWN_GRACE_MS", "1000")]).await;
        let mut server = deployment.start("serve", "serve").await;
        let job = deployment.try_submit(&server.base, &json!({"kind": "echo", "input": {"delay_ms": 6000}})).await.unwrap();
        let id = job["id"].as_str().unwrap().to_owned();
        eventually(10, "the job to run", || async { (deployment.job(&server.base, &id, 0).await["status"] == "running").then_some(()) }).await;
        let stopping = Instant::now();
        assert_eq!(server.terminate().await, Some(0));
        let stopped_in = stopping.elapsed();
        assert!(stopped_in < Duration::from_secs(4), "{stopped_in:?}");
        let again = deployment.start("serve", "serve-again").await;
        let handed_back = deployment.job(&again.base, &id, 0).await;
        assert!(["queued", "running"].contains(&handed_back["status"].as_str().unwrap()), "{handed_back}");
        let done = deployment.finished(&again.base, &id, 30).await;
        assert_eq!((done["status"].as_str(), done["attempts"].as_i64()), (Some("succeeded"), Some(1)), "a handed-back attempt does not count: {done}");
        eprintln!("SIGTERM with a job longer than the 1 s grace: handed back, exit 0 after {:.2} s, run again after the restart", stopped_in.as_secs_f64());
    }
}

e2e! {
    async fn every_role_exits_cleanly_on_sigterm(backend: Backend) {
        let deployment = Deployment::new(&backend, &[]).await;
        for role in ["api", "worker", "serve"] {
            let mut process = deployment.start(role, role).await;
            assert_eq!(process.terminate().await, Some(0), "{role}");
        }
    }
}
