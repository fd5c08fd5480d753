//! What signs a client's callbacks: its `v1` HMAC secrets and its `v1a`
//! ed25519 keys, each scheme only when the client chose it. Keys are
//! sealed at rest as secrets are (AES-256-GCM, bound to their row), rotate
//! the same way (the old one keeps signing until the overlap ends), and
//! their public halves are what `GET /v1/clients/{id}/signing-keys` serves.

use std::time::Duration;

use jobcall_entity::{
    ClientId, SecretId, SignatureScheme, SignatureSchemes, client, signing_secret,
};
use sea_orm::{
    ActiveValue::Set, ColumnTrait, Condition, EntityTrait, QueryFilter, QueryOrder, QueryTrait,
    sea_query::Expr,
};

use crate::{
    secrets::{EncryptionKey, SecretError, SigningSecret},
    signing_keys::{PublicKey, SigningKey},
    store::{Database, StoreError, WriteOp, WriteTx},
};

/// What signs one client's callbacks now, newest first in each scheme.
#[derive(Debug, Clone, Default)]
pub struct Signers {
    /// `v1`: empty when the client does not use it.
    pub secrets: Vec<SigningSecret>,
    /// `v1a`: empty when the client does not use it.
    pub keys: Vec<SigningKey>,
}

impl Signers {
    /// HMAC secrets only, as before `v1a` (tests, tools).
    pub fn v1(secrets: Vec<SigningSecret>) -> Self {
        Self {
            secrets,
            keys: Vec::new(),
        }
    }
}

/// The associated data a signing secret is sealed with: its row, so that a
/// ciphertext copied into another row (another client's, or another secret
/// of the same client) does not decrypt there.
pub fn secret_aad(secret_id: &SecretId, client_id: &ClientId) -> Vec<u8> {
    format!("jobcall signing secret:{secret_id}:{client_id}").into_bytes()
}

/// The associated data an ed25519 key is sealed with: its row, and its
/// scheme, so that neither another row's ciphertext nor an HMAC secret's
/// opens as this key.
pub fn key_aad(key_id: &SecretId, client_id: &ClientId) -> Vec<u8> {
    format!("jobcall signing key:v1a:{key_id}:{client_id}").into_bytes()
}

/// The sealed bytes of a row of either scheme, opened with that row's
/// associated data: an HMAC key, or an ed25519 seed.
pub fn open_row(key: &EncryptionKey, row: &signing_secret::Model) -> Result<Vec<u8>, StoreError> {
    let aad = match row.scheme {
        SignatureScheme::V1 => secret_aad(&row.id, &row.client_id),
        SignatureScheme::V1a => key_aad(&row.id, &row.client_id),
    };
    key.open(&row.ciphertext, &aad)
        .map_err(|e| StoreError::Corrupt(format!("signing secret {}: {e}", row.id)))
}

fn open_key(key: &EncryptionKey, row: &signing_secret::Model) -> Result<SigningKey, StoreError> {
    SigningKey::from_seed_bytes(&open_row(key, row)?)
        .map_err(|e: SecretError| StoreError::Corrupt(format!("signing key {}: {e}", row.id)))
}

/// A new row of `jobcall_signing_secrets`: a sealed secret or key.
pub(crate) struct Sealed<'a> {
    pub id: &'a SecretId,
    pub client_id: &'a ClientId,
    pub sealed: &'a str,
    pub scheme: SignatureScheme,
    pub public_key: Option<String>,
}

impl Sealed<'_> {
    /// Inserts it, current (no end) from `now`.
    pub(crate) async fn insert(self, tx: &mut WriteTx, now: i64) -> Result<(), StoreError> {
        let row = signing_secret::ActiveModel {
            id: Set(self.id.clone()),
            client_id: Set(self.client_id.clone()),
            ciphertext: Set(self.sealed.to_owned()),
            created_at: Set(now),
            expires_at: Set(None),
            scheme: Set(self.scheme),
            public_key: Set(self.public_key),
        };
        tx.execute(&signing_secret::Entity::insert(row).into_query())
            .await?;
        Ok(())
    }
}

