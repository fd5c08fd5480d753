//! A write transaction on either backend, with the queue pushes and signals
//! that must take effect only if it commits.

use std::collections::HashMap;

use jobcall_entity::{ClientId, JobId, JobStatus, delivery_attempt, job};
use sea_orm::{
    ActiveModelTrait, ColumnTrait, DbBackend, EntityTrait, FromQueryResult, QueryFilter,
    QueryResult, QuerySelect, QueryTrait, StatementBuilder,
    sea_query::{Expr, Query},
};
use sea_query_sqlx::SqlxValues;
use serde::Serialize;
use sqlx::{AssertSqlSafe, Postgres, Sqlite, Transaction};

use super::{
    Pools, StoreError, apalis_tables,
    staged::{PUT_BACK_PRIORITY, StagedTask, TOP_PRIORITY},
};
use crate::{queue::Queue, signals::Signal, time::Clock};

/// An open write transaction. Statements are sea-query builders, rendered for
/// the backend at hand. Queue pushes and signals are staged and happen at
/// commit, so that an operation rolled back to its savepoint leaves none.
pub struct WriteTx {
    conn: Conn,
    clock: Clock,
    /// Jobs waiting per client, as counted once in this transaction and
    /// counted up with each task it queues for the client.
    backlogs: HashMap<ClientId, u32>,
    new_jobs: Vec<job::Model>,
    new_attempts: Vec<delivery_attempt::ActiveModel>,
    staged_tasks: Vec<StagedTask>,
    retired: Vec<TaskRef>,
    released: Vec<TaskRef>,
    signals: Vec<Signal>,
}

#[derive(FromQueryResult)]
struct Backlog {
    backlog: i64,
}

/// The queue task a worker is handling. It is retired (deleted) by the
/// transaction that records what came of it, so the outcome and the end of
/// the task commit together; until then a crashed worker's task is
/// recovered by apalis and handled again. A worker that finds it no longer
/// owns the job or event releases the task instead: the new owner may be
/// counting on it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TaskRef(pub String);

enum Conn {
    Sqlite(Transaction<'static, Sqlite>),
    Postgres(Transaction<'static, Postgres>),
}

/// Runs the same sqlx call on whichever backend the transaction is on.
macro_rules! on_conn {
    ($conn:expr, $c:ident => $body:expr) => {
        match $conn {
            Conn::Sqlite(tx) => {
                let $c = &mut **tx;
                $body
            }
            Conn::Postgres(tx) => {
                let $c = &mut **tx;
                $body
            }
        }
    };
}

/// The staged effects at a point in time, to roll back to.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Mark {
    new_jobs: usize,
    new_attempts: usize,
    tasks: usize,
    retired: usize,
    released: usize,
    signals: usize,
}

impl WriteTx {
    pub(super) async fn begin(pools: &Pools, clock: Clock) -> Result<Self, StoreError> {
        let conn = match pools {
            // IMMEDIATE takes the write lock up front: another process's
            // writer then waits in the busy handler instead of failing a
            // read-to-write upgrade with SQLITE_BUSY.
            Pools::Sqlite { writer, .. } => {
                Conn::Sqlite(writer.begin_with("BEGIN IMMEDIATE").await?)
            }
            Pools::Postgres(pool) => Conn::Postgres(pool.begin().await?),
        };
        Ok(Self {
            conn,
            clock,
            backlogs: HashMap::new(),
            new_jobs: Vec::new(),
            new_attempts: Vec::new(),
            staged_tasks: Vec::new(),
            retired: Vec::new(),
            released: Vec::new(),
            signals: Vec::new(),
        })
    }

    /// The time now, on the process's clock: what every write stamps.
    pub fn now_ms(&self) -> i64 {
        self.clock.now_ms()
    }

    pub fn clock(&self) -> &Clock {
        &self.clock
    }

