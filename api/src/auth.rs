//! Bearer-token authentication. The algorithm is pinned by configuration:
//! a token's own `alg` header is only compared against it, never obeyed, so
//! `none` and algorithm-confusion tokens fail. `sub` names the client,
//! `scope` holds space-separated scopes, `exp` is required.
//!
//! Reading the token off a request is `bearer.rs`: this file knows tokens,
//! keys and clients, not the application state.

use std::{
    collections::HashMap,
    fmt,
    sync::Mutex,
    time::{Duration, Instant},
};

use jobcall_entity::ClientId;
use jobcall_jobs::store::{Database, StoreError};
use jsonwebtoken::{Algorithm, DecodingKey, EncodingKey, Header, Validation, errors::ErrorKind};
use serde::{Deserialize, Serialize};

use crate::error::ApiError;

/// What a token may do.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Scope {
    JobsRead,
    JobsWrite,
    /// Manage clients and their secrets.
    Admin,
}

impl Scope {
    pub const ALL: [Scope; 3] = [Scope::JobsRead, Scope::JobsWrite, Scope::Admin];

    pub fn as_str(self) -> &'static str {
        match self {
            Scope::JobsRead => "jobs:read",
            Scope::JobsWrite => "jobs:write",
            Scope::Admin => "admin",
        }
    }

    pub fn parse(s: &str) -> Option<Scope> {
        Scope::ALL.into_iter().find(|scope| scope.as_str() == s)
    }
}

/// The claims jobcall reads and writes.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Claims {
    pub sub: String,
    #[serde(default)]
    pub scope: String,
    pub exp: u64,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub iat: Option<u64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub iss: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub aud: Option<String>,
}

/// The key tokens are checked with.
#[derive(Clone)]
pub enum VerificationKey {
    /// The shared secret of HS256.
    Secret(Vec<u8>),
    /// A PEM public key for RS256, ES256 or EdDSA.
    PublicPem(Vec<u8>),
}

impl fmt::Debug for VerificationKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Secret(_) => f.write_str("Secret([redacted])"),
            Self::PublicPem(_) => f.write_str("PublicPem(..)"),
        }
    }
}

#[derive(Debug, Clone)]
pub struct AuthConfig {
    pub algorithm: Algorithm,
    pub key: VerificationKey,
    pub issuer: Option<String>,
    pub audience: Option<String>,
}

/// The algorithms jobcall accepts in configuration.
pub fn parse_algorithm(name: &str) -> Result<Algorithm, String> {
    match name {
        "HS256" => Ok(Algorithm::HS256),
        "RS256" => Ok(Algorithm::RS256),
        "ES256" => Ok(Algorithm::ES256),
        "EdDSA" => Ok(Algorithm::EdDSA),
        other => Err(format!(
            "`{other}` is not supported; use HS256, RS256, ES256 or EdDSA"
        )),
    }
}

/// The shortest HS256 secret accepted: 256 bits, as RFC 7518 asks.
pub const MIN_SECRET_BYTES: usize = 32;

/// Checks tokens.
#[derive(Clone)]
pub struct Authenticator {
    key: DecodingKey,
    validation: Validation,
}

impl fmt::Debug for Authenticator {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Authenticator")
            .field("algorithms", &self.validation.algorithms)
            .finish()
    }
}

impl Authenticator {
    pub fn new(config: &AuthConfig) -> Result<Self, String> {
        let key = match (&config.key, config.algorithm) {
            (VerificationKey::Secret(secret), Algorithm::HS256) => {
                if secret.len() < MIN_SECRET_BYTES {
                    return Err(format!(
                        "the JWT secret must be at least {MIN_SECRET_BYTES} bytes"
                    ));
                }
                Ok(DecodingKey::from_secret(secret))
            }
            (VerificationKey::PublicPem(pem), Algorithm::RS256) => DecodingKey::from_rsa_pem(pem),
            (VerificationKey::PublicPem(pem), Algorithm::ES256) => DecodingKey::from_ec_pem(pem),
            (VerificationKey::PublicPem(pem), Algorithm::EdDSA) => DecodingKey::from_ed_pem(pem),
            (_, algorithm) => return Err(format!("{algorithm:?} needs {}", key_kind(algorithm))),
        }
        .map_err(|e| format!("the JWT public key cannot be read: {e}"))?;
        let mut validation = Validation::new(config.algorithm);
        validation.set_required_spec_claims(&["exp", "sub"]);
        validation.leeway = 30;
        if let Some(issuer) = &config.issuer {
            validation.set_issuer(&[issuer]);
            validation.required_spec_claims.insert("iss".into());
        }
        match &config.audience {
            Some(audience) => {
                validation.set_audience(&[audience]);
                validation.required_spec_claims.insert("aud".into());
            }
            None => validation.validate_aud = false,
        }
        Ok(Self { key, validation })
    }

