//! The write path. Every [`WriteOp`] goes through one [`Writer`], which
//! answers its caller only after the op's transaction committed, so an
//! acknowledged write is durable.
//!
//! - SQLite has one writer connection; the writer runs every op that arrived
//!   while the previous transaction was committing in one new transaction,
//!   each op in its own savepoint (group commit). Under load many small
//!   commits become few large ones; when idle an op commits alone, at once.
//! - PostgreSQL runs transactions side by side. There, grouping ops that
//!   lock existing rows could lock two jobs in opposite orders in two
//!   processes and deadlock, so only ops that declare [`WriteOp::BATCHES`]
//!   (they only insert new rows) share a transaction, in a lane of their
//!   own; every other op commits on its own, concurrently with the rest.
//!   Deadlock and serialization failures are retried.

use std::{collections::VecDeque, future::Future, sync::Arc};

use futures::future::BoxFuture;
use tokio::sync::{Semaphore, mpsc, oneshot};
use tracing::{debug, error, warn};

use super::{Database, Pools, StoreError, WriteTx};
use crate::signals::{Signal, Signals};

/// One unit of writing: its statements run in a transaction of the writer's
/// and commit with whatever else is in that transaction.
///
/// `apply` must only talk to the database through `tx`: waiting for anything
/// else (another write, the network) would hold up other writes. It may run
/// more than once (a retried transaction), hence `Clone`.
pub trait WriteOp: Clone + Send + 'static {
    type Output: Send + 'static;

    /// True for ops that only insert new rows (or end queue tasks their
    /// worker holds): they may share a transaction with others on
    /// PostgreSQL without risk of a lock-order deadlock.
    const BATCHES: bool = false;

    fn apply(
        self,
        tx: &mut WriteTx,
    ) -> impl Future<Output = Result<Self::Output, StoreError>> + Send;
}

/// The most ops one transaction takes.
const MAX_BATCH: usize = 512;
/// The most ops that are not [`WriteOp::BATCHES`] one SQLite transaction
/// takes (see [`group_commit_loop`]).
const MAX_SERIAL_OPS: usize = 16;
/// PostgreSQL: how many batch transactions may commit at once.
const BATCHES_IN_FLIGHT: usize = 2;
/// How often a transaction is retried after a deadlock or serialization failure.
const MAX_TRIES: usize = 4;

/// A handle to the write path. Cheap to clone.
#[derive(Clone)]
pub struct Writer {
    ops: mpsc::Sender<Box<dyn Pending>>,
    /// Where [`WriteOp::BATCHES`] ops go: the same channel as `ops` on
    /// SQLite, a lane of their own on PostgreSQL.
    batching_ops: mpsc::Sender<Box<dyn Pending>>,
}

impl std::fmt::Debug for Writer {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Writer").finish_non_exhaustive()
    }
}

impl Writer {
    /// Starts the write loop. It ends once every handle is dropped.
    pub fn start(db: Database, signals: Signals) -> Self {
        let (ops, queue) = mpsc::channel(MAX_BATCH * 4);
        match db.pools() {
            Pools::Sqlite { .. } => {
                tokio::spawn(group_commit_loop(db, signals, queue));
                Self {
                    batching_ops: ops.clone(),
                    ops,
                }
            }
            Pools::Postgres(pool) => {
                // Leave connections for readers and the queue workers.
                let parallel = (pool.options().get_max_connections() as usize / 2).max(2);
                let (batching_ops, batching_queue) = mpsc::channel(MAX_BATCH * 4);
                tokio::spawn(batch_loop(db.clone(), signals.clone(), batching_queue));
                tokio::spawn(concurrent_loop(db, signals, queue, parallel));
                Self { ops, batching_ops }
            }
        }
    }

    /// Runs `op` and returns its output once its transaction has committed.
    pub async fn run<O: WriteOp>(&self, op: O) -> Result<O::Output, StoreError> {
        let (reply, answer) = oneshot::channel();
        let pending = Box::new(PendingOp {
            op,
            result: None,
            reply,
        });
        let lane = if O::BATCHES {
            &self.batching_ops
        } else {
            &self.ops
        };
        lane.send(pending)
            .await
            .map_err(|_| StoreError::WriterStopped)?;
        answer.await.map_err(|_| StoreError::WriterStopped)?
    }
}