/// A fresh ed25519 key pair, sealed for the row it goes into.
#[derive(Debug, Clone)]
pub struct NewSigningKey {
    id: SecretId,
    public_key: PublicKey,
    sealed: String,
}

impl NewSigningKey {
    pub fn generate(client_id: &ClientId, key: &EncryptionKey) -> Self {
        let id = SecretId::generate();
        let signing_key = SigningKey::generate();
        let sealed = key.seal(signing_key.seed(), &key_aad(&id, client_id));
        Self {
            id,
            public_key: signing_key.public_key(),
            sealed,
        }
    }

    pub fn public_key(&self) -> PublicKey {
        self.public_key
    }

    pub(crate) async fn insert(
        &self,
        tx: &mut WriteTx,
        client_id: &ClientId,
        now: i64,
    ) -> Result<(), StoreError> {
        let credential = Sealed {
            id: &self.id,
            client_id,
            sealed: &self.sealed,
            scheme: SignatureScheme::V1a,
            public_key: Some(self.public_key.to_base64()),
        };
        credential.insert(tx, now).await
    }

    /// Inserts this key unless the client has a current one already.
    pub(crate) async fn insert_unless_current(
        &self,
        tx: &mut WriteTx,
        client_id: &ClientId,
    ) -> Result<(), StoreError> {
        let now = tx.now_ms();
        let current = tx
            .fetch_optional::<signing_secret::Model, _>(
                &signing_secret::Entity::find()
                    .filter(signing_secret::Column::ClientId.eq(client_id.clone()))
                    .filter(signing_secret::Column::Scheme.eq(SignatureScheme::V1a))
                    .filter(signing_secret::Column::ExpiresAt.is_null())
                    .into_query(),
            )
            .await?;
        if current.is_none() {
            self.insert(tx, client_id, now).await?;
        }
        Ok(())
    }
}

/// Ends the current credentials of `scheme` after `overlap` (those already
/// ending sooner keep their end): what a rotation does before adding the
/// new one.
pub(crate) async fn retire_current(
    tx: &mut WriteTx,
    client_id: &ClientId,
    scheme: SignatureScheme,
    overlap: Duration,
) -> Result<(), StoreError> {
    let retire_at = tx.now_ms() + overlap.as_millis() as i64;
    tx.execute(
        &signing_secret::Entity::update_many()
            .col_expr(signing_secret::Column::ExpiresAt, Expr::value(retire_at))
            .filter(signing_secret::Column::ClientId.eq(client_id.clone()))
            .filter(signing_secret::Column::Scheme.eq(scheme))
            .filter(
                Condition::any()
                    .add(signing_secret::Column::ExpiresAt.is_null())
                    .add(signing_secret::Column::ExpiresAt.gt(retire_at)),
            )
            .into_query(),
    )
    .await?;
    Ok(())
}

/// Issues a new ed25519 key; the current ones keep signing until the
/// overlap has passed.
#[derive(Debug, Clone)]
pub struct RotateSigningKey {
    client_id: ClientId,
    overlap: Duration,
    key: NewSigningKey,
}

impl RotateSigningKey {
    pub fn new(client_id: ClientId, overlap: Duration, key: &EncryptionKey) -> Self {
        let new = NewSigningKey::generate(&client_id, key);
        Self {
            client_id,
            overlap,
            key: new,
        }
    }
}

impl WriteOp for RotateSigningKey {
    /// The client, or `None` when there is no such client.
    type Output = Option<client::Model>;

    async fn apply(self, tx: &mut WriteTx) -> Result<Self::Output, StoreError> {
        let Some(client) = tx
            .fetch_optional::<client::Model, _>(
                &client::Entity::find_by_id(self.client_id.clone()).into_query(),
            )
            .await?
        else {
            return Ok(None);
        };
        retire_current(tx, &self.client_id, SignatureScheme::V1a, self.overlap).await?;
        let now = tx.now_ms();
        self.key.insert(tx, &self.client_id, now).await?;
        Ok(Some(client))
    }
}

/// A client's ed25519 public key, as served.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PublicKeyRecord {
    pub id: SecretId,
    pub public_key: PublicKey,
    pub created_at: i64,
    /// When it stops signing (its rotation overlap ends); `None` while it is
    /// the current key.
    pub expires_at: Option<i64>,
}

