//! Which secrets key the database belongs to. The fingerprint of the key
//! that sealed the signing secrets is kept in the database; a process whose
//! key has another fingerprint would sign nothing (every secret fails to
//! open), so it is told at start instead, and refuses to run.

use jobcall_entity::{key_fingerprint, signing_secret};
use sea_orm::{
    ActiveValue::Set, EntityTrait, QueryOrder, QuerySelect, QueryTrait, sea_query::OnConflict,
};

use crate::{
    secrets::EncryptionKey,
    signers::open_row,
    store::{StoreError, WriteOp, WriteTx},
};

/// How many of the newest stored secrets a key without a recorded
/// fingerprint is tried on before it is adopted or refused.
const ADOPTION_SAMPLE: u64 = 8;

/// What [`CheckSecretsKey`] found.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum KeyCheck {
    /// The database records this key's fingerprint.
    Matches,
    /// The database held no secrets and no fingerprint: this key's is
    /// recorded now, and every later process must have the same key.
    Recorded,
    /// The database held secrets but no fingerprint (written by 0.1.0):
    /// this key opened one of them, so its fingerprint is recorded now.
    Adopted,
    /// The database records another key's fingerprint.
    Mismatch { stored: String, ours: String },
    /// No fingerprint recorded, and none of the newest `tried` secrets
    /// opens with this key: it is not the key they were sealed with.
    Undecryptable { tried: usize },
}

impl KeyCheck {
    pub fn is_ok(&self) -> bool {
        matches!(self, Self::Matches | Self::Recorded | Self::Adopted)
    }
}

/// Compares the key with the fingerprint the database records, recording it
/// when there is none yet (see [`KeyCheck`]). Run once per process, before
/// it serves or works; processes starting at the same time agree on one
/// fingerprint: the first to commit records it, the others compare with it.
#[derive(Debug, Clone)]
pub struct CheckSecretsKey {
    key: EncryptionKey,
}

impl CheckSecretsKey {
    pub fn new(key: EncryptionKey) -> Self {
        Self { key }
    }
}

impl WriteOp for CheckSecretsKey {
    type Output = KeyCheck;

    async fn apply(self, tx: &mut WriteTx) -> Result<KeyCheck, StoreError> {
        let ours = self.key.fingerprint();
        if let Some(stored) = stored_fingerprint(tx).await? {
            return Ok(compare(stored, ours, KeyCheck::Matches));
        }
        let newest = tx
            .fetch_all::<signing_secret::Model, _>(
                &signing_secret::Entity::find()
                    .order_by_desc(signing_secret::Column::CreatedAt)
                    .limit(ADOPTION_SAMPLE)
                    .into_query(),
            )
            .await?;
        // A wrong key opens none of them (AES-GCM authenticates); one that
        // opens is the key, even if another row is corrupt.
        let outcome = if newest.is_empty() {
            KeyCheck::Recorded
        } else if newest.iter().any(|row| open_row(&self.key, row).is_ok()) {
            KeyCheck::Adopted
        } else {
            return Ok(KeyCheck::Undecryptable {
                tried: newest.len(),
            });
        };
        let row = key_fingerprint::ActiveModel {
            purpose: Set(key_fingerprint::SECRETS_KEY.to_owned()),
            fingerprint: Set(ours.clone()),
            created_at: Set(tx.now_ms()),
        };
        tx.execute(
            &key_fingerprint::Entity::insert(row)
                .on_conflict(
                    OnConflict::column(key_fingerprint::Column::Purpose)
                        .do_nothing()
                        .to_owned(),
                )
                .into_query(),
        )
        .await?;
        // Another process may have recorded its key in the meantime.
        let stored = stored_fingerprint(tx)
            .await?
            .ok_or_else(|| StoreError::Corrupt("the key fingerprint was not recorded".into()))?;
        Ok(compare(stored, ours, outcome))
    }
}

async fn stored_fingerprint(tx: &mut WriteTx) -> Result<Option<String>, StoreError> {
    Ok(tx
        .fetch_optional::<key_fingerprint::Model, _>(
            &key_fingerprint::Entity::find_by_id(key_fingerprint::SECRETS_KEY.to_owned())
                .into_query(),
        )
        .await?
        .map(|row| row.fingerprint))
}

