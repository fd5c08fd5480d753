//! The keys a process runs with: the JWT secret (HS256) and the secrets key
//! that seals signing secrets at rest.
//!
//! Production configures both (`JOBCALL_JWT_SECRET`, `JOBCALL_SECRETS_KEY`).
//! Development keys, generated once into `jobcall.keys` in the data
//! directory, are made only where every process that needs them reads the
//! same file: `jobcall serve` (and the `client` and `token` commands) on
//! SQLite, one machine and one data directory. PostgreSQL and the split
//! `api`/`worker` roles mean processes on other machines or in other
//! directories, which would each make their own key and silently fail every
//! delivery: there a missing key stops the start. Whatever the source, the
//! secrets key must match the fingerprint the database records
//! ([`verify_secrets_key`]).

use std::{
    fs::{self, File, OpenOptions},
    io::{ErrorKind, Read, Write},
    path::{Path, PathBuf},
    time::Duration,
};

use base64::{Engine, engine::general_purpose::STANDARD};
use jobcall_api::auth::KeyKind;
use jobcall_jobs::{
    fingerprint::{CheckSecretsKey, KeyCheck},
    secrets::{EncryptionKey, random_bytes},
    store::{Writer, backend_of_url},
};
use sea_orm::DbBackend;
use serde::{Deserialize, Serialize};
use tracing::{info, warn};

use crate::settings::Settings;

/// The keys in use.
pub struct Keys {
    /// The shared secret, when the algorithm takes one and the process
    /// checks or mints tokens.
    pub jwt_secret: Option<Vec<u8>>,
    pub secrets_key: EncryptionKey,
    /// Where the secrets key came from, for the messages that name it.
    pub secrets_key_source: KeySource,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum KeySource {
    /// `JOBCALL_SECRETS_KEY` (or `secrets_key` in the file of settings).
    Configured,
    /// The development key file.
    File(PathBuf),
}

/// What the process asking for keys does: decides which keys it needs and
/// whether development keys are safe for it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum KeyUse {
    /// `jobcall serve`: the API and the workers in one process.
    Serve,
    /// `jobcall api`: one of several processes sharing the database.
    Api,
    /// `jobcall worker`: the same; it checks no tokens.
    Worker,
    /// `jobcall client create` or `jobcall token`, run next to a `serve`.
    Command,
}

impl KeyUse {
    fn checks_tokens(self) -> bool {
        !matches!(self, Self::Worker)
    }

    /// The split roles run on other machines or in other directories than
    /// each other: a key file in one data directory is not the other's.
    fn split(self) -> bool {
        matches!(self, Self::Api | Self::Worker)
    }
}

/// Why the keys cannot be used. Each message names the variable to set or
/// the file to fix.
#[derive(Debug, thiserror::Error)]
pub enum KeysError {
    #[error(
        "{missing} must be set: development keys are made only for `jobcall serve` on SQLite (one machine, one data directory), and {why}"
    )]
    Required { missing: String, why: &'static str },
    #[error(
        "{path} can be read or written by other users (mode {mode:04o}): run `chmod 600 {path}`, or set JOBCALL_JWT_SECRET and JOBCALL_SECRETS_KEY"
    )]
    FileOpen { path: String, mode: u32 },
    #[error(
        "{path} belongs to another user (uid {owner}, this process runs as uid {uid}): jobcall reads keys only from its own files"
    )]
    FileOwner { path: String, owner: u32, uid: u32 },
    #[error("{path}: {message}")]
    File { path: String, message: String },
    #[error("JOBCALL_SECRETS_KEY: {0}")]
    BadSecretsKey(#[from] jobcall_jobs::secrets::SecretError),
    #[error("{0}")]
    Jwt(#[from] jobcall_api::auth::KeyError),
    #[error(
        "JOBCALL_SECRETS_KEY{origin} does not match the key this database's signing secrets were sealed with (key fingerprint in the database {stored}, of this key {ours}): start every process with the same JOBCALL_SECRETS_KEY"
    )]
    Mismatch {
        origin: String,
        stored: String,
        ours: String,
    },
    #[error(
        "JOBCALL_SECRETS_KEY{origin} opens none of the {tried} newest signing secrets in this database, which records no key fingerprint yet (it was written by jobcall 0.1.0): start with the key it was written with"
    )]
    Undecryptable { origin: String, tried: usize },
    #[error("the secrets key cannot be checked against the database: {0}")]
    Store(#[from] jobcall_jobs::store::StoreError),
}

#[derive(Serialize, Deserialize)]
struct KeyFile {
    jwt_secret: String,
    secrets_key: String,
}

pub fn key_file(data_dir: &Path) -> PathBuf {
    data_dir.join("jobcall.keys")
}