/// SQLite: one transaction at a time, holding everything that queued up,
/// except that ops which are not [`WriteOp::BATCHES`] (the workers' claims
/// and outcomes, a few statements each) are taken at most
/// [`MAX_SERIAL_OPS`] a transaction. Batching ops (new jobs, mostly) cost
/// next to nothing each, so they all go in: under load, a submission waits
/// for one short transaction, not behind a long line of worker writes.
async fn group_commit_loop(
    db: Database,
    signals: Signals,
    mut queue: mpsc::Receiver<Box<dyn Pending>>,
) {
    let mut held: VecDeque<Box<dyn Pending>> = VecDeque::new();
    let mut arrived: Vec<Box<dyn Pending>> = Vec::with_capacity(MAX_BATCH);
    loop {
        if held.is_empty() {
            if queue.recv_many(&mut arrived, MAX_BATCH).await == 0 {
                break;
            }
        } else {
            while arrived.len() < MAX_BATCH
                && let Ok(op) = queue.try_recv()
            {
                arrived.push(op);
            }
        }
        let mut group = Vec::with_capacity(arrived.len() + MAX_SERIAL_OPS);
        for op in arrived.drain(..) {
            if op.batches() {
                group.push(op);
            } else {
                held.push_back(op);
            }
        }
        let serial = held.len().min(MAX_SERIAL_OPS);
        group.extend(held.drain(..serial));
        commit_and_answer(&db, &signals, group).await;
    }
    debug!("write loop stopped");
}

/// PostgreSQL, ops that batch (new jobs, mostly): everything that queued up
/// shares one transaction, with at most [`BATCHES_IN_FLIGHT`] transactions
/// committing at once. A lane of their own: a submission never waits for a
/// connection behind the workers' claims and outcomes.
async fn batch_loop(db: Database, signals: Signals, mut queue: mpsc::Receiver<Box<dyn Pending>>) {
    let slots = Arc::new(Semaphore::new(BATCHES_IN_FLIGHT));
    let mut arrived: Vec<Box<dyn Pending>> = Vec::with_capacity(MAX_BATCH);
    loop {
        // Take a slot first, so that ops pile up into one batch while every
        // slot is busy committing the previous ones.
        let Ok(slot) = slots.clone().acquire_owned().await else {
            return;
        };
        if queue.recv_many(&mut arrived, MAX_BATCH).await == 0 {
            break;
        }
        let group = std::mem::take(&mut arrived);
        let (db, signals) = (db.clone(), signals.clone());
        tokio::spawn(async move {
            commit_and_answer(&db, &signals, group).await;
            drop(slot);
        });
    }
    debug!("batch write loop stopped");
}

/// PostgreSQL, every other op: a transaction of its own, up to `parallel`
/// at a time. Grouping ops that lock existing rows could lock two jobs in
/// opposite orders in two transactions and deadlock.
async fn concurrent_loop(
    db: Database,
    signals: Signals,
    mut queue: mpsc::Receiver<Box<dyn Pending>>,
    parallel: usize,
) {
    let slots = Arc::new(Semaphore::new(parallel));
    let mut arrived: Vec<Box<dyn Pending>> = Vec::with_capacity(MAX_BATCH);
    while queue.recv_many(&mut arrived, MAX_BATCH).await > 0 {
        for op in arrived.drain(..) {
            let Ok(slot) = slots.clone().acquire_owned().await else {
                return;
            };
            let (db, signals) = (db.clone(), signals.clone());
            tokio::spawn(async move {
                commit_and_answer(&db, &signals, vec![op]).await;
                drop(slot);
            });
        }
    }
    debug!("write loop stopped");
}

/// Runs `group` in one transaction (retrying conflicts), then answers each op.
async fn commit_and_answer(db: &Database, signals: &Signals, mut group: Vec<Box<dyn Pending>>) {
    let mut tries = 0;
    loop {
        tries += 1;
        let started = std::time::Instant::now();
        match commit_group(db, &mut group).await {
            Ok(raised) => {
                debug!(
                    ops = group.len(),
                    took_us = started.elapsed().as_micros() as u64,
                    "transaction committed"
                );
                for op in group {
                    op.finish(None);
                }
                signals.publish_all(raised);
                return;
            }
            Err(err) if tries < MAX_TRIES && is_conflict(&err) => {
                warn!(error = %err, ops = group.len(), tries, "transaction conflict; retrying");
            }
            Err(err) => {
                error!(error = %err, ops = group.len(), "write transaction failed");
                let message = err.to_string();
                for op in group {
                    op.finish(Some(&message));
                }
                return;
            }
        }
    }
}

async fn commit_group(
    db: &Database,
    group: &mut [Box<dyn Pending>],
) -> Result<Vec<Signal>, StoreError> {
    if group.len() > 1 {
        // Ops almost never fail, so first try them side by side: a
        // savepoint each costs two more round trips per op. If one fails,
        // start over with each op in a savepoint, so only it is undone.
        let mut tx = db.begin().await?;
        for op in group.iter_mut() {
            op.apply(&mut tx).await;
            if op.failed() {
                break;
            }
        }
        match group.iter_mut().find(|op| op.failed()) {
            None => return tx.commit().await,
            Some(op) if op.conflicted() => return Err(op.take_error()),
            Some(_) => tx.rollback().await?,
        }
    }
    let mut tx = db.begin().await?;
    if let [only] = group {
        // Alone in its transaction: no savepoint needed, a failure rolls back all.
        only.apply(&mut tx).await;
        if only.conflicted() {
            tx.rollback().await?;
            return Err(only.take_error());
        }
        if only.failed() {
            tx.rollback().await?;
            return Ok(Vec::new());
        }
    } else {
        for op in group.iter_mut() {
            let mark = tx.mark();
            tx.execute_raw("SAVEPOINT op").await?;
            op.apply(&mut tx).await;
            if op.conflicted() {
                return Err(op.take_error());
            }
            if op.failed() {
                tx.execute_raw("ROLLBACK TO SAVEPOINT op").await?;
                tx.forget_since(mark);
            }
            tx.execute_raw("RELEASE SAVEPOINT op").await?;
        }
    }
    tx.commit().await
}

