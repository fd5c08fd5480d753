//! Retention: a client may keep its finished jobs for longer or shorter
//! than the server's default (NULL: the default; 0: forever), and the sweep
//! finds the oldest finished jobs by status and finish time.

use sea_orm_migration::{prelude::*, schema::*};

#[derive(DeriveMigrationName)]
pub struct Migration;

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        // SQLite adds one column per statement.
        for column in [Clients::RetentionSeconds, Clients::RetentionFailedSeconds] {
            manager
                .alter_table(
                    Table::alter()
                        .table(Clients::Table)
                        .add_column(big_integer_null(column))
                        .to_owned(),
                )
                .await?;
        }
        manager
            .create_index(
                Index::create()
                    .name("jobcall_jobs_status_finished_at")
                    .table(Jobs::Table)
                    .col(Jobs::Status)
                    .col(Jobs::FinishedAt)
                    .to_owned(),
            )
            .await
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .drop_index(
                Index::drop()
                    .name("jobcall_jobs_status_finished_at")
                    .table(Jobs::Table)
                    .to_owned(),
            )
            .await?;
        for column in [Clients::RetentionSeconds, Clients::RetentionFailedSeconds] {
            manager
                .alter_table(
                    Table::alter()
                        .table(Clients::Table)
                        .drop_column(column)
                        .to_owned(),
                )
                .await?;
        }
        Ok(())
    }
}

#[derive(DeriveIden)]
enum Clients {
    #[sea_orm(iden = "jobcall_clients")]
    Table,
    RetentionSeconds,
    RetentionFailedSeconds,
}

#[derive(DeriveIden)]
enum Jobs {
    #[sea_orm(iden = "jobcall_jobs")]
    Table,
    Status,
    FinishedAt,
}
