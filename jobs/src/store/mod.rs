//! The database: connection pools, the write path and the queues.
//!
//! Reads go through sea-orm on a pool of readers. Every write goes through
//! the [`Writer`], which runs [`WriteOp`]s inside sqlx transactions so that a
//! state change, its callback events and the queue tasks that carry them
//! commit together (apalis pushes need the sqlx connection, which a sea-orm
//! transaction does not expose). Statements are built with sea-query from the
//! entities, so one piece of code serves SQLite and PostgreSQL.
//!
//! On SQLite there is exactly one writer connection: writes never wait in
//! SQLite's busy handler (which sleeps in steps of milliseconds), and the
//! group commit of the writer turns concurrent small writes into one
//! transaction. Readers use their own connections (WAL lets them run beside
//! the writer).

mod apalis_tables;
mod staged;
mod tx;
mod writer;

use std::{str::FromStr, time::Duration};

use crate::time::Clock;
use sea_orm::{
    ConnectionTrait, DatabaseConnection, DbBackend, SqlxPostgresConnector, SqlxSqliteConnector,
};
use sqlx::{
    PgPool, SqlitePool,
    postgres::{PgConnectOptions, PgPoolOptions},
    sqlite::{SqliteConnectOptions, SqliteJournalMode, SqlitePoolOptions, SqliteSynchronous},
};

pub use apalis_tables::{
    QueueGauge, StorageStats, bring_tasks_forward, purge_dead_tasks, release_worker_tasks,
    sample_queues, table_sizes,
};
pub use staged::{PUT_BACK_PRIORITY, TOP_PRIORITY};
pub use tx::{TaskRef, WriteTx};
pub use writer::{ReleaseTask, RequeueTask, WriteOp, Writer};

