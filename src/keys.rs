//! Keys for a development start. When the JWT secret or the secrets key is
//! not configured, one is generated once and kept in `jobcall.keys` in the
//! data directory (mode 0600), so tokens and stored secrets survive restarts.
//! Production configures both explicitly.

use std::{
    fs::{self, OpenOptions},
    io::{ErrorKind, Write},
    path::{Path, PathBuf},
    time::Duration,
};

use base64::{Engine, engine::general_purpose::STANDARD};
use jobcall_api::auth::KeyKind;
use jobcall_jobs::secrets::{EncryptionKey, random_bytes};
use serde::{Deserialize, Serialize};
use tracing::warn;

use crate::settings::Settings;

/// The keys in use.
pub struct Keys {
    /// The shared secret, when the algorithm takes one.
    pub jwt_secret: Option<Vec<u8>>,
    pub secrets_key: EncryptionKey,
}

#[derive(Serialize, Deserialize)]
struct KeyFile {
    jwt_secret: String,
    secrets_key: String,
}

pub fn key_file(data_dir: &Path) -> PathBuf {
    data_dir.join("jobcall.keys")
}

/// The configured keys, or the development ones (generated on first use).
pub fn resolve(settings: &Settings) -> anyhow::Result<Keys> {
    let hs256 = KeyKind::of(settings.jwt.algorithm)? == KeyKind::SharedSecret;
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
    let needs_file = (hs256 && configured_jwt.is_none()) || configured_key.is_none();
    let file = if needs_file {
        Some(development_keys(&settings.data_dir)?)
    } else {
        None
    };
    let jwt_secret = match (hs256, configured_jwt, &file) {
        (false, _, _) => None,
        (true, Some(secret), _) => Some(secret),
        (true, None, Some(file)) => Some(STANDARD.decode(&file.jwt_secret)?),
        (true, None, None) => unreachable!("the key file is read whenever a key is missing"),
    };
    let secrets_key = match (configured_key, &file) {
        (Some(key), _) => key,
        (None, Some(file)) => EncryptionKey::parse(&file.secrets_key)?,
        (None, None) => unreachable!("the key file is read whenever a key is missing"),
    };
    if file.is_some() {
        warn!(
            path = %key_file(&settings.data_dir).display(),
            "JOBCALL_JWT_SECRET or JOBCALL_SECRETS_KEY is not set: using development keys from the data directory"
        );
    }
    Ok(Keys {
        jwt_secret,
        secrets_key,
    })
}

fn development_keys(data_dir: &Path) -> anyhow::Result<KeyFile> {
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
            created.write_all(toml::to_string(&fresh)?.as_bytes())?;
            created.sync_all()?;
            Ok(fresh)
        }
        // Another process may be writing it right now: read until it is whole.
        Err(e) if e.kind() == ErrorKind::AlreadyExists => {
            for _ in 0..50 {
                if let Ok(existing) = toml::from_str::<KeyFile>(&fs::read_to_string(&path)?) {
                    return Ok(existing);
                }
                std::thread::sleep(Duration::from_millis(20));
            }
            anyhow::bail!("{} exists but cannot be read as a key file", path.display())
        }
        Err(e) => Err(anyhow::anyhow!("cannot create {}: {e}", path.display())),
    }
}