    pub fn backend(&self) -> DbBackend {
        match self.conn {
            Conn::Sqlite(_) => DbBackend::Sqlite,
            Conn::Postgres(_) => DbBackend::Postgres,
        }
    }

    /// Runs a statement; returns the number of rows it changed.
    pub async fn execute<S: StatementBuilder>(&mut self, statement: &S) -> Result<u64, StoreError> {
        let (sql, values) = render(statement, self.backend());
        let rows = on_conn!(&mut self.conn, c => {
            sqlx::query_with(AssertSqlSafe(sql), values).execute(c).await?.rows_affected()
        });
        Ok(rows)
    }

    /// Runs a raw SQL statement without parameters.
    pub async fn execute_raw(&mut self, sql: &str) -> Result<(), StoreError> {
        on_conn!(&mut self.conn, c => {
            sqlx::raw_sql(AssertSqlSafe(sql.to_owned())).execute(c).await?;
        });
        Ok(())
    }

    /// The first row of a query, decoded as a sea-orm model.
    pub async fn fetch_optional<M: FromQueryResult, S: StatementBuilder>(
        &mut self,
        statement: &S,
    ) -> Result<Option<M>, StoreError> {
        let (sql, values) = render(statement, self.backend());
        let row: Option<QueryResult> = on_conn!(&mut self.conn, c => {
            sqlx::query_with(AssertSqlSafe(sql), values)
                .fetch_optional(c)
                .await?
                .map(QueryResult::from)
        });
        row.map(|row| M::from_query_result(&row, ""))
            .transpose()
            .map_err(StoreError::from)
    }

    /// Every row of a query, decoded as sea-orm models.
    pub async fn fetch_all<M: FromQueryResult, S: StatementBuilder>(
        &mut self,
        statement: &S,
    ) -> Result<Vec<M>, StoreError> {
        let (sql, values) = render(statement, self.backend());
        let rows: Vec<QueryResult> = on_conn!(&mut self.conn, c => {
            sqlx::query_with(AssertSqlSafe(sql), values)
                .fetch_all(c)
                .await?
                .into_iter()
                .map(QueryResult::from)
                .collect()
        });
        rows.iter()
            .map(|row| M::from_query_result(row, ""))
            .collect::<Result<_, _>>()
            .map_err(StoreError::from)
    }

    /// Queues a task, to be pushed with this transaction's commit.
    pub fn push<T: Serialize>(
        &mut self,
        queue: Queue,
        args: &T,
        due_ms: Option<i64>,
    ) -> Result<TaskRef, StoreError> {
        self.push_with_priority(queue, args, due_ms, TOP_PRIORITY)
    }

    /// Queues a task with an apalis priority (see [`TOP_PRIORITY`]).
    pub fn push_with_priority<T: Serialize>(
        &mut self,
        queue: Queue,
        args: &T,
        due_ms: Option<i64>,
        priority: u32,
    ) -> Result<TaskRef, StoreError> {
        let task = StagedTask::new(queue, args, due_ms, priority, &self.clock)?;
        let id = TaskRef(task.id.to_string());
        self.staged_tasks.push(task);
        Ok(id)
    }

    /// The priority of the next job task of `client`: the more jobs it
    /// already has waiting or running, the lower, so that one client's
    /// flood does not make everyone else wait behind it (weighted fair
    /// queueing by backlog). One capped count per client per transaction.
    pub async fn fair_priority(&mut self, client: &ClientId) -> Result<u32, StoreError> {
        let backlog = match self.backlogs.get(client) {
            Some(backlog) => *backlog,
            None => {
                let waiting = job::Entity::find()
                    .select_only()
                    .column(job::Column::Id)
                    .filter(job::Column::ClientId.eq(client.clone()))
                    .filter(job::Column::Status.is_in([JobStatus::Queued, JobStatus::Running]))
                    .limit(u64::from(TOP_PRIORITY))
                    .into_query();
                let counted = Query::select()
                    .expr_as(Expr::cust("COUNT(*)"), "backlog")
                    .from_subquery(waiting, "waiting")
                    .to_owned();
                let row: Option<Backlog> = self.fetch_optional(&counted).await?;
                row.map_or(0, |row| {
                    row.backlog.clamp(0, i64::from(TOP_PRIORITY)) as u32
                })
            }
        };
        self.backlogs
            .insert(client.clone(), backlog.saturating_add(1));
        Ok(TOP_PRIORITY - backlog.min(TOP_PRIORITY - PUT_BACK_PRIORITY - 1))
    }

