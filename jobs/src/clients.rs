//! API clients and their signing secrets. A client is created with one
//! secret; rotating adds a new one and keeps the old signing alongside it
//! until the overlap ends.

use std::{
    collections::HashMap,
    sync::{Arc, Mutex, MutexGuard},
    time::{Duration, Instant},
};

use jobcall_entity::{ClientId, SecretId, client, signing_secret};
use sea_orm::{
    ActiveModelTrait, ActiveValue::Set, ColumnTrait, Condition, EntityTrait, QueryFilter,
    QueryOrder, QueryTrait, sea_query::Expr,
};

use crate::{
    secrets::{EncryptionKey, SigningSecret},
    store::{Database, StoreError, WriteOp, WriteTx},
    time::now_ms,
};

/// Creates a client with a fresh signing secret.
#[derive(Debug, Clone)]
pub struct CreateClient {
    client: client::Model,
    secret: SigningSecret,
    sealed: String,
}

impl CreateClient {
    pub fn new(name: String, key: &EncryptionKey) -> Self {
        let secret = SigningSecret::generate();
        let sealed = key.encrypt(secret.key());
        let client = client::Model {
            id: ClientId::generate(),
            name,
            created_at: now_ms(),
        };
        Self {
            client,
            secret,
            sealed,
        }
    }
}

impl WriteOp for CreateClient {
    type Output = (client::Model, SigningSecret);

    // Only new rows: safe to share a transaction with other submissions.
    const BATCHES: bool = true;

    async fn apply(self, tx: &mut WriteTx) -> Result<Self::Output, StoreError> {
        let row = client::ActiveModel::from(self.client.clone()).reset_all();
        tx.execute(&client::Entity::insert(row).into_query())
            .await?;
        insert_secret(tx, &self.client.id, self.sealed, self.client.created_at).await?;
        Ok((self.client, self.secret))
    }
}

/// Issues a new signing secret; the current ones keep signing until the
/// overlap has passed.
#[derive(Debug, Clone)]
pub struct RotateSecret {
    client_id: ClientId,
    overlap: Duration,
    secret: SigningSecret,
    sealed: String,
}

impl RotateSecret {
    pub fn new(client_id: ClientId, overlap: Duration, key: &EncryptionKey) -> Self {
        let secret = SigningSecret::generate();
        let sealed = key.encrypt(secret.key());
        Self {
            client_id,
            overlap,
            secret,
            sealed,
        }
    }
}

impl WriteOp for RotateSecret {
    /// The new secret, or `None` when there is no such client.
    type Output = Option<(client::Model, SigningSecret)>;

    async fn apply(self, tx: &mut WriteTx) -> Result<Self::Output, StoreError> {
        let now = now_ms();
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
        insert_secret(tx, &self.client_id, self.sealed, now).await?;
        Ok(Some((client, self.secret)))
    }
}

async fn insert_secret(
    tx: &mut WriteTx,
    client_id: &ClientId,
    sealed: String,
    now: i64,
) -> Result<(), StoreError> {
    let row = signing_secret::ActiveModel {
        id: Set(SecretId::generate()),
        client_id: Set(client_id.clone()),
        ciphertext: Set(sealed),
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
    let now = now_ms();
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
    rows.iter()
        .map(|row| {
            key.decrypt(&row.ciphertext)
                .map(SigningSecret::from_bytes)
                .map_err(|e| StoreError::Corrupt(format!("signing secret {}: {e}", row.id)))
        })
        .collect()
}

/// Signing secrets by client, decrypted, for a few seconds: a delivery does
/// not read and decrypt them each time, and a rotation takes effect within
/// [`SecretsCache::FRESH_FOR`].
/// When the secrets were read, and the secrets.
type Cached = (Instant, Arc<Vec<SigningSecret>>);

pub struct SecretsCache {
    key: EncryptionKey,
    entries: Mutex<HashMap<ClientId, Cached>>,
}

impl SecretsCache {
    pub const FRESH_FOR: Duration = Duration::from_secs(1);

    pub fn new(key: EncryptionKey) -> Self {
        Self {
            key,
            entries: Mutex::default(),
        }
    }

    pub async fn get(
        &self,
        db: &Database,
        client_id: &ClientId,
    ) -> Result<Arc<Vec<SigningSecret>>, StoreError> {
        if let Some((at, secrets)) = self.lock().get(client_id)
            && at.elapsed() < Self::FRESH_FOR
        {
            return Ok(secrets.clone());
        }
        let secrets = Arc::new(signing_secrets(db, &self.key, client_id).await?);
        let mut entries = self.lock();
        if entries.len() > 10_000 {
            entries.retain(|_, (at, _)| at.elapsed() < Self::FRESH_FOR);
        }
        entries.insert(client_id.clone(), (Instant::now(), secrets.clone()));
        Ok(secrets)
    }

    fn lock(&self) -> MutexGuard<'_, HashMap<ClientId, Cached>> {
        self.entries.lock().unwrap_or_else(|p| p.into_inner())
    }
}
