//! Bearer-token authentication. The algorithm is pinned by configuration:
//! a token's own `alg` header is only compared against it, never obeyed, so
//! `none` and algorithm-confusion tokens fail. `sub` names the client,
//! `scope` holds space-separated scopes, `exp` is required.
//!
//! Reading the token off a request is `bearer.rs`: this file knows tokens,
//! keys and clients, not the application state.

use std::{collections::HashMap, fmt, sync::Mutex, time::Duration};

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

/// Why a key, an algorithm or a signing attempt is refused. Configuration
/// errors: they stop the start (or `jobcall token`) with this message.
#[derive(Debug, thiserror::Error)]
pub enum KeyError {
    #[error("`{0}` is not supported; use HS256, RS256, ES256 or EdDSA")]
    UnsupportedAlgorithm(String),
    #[error("{algorithm:?} needs {needs}")]
    MissingKey {
        algorithm: Algorithm,
        needs: KeyKind,
    },
    #[error("the JWT secret must be at least {MIN_SECRET_BYTES} bytes")]
    ShortSecret,
    #[error("the JWT public key cannot be read: {0}")]
    UnreadablePublicKey(#[source] jsonwebtoken::errors::Error),
    #[error("{0:?} does not use a private key")]
    NoPrivateKey(Algorithm),
    #[error("the private key cannot be read: {0}")]
    UnreadablePrivateKey(#[source] jsonwebtoken::errors::Error),
    #[error("the token cannot be signed: {0}")]
    Signing(#[source] jsonwebtoken::errors::Error),
}

/// Why a token is refused. Safe to show the caller: it never repeats the
/// token.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum TokenError {
    #[error("the token has expired")]
    Expired,
    #[error("the token is not valid yet (`nbf` is in the future)")]
    NotYetValid,
    #[error("the token's signature is invalid")]
    BadSignature,
    #[error("the token is not signed with the algorithm this server uses")]
    WrongAlgorithm,
    #[error("the token's issuer is not accepted")]
    WrongIssuer,
    #[error("the token's audience is not accepted")]
    WrongAudience,
    #[error("the token has no `{0}` claim")]
    MissingClaim(String),
    #[error("the token is malformed")]
    Malformed,
}

impl From<jsonwebtoken::errors::Error> for TokenError {
    fn from(err: jsonwebtoken::errors::Error) -> Self {
        match err.kind() {
            ErrorKind::ExpiredSignature => Self::Expired,
            ErrorKind::ImmatureSignature => Self::NotYetValid,
            ErrorKind::InvalidSignature => Self::BadSignature,
            ErrorKind::InvalidAlgorithm => Self::WrongAlgorithm,
            ErrorKind::InvalidIssuer => Self::WrongIssuer,
            ErrorKind::InvalidAudience => Self::WrongAudience,
            ErrorKind::MissingRequiredClaim(claim) => Self::MissingClaim(claim.clone()),
            _ => Self::Malformed,
        }
    }
}

/// The algorithms jobcall accepts in configuration.
pub fn parse_algorithm(name: &str) -> Result<Algorithm, KeyError> {
    match name {
        "HS256" => Ok(Algorithm::HS256),
        "RS256" => Ok(Algorithm::RS256),
        "ES256" => Ok(Algorithm::ES256),
        "EdDSA" => Ok(Algorithm::EdDSA),
        other => Err(KeyError::UnsupportedAlgorithm(other.to_owned())),
    }
}

/// The key an algorithm checks tokens with. The one place that knows HS256
/// takes a shared secret and the others a PEM public key; settings, the
/// development keys and the authenticator all ask it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum KeyKind {
    SharedSecret,
    PublicPem,
}

impl KeyKind {
    pub fn of(algorithm: Algorithm) -> Result<Self, KeyError> {
        match algorithm {
            Algorithm::HS256 => Ok(Self::SharedSecret),
            Algorithm::RS256 | Algorithm::ES256 | Algorithm::EdDSA => Ok(Self::PublicPem),
            other => Err(KeyError::UnsupportedAlgorithm(format!("{other:?}"))),
        }
    }
}

impl fmt::Display for KeyKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Self::SharedSecret => "a shared secret (JOBCALL_JWT_SECRET)",
            Self::PublicPem => "a PEM public key (JOBCALL_JWT_PUBLIC_KEY)",
        })
    }
}