    /// Raises a signal once this transaction has committed.
    pub fn signal(&mut self, signal: Signal) {
        self.signals.push(signal);
    }

    /// Inserts a new job row with this transaction's commit, together with
    /// the others: one statement for a whole group commit of submissions.
    /// Only for rows nothing in this transaction reads back.
    pub fn insert_job_at_commit(&mut self, row: job::Model) {
        self.new_jobs.push(row);
    }

    /// Inserts a delivery attempt record with this transaction's commit,
    /// together with the others (nothing in a transaction reads them).
    pub fn insert_attempt_at_commit(&mut self, row: delivery_attempt::ActiveModel) {
        self.new_attempts.push(row);
    }

    /// Locks a job's row until commit, so that writes about the job take
    /// turns. SQLite has one writer: a transaction there holds every lock.
    pub async fn lock_job_row(&mut self, id: &JobId) -> Result<(), StoreError> {
        if let Conn::Postgres(_) = self.conn {
            let lock = job::Entity::find_by_id(id.clone())
                .select_only()
                .column(job::Column::Id)
                .lock_exclusive()
                .into_query();
            self.execute(&lock).await?;
        }
        Ok(())
    }

    /// Takes a lock named `name` until this transaction ends, if no other
    /// transaction holds it; false if one does. SQLite has one writer: a
    /// transaction there holds every lock.
    pub async fn try_lock_for_transaction(&mut self, name: &str) -> Result<bool, StoreError> {
        match &mut self.conn {
            Conn::Sqlite(_) => Ok(true),
            Conn::Postgres(tx) => {
                let locked: bool =
                    sqlx::query_scalar("SELECT pg_try_advisory_xact_lock(hashtext($1))")
                        .bind(format!("jobcall.{name}"))
                        .fetch_one(&mut **tx)
                        .await?;
                Ok(locked)
            }
        }
    }

    /// Deletes the queue task (if any) with this transaction's commit.
    pub fn retire(&mut self, task: Option<&TaskRef>) {
        if let Some(task) = task {
            self.retired.push(task.clone());
        }
    }

    /// Makes the queue task (if any) due again, unlocked, with this
    /// transaction's commit.
    pub fn release(&mut self, task: Option<&TaskRef>) {
        if let Some(task) = task {
            self.released.push(task.clone());
        }
    }

    pub(crate) fn mark(&self) -> Mark {
        Mark {
            new_jobs: self.new_jobs.len(),
            new_attempts: self.new_attempts.len(),
            tasks: self.staged_tasks.len(),
            retired: self.retired.len(),
            released: self.released.len(),
            signals: self.signals.len(),
        }
    }

    pub(crate) fn forget_since(&mut self, mark: Mark) {
        self.new_jobs.truncate(mark.new_jobs);
        self.new_attempts.truncate(mark.new_attempts);
        self.staged_tasks.truncate(mark.tasks);
        self.retired.truncate(mark.retired);
        self.released.truncate(mark.released);
        self.signals.truncate(mark.signals);
    }

