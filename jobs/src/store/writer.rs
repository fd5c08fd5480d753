//! Group commit: one task owns the write path and runs every [`WriteOp`]
//! that arrived while the previous transaction was committing in one new
//! transaction, each op in its own savepoint. Under load that turns many
//! small commits into few large ones; when idle an op commits alone, at once.
//! A caller hears back only after the commit, so an acknowledged write is
//! durable.

use std::future::Future;

use futures::future::BoxFuture;
use tokio::sync::{mpsc, oneshot};
use tracing::{debug, error};

use super::{Database, StoreError, WriteTx};
use crate::signals::Signals;

/// One unit of writing: its statements run in the writer's transaction and
/// commit together with whatever else is in that transaction.
///
/// `apply` must only talk to the database through `tx`: waiting for anything
/// else (another write, the network) would hold up every writer.
pub trait WriteOp: Send + 'static {
    type Output: Send + 'static;

    fn apply(
        self,
        tx: &mut WriteTx,
    ) -> impl Future<Output = Result<Self::Output, StoreError>> + Send;
}

/// The most ops one transaction takes.
const MAX_BATCH: usize = 512;

/// A handle to the write path. Cheap to clone.
#[derive(Clone)]
pub struct Writer {
    ops: mpsc::Sender<Box<dyn Pending>>,
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
        tokio::spawn(write_loop(db, signals, queue));
        Self { ops }
    }

    /// Runs `op` in the next transaction and returns its output once that
    /// transaction has committed.
    pub async fn run<O: WriteOp>(&self, op: O) -> Result<O::Output, StoreError> {
        let (reply, answer) = oneshot::channel();
        let pending = Box::new(PendingOp {
            op: Some(op),
            result: None,
            reply,
        });
        self.ops
            .send(pending)
            .await
            .map_err(|_| StoreError::WriterStopped)?;
        answer.await.map_err(|_| StoreError::WriterStopped)?
    }
}

async fn write_loop(db: Database, signals: Signals, mut queue: mpsc::Receiver<Box<dyn Pending>>) {
    let mut batch: Vec<Box<dyn Pending>> = Vec::with_capacity(MAX_BATCH);
    while queue.recv_many(&mut batch, MAX_BATCH).await > 0 {
        match commit_batch(&db, &mut batch).await {
            Ok(raised) => {
                for op in batch.drain(..) {
                    op.finish(None);
                }
                signals.publish_all(raised);
            }
            Err(err) => {
                error!(error = %err, ops = batch.len(), "write transaction failed");
                let message = err.to_string();
                for op in batch.drain(..) {
                    op.finish(Some(&message));
                }
            }
        }
    }
    debug!("write loop stopped");
}

async fn commit_batch(
    db: &Database,
    batch: &mut [Box<dyn Pending>],
) -> Result<Vec<crate::signals::Signal>, StoreError> {
    let mut tx = db.begin().await?;
    if let [only] = batch {
        // Alone in its transaction: no savepoint needed, a failure rolls back all.
        if !only.apply(&mut tx).await {
            tx.rollback().await?;
            return Ok(Vec::new());
        }
    } else {
        for op in batch.iter_mut() {
            let mark = tx.mark();
            tx.execute_raw("SAVEPOINT op").await?;
            if op.apply(&mut tx).await {
                tx.execute_raw("RELEASE SAVEPOINT op").await?;
            } else {
                tx.execute_raw("ROLLBACK TO SAVEPOINT op").await?;
                tx.execute_raw("RELEASE SAVEPOINT op").await?;
                tx.forget_since(mark);
            }
        }
    }
    tx.commit().await
}

/// A [`WriteOp`] with its caller's reply channel, type-erased for the queue.
trait Pending: Send {
    /// Runs the op; true when it succeeded.
    fn apply<'t>(&'t mut self, tx: &'t mut WriteTx) -> BoxFuture<'t, bool>;
    /// Answers the caller: the op's own result, or the commit's failure.
    fn finish(self: Box<Self>, commit_error: Option<&str>);
}

struct PendingOp<O: WriteOp> {
    op: Option<O>,
    result: Option<Result<O::Output, StoreError>>,
    reply: oneshot::Sender<Result<O::Output, StoreError>>,
}

impl<O: WriteOp> Pending for PendingOp<O> {
    fn apply<'t>(&'t mut self, tx: &'t mut WriteTx) -> BoxFuture<'t, bool> {
        Box::pin(async move {
            let Some(op) = self.op.take() else {
                return false;
            };
            let result = op.apply(tx).await;
            let ok = result.is_ok();
            self.result = Some(result);
            ok
        })
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
