//! `kill -9` at the worst moments: nothing accepted is lost, running work is
//! taken over, callbacks still arrive.

use std::{
    sync::{Arc, Mutex},
    time::{Duration, Instant},
};

use serde_json::{Value, json};

use crate::{
    e2e,
    support::{Backend, Receiver, Reply, deployment::Deployment, eventually},
};

e2e! {
    async fn kill_9_while_jobs_are_submitted_and_run_loses_nothing(backend: Backend) {
        let deployment = Deployment::new(&backend, &[]).await;
        let receiver = Receiver::start().await;
        let mut server = deployment.start("serve", "serve").await;
        let accepted = Arc::new(Mutex::new(Vec::<String>::new()));
        let base = server.base.clone();
        let submitters: Vec<_> = (0..8)
            .map(|_| {
                let accepted = accepted.clone();
                let deployment_token = deployment.token.clone();
                let http = deployment.http.clone();
                let base = base.clone();
                let body = json!({"kind": "echo", "input": {"delay_ms": 50}, "callback_url": receiver.url("/hook")});
                tokio::spawn(async move {
                    loop {
                        let sent = http.post(format!("{base}/v1/jobs")).bearer_auth(&deployment_token).json(&body).send().await;
                        match sent {
                            Ok(response) if response.status() == 202 => {
                                let job: Value = response.json().await.unwrap();
                                accepted.lock().unwrap().push(job["id"].as_str().unwrap().to_owned());
                            }
                            // The server is gone: the request was not accepted.
                            _ => return,
                        }
                    }
                })
            })
            .collect();
        eventually(20, "some accepted jobs", || async { (accepted.lock().unwrap().len() >= 150).then_some(()) }).await;
        server.kill9();
        for submitter in submitters {
            submitter.await.unwrap();
        }
        let accepted = accepted.lock().unwrap().clone();
        let delivered_before = receiver.received().len();

        server.restart().await;
        for id in &accepted {
            let job = deployment.finished(&server.base, id, 60).await;
            assert_eq!(job["status"], "succeeded", "{job}");
        }
        let delivered = eventually(60, "a callback for every accepted job", || async {
            let received = receiver.received();
            let ids: std::collections::HashSet<String> = received
                .iter()
                .filter(|r| r.event_type() == "job.succeeded")
                .map(|r| r.json()["data"]["id"].as_str().unwrap().to_owned())
                .collect();
            accepted.iter().all(|id| ids.contains(id)).then_some(received.len())
        })
        .await;
        eprintln!(
            "kill -9 during load: {} jobs accepted, all found and succeeded after restart; {} callbacks before the kill, {} after (at-least-once: {} duplicates)",
            accepted.len(),
            delivered_before,
            delivered,
            delivered - accepted.len()
        );
    }
}

e2e! {
    async fn a_job_whose_worker_is_killed_is_taken_over(backend: Backend) {
        let deployment = Deployment::new(&backend, &[]).await;
        let mut server = deployment.start("serve", "serve").await;
        let job = deployment
            .try_submit(&server.base, &json!({"kind": "echo", "input": {"delay_ms": 3000}}))
            .await
            .unwrap();
        let id = job["id"].as_str().unwrap().to_owned();
        eventually(10, "the job to run", || async {
            (deployment.job(&server.base, &id, 0).await["status"] == "running").then_some(())
        })
        .await;
        server.kill9();
        let killed = Instant::now();
        server.restart().await;
        let restarted = killed.elapsed();
        eventually(20, "the job to run again", || async {
            let job = deployment.job(&server.base, &id, 0).await;
            (job["attempts"] == 2 && job["status"] == "running").then_some(())
        })
        .await;
        let taken_over = killed.elapsed();
        let done = deployment.finished(&server.base, &id, 30).await;
        assert_eq!(done["status"], "succeeded");
        assert_eq!(done["attempts"], 2, "the lost attempt counts");
        eprintln!(
            "takeover after kill -9 (JOBCALL_WORKER_TAKEOVER_MS=2000): restarted in {:.2} s, the job ran again {:.2} s after the kill",
            restarted.as_secs_f64(),
            taken_over.as_secs_f64()
        );
        assert!(taken_over < Duration::from_secs(8), "{taken_over:?}");
    }
}

e2e! {
    async fn a_delivery_cut_off_by_kill_9_is_sent_again(backend: Backend) {
        let deployment = Deployment::new(&backend, &[]).await;
        let receiver = Receiver::start().await;
        receiver.script([Reply::Hang]);
        let mut server = deployment.start("serve", "serve").await;
        let job = deployment
            .try_submit(&server.base, &json!({"kind": "echo", "callback_url": receiver.url("/hook")}))
            .await
            .unwrap();
        let first = receiver.wait_for(1, 10).await.remove(0);
        server.kill9();
        let killed = Instant::now();
        server.restart().await;
        let again = receiver.wait_for(2, 20).await.remove(1);
        assert_eq!(again.header("webhook-id"), first.header("webhook-id"));
        assert_eq!(again.json()["data"]["id"], job["id"]);
        eprintln!("a delivery cut off by kill -9 was sent again {:.2} s after the kill", killed.elapsed().as_secs_f64());
        eventually(10, "the callback to be delivered", || async {
            let job = deployment.job(&server.base, job["id"].as_str().unwrap(), 0).await;
            (job["callback"]["state"] == "delivered").then_some(())
        })
        .await;
    }
}

e2e! {
    async fn a_retry_schedule_survives_kill_9(backend: Backend) {
        let deployment = Deployment::new(&backend, &[("JOBCALL_CALLBACK_INITIAL_BACKOFF_MS", "3000"), ("JOBCALL_CALLBACK_MAX_BACKOFF_MS", "3000")]).await;
        let receiver = Receiver::start().await;
        receiver.script([Reply::Status(500)]);
        let mut server = deployment.start("serve", "serve").await;
        let job = deployment
            .try_submit(&server.base, &json!({"kind": "echo", "callback_url": receiver.url("/hook")}))
            .await
            .unwrap();
        let id = job["id"].as_str().unwrap().to_owned();
        eventually(10, "a failed first attempt", || async {
            (deployment.job(&server.base, &id, 0).await["callback"]["state"] == "failing").then_some(())
        })
        .await;
        server.kill9();
        server.restart().await;
        let received = receiver.wait_for(2, 20).await;
        assert_eq!(received[0].header("webhook-id"), received[1].header("webhook-id"));
        let gap = received[1].at - received[0].at;
        assert!(gap >= Duration::from_millis(2300), "the retry kept its schedule: {gap:?}");
    }
}
