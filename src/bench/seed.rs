//! Filling the database with a million finished jobs, as a year of traffic
//! would: each with its event, its delivery attempt, and the done tasks of
//! both queues. Written with plain SQL while the server is stopped.

use std::str::FromStr;

use jobcall_jobs::time::Clock;
use sqlx::{
    AssertSqlSafe, ConnectOptions, Executor,
    postgres::{PgConnectOptions, PgPoolOptions},
    sqlite::{SqliteConnectOptions, SqlitePoolOptions},
};

pub async fn seed(
    database_url: &str,
    client_id: &str,
    callback_url: &str,
    count: u64,
) -> anyhow::Result<()> {
    let created = Clock::system().now_ms() - 86_400_000;
    let job = r#"'{"message":"seed"}'"#;
    let events = r#"'["job.succeeded","job.failed","job.canceled"]'"#;
    if database_url.starts_with("sqlite:") {
        let pool = SqlitePoolOptions::new()
            .max_connections(1)
            .connect_with(SqliteConnectOptions::from_str(database_url)?.disable_statement_logging())
            .await?;
        let numbers = format!(
            "WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < {count})"
        );
        let id = |prefix: &str| format!("'{prefix}_00' || printf('%024d', i)");
        let statements = [
            format!(
                "{numbers} INSERT INTO jobcall_jobs (id, client_id, kind, status, input, result, attempts, max_attempts, timeout_ms, \
                 callback_url, callback_events, callback_state, callback_attempts, callback_last_status_code, metadata, \
                 cancel_requested, progress, created_at, started_at, finished_at, updated_at) \
                 SELECT {job_id}, '{client_id}', 'echo', 'succeeded', {job}, {job}, 1, 3, 300000, '{callback_url}', {events}, \
                 'delivered', 1, 200, '{{}}', 0, 100, {created} + i, {created} + i, {created} + i, {created} + i FROM n",
                job_id = id("job")
            ),
            format!(
                "{numbers} INSERT INTO jobcall_events (id, job_id, client_id, seq, event_type, url, payload, state, attempts, \
                 last_status_code, created_at, finished_at, updated_at) \
                 SELECT {event_id}, {job_id}, '{client_id}', 1, 'job.succeeded', '{callback_url}', {job}, 'delivered', 1, 200, \
                 {created} + i, {created} + i, {created} + i FROM n",
                event_id = id("evt"),
                job_id = id("job")
            ),
            format!(
                "{numbers} INSERT INTO jobcall_delivery_attempts (event_id, job_id, client_id, event_type, attempt, \"trigger\", \
                 url, status_code, duration_ms, response_body, created_at) \
                 SELECT {event_id}, {job_id}, '{client_id}', 'job.succeeded', 1, 'scheduled', '{callback_url}', 204, 1, '', \
                 {created} + i FROM n",
                event_id = id("evt"),
                job_id = id("job")
            ),
            format!(
                "{numbers} INSERT INTO Jobs (job, id, job_type, status, attempts, run_at, done_at) \
                 SELECT CAST('{{}}' AS BLOB), 'seed-execute-' || i, 'jobcall.execute', 'Done', 1, {s}, {s} FROM n",
                s = created / 1000
            ),
            format!(
                "{numbers} INSERT INTO Jobs (job, id, job_type, status, attempts, run_at, done_at) \
                 SELECT CAST('{{}}' AS BLOB), 'seed-deliver-' || i, 'jobcall.deliver', 'Done', 1, {s}, {s} FROM n",
                s = created / 1000
            ),
            "ANALYZE".to_owned(),
            // Write the seeding's WAL into the database now, not in a
            // checkpoint during the measurement.
            "PRAGMA wal_checkpoint(TRUNCATE)".to_owned(),
        ];
        for statement in statements {
            pool.execute(AssertSqlSafe(statement)).await?;
        }
        pool.close().await;
    } else {
        let pool = PgPoolOptions::new()
            .max_connections(1)
            .connect_with(PgConnectOptions::from_str(database_url)?.disable_statement_logging())
            .await?;
        let id = |prefix: &str| format!("'{prefix}_00' || lpad(i::text, 24, '0')");
        let series = format!("FROM generate_series(1, {count}) AS i");
        let statements = [
            format!(
                "INSERT INTO jobcall_jobs (id, client_id, kind, status, input, result, attempts, max_attempts, timeout_ms, \
                 callback_url, callback_events, callback_state, callback_attempts, callback_last_status_code, metadata, \
                 cancel_requested, progress, created_at, started_at, finished_at, updated_at) \
                 SELECT {job_id}, '{client_id}', 'echo', 'succeeded', {job}::jsonb, {job}::jsonb, 1, 3, 300000, '{callback_url}', \
                 {events}::jsonb, 'delivered', 1, 200, '{{}}'::jsonb, false, 100, {created} + i, {created} + i, {created} + i, \
                 {created} + i {series}",
                job_id = id("job")
            ),
            format!(
                "INSERT INTO jobcall_events (id, job_id, client_id, seq, event_type, url, payload, state, attempts, \
                 last_status_code, created_at, finished_at, updated_at) \
                 SELECT {event_id}, {job_id}, '{client_id}', 1, 'job.succeeded', '{callback_url}', {job}, 'delivered', 1, 200, \
                 {created} + i, {created} + i, {created} + i {series}",
                event_id = id("evt"),
                job_id = id("job")
            ),
            format!(
                "INSERT INTO jobcall_delivery_attempts (event_id, job_id, client_id, event_type, attempt, \"trigger\", url, \
                 status_code, duration_ms, response_body, created_at) \
                 SELECT {event_id}, {job_id}, '{client_id}', 'job.succeeded', 1, 'scheduled', '{callback_url}', 204, 1, '', \
                 {created} + i {series}",
                event_id = id("evt"),
                job_id = id("job")
            ),
            format!(
                "INSERT INTO apalis.jobs (job, id, job_type, status, attempts, run_at, done_at) \
                 SELECT convert_to('{{}}', 'UTF8'), 'seed-execute-' || i, 'jobcall.execute', 'Done', 1, now(), now() {series}"
            ),
            format!(
                "INSERT INTO apalis.jobs (job, id, job_type, status, attempts, run_at, done_at) \
                 SELECT convert_to('{{}}', 'UTF8'), 'seed-deliver-' || i, 'jobcall.deliver', 'Done', 1, now(), now() {series}"
            ),
            "VACUUM ANALYZE".to_owned(),
        ];
        for statement in statements {
            pool.execute(AssertSqlSafe(statement)).await?;
        }
        // Flush the seeding's dirty pages now, not in a checkpoint during
        // the measurement. It needs a superuser or pg_checkpoint; without,
        // the figures may include that checkpoint.
        if let Err(err) = pool.execute("CHECKPOINT").await {
            eprintln!("   could not checkpoint after seeding ({err}); measuring anyway");
        }
        pool.close().await;
    }
    Ok(())
}