/// The rows of `scheme` that sign for `client_id` now, newest first.
async fn active_rows(
    db: &Database,
    client_id: &ClientId,
    scheme: SignatureScheme,
) -> Result<Vec<signing_secret::Model>, StoreError> {
    let now = db.clock().now_ms();
    Ok(signing_secret::Entity::find()
        .filter(signing_secret::Column::ClientId.eq(client_id.clone()))
        .filter(signing_secret::Column::Scheme.eq(scheme))
        .filter(
            Condition::any()
                .add(signing_secret::Column::ExpiresAt.is_null())
                .add(signing_secret::Column::ExpiresAt.gt(now)),
        )
        .order_by_desc(signing_secret::Column::CreatedAt)
        .all(db.reads())
        .await?)
}

/// The public keys that sign (or, with `v1a` off, would sign) the client's
/// callbacks now: the current one and any still inside their overlap.
pub async fn public_keys(
    db: &Database,
    client_id: &ClientId,
) -> Result<Vec<PublicKeyRecord>, StoreError> {
    active_rows(db, client_id, SignatureScheme::V1a)
        .await?
        .into_iter()
        .map(|row| {
            let public_key = row
                .public_key
                .as_deref()
                .map(PublicKey::parse)
                .transpose()
                .map_err(|e| StoreError::Corrupt(format!("public key {}: {e}", row.id)))?
                .ok_or_else(|| StoreError::Corrupt(format!("key {} has no public key", row.id)))?;
            Ok(PublicKeyRecord {
                id: row.id,
                public_key,
                created_at: row.created_at,
                expires_at: row.expires_at,
            })
        })
        .collect()
}

/// What signs the client's callbacks now, for the schemes it chose.
pub async fn load_signers(
    db: &Database,
    key: &EncryptionKey,
    client_id: &ClientId,
) -> Result<Signers, StoreError> {
    let client = client::Entity::find_by_id(client_id.clone())
        .one(db.reads())
        .await?;
    let schemes = match client {
        Some(client) => SignatureSchemes::from_stored(&client.signature_schemes),
        None => SignatureSchemes::v1(),
    };
    let mut signers = Signers::default();
    if schemes.contains(SignatureScheme::V1) {
        for row in active_rows(db, client_id, SignatureScheme::V1).await? {
            signers
                .secrets
                .push(SigningSecret::from_bytes(open_row(key, &row)?));
        }
    }
    if schemes.contains(SignatureScheme::V1a) {
        for row in active_rows(db, client_id, SignatureScheme::V1a).await? {
            signers.keys.push(open_key(key, &row)?);
        }
    }
    Ok(signers)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn row(id: &SecretId, client: &ClientId, sealed: String) -> signing_secret::Model {
        signing_secret::Model {
            id: id.clone(),
            client_id: client.clone(),
            ciphertext: sealed,
            created_at: 0,
            expires_at: None,
            scheme: SignatureScheme::V1a,
            public_key: None,
        }
    }

    #[test]
    fn a_sealed_key_opens_only_in_its_own_row_and_scheme() {
        let key = EncryptionKey::generate();
        let client = ClientId::generate();
        let new = NewSigningKey::generate(&client, &key);
        let ours = row(&new.id, &client, new.sealed.clone());
        let opened = open_key(&key, &ours).unwrap();
        assert_eq!(opened.public_key(), new.public_key());
        assert!(
            new.sealed.starts_with("v2:"),
            "sealed, not stored in the clear"
        );

        // Copied into another row, another client's, or read as a `v1`
        // secret, it does not open.
        let elsewhere = row(&SecretId::generate(), &client, new.sealed.clone());
        let other_client = row(&new.id, &ClientId::generate(), new.sealed.clone());
        let as_v1 = signing_secret::Model {
            scheme: SignatureScheme::V1,
            ..ours.clone()
        };
        for wrong in [elsewhere, other_client, as_v1] {
            assert!(matches!(
                open_row(&key, &wrong),
                Err(StoreError::Corrupt(_))
            ));
        }
        assert!(open_row(&EncryptionKey::generate(), &ours).is_err());
    }
}
