//! Trace context: a job keeps the W3C `traceparent` and `tracestate` of its
//! submission, and its events a copy, for the logs of its attempts and
//! deliveries and the `traceparent` of its callbacks. NULL for jobs from
//! before (their attempts start traces of their own).

use sea_orm_migration::{prelude::*, schema::*};

#[derive(DeriveMigrationName)]
pub struct Migration;

/// A `traceparent` of version 00 is 55 characters; later versions may be
/// longer, and are stored as version 00.
const TRACEPARENT: u32 = 55;
/// The most `tracestate` kept (see `jobs/src/trace.rs`).
const TRACESTATE: u32 = 512;

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        // SQLite adds one column per statement.
        for table in [Jobs::Table.into_iden(), Events::Table.into_iden()] {
            for (column, length) in [
                (Trace::TraceParent, TRACEPARENT),
                (Trace::TraceState, TRACESTATE),
            ] {
                manager
                    .alter_table(
                        Table::alter()
                            .table(table.clone())
                            .add_column(string_len_null(column, length))
                            .to_owned(),
                    )
                    .await?;
            }
        }
        Ok(())
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        for table in [Jobs::Table.into_iden(), Events::Table.into_iden()] {
            for column in [Trace::TraceParent, Trace::TraceState] {
                manager
                    .alter_table(
                        Table::alter()
                            .table(table.clone())
                            .drop_column(column)
                            .to_owned(),
                    )
                    .await?;
            }
        }
        Ok(())
    }
}

#[derive(DeriveIden)]
enum Jobs {
    #[sea_orm(iden = "jobcall_jobs")]
    Table,
}

#[derive(DeriveIden)]
enum Events {
    #[sea_orm(iden = "jobcall_events")]
    Table,
}

#[derive(DeriveIden)]
enum Trace {
    TraceParent,
    TraceState,
}
