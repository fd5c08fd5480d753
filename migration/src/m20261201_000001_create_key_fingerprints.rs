//! The fingerprint of the key the signing secrets are sealed with: a process
//! with another `JOBCALL_SECRETS_KEY` refuses to start instead of failing
//! every delivery. Empty after the migration; the first process to start
//! with this release writes it (see `jobcall_jobs::fingerprint`).

use sea_orm_migration::{prelude::*, schema::*};

#[derive(DeriveMigrationName)]
pub struct Migration;

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .create_table(
                Table::create()
                    .table(KeyFingerprints::Table)
                    .col(string_len(KeyFingerprints::Purpose, 40).primary_key())
                    .col(string_len(KeyFingerprints::Fingerprint, 64))
                    .col(big_integer(KeyFingerprints::CreatedAt))
                    .to_owned(),
            )
            .await
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .drop_table(Table::drop().table(KeyFingerprints::Table).to_owned())
            .await
    }
}

#[derive(DeriveIden)]
enum KeyFingerprints {
    #[sea_orm(iden = "jobcall_key_fingerprints")]
    Table,
    Purpose,
    Fingerprint,
    CreatedAt,
}