/// A deadlock or a serialization failure: the transaction may succeed if run again.
fn is_conflict(err: &StoreError) -> bool {
    match err {
        StoreError::Sqlx(sqlx::Error::Database(db)) => {
            matches!(db.code().as_deref(), Some("40P01" | "40001"))
        }
        StoreError::Orm(
            sea_orm::DbErr::Exec(sea_orm::RuntimeErr::SqlxError(e))
            | sea_orm::DbErr::Query(sea_orm::RuntimeErr::SqlxError(e)),
        ) => {
            matches!(
                e.as_database_error().and_then(|d| d.code()).as_deref(),
                Some("40P01" | "40001")
            )
        }
        _ => false,
    }
}

/// A [`WriteOp`] with its caller's reply channel, type-erased for the queue.
trait Pending: Send {
    fn batches(&self) -> bool;
    /// Runs (a copy of) the op, keeping its result.
    fn apply<'t>(&'t mut self, tx: &'t mut WriteTx) -> BoxFuture<'t, ()>;
    fn failed(&self) -> bool;
    /// The op failed because of a conflict with another transaction.
    fn conflicted(&self) -> bool;
    fn take_error(&mut self) -> StoreError;
    /// Answers the caller: the op's own result, or the commit's failure.
    fn finish(self: Box<Self>, commit_error: Option<&str>);
}

struct PendingOp<O: WriteOp> {
    op: O,
    result: Option<Result<O::Output, StoreError>>,
    reply: oneshot::Sender<Result<O::Output, StoreError>>,
}

impl<O: WriteOp> Pending for PendingOp<O> {
    fn batches(&self) -> bool {
        O::BATCHES
    }

    fn apply<'t>(&'t mut self, tx: &'t mut WriteTx) -> BoxFuture<'t, ()> {
        Box::pin(async move {
            self.result = Some(self.op.clone().apply(tx).await);
        })
    }

    fn failed(&self) -> bool {
        matches!(self.result, Some(Err(_)))
    }

    fn conflicted(&self) -> bool {
        matches!(&self.result, Some(Err(err)) if is_conflict(err))
    }

    fn take_error(&mut self) -> StoreError {
        match self.result.take() {
            Some(Err(err)) => err,
            _ => StoreError::TransactionFailed("no error to take".into()),
        }
    }

    fn finish(self: Box<Self>, commit_error: Option<&str>) {
        let answer = match (self.result, commit_error) {
            (Some(Err(op_error)), _) => Err(op_error),
            (Some(Ok(output)), None) => Ok(output),
            (Some(Ok(_)), Some(message)) | (None, Some(message)) => {
                Err(StoreError::TransactionFailed(message.to_owned()))
            }
            (None, None) => Err(StoreError::WriterStopped),
        };
        // The caller may have gone away (a dropped request); the write stands.
        let _ = self.reply.send(answer);
    }
}

/// Releases a queue task whose handling ended without writing anything else
/// (its attempt lost the lease): see [`super::TaskRef`].
#[derive(Debug, Clone)]
pub struct ReleaseTask(pub super::TaskRef);

impl WriteOp for ReleaseTask {
    type Output = ();
    const BATCHES: bool = true;

    async fn apply(self, tx: &mut WriteTx) -> Result<(), StoreError> {
        tx.release(Some(&self.0));
        Ok(())
    }
}

/// Replaces a queue task with a fresh one due `delay` from now: for a handler
/// that failed to write its outcome. Its task stays locked by this (live)
/// worker otherwise, and apalis hands a live worker's tasks to no one.
#[derive(Debug, Clone)]
pub struct RequeueTask<T> {
    pub queue: crate::queue::Queue,
    pub args: T,
    pub task: super::TaskRef,
    pub delay: std::time::Duration,
    /// The new task's apalis priority (see [`super::TOP_PRIORITY`]).
    pub priority: u32,
}

impl<T: serde::Serialize + Clone + Send + Sync + 'static> WriteOp for RequeueTask<T> {
    type Output = ();
    const BATCHES: bool = true;

    async fn apply(self, tx: &mut WriteTx) -> Result<(), StoreError> {
        tx.retire(Some(&self.task));
        let due_ms = tx.now_ms() + self.delay.as_millis() as i64;
        tx.push_with_priority(self.queue, &self.args, Some(due_ms), self.priority)?;
        Ok(())
    }
}
