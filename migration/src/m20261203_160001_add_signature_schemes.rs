//! Asymmetric callback signatures (Standard Webhooks `v1a`, ed25519): a
//! client chooses its schemes, and its ed25519 keys live beside its HMAC
//! secrets, sealed the same way, with their public half in the clear.

use sea_orm_migration::{prelude::*, schema::*};

use crate::one_of;

#[derive(DeriveMigrationName)]
pub struct Migration;

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        // SQLite adds one column per statement.
        manager
            .alter_table(
                Table::alter()
                    .table(Clients::Table)
                    .add_column(
                        string_len(Clients::SignatureSchemes, 16)
                            .default("v1")
                            .check(one_of(Clients::SignatureSchemes, &["v1", "v1a", "v1 v1a"])),
                    )
                    .to_owned(),
            )
            .await?;
        manager
            .alter_table(
                Table::alter()
                    .table(SigningSecrets::Table)
                    .add_column(
                        string_len(SigningSecrets::Scheme, 8)
                            .default("v1")
                            .check(one_of(SigningSecrets::Scheme, &["v1", "v1a"])),
                    )
                    .to_owned(),
            )
            .await?;
        manager
            .alter_table(
                Table::alter()
                    .table(SigningSecrets::Table)
                    .add_column(text_null(SigningSecrets::PublicKey))
                    .to_owned(),
            )
            .await
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        // The ed25519 keys go with their scheme.
        manager
            .exec_stmt(
                Query::delete()
                    .from_table(SigningSecrets::Table)
                    .and_where(Expr::col(SigningSecrets::Scheme).eq("v1a"))
                    .to_owned(),
            )
            .await?;
        for column in [SigningSecrets::PublicKey, SigningSecrets::Scheme] {
            manager
                .alter_table(
                    Table::alter()
                        .table(SigningSecrets::Table)
                        .drop_column(column)
                        .to_owned(),
                )
                .await?;
        }
        manager
            .alter_table(
                Table::alter()
                    .table(Clients::Table)
                    .drop_column(Clients::SignatureSchemes)
                    .to_owned(),
            )
            .await
    }
}

#[derive(DeriveIden)]
enum Clients {
    #[sea_orm(iden = "jobcall_clients")]
    Table,
    SignatureSchemes,
}

#[derive(DeriveIden)]
enum SigningSecrets {
    #[sea_orm(iden = "jobcall_signing_secrets")]
    Table,
    Scheme,
    PublicKey,
}
