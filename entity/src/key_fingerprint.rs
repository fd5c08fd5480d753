//! `jobcall_key_fingerprints`: which key the database's sealed data was
//! written with, by a fingerprint that does not reveal it. A process started
//! with another key finds a different fingerprint here and refuses to start.

use sea_orm::entity::prelude::*;

#[derive(Clone, Debug, PartialEq, DeriveEntityModel)]
#[sea_orm(table_name = "jobcall_key_fingerprints")]
pub struct Model {
    /// What the key is for: [`SECRETS_KEY`].
    #[sea_orm(primary_key, auto_increment = false)]
    pub purpose: String,
    /// HMAC-SHA256(key, "jobcall key fingerprint"), 16 bytes in hex.
    pub fingerprint: String,
    pub created_at: i64,
}

/// The key that seals signing secrets (`JOBCALL_SECRETS_KEY`).
pub const SECRETS_KEY: &str = "secrets_key";

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
