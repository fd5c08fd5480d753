//! The worker loop against a real SQLite database: submit, run, retry,
//! cancel, take over. (The HTTP API is tested end to end in the workspace's
//! `tests/`.)

use std::{sync::Arc, time::Duration};

use jobcall_entity::{ClientId, JobStatus, job};
use jobcall_jobs::{
    clients::SecretsCache,
    config::DomainSettings,
    job::{JobSpec, NewJob, Submission, Submitted, find_job},
    kinds::Registry,
    outbound::{Guard, Outbound, SystemResolver},
    queue::{ExecuteTask, Queue},
    services::Services,
    signals::Signals,
    store::{Database, DatabaseOptions, Pools, RequeueTask, TaskRef, Writer},
    time::Clock,
    worker::{WorkerRuntime, Workers},
};
use jobcall_migration::{Migrator, MigratorTrait};
use serde_json::json;

struct Harness {
    _dir: tempfile::TempDir,
    db: Database,
    writer: Writer,
    registry: Registry,
    guard: Guard,
    settings: DomainSettings,
    runtime: Arc<WorkerRuntime>,
    workers: Option<Workers>,
}

async fn harness() -> Harness {
    harness_with(true).await
}

async fn harness_with(start_workers: bool) -> Harness {
    let dir = tempfile::tempdir().unwrap();
    let url = format!("sqlite://{}", dir.path().join("test.db").display());
    let db = Database::connect(&DatabaseOptions {
        url,
        max_connections: 4,
        sqlite_synchronous_full: false,
    })
    .await
    .unwrap();
    Migrator::up(&db.schema_connection(), None).await.unwrap();
    let signals = Signals::new(Clock::system());
    let writer = Writer::start(db.clone(), signals.clone());
    let mut settings = DomainSettings::default();
    settings.worker.retry_backoff.initial = Duration::from_millis(50);
    settings.worker.takeover = Duration::from_secs(2);
    let guard = Guard::new(settings.outbound.clone(), Arc::new(SystemResolver));
    let outbound = Outbound::new(guard.clone(), "test");
    let registry = Registry::builtin(&outbound);
    let runtime = WorkerRuntime::new(Services {
        db: db.clone(),
        writer: writer.clone(),
        signals,
        registry: registry.clone(),
        settings: settings.clone(),
        outbound,
        secrets: SecretsCache::new(
            jobcall_jobs::secrets::EncryptionKey::generate(),
            Clock::system(),
        ),
        metrics: Default::default(),
        clock: Clock::system(),
    });
    let workers = start_workers.then(|| Workers::start(runtime.clone()));
    Harness {
        _dir: dir,
        db,
        writer,
        registry,
        guard,
        settings,
        runtime,
        workers,
    }
}

impl Harness {
    async fn submit(&self, new: NewJob) -> job::Model {
        let spec = JobSpec::parse(new, &self.registry, &self.guard, &self.settings.limits)
            .await
            .unwrap();
        match self
            .writer
            .run(Submission::new(client(), spec, None, None))
            .await
            .unwrap()
        {
            Submitted::Created(job, _) => job,
            other => panic!("{other:?}"),
        }
    }

    async fn wait_for(&self, job: &job::Model, status: JobStatus) -> job::Model {
        for _ in 0..200 {
            let current = find_job(&self.db, &client(), &job.id)
                .await
                .unwrap()
                .unwrap();
            if current.status == status {
                return current;
            }
            tokio::time::sleep(Duration::from_millis(25)).await;
        }
        panic!("job never reached {status:?}");
    }

    /// The ids of the tasks in apalis's queue table.
    async fn queue_tasks(&self) -> Vec<String> {
        let Pools::Sqlite { readers, .. } = self.db.pools() else {
            unreachable!("the harness runs on SQLite")
        };
        sqlx::query_scalar("SELECT id FROM Jobs ORDER BY id")
            .fetch_all(readers)
            .await
            .unwrap()
    }
}

fn client() -> ClientId {
    ClientId::parse("cli_01JD3XQZ8Z8Z8Z8Z8Z8Z8Z8Z8Z").unwrap()
}

fn echo(input: serde_json::Value) -> NewJob {
    NewJob {
        kind: "echo".into(),
        input,
        ..NewJob::default()
    }
}

#[tokio::test]
async fn a_submitted_job_runs_to_success() {
    let h = harness().await;
    let started = std::time::Instant::now();
    let job = h.submit(echo(json!({"message": "hi"}))).await;
    let done = h.wait_for(&job, JobStatus::Succeeded).await;
    assert_eq!(done.result, Some(json!({"message": "hi"})));
    assert_eq!(done.attempts, 1);
    assert!(
        started.elapsed() < Duration::from_secs(2),
        "{:?}",
        started.elapsed()
    );
    h.workers.unwrap().shutdown().await;
}

#[tokio::test]
async fn retryable_failures_are_retried_until_they_succeed() {
    let h = harness().await;
    let job = h
        .submit(NewJob {
            max_attempts: Some(3),
            ..echo(json!({"fail": "flaky", "retryable": true, "fail_attempts": 2}))
        })
        .await;
    let done = h.wait_for(&job, JobStatus::Succeeded).await;
    assert_eq!(done.attempts, 3);
}

#[tokio::test]
async fn permanent_failures_fail_at_once() {
    let h = harness().await;
    let job = h.submit(echo(json!({"fail": "nope"}))).await;
    let done = h.wait_for(&job, JobStatus::Failed).await;
    assert_eq!(done.attempts, 1);
    assert_eq!(done.error_code.as_deref(), Some("echo_failed"));
}

#[tokio::test]
async fn a_handled_task_leaves_the_queue_with_the_outcome() {
    let h = harness().await;
    let succeeds = h.submit(echo(json!({"message": "hi"}))).await;
    let retried = h
        .submit(NewJob {
            max_attempts: Some(2),
            ..echo(json!({"fail": "flaky", "retryable": true, "fail_attempts": 1}))
        })
        .await;
    let fails = h.submit(echo(json!({"fail": "nope"}))).await;
    h.wait_for(&succeeds, JobStatus::Succeeded).await;
    h.wait_for(&retried, JobStatus::Succeeded).await;
    h.wait_for(&fails, JobStatus::Failed).await;
    // Each outcome retired its task in the same transaction: nothing is
    // left for apalis to acknowledge or to hand out again.
    assert_eq!(h.queue_tasks().await, Vec::<String>::new());
}

#[tokio::test]
async fn a_requeued_task_replaces_the_old_one_and_runs() {
    let mut h = harness_with(false).await;
    let job = h.submit(echo(json!({"message": "again"}))).await;
    let before = h.queue_tasks().await;
    assert_eq!(before.len(), 1);
    h.writer
        .run(RequeueTask {
            queue: Queue::Execute,
            args: ExecuteTask::new(job.id.clone(), job.client_id.clone()),
            task: TaskRef(before[0].clone()),
            delay: Duration::ZERO,
            priority: jobcall_jobs::store::TOP_PRIORITY,
        })
        .await
        .unwrap();
    let after = h.queue_tasks().await;
    assert_eq!(after.len(), 1);
    assert_ne!(after, before);

    h.workers = Some(Workers::start(h.runtime.clone()));
    let done = h.wait_for(&job, JobStatus::Succeeded).await;
    assert_eq!(done.attempts, 1);
    assert_eq!(h.queue_tasks().await, Vec::<String>::new());
}
