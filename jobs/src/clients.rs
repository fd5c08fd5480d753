//! API clients and their signing secrets. A client is created with one
//! secret (and an ed25519 key when it signs with `v1a`; see
//! [`crate::signers`]); rotating adds a new one and keeps the old signing
//! alongside it until the overlap ends.

use std::{
    collections::HashMap,
    sync::{Arc, Mutex, MutexGuard},
    time::Duration,
};

use jobcall_entity::{
    ClientId, SecretId, SignatureScheme, SignatureSchemes, client, signing_secret,
};
use sea_orm::{
    ActiveModelTrait, ColumnTrait, EntityTrait, QueryFilter, QueryTrait, sea_query::Expr,
};

use crate::{
    secrets::{EncryptionKey, SigningSecret},
    signers::{NewSigningKey, Sealed, Signers, load_signers, open_row, retire_current, secret_aad},
    signing_keys::PublicKey,
    store::{Database, StoreError, WriteOp, WriteTx},
    time::Clock,
};

/// A fresh secret, sealed for the row it goes into.
#[derive(Debug, Clone)]
struct NewSecret {
    id: SecretId,
    secret: SigningSecret,
    sealed: String,
}

impl NewSecret {
    fn generate(client_id: &ClientId, key: &EncryptionKey) -> Self {
        let id = SecretId::generate();
        let secret = SigningSecret::generate();
        let sealed = key.seal(secret.key(), &secret_aad(&id, client_id));
        Self { id, secret, sealed }
    }
}

/// Creates a client with a fresh signing secret, and a fresh ed25519 key
/// when it signs with `v1a`.
#[derive(Debug, Clone)]
pub struct CreateClient {
    id: ClientId,
    name: String,
    secret: NewSecret,
    schemes: SignatureSchemes,
    signing_key: Option<NewSigningKey>,
}

impl CreateClient {
    /// A client that signs with `v1`.
    pub fn new(name: String, key: &EncryptionKey) -> Self {
        Self::with_schemes(name, SignatureSchemes::v1(), key)
    }

    pub fn with_schemes(name: String, schemes: SignatureSchemes, key: &EncryptionKey) -> Self {
        let id = ClientId::generate();
        let secret = NewSecret::generate(&id, key);
        let signing_key = schemes
            .contains(SignatureScheme::V1a)
            .then(|| NewSigningKey::generate(&id, key));
        Self {
            id,
            name,
            secret,
            schemes,
            signing_key,
        }
    }

    /// The public key of the client's `v1a` key, when it has one.
    pub fn public_key(&self) -> Option<PublicKey> {
        self.signing_key.as_ref().map(NewSigningKey::public_key)
    }
}

impl WriteOp for CreateClient {
    type Output = (client::Model, SigningSecret);

    // Inserts only new rows: safe to share a transaction with any other op.
    const BATCHES: bool = true;

    async fn apply(self, tx: &mut WriteTx) -> Result<Self::Output, StoreError> {
        let client = client::Model {
            id: self.id,
            name: self.name,
            created_at: tx.now_ms(),
            retention_seconds: None,
            retention_failed_seconds: None,
            signature_schemes: self.schemes.to_stored(),
        };
        let row = client::ActiveModel::from(client.clone()).reset_all();
        tx.execute(&client::Entity::insert(row).into_query())
            .await?;
        insert_secret(tx, &client.id, &self.secret, client.created_at).await?;
        if let Some(signing_key) = &self.signing_key {
            signing_key
                .insert(tx, &client.id, client.created_at)
                .await?;
        }
        Ok((client, self.secret.secret))
    }
}

/// Issues a new signing secret; the current ones keep signing until the
/// overlap has passed.
#[derive(Debug, Clone)]
pub struct RotateSecret {
    client_id: ClientId,
    overlap: Duration,
    secret: NewSecret,
}

impl RotateSecret {
    pub fn new(client_id: ClientId, overlap: Duration, key: &EncryptionKey) -> Self {
        let secret = NewSecret::generate(&client_id, key);
        Self {
            client_id,
            overlap,
            secret,
        }
    }
}

impl WriteOp for RotateSecret {
    /// The new secret, or `None` when there is no such client.
    type Output = Option<(client::Model, SigningSecret)>;

    async fn apply(self, tx: &mut WriteTx) -> Result<Self::Output, StoreError> {
        let now = tx.now_ms();
        let Some(client) = tx
            .fetch_optional::<client::Model, _>(
                &client::Entity::find_by_id(self.client_id.clone()).into_query(),
            )
            .await?
        else {
            return Ok(None);
        };
        retire_current(tx, &self.client_id, SignatureScheme::V1, self.overlap).await?;
        insert_secret(tx, &self.client_id, &self.secret, now).await?;
        Ok(Some((client, self.secret.secret)))
    }
}