    /// Writes the staged queue tasks and cross-process notifications, commits,
    /// and returns the signals to raise in this process.
    pub(crate) async fn commit(mut self) -> Result<Vec<Signal>, StoreError> {
        let mut signals = std::mem::take(&mut self.signals);
        let tasks = std::mem::take(&mut self.staged_tasks);
        signals.extend(tasks.iter().map(|task| Signal::Wake {
            queue: task.queue,
            due_ms: task.due_ms,
        }));
        let new_jobs = std::mem::take(&mut self.new_jobs);
        // 30 columns a row: within SQLite's 32,766 parameters.
        for chunk in new_jobs.chunks(500) {
            let rows = chunk
                .iter()
                .map(|row| job::ActiveModel::from(row.clone()).reset_all());
            self.execute(&job::Entity::insert_many(rows).into_query())
                .await?;
        }
        let new_attempts = std::mem::take(&mut self.new_attempts);
        // 14 columns a row.
        for chunk in new_attempts.chunks(1000) {
            let insert = delivery_attempt::Entity::insert_many(chunk.iter().cloned());
            self.execute(&insert.into_query()).await?;
        }
        let retired = sorted_ids(std::mem::take(&mut self.retired));
        if !retired.is_empty() {
            let ids = retired;
            match &mut self.conn {
                Conn::Sqlite(tx) => apalis_tables::delete_tasks_sqlite(tx, &ids).await?,
                Conn::Postgres(tx) => apalis_tables::delete_tasks_postgres(tx, &ids).await?,
            }
        }
        let released = sorted_ids(std::mem::take(&mut self.released));
        if !released.is_empty() {
            match &mut self.conn {
                Conn::Sqlite(tx) => apalis_tables::release_tasks_sqlite(tx, &released).await?,
                Conn::Postgres(tx) => apalis_tables::release_tasks_postgres(tx, &released).await?,
            }
        }
        match &mut self.conn {
            Conn::Sqlite(tx) if !tasks.is_empty() => {
                let all: Vec<&StagedTask> = tasks.iter().collect();
                apalis_tables::push_tasks_sqlite(tx, &all, &self.clock).await?;
            }
            Conn::Sqlite(_) => {}
            Conn::Postgres(tx) => {
                for queue in Queue::ALL {
                    let batch: Vec<_> = tasks
                        .iter()
                        .filter(|task| task.queue == queue)
                        .map(|task| task.to_apalis())
                        .collect();
                    if !batch.is_empty() {
                        apalis_postgres::queries::push_tasks(&mut **tx, queue.name(), batch)
                            .await
                            .map_err(|e| StoreError::Queue(e.to_string()))?;
                    }
                }
            }
        }
        if let Conn::Postgres(tx) = &mut self.conn {
            let payloads: Vec<String> =
                signals.iter().filter_map(Signal::to_notification).collect();
            if !payloads.is_empty() {
                sqlx::query("SELECT pg_notify($1, payload) FROM unnest($2::text[]) AS payload")
                    .bind(crate::signals::PG_CHANNEL)
                    .bind(payloads)
                    .execute(&mut **tx)
                    .await?;
            }
        }
        match self.conn {
            Conn::Sqlite(tx) => tx.commit().await?,
            Conn::Postgres(tx) => tx.commit().await?,
        }
        Ok(signals)
    }

    pub(crate) async fn rollback(self) -> Result<(), StoreError> {
        match self.conn {
            Conn::Sqlite(tx) => tx.rollback().await?,
            Conn::Postgres(tx) => tx.rollback().await?,
        }
        Ok(())
    }
}

/// Task ids in one order everywhere, so two transactions never wait on
/// each other for them.
fn sorted_ids(tasks: Vec<TaskRef>) -> Vec<String> {
    let mut ids: Vec<String> = tasks.into_iter().map(|task| task.0).collect();
    ids.sort_unstable();
    ids.dedup();
    ids
}

fn render<S: StatementBuilder>(statement: &S, backend: DbBackend) -> (String, SqlxValues) {
    let statement = statement.build(&backend);
    (
        statement.sql,
        SqlxValues(statement.values.unwrap_or(sea_orm::Values(Vec::new()))),
    )
}