/// Everything that can go wrong talking to the database.
#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    #[error("database error: {0}")]
    Sqlx(#[from] sqlx::Error),
    #[error("database error: {0}")]
    Orm(#[from] sea_orm::DbErr),
    #[error("queue error: {0}")]
    Queue(String),
    #[error("transaction failed: {0}")]
    TransactionFailed(String),
    #[error("the database writer has stopped")]
    WriterStopped,
    #[error("unsupported database URL `{0}`: use sqlite:// or postgres://")]
    UnsupportedUrl(String),
    #[error("stored data is invalid: {0}")]
    Corrupt(String),
    #[error("{0}")]
    Unsupported(String),
}

/// How to reach the database.
#[derive(Debug, Clone)]
pub struct DatabaseOptions {
    pub url: String,
    /// Connections for readers (SQLite) or for everything (PostgreSQL).
    pub max_connections: u32,
    /// `FULL` makes every commit survive power loss; the default `NORMAL`
    /// survives a crash of the process (`kill -9`), not of the machine.
    pub sqlite_synchronous_full: bool,
}

/// The backend-specific pools behind a [`Database`].
#[derive(Debug, Clone)]
pub enum Pools {
    Sqlite {
        /// One connection: the only writer in this process.
        writer: SqlitePool,
        readers: SqlitePool,
    },
    Postgres(PgPool),
}

/// A connected database. Cheap to clone.
#[derive(Debug, Clone)]
pub struct Database {
    pools: Pools,
    reads: DatabaseConnection,
    /// What write transactions stamp their times with.
    clock: Clock,
}

/// The database a URL names, by its scheme; `None` for any other scheme.
/// The one place that decides, for settings and for connecting alike.
pub fn backend_of_url(url: &str) -> Option<DbBackend> {
    let scheme = url.split_once(':').map(|(scheme, _)| scheme)?;
    match scheme {
        "sqlite" => Some(DbBackend::Sqlite),
        "postgres" | "postgresql" => Some(DbBackend::Postgres),
        _ => None,
    }
}

impl Database {
    pub async fn connect(options: &DatabaseOptions) -> Result<Self, StoreError> {
        match backend_of_url(&options.url) {
            Some(DbBackend::Sqlite) => Self::connect_sqlite(options).await,
            Some(DbBackend::Postgres) => Self::connect_postgres(options).await,
            _ => Err(StoreError::UnsupportedUrl(redact_url(&options.url))),
        }
    }

    async fn connect_sqlite(options: &DatabaseOptions) -> Result<Self, StoreError> {
        let synchronous = if options.sqlite_synchronous_full {
            SqliteSynchronous::Full
        } else {
            SqliteSynchronous::Normal
        };
        let connect = SqliteConnectOptions::from_str(&options.url)?
            .create_if_missing(true)
            .journal_mode(SqliteJournalMode::Wal)
            .synchronous(synchronous)
            .busy_timeout(Duration::from_secs(10))
            .foreign_keys(true)
            .pragma("temp_store", "memory")
            // Takes effect on a new file; see `use_incremental_vacuum`.
            .pragma("auto_vacuum", "INCREMENTAL")
            .pragma("journal_size_limit", "67108864");
        // Page caches are per connection and count against the process's
        // memory: the one writer touches the hot pages of every table and
        // gets the big cache; readers mostly fetch single rows by key, and
        // the OS page cache already holds the file.
        let writer = SqlitePoolOptions::new()
            .max_connections(1)
            .min_connections(1)
            .acquire_timeout(Duration::from_secs(30))
            .idle_timeout(None)
            .max_lifetime(None)
            .connect_with(connect.clone().pragma("cache_size", "-8000"))
            .await?;
        let readers = SqlitePoolOptions::new()
            .max_connections(options.max_connections.max(1))
            .acquire_timeout(Duration::from_secs(30))
            .idle_timeout(Duration::from_secs(60))
            .connect_with(
                connect
                    .pragma("cache_size", "-2000")
                    .pragma("query_only", "ON"),
            )
            .await?;
        let reads = SqlxSqliteConnector::from_sqlx_sqlite_pool(readers.clone());
        Ok(Self {
            pools: Pools::Sqlite { writer, readers },
            reads,
            clock: Clock::system(),
        })
    }

    async fn connect_postgres(options: &DatabaseOptions) -> Result<Self, StoreError> {
        let connect = PgConnectOptions::from_str(&options.url)?.application_name("jobcall");
        let pool = PgPoolOptions::new()
            .max_connections(options.max_connections.max(4))
            .acquire_timeout(Duration::from_secs(10))
            .connect_with(connect)
            .await?;
        let reads = SqlxPostgresConnector::from_sqlx_postgres_pool(pool.clone());
        Ok(Self {
            pools: Pools::Postgres(pool),
            reads,
            clock: Clock::system(),
        })
    }

    /// The same database, its writes stamped by `clock`.
    pub fn with_clock(self, clock: Clock) -> Self {
        Self { clock, ..self }
    }

    pub fn clock(&self) -> &Clock {
        &self.clock
    }

    pub fn backend(&self) -> DbBackend {
        match self.pools {
            Pools::Sqlite { .. } => DbBackend::Sqlite,
            Pools::Postgres(_) => DbBackend::Postgres,
        }
    }

    pub fn pools(&self) -> &Pools {
        &self.pools
    }

    /// The connection for sea-orm reads.
    pub fn reads(&self) -> &DatabaseConnection {
        &self.reads
    }

    /// A sea-orm connection on the write pool, for migrations.
    pub fn schema_connection(&self) -> DatabaseConnection {
        match &self.pools {
            Pools::Sqlite { writer, .. } => {
                SqlxSqliteConnector::from_sqlx_sqlite_pool(writer.clone())
            }
            Pools::Postgres(pool) => SqlxPostgresConnector::from_sqlx_postgres_pool(pool.clone()),
        }
    }

    /// Applies `migrate` with the schema locked against other processes
    /// doing the same. On PostgreSQL the advisory lock is held by one
    /// dedicated connection, the one everything runs on: a session lock
    /// taken on one pooled connection and released on another would stay.
    pub async fn migrate_exclusively<F, Fut>(
        &self,
        options: &DatabaseOptions,
        migrate: F,
    ) -> Result<(), StoreError>
    where
        F: FnOnce(DatabaseConnection) -> Fut,
        Fut: std::future::Future<Output = Result<(), sea_orm::DbErr>>,
    {
        const LOCK: i64 = 7_367_847_112;
        match &self.pools {
            // One writer connection: the SQLite file lock serializes migrations.
            Pools::Sqlite { .. } => Ok(migrate(self.schema_connection()).await?),
            Pools::Postgres(_) => {
                let connect =
                    PgConnectOptions::from_str(&options.url)?.application_name("jobcall-migrate");
                let pool = PgPoolOptions::new()
                    .max_connections(1)
                    .connect_with(connect)
                    .await?;
                sqlx::query("SELECT pg_advisory_lock($1)")
                    .bind(LOCK)
                    .execute(&pool)
                    .await?;
                let migrated =
                    migrate(SqlxPostgresConnector::from_sqlx_postgres_pool(pool.clone())).await;
                let unlocked = sqlx::query("SELECT pg_advisory_unlock($1)")
                    .bind(LOCK)
                    .execute(&pool)
                    .await;
                pool.close().await;
                migrated?;
                unlocked?;
                Ok(())
            }
        }
    }

    /// Starts a write transaction. Only the [`Writer`] calls this.
    async fn begin(&self) -> Result<WriteTx, StoreError> {
        WriteTx::begin(&self.pools, self.clock.clone()).await
    }

    /// Makes the space of deleted rows usable again. SQLite (whose files
    /// are in incremental auto-vacuum mode; see
    /// [`Database::use_incremental_vacuum`]) gives the freed pages back to
    /// the file system, a few megabytes per step: a step moves pages on the
    /// one writer connection, so a large purge given back at once would hold
    /// every write for seconds. PostgreSQL vacuums the purged tables, so
    /// that their space is reused whether or not autovacuum runs on the
    /// server (it is a server setting, and off on some). Returns the SQLite
    /// pages given back.
    pub async fn release_free_pages(&self) -> Result<u64, StoreError> {
        const PAGES_PER_STEP: i64 = 512;
        const MAX_STEPS: usize = 1024;
        let writer = match &self.pools {
            Pools::Sqlite { writer, .. } => writer,
            Pools::Postgres(pool) => {
                sqlx::query(
                    "VACUUM (ANALYZE) jobcall_jobs, jobcall_events, jobcall_delivery_attempts, apalis.jobs",
                )
                .execute(pool)
                .await?;
                return Ok(0);
            }
        };
        let mut released = 0;
        for _ in 0..MAX_STEPS {
            let free: i64 = sqlx::query_scalar("PRAGMA freelist_count")
                .fetch_one(writer)
                .await?;
            if free == 0 {
                break;
            }
            sqlx::query(sqlx::AssertSqlSafe(format!(
                "PRAGMA incremental_vacuum({PAGES_PER_STEP})"
            )))
            .execute(writer)
            .await?;
            released += free.min(PAGES_PER_STEP) as u64;
            // Let the writer's transactions have the connection in between.
            tokio::time::sleep(std::time::Duration::from_millis(2)).await;
        }
        Ok(released)
    }

    /// Puts a SQLite file into incremental auto-vacuum mode, so that deleted
    /// rows can give their space back. A new file takes the mode from its
    /// connections' pragma; an existing one (written before retention was
    /// added) needs a one-time `VACUUM`, which rewrites the file.
    pub async fn use_incremental_vacuum(&self) -> Result<(), StoreError> {
        const INCREMENTAL: i64 = 2;
        if let Pools::Sqlite { writer, .. } = &self.pools {
            let mode: i64 = sqlx::query_scalar("PRAGMA auto_vacuum")
                .fetch_one(writer)
                .await?;
            if mode != INCREMENTAL {
                tracing::info!(
                    "switching the SQLite file to incremental auto-vacuum (a one-time VACUUM)"
                );
                sqlx::query("PRAGMA auto_vacuum = INCREMENTAL")
                    .execute(writer)
                    .await?;
                sqlx::query("VACUUM").execute(writer).await?;
            }
        }
        Ok(())
    }

    /// Writes a consistent copy of a SQLite database to `path` (which must
    /// not exist) while other processes go on reading and writing it:
    /// `VACUUM INTO` reads one snapshot. The copy is a complete database
    /// that `jobcall` opens as it is.
    pub async fn backup_sqlite(&self, path: &std::path::Path) -> Result<(), StoreError> {
        let Pools::Sqlite { writer, .. } = &self.pools else {
            return Err(StoreError::Unsupported(
                "backups of PostgreSQL are made with pg_dump (see the README)".into(),
            ));
        };
        let path = path.to_str().ok_or_else(|| {
            StoreError::Unsupported(format!("`{}` is not a UTF-8 path", path.display()))
        })?;
        sqlx::query("VACUUM INTO ?1")
            .bind(path)
            .execute(writer)
            .await?;
        Ok(())
    }

    /// A cheap round trip, for readiness checks.
    pub async fn ping(&self) -> Result<(), StoreError> {
        self.reads.execute_unprepared("SELECT 1").await?;
        Ok(())
    }

    pub async fn close(&self) {
        match &self.pools {
            Pools::Sqlite { writer, readers } => {
                readers.close().await;
                writer.close().await;
            }
            Pools::Postgres(pool) => pool.close().await,
        }
    }
}

/// A database URL fit for logs: the password replaced.
pub fn redact_url(url: &str) -> String {
    match url::Url::parse(url) {
        Ok(mut parsed) if parsed.password().is_some() => {
            let _ = parsed.set_password(Some("***"));
            parsed.to_string()
        }
        _ => url.to_owned(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_scheme_names_the_backend() {
        assert_eq!(backend_of_url("sqlite://x.db"), Some(DbBackend::Sqlite));
        assert_eq!(backend_of_url("sqlite::memory:"), Some(DbBackend::Sqlite));
        assert_eq!(backend_of_url("postgres://h/db"), Some(DbBackend::Postgres));
        assert_eq!(
            backend_of_url("postgresql://h/db"),
            Some(DbBackend::Postgres)
        );
        assert_eq!(backend_of_url("mysql://h/db"), None);
        assert_eq!(backend_of_url("sqlitex://h"), None);
        assert_eq!(backend_of_url("no scheme"), None);
    }

    #[test]
    fn passwords_are_redacted_from_urls() {
        assert_eq!(
            redact_url("postgres://app:s3cret@db:5432/jobcall"),
            "postgres://app:***@db:5432/jobcall"
        );
        assert_eq!(redact_url("sqlite://jobcall.db"), "sqlite://jobcall.db");
    }
}