    /// The token's claims, or why it is refused (safe to show: it never
    /// repeats the token).
    pub fn verify(&self, token: &str) -> Result<Claims, String> {
        jsonwebtoken::decode::<Claims>(token, &self.key, &self.validation)
            .map(|data| data.claims)
            .map_err(|e| match e.kind() {
                ErrorKind::ExpiredSignature => "the token has expired".to_owned(),
                ErrorKind::InvalidSignature => "the token's signature is invalid".to_owned(),
                ErrorKind::InvalidAlgorithm => {
                    "the token is not signed with the algorithm this server uses".to_owned()
                }
                ErrorKind::InvalidIssuer => "the token's issuer is not accepted".to_owned(),
                ErrorKind::InvalidAudience => "the token's audience is not accepted".to_owned(),
                ErrorKind::MissingRequiredClaim(claim) => {
                    format!("the token has no `{claim}` claim")
                }
                _ => "the token is malformed".to_owned(),
            })
    }

    /// The caller a bearer token names: a valid token whose subject is a
    /// client of this server.
    pub async fn authenticate(
        &self,
        token: &str,
        known_clients: &KnownClients,
        db: &Database,
    ) -> Result<Caller, ApiError> {
        let claims = self
            .verify(token)
            .map_err(|detail| ApiError::Unauthorized {
                detail,
                invalid_token: true,
            })?;
        let unknown = || ApiError::Unauthorized {
            detail: "the token's subject is not a client of this server".into(),
            invalid_token: true,
        };
        let client_id = ClientId::parse(&claims.sub).map_err(|_| unknown())?;
        if !known_clients.contains(db, &client_id).await? {
            return Err(unknown());
        }
        let scopes = claims
            .scope
            .split_whitespace()
            .filter_map(Scope::parse)
            .collect();
        Ok(Caller { client_id, scopes })
    }
}

fn key_kind(algorithm: Algorithm) -> &'static str {
    match algorithm {
        Algorithm::HS256 => "a shared secret (JOBCALL_JWT_SECRET)",
        _ => "a PEM public key (JOBCALL_JWT_PUBLIC_KEY)",
    }
}

/// Mints tokens, for `jobcall token` and tests.
pub struct TokenIssuer {
    key: EncodingKey,
    algorithm: Algorithm,
    issuer: Option<String>,
    audience: Option<String>,
}

impl TokenIssuer {
    /// An issuer signing with the HS256 `secret`.
    pub fn hs256(secret: &[u8], issuer: Option<String>, audience: Option<String>) -> Self {
        Self {
            key: EncodingKey::from_secret(secret),
            algorithm: Algorithm::HS256,
            issuer,
            audience,
        }
    }

    /// An issuer signing with a PEM private key.
    pub fn from_private_pem(
        algorithm: Algorithm,
        pem: &[u8],
        issuer: Option<String>,
        audience: Option<String>,
    ) -> Result<Self, String> {
        let key = match algorithm {
            Algorithm::RS256 => EncodingKey::from_rsa_pem(pem),
            Algorithm::ES256 => EncodingKey::from_ec_pem(pem),
            Algorithm::EdDSA => EncodingKey::from_ed_pem(pem),
            other => return Err(format!("{other:?} does not use a private key")),
        }
        .map_err(|e| format!("the private key cannot be read: {e}"))?;
        Ok(Self {
            key,
            algorithm,
            issuer,
            audience,
        })
    }

    pub fn mint(
        &self,
        client: &ClientId,
        scopes: &[Scope],
        ttl: Duration,
    ) -> Result<String, String> {
        let now = jsonwebtoken::get_current_timestamp();
        let claims = Claims {
            sub: client.to_string(),
            scope: scopes
                .iter()
                .map(|s| s.as_str())
                .collect::<Vec<_>>()
                .join(" "),
            exp: now + ttl.as_secs(),
            iat: Some(now),
            iss: self.issuer.clone(),
            aud: self.audience.clone(),
        };
        jsonwebtoken::encode(&Header::new(self.algorithm), &claims, &self.key)
            .map_err(|e| e.to_string())
    }
}

/// The authenticated client of a request.
#[derive(Debug, Clone)]
pub struct Caller {
    pub client_id: ClientId,
    scopes: Vec<Scope>,
}

impl Caller {
    pub fn require(&self, scope: Scope) -> Result<(), ApiError> {
        if self.scopes.contains(&scope) {
            Ok(())
        } else {
            Err(ApiError::Forbidden(scope.as_str()))
        }
    }
}

/// Clients known to exist, so that authenticating does not read the
/// database on every request. Clients are never deleted, so a positive
/// answer stays true; entries still expire to bound the memory.
#[derive(Default)]
pub struct KnownClients {
    seen: Mutex<HashMap<ClientId, Instant>>,
}

const KNOWN_FOR: Duration = Duration::from_secs(300);
const MAX_KNOWN: usize = 100_000;