/// The configured keys, or the development ones (generated on first use)
/// where they are safe for `usage`.
pub fn resolve(settings: &Settings, usage: KeyUse) -> Result<Keys, KeysError> {
    let needs_jwt_secret =
        usage.checks_tokens() && KeyKind::of(settings.jwt.algorithm)? == KeyKind::SharedSecret;
    let configured_jwt = settings
        .jwt
        .secret
        .as_ref()
        .map(|s| s.expose().as_bytes().to_vec());
    let configured_key = settings
        .secrets_key
        .as_ref()
        .map(|k| EncryptionKey::parse(k.expose()))
        .transpose()?;
    let mut missing = Vec::new();
    if needs_jwt_secret && configured_jwt.is_none() {
        missing.push("JOBCALL_JWT_SECRET");
    }
    if configured_key.is_none() {
        missing.push("JOBCALL_SECRETS_KEY");
    }
    let file = if missing.is_empty() {
        None
    } else {
        let sqlite = backend_of_url(&settings.database.url) == Some(DbBackend::Sqlite);
        if !sqlite || usage.split() {
            return Err(KeysError::Required {
                missing: missing.join(" and "),
                why: if !sqlite {
                    "this database is PostgreSQL, shared by processes that each need the same keys"
                } else {
                    "`jobcall api` and `jobcall worker` are separate processes that each need the same keys"
                },
            });
        }
        let path = key_file(&settings.data_dir);
        let file = development_keys(&settings.data_dir).map_err(|e| match e {
            DevKeyError::Keys(e) => e,
            DevKeyError::Io(message) => KeysError::File {
                path: path.display().to_string(),
                message,
            },
        })?;
        warn!(
            path = %path.display(),
            missing = %missing.join(" and "),
            "using development keys from the data directory: fine on one machine, set the variables for anything else"
        );
        Some((path, file))
    };
    let jwt_secret = match (needs_jwt_secret, configured_jwt, &file) {
        (false, _, _) => None,
        (true, Some(secret), _) => Some(secret),
        (true, None, Some((path, file))) => Some(STANDARD.decode(&file.jwt_secret).map_err(
            |_| KeysError::File {
                path: path.display().to_string(),
                message: "`jwt_secret` is not base64".into(),
            },
        )?),
        (true, None, None) => unreachable!("the key file is read whenever a key is missing"),
    };
    let (secrets_key, secrets_key_source) = match (configured_key, file) {
        (Some(key), _) => (key, KeySource::Configured),
        (None, Some((path, file))) => (
            EncryptionKey::parse(&file.secrets_key).map_err(|e| KeysError::File {
                path: path.display().to_string(),
                message: format!("`secrets_key`: {e}"),
            })?,
            KeySource::File(path),
        ),
        (None, None) => unreachable!("the key file is read whenever a key is missing"),
    };
    Ok(Keys {
        jwt_secret,
        secrets_key,
        secrets_key_source,
    })
}

/// Checks the secrets key against the fingerprint the database records, and
/// records it when the database has none yet. Every process that seals or
/// opens signing secrets runs this before it does.
pub async fn verify_secrets_key(writer: &Writer, keys: &Keys) -> Result<(), KeysError> {
    let origin = match &keys.secrets_key_source {
        KeySource::Configured => String::new(),
        KeySource::File(path) => format!(" (unset: the development key from {})", path.display()),
    };
    match writer
        .run(CheckSecretsKey::new(keys.secrets_key.clone()))
        .await?
    {
        KeyCheck::Matches => Ok(()),
        KeyCheck::Recorded => {
            info!(fingerprint = %keys.secrets_key.fingerprint(), "secrets key recorded in the database");
            Ok(())
        }
        KeyCheck::Adopted => {
            info!(
                fingerprint = %keys.secrets_key.fingerprint(),
                "secrets key opens the stored signing secrets: recorded in the database"
            );
            Ok(())
        }
        KeyCheck::Mismatch { stored, ours } => Err(KeysError::Mismatch {
            origin,
            stored,
            ours,
        }),
        KeyCheck::Undecryptable { tried } => Err(KeysError::Undecryptable { origin, tried }),
    }
}

enum DevKeyError {
    Keys(KeysError),
    Io(String),
}

impl From<std::io::Error> for DevKeyError {
    fn from(e: std::io::Error) -> Self {
        Self::Io(e.to_string())
    }
}

fn development_keys(data_dir: &Path) -> Result<KeyFile, DevKeyError> {
    let path = key_file(data_dir);
    fs::create_dir_all(data_dir)?;
    let fresh = KeyFile {
        jwt_secret: STANDARD.encode(random_bytes::<32>()),
        secrets_key: EncryptionKey::generate().to_base64(),
    };
    let mut options = OpenOptions::new();
    options.write(true).create_new(true);
    #[cfg(unix)]
    std::os::unix::fs::OpenOptionsExt::mode(&mut options, 0o600);
    match options.open(&path) {
        Ok(mut created) => {
            let text = toml::to_string(&fresh).map_err(|e| DevKeyError::Io(e.to_string()))?;
            created.write_all(text.as_bytes())?;
            created.sync_all()?;
            Ok(fresh)
        }
        // Another process may be writing it right now: read until it is whole.
        Err(e) if e.kind() == ErrorKind::AlreadyExists => {
            for _ in 0..50 {
                let mut existing = File::open(&path)?;
                // The file that is read is the file that is checked.
                trusted(&path, &existing)?;
                let mut text = String::new();
                existing.read_to_string(&mut text)?;
                if let Ok(keys) = toml::from_str::<KeyFile>(&text) {
                    return Ok(keys);
                }
                std::thread::sleep(Duration::from_millis(20));
            }
            Err(DevKeyError::Io(
                "exists but cannot be read as a key file".into(),
            ))
        }
        Err(e) => Err(DevKeyError::Io(format!("cannot be created: {e}"))),
    }
}

