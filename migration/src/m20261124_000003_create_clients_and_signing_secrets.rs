use sea_orm_migration::{prelude::*, schema::*};

#[derive(DeriveMigrationName)]
pub struct Migration;

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .create_table(
                Table::create()
                    .table(Clients::Table)
                    .col(string_len(Clients::Id, 40).primary_key())
                    .col(string_len(Clients::Name, 200))
                    .col(big_integer(Clients::CreatedAt))
                    .to_owned(),
            )
            .await?;
        manager
            .create_table(
                Table::create()
                    .table(SigningSecrets::Table)
                    .col(string_len(SigningSecrets::Id, 40).primary_key())
                    .col(string_len(SigningSecrets::ClientId, 40))
                    .col(text(SigningSecrets::Ciphertext))
                    .col(big_integer(SigningSecrets::CreatedAt))
                    .col(big_integer_null(SigningSecrets::ExpiresAt))
                    .foreign_key(
                        ForeignKey::create()
                            .from(SigningSecrets::Table, SigningSecrets::ClientId)
                            .to(Clients::Table, Clients::Id)
                            .on_delete(ForeignKeyAction::Cascade),
                    )
                    .to_owned(),
            )
            .await?;
        manager
            .create_index(
                Index::create()
                    .name("jobcall_signing_secrets_client_id")
                    .table(SigningSecrets::Table)
                    .col(SigningSecrets::ClientId)
                    .col(SigningSecrets::CreatedAt)
                    .to_owned(),
            )
            .await
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .drop_table(Table::drop().table(SigningSecrets::Table).to_owned())
            .await?;
        manager
            .drop_table(Table::drop().table(Clients::Table).to_owned())
            .await
    }
}

#[derive(DeriveIden)]
enum Clients {
    #[sea_orm(iden = "jobcall_clients")]
    Table,
    Id,
    Name,
    CreatedAt,
}

#[derive(DeriveIden)]
enum SigningSecrets {
    #[sea_orm(iden = "jobcall_signing_secrets")]
    Table,
    Id,
    ClientId,
    Ciphertext,
    CreatedAt,
    ExpiresAt,
}
