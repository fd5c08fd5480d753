//! The only place this crate touches apalis's tables directly (their layout
//! is that of apalis-sqlite and apalis-postgres 1.0): queue gauges, handing
//! a stopped worker's tasks back, and deleting handled tasks. jobcall
//! retires a task itself, in the transaction that records its outcome,
//! instead of letting apalis acknowledge it: that makes the outcome and the
//! end of the task atomic, keeps the queue tables to live tasks only, and
//! avoids apalis-sqlite's acknowledgement query, whose cost grows with
//! every task a worker ever handled.

use std::time::Duration;

use sqlx::Row;

use super::{
    Database, Pools, StoreError,
    staged::{StagedTask, TASK_MAX_ATTEMPTS},
};
use crate::{queue::Queue, time::Clock};

#[derive(Debug, Clone, PartialEq)]
pub struct QueueGauge {
    pub queue: Queue,
    /// Tasks due now and not yet taken by a worker.
    pub depth: i64,
    /// How long the oldest of them has been due, in seconds.
    pub oldest_age_seconds: f64,
}

pub async fn sample_queues(db: &Database) -> Result<Vec<QueueGauge>, StoreError> {
    // Due times in apalis's tables are on the system clock (see `StagedTask`).
    let now_s = db.clock().to_system_ms(db.clock().now_ms()) as f64 / 1000.0;
    let mut gauges = Vec::new();
    for queue in Queue::ALL {
        let (depth, oldest): (i64, Option<f64>) = match db.pools() {
            Pools::Sqlite { readers, .. } => {
                let row = sqlx::query(
                    "SELECT COUNT(*) AS depth, MIN(run_at) AS oldest FROM Jobs \
                     WHERE job_type = ?1 AND status = 'Pending' AND run_at <= ?2",
                )
                .bind(queue.name())
                .bind(now_s as i64)
                .fetch_one(readers)
                .await?;
                (
                    row.try_get("depth")?,
                    row.try_get::<Option<i64>, _>("oldest")?.map(|s| s as f64),
                )
            }
            Pools::Postgres(pool) => {
                let row = sqlx::query(
                    "SELECT COUNT(*)::bigint AS depth, EXTRACT(EPOCH FROM MIN(run_at))::float8 AS oldest \
                     FROM apalis.jobs WHERE job_type = $1 AND status = 'Pending' AND run_at <= now()",
                )
                .bind(queue.name())
                .fetch_one(pool)
                .await?;
                (row.try_get("depth")?, row.try_get("oldest")?)
            }
        };
        gauges.push(QueueGauge {
            queue,
            depth,
            oldest_age_seconds: oldest.map_or(0.0, |oldest| (now_s - oldest).max(0.0)),
        });
    }
    Ok(gauges)
}

/// Makes every waiting task due `by` sooner: what a test clock's jump
/// means for due times kept on the system clock (see `StagedTask`). Whole
/// seconds, rounded up: a task that comes due a little early is waited out
/// by its handler on the clock.
pub async fn bring_tasks_forward(db: &Database, by: Duration) -> Result<u64, StoreError> {
    let seconds = by.as_millis().div_ceil(1000) as i64;
    let moved = match db.pools() {
        Pools::Sqlite { writer, .. } => {
            sqlx::query("UPDATE Jobs SET run_at = run_at - ?1 WHERE status = 'Pending'")
                .bind(seconds)
                .execute(writer)
                .await?
                .rows_affected()
        }
        Pools::Postgres(pool) => sqlx::query(
            "UPDATE apalis.jobs SET run_at = run_at - make_interval(secs => $1) \
             WHERE status = 'Pending'",
        )
        .bind(seconds as f64)
        .execute(pool)
        .await?
        .rows_affected(),
    };
    Ok(moved)
}

