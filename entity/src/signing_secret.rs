//! `jobcall_signing_secrets`: a client's webhook signing secrets (`v1`) and
//! ed25519 signing keys (`v1a`), encrypted at rest. The newest of each
//! scheme signs; an older one keeps signing alongside until `expires_at`,
//! the end of its rotation overlap.

use sea_orm::entity::prelude::*;

use crate::{ClientId, SecretId, SignatureScheme};

#[derive(Clone, Debug, PartialEq, DeriveEntityModel)]
#[sea_orm(table_name = "jobcall_signing_secrets")]
pub struct Model {
    #[sea_orm(primary_key, auto_increment = false)]
    pub id: SecretId,
    pub client_id: ClientId,
    /// Nonce and AES-256-GCM ciphertext of the raw key bytes, base64. Since
    /// 0.2: `v2:`-prefixed and sealed with this row's ids as associated
    /// data; without the prefix, as release 0.1.0 wrote it (no associated
    /// data).
    pub ciphertext: String,
    pub created_at: i64,
    /// `None` while this is the current secret.
    pub expires_at: Option<i64>,
    /// `v1`: `ciphertext` seals an HMAC key. `v1a`: it seals an ed25519
    /// seed, whose public key is `public_key`.
    pub scheme: SignatureScheme,
    /// `v1a` only: the raw 32-byte public key, base64.
    pub public_key: Option<String>,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