/// The shortest HS256 secret accepted: 256 bits, as RFC 7518 asks.
pub const MIN_SECRET_BYTES: usize = 32;

/// Key material as configured. Only the kind the algorithm needs is read.
#[derive(Clone, Copy, Default)]
pub struct KeyMaterial<'a> {
    pub secret: Option<&'a [u8]>,
    pub public_pem: Option<&'a [u8]>,
}

/// How tokens are checked: a supported algorithm with a key that fits it.
/// Built only by [`AuthConfig::new`], so an authenticator cannot be made
/// from a mismatched pair.
#[derive(Clone)]
pub struct AuthConfig {
    algorithm: Algorithm,
    key: DecodingKey,
    issuer: Option<String>,
    audience: Option<String>,
}

impl fmt::Debug for AuthConfig {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("AuthConfig")
            .field("algorithm", &self.algorithm)
            .field("issuer", &self.issuer)
            .field("audience", &self.audience)
            .finish_non_exhaustive()
    }
}

impl AuthConfig {
    pub fn new(
        algorithm: Algorithm,
        material: KeyMaterial<'_>,
        issuer: Option<String>,
        audience: Option<String>,
    ) -> Result<Self, KeyError> {
        let needs = KeyKind::of(algorithm)?;
        let missing = || KeyError::MissingKey { algorithm, needs };
        let key = match needs {
            KeyKind::SharedSecret => {
                let secret = material.secret.ok_or_else(missing)?;
                if secret.len() < MIN_SECRET_BYTES {
                    return Err(KeyError::ShortSecret);
                }
                DecodingKey::from_secret(secret)
            }
            KeyKind::PublicPem => {
                let pem = material.public_pem.ok_or_else(missing)?;
                match algorithm {
                    Algorithm::RS256 => DecodingKey::from_rsa_pem(pem),
                    Algorithm::ES256 => DecodingKey::from_ec_pem(pem),
                    // `KeyKind::of` let only RS256, ES256 and EdDSA through.
                    _ => DecodingKey::from_ed_pem(pem),
                }
                .map_err(KeyError::UnreadablePublicKey)?
            }
        };
        Ok(Self {
            algorithm,
            key,
            issuer,
            audience,
        })
    }
}

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
    pub fn new(config: &AuthConfig) -> Self {
        let mut validation = Validation::new(config.algorithm);
        validation.set_required_spec_claims(&["exp", "sub"]);
        // The same leeway applies to `exp` and `nbf`: clocks drift both ways.
        validation.leeway = 30;
        validation.validate_nbf = true;
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
        Self {
            key: config.key.clone(),
            validation,
        }
    }

    /// The token's claims, or why it is refused.
    pub fn verify(&self, token: &str) -> Result<Claims, TokenError> {
        Ok(jsonwebtoken::decode::<Claims>(token, &self.key, &self.validation)?.claims)
    }

    /// The caller a bearer token names: a valid token whose subject is a
    /// client of this server.
    pub async fn authenticate(
        &self,
        token: &str,
        known_clients: &KnownClients,
        db: &Database,
    ) -> Result<Caller, ApiError> {
        let claims = self.verify(token).map_err(|err| ApiError::Unauthorized {
            detail: err.to_string(),
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
    ) -> Result<Self, KeyError> {
        let key = match algorithm {
            Algorithm::RS256 => EncodingKey::from_rsa_pem(pem),
            Algorithm::ES256 => EncodingKey::from_ec_pem(pem),
            Algorithm::EdDSA => EncodingKey::from_ed_pem(pem),
            other => return Err(KeyError::NoPrivateKey(other)),
        }
        .map_err(KeyError::UnreadablePrivateKey)?;
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
    ) -> Result<String, KeyError> {
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
            .map_err(KeyError::Signing)
    }
}

/// The authenticated client of a request.
#[derive(Debug, Clone)]
pub struct Caller {
    pub client_id: ClientId,
    scopes: Vec<Scope>,
}

impl Caller {
    pub fn has(&self, scope: Scope) -> bool {
        self.scopes.contains(&scope)
    }

    pub fn require(&self, scope: Scope) -> Result<(), ApiError> {
        if self.has(scope) {
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
    /// When each client was last found, on the database's clock.
    seen: Mutex<HashMap<ClientId, i64>>,
}

const KNOWN_FOR_MS: i64 = 300_000;
const MAX_KNOWN: usize = 100_000;

impl KnownClients {
    async fn contains(&self, db: &Database, id: &ClientId) -> Result<bool, StoreError> {
        let now = db.clock().now_ms();
        if let Some(seen) = self.lock().get(id)
            && now - seen < KNOWN_FOR_MS
        {
            return Ok(true);
        }
        let exists = jobcall_jobs::clients::find_client(db, id).await?.is_some();
        if exists {
            let mut seen = self.lock();
            if seen.len() >= MAX_KNOWN {
                seen.retain(|_, at| now - *at < KNOWN_FOR_MS);
            }
            seen.insert(id.clone(), now);
        }
        Ok(exists)
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, HashMap<ClientId, i64>> {
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
        let secret = KeyMaterial {
            secret: Some(SECRET),
            public_pem: None,
        };
        Authenticator::new(
            &AuthConfig::new(
                Algorithm::HS256,
                secret,
                issuer.map(Into::into),
                audience.map(Into::into),
            )
            .unwrap(),
        )
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
            authenticator(None, None)
                .verify(&expired)
                .unwrap_err()
                .to_string(),
            "the token has expired"
        );

        claims.exp += 7200;
        let other_key = EncodingKey::from_secret(b"another secret of thirty-two bytes!!");
        let forged = jsonwebtoken::encode(&Header::default(), &claims, &other_key).unwrap();
        assert_eq!(
            authenticator(None, None)
                .verify(&forged)
                .unwrap_err()
                .to_string(),
            "the token's signature is invalid"
        );
    }

    #[test]
    fn refuses_tokens_before_their_nbf_with_the_exp_leeway() {
        let issuer = TokenIssuer::hs256(SECRET, None, None);
        let now = jsonwebtoken::get_current_timestamp();
        let with_nbf = |nbf: u64| {
            let claims =
                serde_json::json!({"sub": client().to_string(), "exp": now + 3600, "nbf": nbf});
            jsonwebtoken::encode(&Header::default(), &claims, &issuer.key).unwrap()
        };
        assert_eq!(
            authenticator(None, None)
                .verify(&with_nbf(now + 600))
                .unwrap_err(),
            TokenError::NotYetValid
        );
        assert!(
            authenticator(None, None)
                .verify(&with_nbf(now + 10))
                .is_ok()
        );
        assert!(
            authenticator(None, None)
                .verify(&with_nbf(now - 10))
                .is_ok()
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
            strict.verify(&wrong).unwrap_err().to_string(),
            "the token's issuer is not accepted"
        );
    }

    #[test]
    fn refuses_short_secrets_and_mismatched_keys() {
        let short = KeyMaterial {
            secret: Some(b"short"),
            public_pem: None,
        };
        assert!(AuthConfig::new(Algorithm::HS256, short, None, None).is_err());
        let mismatched = KeyMaterial {
            secret: Some(SECRET),
            public_pem: None,
        };
        assert!(
            AuthConfig::new(Algorithm::RS256, mismatched, None, None)
                .unwrap_err()
                .to_string()
                .contains("PEM public key")
        );
    }

    #[test]
    fn only_the_configured_algorithms_have_a_key_kind() {
        assert_eq!(
            KeyKind::of(Algorithm::HS256).unwrap(),
            KeyKind::SharedSecret
        );
        for algorithm in [Algorithm::RS256, Algorithm::ES256, Algorithm::EdDSA] {
            assert_eq!(KeyKind::of(algorithm).unwrap(), KeyKind::PublicPem);
        }
        for algorithm in [Algorithm::HS512, Algorithm::PS256, Algorithm::ES384] {
            assert!(KeyKind::of(algorithm).is_err(), "{algorithm:?}");
        }
        let pem_for_hs256 = KeyMaterial {
            secret: None,
            public_pem: Some(b"-----BEGIN PUBLIC KEY-----"),
        };
        assert_eq!(
            AuthConfig::new(Algorithm::HS256, pem_for_hs256, None, None)
                .unwrap_err()
                .to_string(),
            "HS256 needs a shared secret (JOBCALL_JWT_SECRET)"
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
