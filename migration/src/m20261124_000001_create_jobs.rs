use sea_orm_migration::{prelude::*, schema::*};

use crate::one_of;

#[derive(DeriveMigrationName)]
pub struct Migration;

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .create_table(
                Table::create()
                    .table(Jobs::Table)
                    .col(string_len(Jobs::Id, 40).primary_key())
                    .col(string_len(Jobs::ClientId, 40))
                    .col(string_len(Jobs::Kind, 64))
                    .col(string_len(Jobs::Status, 16).check(one_of(
                        Jobs::Status,
                        &["queued", "running", "succeeded", "failed", "canceled"],
                    )))
                    .col(json_binary(Jobs::Input))
                    .col(json_binary_null(Jobs::Result))
                    .col(string_len_null(Jobs::ErrorCode, 64))
                    .col(text_null(Jobs::ErrorMessage))
                    .col(small_integer_null(Jobs::Progress))
                    .col(integer(Jobs::Attempts).default(0))
                    .col(integer(Jobs::MaxAttempts))
                    .col(big_integer(Jobs::TimeoutMs))
                    .col(text_null(Jobs::CallbackUrl))
                    .col(json_binary(Jobs::CallbackEvents))
                    .col(string_len(Jobs::CallbackState, 16).check(one_of(
                        Jobs::CallbackState,
                        &["none", "pending", "delivered", "failing", "failed"],
                    )))
                    .col(integer(Jobs::CallbackAttempts).default(0))
                    .col(integer_null(Jobs::CallbackLastStatusCode))
                    .col(big_integer_null(Jobs::CallbackNextAttemptAt))
                    .col(json_binary(Jobs::Metadata))
                    .col(string_len_null(Jobs::IdempotencyKey, 255))
                    .col(string_len_null(Jobs::RequestHash, 64))
                    .col(string_len_null(Jobs::RequestId, 128))
                    .col(boolean(Jobs::CancelRequested).default(false))
                    .col(string_len_null(Jobs::LeaseOwner, 128))
                    .col(big_integer_null(Jobs::LeaseExpiresAt))
                    .col(big_integer_null(Jobs::NextAttemptAt))
                    .col(big_integer(Jobs::CreatedAt))
                    .col(big_integer_null(Jobs::StartedAt))
                    .col(big_integer_null(Jobs::FinishedAt))
                    .col(big_integer(Jobs::UpdatedAt))
                    .to_owned(),
            )
            .await?;
        // Idempotency keys are scoped per client; NULL keys never collide.
        manager
            .create_index(
                Index::create()
                    .name("jobcall_jobs_client_idempotency_key")
                    .table(Jobs::Table)
                    .col(Jobs::ClientId)
                    .col(Jobs::IdempotencyKey)
                    .unique()
                    .to_owned(),
            )
            .await?;
        // The list endpoint: newest first per client, optionally by status or kind.
        for (name, column) in [
            ("jobcall_jobs_client_id", None),
            ("jobcall_jobs_client_status_id", Some(Jobs::Status)),
            ("jobcall_jobs_client_kind_id", Some(Jobs::Kind)),
        ] {
            let mut index = Index::create();
            index.name(name).table(Jobs::Table).col(Jobs::ClientId);
            if let Some(column) = column {
                index.col(column);
            }
            manager.create_index(index.col(Jobs::Id).to_owned()).await?;
        }
        // Queue depth and the age of the oldest queued job, for backpressure and metrics.
        manager
            .create_index(
                Index::create()
                    .name("jobcall_jobs_status_created_at")
                    .table(Jobs::Table)
                    .col(Jobs::Status)
                    .col(Jobs::CreatedAt)
                    .to_owned(),
            )
            .await
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .drop_table(Table::drop().table(Jobs::Table).to_owned())
            .await
    }
}

#[derive(DeriveIden)]
enum Jobs {
    #[sea_orm(iden = "jobcall_jobs")]
    Table,
    Id,
    ClientId,
    Kind,
    Status,
    Input,
    Result,
    ErrorCode,
    ErrorMessage,
    Progress,
    Attempts,
    MaxAttempts,
    TimeoutMs,
    CallbackUrl,
    CallbackEvents,
    CallbackState,
    CallbackAttempts,
    CallbackLastStatusCode,
    CallbackNextAttemptAt,
    Metadata,
    IdempotencyKey,
    RequestHash,
    RequestId,
    CancelRequested,
    LeaseOwner,
    LeaseExpiresAt,
    NextAttemptAt,
    CreatedAt,
    StartedAt,
    FinishedAt,
    UpdatedAt,
}