/// Deletes the tasks apalis finished itself — done (apalis's own
/// acknowledgement, as releases before 0.1.0's task retirement left them),
/// failed more often than they may, or killed — once they are older than
/// `keep`: jobcall retires every task it handles, so these are all that
/// could pile up.
pub async fn purge_dead_tasks(db: &Database, keep: Duration) -> Result<u64, StoreError> {
    /// Tasks deleted per statement: a large backlog goes in many short
    /// deletes, not one that holds SQLite's writer for seconds.
    const BATCH: u64 = 1000;
    let before_s = (db.clock().to_system_ms(db.clock().now_ms()) - keep.as_millis() as i64) / 1000;
    let mut purged = 0;
    loop {
        let deleted = match db.pools() {
            Pools::Sqlite { writer, .. } => sqlx::query(
                "DELETE FROM Jobs WHERE rowid IN (SELECT rowid FROM Jobs \
                 WHERE (status IN ('Done', 'Killed') OR (status = 'Failed' AND attempts >= max_attempts)) \
                 AND COALESCE(done_at, run_at) < ?1 LIMIT ?2)",
            )
            .bind(before_s)
            .bind(BATCH as i64)
            .execute(writer)
            .await?
            .rows_affected(),
            Pools::Postgres(pool) => sqlx::query(
                "DELETE FROM apalis.jobs WHERE id IN (SELECT id FROM apalis.jobs \
                 WHERE (status IN ('Done', 'Killed') OR (status = 'Failed' AND attempts >= max_attempts)) \
                 AND COALESCE(done_at, run_at) < to_timestamp($1) LIMIT $2)",
            )
            .bind(before_s as f64)
            .bind(BATCH as i64)
            .execute(pool)
            .await?
            .rows_affected(),
        };
        purged += deleted;
        if deleted < BATCH {
            return Ok(purged);
        }
        tokio::time::sleep(Duration::from_millis(2)).await;
    }
}

/// Rows per table and the database's size, for the metrics.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct StorageStats {
    /// `(table, rows)`; on PostgreSQL the planner's estimate.
    pub rows: Vec<(&'static str, i64)>,
    pub bytes: i64,
}

/// The tables whose size is worth watching.
const WATCHED_TABLES: [(&str, &str, &str); 5] = [
    ("jobs", "jobcall_jobs", "public"),
    ("events", "jobcall_events", "public"),
    ("delivery_attempts", "jobcall_delivery_attempts", "public"),
    ("clients", "jobcall_clients", "public"),
    ("queue_tasks", "jobs", "apalis"),
];

/// Counts rows (SQLite: exactly, once per sweep; PostgreSQL: from the
/// statistics, which cost nothing to read) and the database's size.
pub async fn table_sizes(db: &Database) -> Result<StorageStats, StoreError> {
    let mut stats = StorageStats::default();
    match db.pools() {
        Pools::Sqlite { readers, .. } => {
            for (label, table, _) in WATCHED_TABLES {
                let table = if label == "queue_tasks" {
                    "Jobs"
                } else {
                    table
                };
                let sql = format!("SELECT COUNT(*) FROM {table}");
                let rows: i64 = sqlx::query_scalar(sqlx::AssertSqlSafe(sql))
                    .fetch_one(readers)
                    .await?;
                stats.rows.push((label, rows));
            }
            stats.bytes = sqlx::query_scalar(
                "SELECT page_count * page_size FROM pragma_page_count(), pragma_page_size()",
            )
            .fetch_one(readers)
            .await?;
        }
        Pools::Postgres(pool) => {
            for (label, table, schema) in WATCHED_TABLES {
                let rows: Option<f32> = sqlx::query_scalar(
                    "SELECT c.reltuples FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace \
                     WHERE c.relname = $1 AND n.nspname = $2",
                )
                .bind(table)
                .bind(schema)
                .fetch_optional(pool)
                .await?;
                stats
                    .rows
                    .push((label, rows.unwrap_or(0.0).max(0.0) as i64));
            }
            stats.bytes = sqlx::query_scalar("SELECT pg_database_size(current_database())")
                .fetch_one(pool)
                .await?;
        }
    }
    Ok(stats)
}

/// Returns every task held by the apalis workers `names` to the queue, at
/// once: they were fetched by workers of this process that have stopped
/// (shutdown drops them rather than waiting, see `Workers::shutdown`).
/// Tasks whose attempt is still finishing come back too; a claim of one of
/// those finds the job leased or finished, and waits or does nothing.
pub async fn release_worker_tasks(db: &Database, names: &[String]) -> Result<u64, StoreError> {
    let mut released = 0;
    for name in names {
        released += match db.pools() {
            Pools::Sqlite { writer, .. } => sqlx::query(
                "UPDATE Jobs SET status = 'Pending', lock_by = NULL, lock_at = NULL \
                 WHERE lock_by = ?1 AND status IN ('Queued', 'Running')",
            )
            .bind(name)
            .execute(writer)
            .await?
            .rows_affected(),
            Pools::Postgres(pool) => sqlx::query(
                "UPDATE apalis.jobs SET status = 'Pending', lock_by = NULL, lock_at = NULL \
                 WHERE lock_by = $1 AND status IN ('Queued', 'Running')",
            )
            .bind(name)
            .execute(pool)
            .await?
            .rows_affected(),
        };
    }
    Ok(released)
}