/// A client's retention and signature schemes, as set by an admin: `None`
/// leaves a value as it is. For retention, `Some(None)` returns it to the
/// server's default, `Some(Some(0))` keeps that client's jobs forever.
/// Turning `v1a` on gives the client an ed25519 key if it has none.
#[derive(Debug, Clone)]
pub struct UpdateClient {
    pub client_id: ClientId,
    pub retention_seconds: Option<Option<i64>>,
    pub retention_failed_seconds: Option<Option<i64>>,
    pub signatures: Option<(SignatureSchemes, NewSigningKey)>,
}

impl WriteOp for UpdateClient {
    /// The client as it is now, or `None` when there is no such client.
    type Output = Option<client::Model>;

    async fn apply(self, tx: &mut WriteTx) -> Result<Self::Output, StoreError> {
        let mut update = client::Entity::update_many();
        let mut changed = false;
        for (column, value) in [
            (client::Column::RetentionSeconds, self.retention_seconds),
            (
                client::Column::RetentionFailedSeconds,
                self.retention_failed_seconds,
            ),
        ] {
            if let Some(value) = value {
                update = update.col_expr(column, Expr::value(value));
                changed = true;
            }
        }
        if let Some((schemes, _)) = &self.signatures {
            update = update.col_expr(
                client::Column::SignatureSchemes,
                Expr::value(schemes.to_stored()),
            );
            changed = true;
        }
        if changed {
            tx.execute(
                &update
                    .filter(client::Column::Id.eq(self.client_id.clone()))
                    .into_query(),
            )
            .await?;
        }
        let client: Option<client::Model> = tx
            .fetch_optional(&client::Entity::find_by_id(self.client_id.clone()).into_query())
            .await?;
        if client.is_some()
            && let Some((schemes, key)) = &self.signatures
            && schemes.contains(SignatureScheme::V1a)
        {
            key.insert_unless_current(tx, &self.client_id).await?;
        }
        Ok(client)
    }
}

async fn insert_secret(
    tx: &mut WriteTx,
    client_id: &ClientId,
    secret: &NewSecret,
    now: i64,
) -> Result<(), StoreError> {
    let credential = Sealed {
        id: &secret.id,
        client_id,
        sealed: &secret.sealed,
        scheme: SignatureScheme::V1,
        public_key: None,
    };
    credential.insert(tx, now).await
}

pub async fn find_client(
    db: &Database,
    id: &ClientId,
) -> Result<Option<client::Model>, StoreError> {
    Ok(client::Entity::find_by_id(id.clone())
        .one(db.reads())
        .await?)
}

/// The `v1` secret in `row`, opened with the associated data of that row.
pub fn open_secret(
    key: &EncryptionKey,
    row: &signing_secret::Model,
) -> Result<SigningSecret, StoreError> {
    open_row(key, row).map(SigningSecret::from_bytes)
}

/// When the signers were read (clock milliseconds), and the signers.
type Cached = (i64, Arc<Signers>);

/// Signing secrets and keys by client, decrypted, for [`SecretsCache::FRESH_FOR`]: a
/// delivery neither reads nor decrypts them each time. One per process,
/// shared by its API and its workers: a rotation made through this process
/// is [forgotten](SecretsCache::forget) here at once, and one made through
/// another process takes effect here within `FRESH_FOR`. Cheap to clone.
#[derive(Clone)]
pub struct SecretsCache {
    key: EncryptionKey,
    clock: Clock,
    entries: Arc<Mutex<HashMap<ClientId, Cached>>>,
}

impl SecretsCache {
    pub const FRESH_FOR: Duration = Duration::from_secs(1);
    /// Clients kept at most; past it, stale entries are dropped.
    const MAX_ENTRIES: usize = 10_000;

    pub fn new(key: EncryptionKey, clock: Clock) -> Self {
        Self {
            key,
            clock,
            entries: Arc::default(),
        }
    }

    /// The key secrets are sealed with at rest.
    pub fn key(&self) -> &EncryptionKey {
        &self.key
    }

    pub async fn get(
        &self,
        db: &Database,
        client_id: &ClientId,
    ) -> Result<Arc<Signers>, StoreError> {
        let fresh_for = Self::FRESH_FOR.as_millis() as i64;
        let now = self.clock.now_ms();
        if let Some((at, secrets)) = self.lock().get(client_id)
            && now - at < fresh_for
        {
            return Ok(secrets.clone());
        }
        let secrets = Arc::new(load_signers(db, &self.key, client_id).await?);
        let mut entries = self.lock();
        if entries.len() > Self::MAX_ENTRIES {
            entries.retain(|_, (at, _)| now - *at < fresh_for);
        }
        entries.insert(client_id.clone(), (now, secrets.clone()));
        Ok(secrets)
    }

    /// Drops what is cached for `client_id`: its secrets, keys or schemes
    /// just changed.
    pub fn forget(&self, client_id: &ClientId) {
        self.lock().remove(client_id);
    }

    fn lock(&self) -> MutexGuard<'_, HashMap<ClientId, Cached>> {
        self.entries.lock().unwrap_or_else(|p| p.into_inner())
    }
}
