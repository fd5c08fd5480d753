//! Every schema change of jobcall, in order. Each migration runs on SQLite and
//! on PostgreSQL and has a `down`. Our tables are prefixed `jobcall_`: the
//! queue tables of apalis live in the same database, and on SQLite its `Jobs`
//! table would otherwise collide with ours (table names ignore case there).

pub use sea_orm_migration::prelude::*;

mod m20261124_000001_create_jobs;
mod m20261124_000002_create_events_and_delivery_attempts;
mod m20261124_000003_create_clients_and_signing_secrets;
mod m20261124_000004_create_queue_tables;
mod m20261125_000005_add_request_id_to_events;
mod m20261201_000001_create_key_fingerprints;
mod m20261201_000002_add_retention;
mod m20261203_160001_add_signature_schemes;
mod m20261203_160002_add_trace_context;

pub struct Migrator;

#[async_trait::async_trait]
impl MigratorTrait for Migrator {
    fn migrations() -> Vec<Box<dyn MigrationTrait>> {
        vec![
            Box::new(m20261124_000001_create_jobs::Migration),
            Box::new(m20261124_000002_create_events_and_delivery_attempts::Migration),
            Box::new(m20261124_000003_create_clients_and_signing_secrets::Migration),
            Box::new(m20261124_000004_create_queue_tables::Migration),
            Box::new(m20261125_000005_add_request_id_to_events::Migration),
            Box::new(m20261201_000001_create_key_fingerprints::Migration),
            Box::new(m20261201_000002_add_retention::Migration),
            Box::new(m20261203_160001_add_signature_schemes::Migration),
            Box::new(m20261203_160002_add_trace_context::Migration),
        ]
    }
}

/// A CHECK that the column holds one of `values`: the database enforces the
/// same state lists as the entity enums.
fn one_of<T: IntoIden + 'static>(column: T, values: &[&str]) -> SimpleExpr {
    Expr::col(column).is_in(values.iter().copied())
}
