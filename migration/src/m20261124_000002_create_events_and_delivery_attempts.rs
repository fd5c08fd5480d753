use sea_orm_migration::{prelude::*, schema::*};

use crate::one_of;

const EVENT_TYPES: &[&str] = &[
    "job.started",
    "job.progress",
    "job.succeeded",
    "job.failed",
    "job.canceled",
];

#[derive(DeriveMigrationName)]
pub struct Migration;

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .create_table(
                Table::create()
                    .table(Events::Table)
                    .col(string_len(Events::Id, 40).primary_key())
                    .col(string_len(Events::JobId, 40))
                    .col(string_len(Events::ClientId, 40))
                    .col(integer(Events::Seq))
                    .col(
                        string_len(Events::EventType, 32)
                            .check(one_of(Events::EventType, EVENT_TYPES)),
                    )
                    .col(text(Events::Url))
                    .col(text(Events::Payload))
                    .col(string_len(Events::State, 16).check(one_of(
                        Events::State,
                        &["waiting", "pending", "delivered", "failed"],
                    )))
                    .col(integer(Events::Attempts).default(0))
                    .col(big_integer_null(Events::NextAttemptAt))
                    .col(integer_null(Events::LastStatusCode))
                    .col(text_null(Events::LastError))
                    .col(string_len_null(Events::LeaseOwner, 128))
                    .col(big_integer_null(Events::LeaseExpiresAt))
                    .col(big_integer(Events::CreatedAt))
                    .col(big_integer_null(Events::FinishedAt))
                    .col(big_integer(Events::UpdatedAt))
                    .to_owned(),
            )
            .await?;
        // One position per job: the order events are delivered in.
        manager
            .create_index(
                Index::create()
                    .name("jobcall_events_job_seq")
                    .table(Events::Table)
                    .col(Events::JobId)
                    .col(Events::Seq)
                    .unique()
                    .to_owned(),
            )
            .await?;
        // The sweep that finds stranded events and the delivery-queue gauges.
        manager
            .create_index(
                Index::create()
                    .name("jobcall_events_state_created_at")
                    .table(Events::Table)
                    .col(Events::State)
                    .col(Events::CreatedAt)
                    .to_owned(),
            )
            .await?;

        manager
            .create_table(
                Table::create()
                    .table(DeliveryAttempts::Table)
                    .col(big_pk_auto(DeliveryAttempts::Id))
                    .col(string_len(DeliveryAttempts::EventId, 40))
                    .col(string_len(DeliveryAttempts::JobId, 40))
                    .col(string_len(DeliveryAttempts::ClientId, 40))
                    .col(
                        string_len(DeliveryAttempts::EventType, 32)
                            .check(one_of(DeliveryAttempts::EventType, EVENT_TYPES)),
                    )
                    .col(integer(DeliveryAttempts::Attempt))
                    .col(
                        string_len(DeliveryAttempts::Trigger, 16)
                            .check(one_of(DeliveryAttempts::Trigger, &["scheduled", "manual"])),
                    )
                    .col(text(DeliveryAttempts::Url))
                    .col(integer_null(DeliveryAttempts::StatusCode))
                    .col(string_len_null(DeliveryAttempts::ErrorClass, 32))
                    .col(text_null(DeliveryAttempts::Error))
                    .col(big_integer(DeliveryAttempts::DurationMs))
                    .col(text_null(DeliveryAttempts::ResponseBody))
                    .col(big_integer(DeliveryAttempts::CreatedAt))
                    .to_owned(),
            )
            .await?;
        manager
            .create_index(
                Index::create()
                    .name("jobcall_delivery_attempts_job_id")
                    .table(DeliveryAttempts::Table)
                    .col(DeliveryAttempts::JobId)
                    .col(DeliveryAttempts::Id)
                    .to_owned(),
            )
            .await
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .drop_table(Table::drop().table(DeliveryAttempts::Table).to_owned())
            .await?;
        manager
            .drop_table(Table::drop().table(Events::Table).to_owned())
            .await
    }
}

#[derive(DeriveIden)]
enum Events {
    #[sea_orm(iden = "jobcall_events")]
    Table,
    Id,
    JobId,
    ClientId,
    Seq,
    EventType,
    Url,
    Payload,
    State,
    Attempts,
    NextAttemptAt,
    LastStatusCode,
    LastError,
    LeaseOwner,
    LeaseExpiresAt,
    CreatedAt,
    FinishedAt,
    UpdatedAt,
}

#[derive(DeriveIden)]
enum DeliveryAttempts {
    #[sea_orm(iden = "jobcall_delivery_attempts")]
    Table,
    Id,
    EventId,
    JobId,
    ClientId,
    EventType,
    Attempt,
    Trigger,
    Url,
    StatusCode,
    ErrorClass,
    Error,
    DurationMs,
    ResponseBody,
    CreatedAt,
}