impl KnownClients {
    async fn contains(&self, db: &Database, id: &ClientId) -> Result<bool, StoreError> {
        if let Some(seen) = self.lock().get(id)
            && seen.elapsed() < KNOWN_FOR
        {
            return Ok(true);
        }
        let exists = jobcall_jobs::clients::find_client(db, id).await?.is_some();
        if exists {
            let mut seen = self.lock();
            if seen.len() >= MAX_KNOWN {
                seen.retain(|_, at| at.elapsed() < KNOWN_FOR);
            }
            seen.insert(id.clone(), Instant::now());
        }
        Ok(exists)
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, HashMap<ClientId, Instant>> {
        self.seen
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use base64::Engine;

    const SECRET: &[u8] = b"0123456789abcdef0123456789abcdef";

    fn authenticator(issuer: Option<&str>, audience: Option<&str>) -> Authenticator {
        Authenticator::new(&AuthConfig {
            algorithm: Algorithm::HS256,
            key: VerificationKey::Secret(SECRET.to_vec()),
            issuer: issuer.map(Into::into),
            audience: audience.map(Into::into),
        })
        .unwrap()
    }

    fn client() -> ClientId {
        ClientId::generate()
    }

    #[test]
    fn accepts_its_own_tokens() {
        let token = TokenIssuer::hs256(SECRET, None, None)
            .mint(
                &client(),
                &[Scope::JobsRead, Scope::JobsWrite],
                Duration::from_secs(60),
            )
            .unwrap();
        let claims = authenticator(None, None).verify(&token).unwrap();
        assert_eq!(claims.scope, "jobs:read jobs:write");
    }

    #[test]
    fn refuses_expired_and_foreign_tokens() {
        let issuer = TokenIssuer::hs256(SECRET, None, None);
        let mut claims = Claims {
            sub: client().to_string(),
            scope: String::new(),
            exp: jsonwebtoken::get_current_timestamp() - 3600,
            iat: None,
            iss: None,
            aud: None,
        };
        let expired = jsonwebtoken::encode(&Header::default(), &claims, &issuer.key).unwrap();
        assert_eq!(
            authenticator(None, None).verify(&expired).unwrap_err(),
            "the token has expired"
        );

        claims.exp += 7200;
        let other_key = EncodingKey::from_secret(b"another secret of thirty-two bytes!!");
        let forged = jsonwebtoken::encode(&Header::default(), &claims, &other_key).unwrap();
        assert_eq!(
            authenticator(None, None).verify(&forged).unwrap_err(),
            "the token's signature is invalid"
        );
    }

    #[test]
    fn refuses_unsigned_and_algorithm_confused_tokens() {
        let b64 = |s: &str| base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(s);
        let exp = jsonwebtoken::get_current_timestamp() + 600;
        let payload = b64(&format!(
            r#"{{"sub":"{}","scope":"admin","exp":{exp}}}"#,
            client()
        ));
        for alg in ["none", "None", "NONE", "HS512", "RS256"] {
            let token = format!(
                "{}.{payload}.",
                b64(&format!(r#"{{"alg":"{alg}","typ":"JWT"}}"#))
            );
            assert!(authenticator(None, None).verify(&token).is_err(), "{alg}");
            let signed = format!(
                "{}.{payload}.c2lnbmF0dXJl",
                b64(&format!(r#"{{"alg":"{alg}"}}"#))
            );
            assert!(authenticator(None, None).verify(&signed).is_err(), "{alg}");
        }
    }

    #[test]
    fn checks_issuer_and_audience_when_configured() {
        let strict = authenticator(Some("https://issuer.example"), Some("jobcall"));
        let right = TokenIssuer::hs256(
            SECRET,
            Some("https://issuer.example".into()),
            Some("jobcall".into()),
        )
        .mint(&client(), &[], Duration::from_secs(60))
        .unwrap();
        assert!(strict.verify(&right).is_ok());
        let unmarked = TokenIssuer::hs256(SECRET, None, None)
            .mint(&client(), &[], Duration::from_secs(60))
            .unwrap();
        assert!(strict.verify(&unmarked).is_err());
        let wrong = TokenIssuer::hs256(
            SECRET,
            Some("https://evil.example".into()),
            Some("jobcall".into()),
        )
        .mint(&client(), &[], Duration::from_secs(60))
        .unwrap();
        assert_eq!(
            strict.verify(&wrong).unwrap_err(),
            "the token's issuer is not accepted"
        );
    }

    #[test]
    fn refuses_short_secrets_and_mismatched_keys() {
        let short = AuthConfig {
            algorithm: Algorithm::HS256,
            key: VerificationKey::Secret(b"short".to_vec()),
            issuer: None,
            audience: None,
        };
        assert!(Authenticator::new(&short).is_err());
        let mismatched = AuthConfig {
            algorithm: Algorithm::RS256,
            key: VerificationKey::Secret(SECRET.to_vec()),
            issuer: None,
            audience: None,
        };
        assert!(
            Authenticator::new(&mismatched)
                .unwrap_err()
                .contains("PEM public key")
        );
    }

    #[test]
    fn garbage_never_panics() {
        let auth = authenticator(None, None);
        for token in ["", ".", "..", "a.b.c", "eyJhbGciOiJIUzI1NiJ9..", "\u{0}"] {
            assert!(auth.verify(token).is_err());
        }
    }
}