/// Keys are read only from a file of this user's that no one else can read
/// or write: another user could otherwise read them, or plant their own.
#[cfg(unix)]
fn trusted(path: &Path, file: &File) -> Result<(), DevKeyError> {
    use std::os::unix::fs::MetadataExt;
    let meta = file.metadata()?;
    // SAFETY: geteuid has no preconditions and cannot fail.
    let uid = unsafe { libc::geteuid() };
    if meta.uid() != uid {
        return Err(DevKeyError::Keys(KeysError::FileOwner {
            path: path.display().to_string(),
            owner: meta.uid(),
            uid,
        }));
    }
    let mode = meta.mode() & 0o7777;
    if mode & 0o077 != 0 {
        return Err(DevKeyError::Keys(KeysError::FileOpen {
            path: path.display().to_string(),
            mode,
        }));
    }
    Ok(())
}

#[cfg(not(unix))]
fn trusted(_path: &Path, _file: &File) -> Result<(), DevKeyError> {
    Ok(())
}

#[cfg(all(test, unix))]
mod tests {
    use std::os::unix::fs::PermissionsExt;

    use super::*;
    use crate::settings::{RawSettings, Secret};

    fn settings(dir: &Path, database_url: Option<&str>) -> Settings {
        Settings::check(RawSettings {
            data_dir: dir.to_path_buf(),
            database_url: database_url.map(Secret::new),
            ..RawSettings::default()
        })
        .unwrap()
    }

    #[test]
    fn a_development_key_file_is_made_private_and_read_back() {
        let dir = tempfile::tempdir().unwrap();
        let settings = settings(dir.path(), None);
        let first = resolve(&settings, KeyUse::Serve).unwrap();
        let mode = fs::metadata(key_file(dir.path()))
            .unwrap()
            .permissions()
            .mode();
        assert_eq!(mode & 0o777, 0o600);
        let again = resolve(&settings, KeyUse::Command).unwrap();
        assert_eq!(
            first.secrets_key.fingerprint(),
            again.secrets_key.fingerprint()
        );
        assert_eq!(first.jwt_secret, again.jwt_secret);
        assert_eq!(
            again.secrets_key_source,
            KeySource::File(key_file(dir.path()))
        );
    }

    #[test]
    fn a_key_file_others_can_read_or_write_is_refused() {
        let dir = tempfile::tempdir().unwrap();
        let settings = settings(dir.path(), None);
        resolve(&settings, KeyUse::Serve).unwrap();
        let path = key_file(dir.path());
        for mode in [0o644, 0o620, 0o604] {
            fs::set_permissions(&path, fs::Permissions::from_mode(mode)).unwrap();
            let message = resolve(&settings, KeyUse::Serve).err().unwrap().to_string();
            assert!(message.contains("chmod 600"), "{message}");
            assert!(message.contains(&path.display().to_string()), "{message}");
        }
    }

    #[test]
    fn development_keys_are_refused_where_they_are_not_safe() {
        let dir = tempfile::tempdir().unwrap();
        let postgres = settings(dir.path(), Some("postgres://localhost/jobcall"));
        let message = resolve(&postgres, KeyUse::Serve).err().unwrap().to_string();
        assert!(
            message.starts_with("JOBCALL_JWT_SECRET and JOBCALL_SECRETS_KEY must be set"),
            "{message}"
        );
        let sqlite = settings(dir.path(), None);
        for usage in [KeyUse::Api, KeyUse::Worker] {
            let message = resolve(&sqlite, usage).err().unwrap().to_string();
            assert!(
                message.contains("JOBCALL_SECRETS_KEY must be set"),
                "{message}"
            );
        }
        assert!(!key_file(dir.path()).exists(), "no key file was made");
        // A worker checks no tokens: the secrets key is all it needs.
        let worker = Settings::check(RawSettings {
            data_dir: dir.path().to_path_buf(),
            database_url: Some(Secret::new("postgres://localhost/jobcall")),
            secrets_key: Some(Secret::new(&EncryptionKey::generate().to_base64())),
            ..RawSettings::default()
        })
        .unwrap();
        let keys = resolve(&worker, KeyUse::Worker).unwrap();
        assert!(keys.jwt_secret.is_none());
        assert!(resolve(&worker, KeyUse::Api).is_err());
    }
}