fn compare(stored: String, ours: String, same: KeyCheck) -> KeyCheck {
    if stored == ours {
        same
    } else {
        KeyCheck::Mismatch { stored, ours }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::{
        clients::{CreateClient, open_secret},
        signals::Signals,
        store::{Database, DatabaseOptions, Writer},
        time::Clock,
    };
    use jobcall_migration::{Migrator, MigratorTrait};
    use sea_orm::{ColumnTrait, QueryFilter, sea_query::Expr};

    async fn database() -> (tempfile::TempDir, Database, Writer) {
        let dir = tempfile::tempdir().unwrap();
        let db = Database::connect(&DatabaseOptions {
            url: format!("sqlite://{}", dir.path().join("test.db").display()),
            max_connections: 2,
            sqlite_synchronous_full: false,
        })
        .await
        .unwrap();
        Migrator::up(&db.schema_connection(), None).await.unwrap();
        let writer = Writer::start(db.clone(), Signals::new(Clock::system()));
        (dir, db, writer)
    }

    #[tokio::test]
    async fn the_first_key_is_recorded_and_another_is_refused() {
        let (_dir, _db, writer) = database().await;
        let key = EncryptionKey::generate();
        let check = |key: &EncryptionKey| writer.run(CheckSecretsKey::new(key.clone()));
        assert_eq!(check(&key).await.unwrap(), KeyCheck::Recorded);
        assert_eq!(check(&key).await.unwrap(), KeyCheck::Matches);
        let other = EncryptionKey::generate();
        assert_eq!(
            check(&other).await.unwrap(),
            KeyCheck::Mismatch {
                stored: key.fingerprint(),
                ours: other.fingerprint()
            }
        );
    }

    #[tokio::test]
    async fn without_a_fingerprint_only_a_key_that_opens_a_secret_is_adopted() {
        let (_dir, db, writer) = database().await;
        let key = EncryptionKey::generate();
        // Secrets written before fingerprints existed (as by release 0.1.0).
        writer
            .run(CreateClient::new("old".into(), &key))
            .await
            .unwrap();
        let other = EncryptionKey::generate();
        assert_eq!(
            writer.run(CheckSecretsKey::new(other)).await.unwrap(),
            KeyCheck::Undecryptable { tried: 1 }
        );
        assert!(
            key_fingerprint::Entity::find()
                .one(db.reads())
                .await
                .unwrap()
                .is_none(),
            "a refused key records nothing"
        );
        assert_eq!(
            writer.run(CheckSecretsKey::new(key.clone())).await.unwrap(),
            KeyCheck::Adopted
        );
        assert_eq!(
            writer.run(CheckSecretsKey::new(key)).await.unwrap(),
            KeyCheck::Matches
        );
    }

    #[tokio::test]
    async fn a_ciphertext_copied_to_another_row_does_not_open() {
        let (_dir, db, writer) = database().await;
        let key = EncryptionKey::generate();
        let (alice, _) = writer
            .run(CreateClient::new("alice".into(), &key))
            .await
            .unwrap();
        let (mallory, _) = writer
            .run(CreateClient::new("mallory".into(), &key))
            .await
            .unwrap();
        let rows = signing_secret::Entity::find()
            .all(db.reads())
            .await
            .unwrap();
        let of = |id: &jobcall_entity::ClientId| rows.iter().find(|r| &r.client_id == id).unwrap();
        let (alices, mallorys) = (of(&alice.id).clone(), of(&mallory.id).clone());
        assert!(open_secret(&key, &alices).is_ok());
        // Mallory's secret pasted into Alice's row would sign Alice's
        // callbacks with a secret Mallory knows: it does not open there.
        let pasted = signing_secret::Model {
            ciphertext: mallorys.ciphertext.clone(),
            ..alices.clone()
        };
        assert!(matches!(
            open_secret(&key, &pasted),
            Err(StoreError::Corrupt(_))
        ));
        // Nor under another secret id of the same client.
        let renumbered = signing_secret::Model {
            id: jobcall_entity::SecretId::generate(),
            ..mallorys.clone()
        };
        assert!(open_secret(&key, &renumbered).is_err());
        // And the database agrees when the copy is made there.
        signing_secret::Entity::update_many()
            .col_expr(
                signing_secret::Column::Ciphertext,
                Expr::value(mallorys.ciphertext.clone()),
            )
            .filter(signing_secret::Column::Id.eq(alices.id.clone()))
            .exec(&db.schema_connection())
            .await
            .unwrap();
        assert!(
            crate::signers::load_signers(&db, &key, &alice.id)
                .await
                .is_err()
        );
    }
}
