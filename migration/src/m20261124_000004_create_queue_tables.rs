//! The queue tables belong to apalis, which versions them with its own
//! migrator. This migration runs that migrator, so `jobcall migrate` sets up
//! everything and the queues live in the same database as the jobs they
//! carry. It needs the connection pool itself, hence no wrapping transaction.

use sea_orm_migration::{
    prelude::*,
    sea_orm::{DatabaseBackend, DatabaseConnection},
};

#[derive(DeriveMigrationName)]
pub struct Migration;

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    fn use_transaction(&self) -> Option<bool> {
        Some(false)
    }

    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        let db = pool_connection(manager)?;
        match db.get_database_backend() {
            DatabaseBackend::Sqlite => apalis_sqlite::SqliteStorage::migrations()
                .run(db.get_sqlite_connection_pool())
                .await
                .map_err(queue_migration_failed),
            DatabaseBackend::Postgres => apalis_postgres::PostgresStorage::migrations()
                .run(db.get_postgres_connection_pool())
                .await
                .map_err(queue_migration_failed),
            other => Err(DbErr::BackendNotSupported {
                db: other.as_str(),
                ctx: "queue tables",
            }),
        }
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        let db = pool_connection(manager)?;
        let statements: &[&str] = match db.get_database_backend() {
            DatabaseBackend::Sqlite => &[
                "DROP TABLE IF EXISTS Jobs",
                "DROP TABLE IF EXISTS Workers",
                "DROP TABLE IF EXISTS _sqlx_migrations",
            ],
            _ => &[
                "DROP SCHEMA IF EXISTS apalis CASCADE",
                "DROP TABLE IF EXISTS _sqlx_migrations",
            ],
        };
        for statement in statements {
            db.execute_unprepared(statement).await?;
        }
        Ok(())
    }
}

fn pool_connection<'a>(manager: &'a SchemaManager) -> Result<&'a DatabaseConnection, DbErr> {
    match manager.get_connection() {
        SchemaManagerConnection::Connection(db) => Ok(db),
        _ => Err(DbErr::Custom(
            "the queue-table migration must run outside a transaction".into(),
        )),
    }
}

fn queue_migration_failed(err: impl std::fmt::Display) -> DbErr {
    DbErr::Migration(format!("apalis queue tables: {err}"))
}