/// Pushes tasks as apalis-sqlite would, but many rows per statement (it
/// inserts one row per statement, a round trip to the database thread each).
pub(super) async fn push_tasks_sqlite(
    conn: &mut sqlx::SqliteConnection,
    tasks: &[&StagedTask],
    clock: &Clock,
) -> Result<(), StoreError> {
    // 6 parameters a row, well under SQLite's 32,766.
    for chunk in tasks.chunks(1000) {
        let rows = vec!["(?, ?, ?, 'Pending', 0, ?, ?, ?, '{}', NULL)"; chunk.len()].join(", ");
        let sql = format!(
            "INSERT INTO Jobs (job, id, job_type, status, attempts, max_attempts, run_at, \
             priority, metadata, idempotency_key) VALUES {rows}"
        );
        let now_s = (clock.to_system_ms(clock.now_ms()) / 1000) as u64;
        let mut query = sqlx::query(sqlx::AssertSqlSafe(sql));
        for task in chunk {
            query = query
                .bind(task.args.as_slice())
                .bind(task.id.to_string())
                .bind(task.queue.name())
                .bind(TASK_MAX_ATTEMPTS as i64)
                .bind(task.run_at_seconds().unwrap_or(now_s) as i64)
                .bind(i64::from(task.priority));
        }
        query.execute(&mut *conn).await?;
    }
    Ok(())
}

/// Deletes handled tasks (see [`super::TaskRef`]).
pub(super) async fn delete_tasks_sqlite(
    conn: &mut sqlx::SqliteConnection,
    ids: &[String],
) -> Result<(), StoreError> {
    execute_for_ids_sqlite(conn, "DELETE FROM Jobs WHERE id IN", ids).await
}

/// Deletes handled tasks (see [`super::TaskRef`]).
pub(super) async fn delete_tasks_postgres(
    conn: &mut sqlx::PgConnection,
    ids: &[String],
) -> Result<(), StoreError> {
    sqlx::query("DELETE FROM apalis.jobs WHERE id = ANY($1)")
        .bind(ids)
        .execute(conn)
        .await?;
    Ok(())
}

/// Makes tasks due now and unlocked (see [`super::TaskRef`]).
pub(super) async fn release_tasks_sqlite(
    conn: &mut sqlx::SqliteConnection,
    ids: &[String],
) -> Result<(), StoreError> {
    execute_for_ids_sqlite(
        conn,
        "UPDATE Jobs SET status = 'Pending', lock_by = NULL, lock_at = NULL, \
         run_at = strftime('%s', 'now') WHERE id IN",
        ids,
    )
    .await
}

/// Runs `statement` followed by `(?, ?, …)`, one placeholder per id: SQLite
/// has no array parameters.
async fn execute_for_ids_sqlite(
    conn: &mut sqlx::SqliteConnection,
    statement: &str,
    ids: &[String],
) -> Result<(), StoreError> {
    let placeholders = vec!["?"; ids.len()].join(", ");
    let sql = format!("{statement} ({placeholders})");
    let mut query = sqlx::query(sqlx::AssertSqlSafe(sql));
    for id in ids {
        query = query.bind(id);
    }
    query.execute(conn).await?;
    Ok(())
}

/// Makes tasks due now and unlocked (see [`super::TaskRef`]).
pub(super) async fn release_tasks_postgres(
    conn: &mut sqlx::PgConnection,
    ids: &[String],
) -> Result<(), StoreError> {
    sqlx::query(
        "UPDATE apalis.jobs SET status = 'Pending', lock_by = NULL, lock_at = NULL, run_at = now() \
         WHERE id = ANY($1)",
    )
    .bind(ids)
    .execute(conn)
    .await?;
    Ok(())
}
