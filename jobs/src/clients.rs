//! API clients and their signing secrets. A client is created with one
//! secret; rotating adds a new one and keeps the old signing alongside it
//! until the overlap ends.

use std::{
    collections::HashMap,
    sync::{Arc, Mutex, MutexGuard},
    time::Duration,
};

use jobcall_entity::{ClientId, SecretId, client, signing_secret};
use sea_orm::{
    ActiveModelTrait, ActiveValue::Set, ColumnTrait, Condition, EntityTrait, QueryFilter,
    QueryOrder, QueryTrait, sea_query::Expr,
};

use crate::{
    secrets::{EncryptionKey, SigningSecret},
    store::{Database, StoreError, WriteOp, WriteTx},
    time::Clock,
};

/// The associated data a signing secret is sealed with: its row, so that a
/// ciphertext copied into another row (another client's, or another secret
/// of the same client) does not decrypt there.
pub fn secret_aad(secret_id: &SecretId, client_id: &ClientId) -> Vec<u8> {
    format!("jobcall signing secret:{secret_id}:{client_id}").into_bytes()
}

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

/// Creates a client with a fresh signing secret.
#[derive(Debug, Clone)]
pub struct CreateClient {
    id: ClientId,
    name: String,
    secret: NewSecret,
}

impl CreateClient {
    pub fn new(name: String, key: &EncryptionKey) -> Self {
        let id = ClientId::generate();
        let secret = NewSecret::generate(&id, key);
        Self { id, name, secret }
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
        };
        let row = client::ActiveModel::from(client.clone()).reset_all();
        tx.execute(&client::Entity::insert(row).into_query())
            .await?;
        insert_secret(tx, &client.id, &self.secret, client.created_at).await?;
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
        let retire_at = now + self.overlap.as_millis() as i64;
        tx.execute(
            &signing_secret::Entity::update_many()
                .col_expr(signing_secret::Column::ExpiresAt, Expr::value(retire_at))
                .filter(signing_secret::Column::ClientId.eq(self.client_id.clone()))
                .filter(
                    Condition::any()
                        .add(signing_secret::Column::ExpiresAt.is_null())
                        .add(signing_secret::Column::ExpiresAt.gt(retire_at)),
                )
                .into_query(),
        )
        .await?;
        insert_secret(tx, &self.client_id, &self.secret, now).await?;
        Ok(Some((client, self.secret.secret)))
    }
}

/// A client's retention, as set by an admin: `None` leaves a value as it
/// is, `Some(None)` returns it to the server's default, `Some(Some(0))`
/// keeps that client's jobs forever.
#[derive(Debug, Clone)]
pub struct UpdateClient {
    pub client_id: ClientId,
    pub retention_seconds: Option<Option<i64>>,
    pub retention_failed_seconds: Option<Option<i64>>,
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
        if changed {
            tx.execute(
                &update
                    .filter(client::Column::Id.eq(self.client_id.clone()))
                    .into_query(),
            )
            .await?;
        }
        tx.fetch_optional(&client::Entity::find_by_id(self.client_id).into_query())
            .await
    }
}

async fn insert_secret(
    tx: &mut WriteTx,
    client_id: &ClientId,
    secret: &NewSecret,
    now: i64,
) -> Result<(), StoreError> {
    let row = signing_secret::ActiveModel {
        id: Set(secret.id.clone()),
        client_id: Set(client_id.clone()),
        ciphertext: Set(secret.sealed.clone()),
        created_at: Set(now),
        expires_at: Set(None),
    };
    tx.execute(&signing_secret::Entity::insert(row).into_query())
        .await?;
    Ok(())
}

pub async fn find_client(
    db: &Database,
    id: &ClientId,
) -> Result<Option<client::Model>, StoreError> {
    Ok(client::Entity::find_by_id(id.clone())
        .one(db.reads())
        .await?)
}

/// The secrets that sign a client's callbacks now, newest first: the current
/// one and any still inside their rotation overlap.
pub async fn signing_secrets(
    db: &Database,
    key: &EncryptionKey,
    client_id: &ClientId,
) -> Result<Vec<SigningSecret>, StoreError> {
    let now = db.clock().now_ms();
    let rows = signing_secret::Entity::find()
        .filter(signing_secret::Column::ClientId.eq(client_id.clone()))
        .filter(
            Condition::any()
                .add(signing_secret::Column::ExpiresAt.is_null())
                .add(signing_secret::Column::ExpiresAt.gt(now)),
        )
        .order_by_desc(signing_secret::Column::CreatedAt)
        .all(db.reads())
        .await?;
    rows.iter().map(|row| open_secret(key, row)).collect()
}

/// The secret in `row`, opened with the associated data of that row.
pub fn open_secret(
    key: &EncryptionKey,
    row: &signing_secret::Model,
) -> Result<SigningSecret, StoreError> {
    key.open(&row.ciphertext, &secret_aad(&row.id, &row.client_id))
        .map(SigningSecret::from_bytes)
        .map_err(|e| StoreError::Corrupt(format!("signing secret {}: {e}", row.id)))
}

/// When the secrets were read (clock milliseconds), and the secrets.
type Cached = (i64, Arc<Vec<SigningSecret>>);

/// Signing secrets by client, decrypted, for [`SecretsCache::FRESH_FOR`]: a
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
    ) -> Result<Arc<Vec<SigningSecret>>, StoreError> {
        let fresh_for = Self::FRESH_FOR.as_millis() as i64;
        let now = self.clock.now_ms();
        if let Some((at, secrets)) = self.lock().get(client_id)
            && now - at < fresh_for
        {
            return Ok(secrets.clone());
        }
        let secrets = Arc::new(signing_secrets(db, &self.key, client_id).await?);
        let mut entries = self.lock();
        if entries.len() > Self::MAX_ENTRIES {
            entries.retain(|_, (at, _)| now - *at < fresh_for);
        }
        entries.insert(client_id.clone(), (now, secrets.clone()));
        Ok(secrets)
    }

    /// Drops what is cached for `client_id`: its secrets just changed.
    pub fn forget(&self, client_id: &ClientId) {
        self.lock().remove(client_id);
    }

    fn lock(&self) -> MutexGuard<'_, HashMap<ClientId, Cached>> {
        self.entries.lock().unwrap_or_else(|p| p.into_inner())
    }
}
