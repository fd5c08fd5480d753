//! `jobcall_clients`: the API's callers. A token's `sub` names one; its jobs and
//! signing secrets belong to it.

use sea_orm::entity::prelude::*;

use crate::ClientId;

#[derive(Clone, Debug, PartialEq, DeriveEntityModel)]
#[sea_orm(table_name = "jobcall_clients")]
pub struct Model {
    #[sea_orm(primary_key, auto_increment = false)]
    pub id: ClientId,
    pub name: String,
    pub created_at: i64,
    /// How long this client's succeeded and canceled jobs are kept, in
    /// seconds; `None`: the server's default; 0: forever.
    pub retention_seconds: Option<i64>,
    /// The same for failed jobs.
    pub retention_failed_seconds: Option<i64>,
    /// The schemes its callbacks are signed with, space-separated
    /// (`v1`, `v1a` or `v1 v1a`; see [`crate::SignatureSchemes`]).
    pub signature_schemes: String,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
