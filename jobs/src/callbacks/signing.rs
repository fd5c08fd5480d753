//! Standard Webhooks signatures over `{webhook-id}.{webhook-timestamp}.{body}`:
//! `v1,<base64 HMAC-SHA256>` for each active secret and `v1a,<base64
//! ed25519 signature>` for each active key of the schemes the client
//! chose, space-separated; and their verification, for receivers of our
//! own (`jobcall listen`).

use aws_lc_rs::{constant_time::verify_slices_are_equal, hmac};
use base64::{Engine, engine::general_purpose::STANDARD};

use crate::{
    secrets::{SecretError, SigningSecret},
    signers::Signers,
    signing_keys::{PublicKey, SigningKey},
};

fn signed_content(id: &str, timestamp: i64, body: &str) -> String {
    format!("{id}.{timestamp}.{body}")
}

fn hmac_of(secret: &SigningSecret, message: &str) -> hmac::Tag {
    let key = hmac::Key::new(hmac::HMAC_SHA256, secret.key());
    hmac::sign(&key, message.as_bytes())
}

pub fn sign(secret: &SigningSecret, id: &str, timestamp: i64, body: &str) -> String {
    let tag = hmac_of(secret, &signed_content(id, timestamp, body));
    format!("v1,{}", STANDARD.encode(tag.as_ref()))
}

pub fn sign_v1a(key: &SigningKey, id: &str, timestamp: i64, body: &str) -> String {
    format!(
        "v1a,{}",
        key.sign(signed_content(id, timestamp, body).as_bytes())
    )
}

/// The `webhook-signature` header: a signature by each secret, then by each
/// key, newest first in each scheme.
pub fn signature_header(signers: &Signers, id: &str, timestamp: i64, body: &str) -> String {
    let v1 = signers
        .secrets
        .iter()
        .map(|secret| sign(secret, id, timestamp, body));
    let v1a = signers
        .keys
        .iter()
        .map(|key| sign_v1a(key, id, timestamp, body));
    v1.chain(v1a).collect::<Vec<_>>().join(" ")
}

/// What a receiver verifies with: the shared secret (`whsec_…`, for `v1`)
/// or the public key (`whpk_…`, for `v1a`).
#[derive(Debug, Clone)]
pub enum Verifier {
    Secret(SigningSecret),
    PublicKey(PublicKey),
}

impl Verifier {
    /// A `whpk_…` public key, or a `whsec_…` secret.
    pub fn parse(text: &str) -> Result<Self, SecretError> {
        if text.starts_with("whpk_") {
            PublicKey::parse(text).map(Self::PublicKey)
        } else {
            SigningSecret::parse(text).map(Self::Secret)
        }
    }

    /// Whether any signature of `header` of this verifier's scheme is valid
    /// for the message (the timestamp's freshness is the caller's to judge).
    pub fn verifies(&self, header: &str, id: &str, timestamp: i64, body: &str) -> bool {
        let content = signed_content(id, timestamp, body);
        let signatures = header
            .split_whitespace()
            .filter_map(|signature| signature.split_once(','));
        match self {
            Self::Secret(secret) => {
                let expected = hmac_of(secret, &content);
                signatures
                    .filter(|(version, _)| *version == "v1")
                    .filter_map(|(_, signature)| STANDARD.decode(signature).ok())
                    .any(|given| verify_slices_are_equal(&given, expected.as_ref()).is_ok())
            }
            Self::PublicKey(key) => signatures
                .filter(|(version, _)| *version == "v1a")
                .any(|(_, signature)| key.verifies(content.as_bytes(), signature)),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The test vector of the Standard Webhooks reference libraries.
    #[test]
    fn matches_the_reference_implementation() {
        let secret = SigningSecret::parse("whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw").unwrap();
        let signature = sign(
            &secret,
            "msg_p5jXN8AQM9LWM0D4loKWxJek",
            1614265330,
            r#"{"test": 2432232314}"#,
        );
        assert_eq!(signature, "v1,g0hM9SsE+OTPJTGt/tmIKtSyZlE3uFJELVlNIOLJ1OE=");
    }

    #[test]
    fn every_active_secret_and_key_signs() {
        let old = SigningSecret::generate();
        let new = SigningSecret::generate();
        let key = SigningKey::generate();
        let signers = Signers {
            secrets: vec![new.clone(), old.clone()],
            keys: vec![key.clone()],
        };
        let header = signature_header(&signers, "evt_1", 1, "{}");
        let parts: Vec<_> = header.split(' ').collect();
        assert_eq!(
            parts,
            [
                sign(&new, "evt_1", 1, "{}"),
                sign(&old, "evt_1", 1, "{}"),
                sign_v1a(&key, "evt_1", 1, "{}")
            ]
        );
        assert_eq!(
            signature_header(&Signers::v1(vec![new.clone()]), "evt_1", 1, "{}"),
            sign(&new, "evt_1", 1, "{}")
        );
    }

    #[test]
    fn receivers_verify_their_scheme_and_nothing_else() {
        let secret = SigningSecret::generate();
        let key = SigningKey::generate();
        let signers = Signers {
            secrets: vec![secret.clone()],
            keys: vec![key.clone()],
        };
        let header = signature_header(&signers, "evt_1", 7, r#"{"a":1}"#);
        let by_secret = Verifier::parse(&secret.expose()).unwrap();
        let by_key = Verifier::parse(&key.public_key().expose()).unwrap();
        for verifier in [&by_secret, &by_key] {
            assert!(verifier.verifies(&header, "evt_1", 7, r#"{"a":1}"#));
            assert!(!verifier.verifies(&header, "evt_1", 8, r#"{"a":1}"#));
            assert!(!verifier.verifies(&header, "evt_2", 7, r#"{"a":1}"#));
            assert!(!verifier.verifies(&header, "evt_1", 7, r#"{"a":2}"#));
            assert!(!verifier.verifies("", "evt_1", 7, r#"{"a":1}"#));
        }
        // A header with only the other scheme's signature does not verify.
        let v1_only = signature_header(&Signers::v1(vec![secret]), "evt_1", 7, "{}");
        assert!(!by_key.verifies(&v1_only, "evt_1", 7, "{}"));
        assert!(
            !Verifier::parse(&SigningSecret::generate().expose())
                .unwrap()
                .verifies(&v1_only, "evt_1", 7, "{}")
        );
        assert!(Verifier::parse("whpk_short").is_err());
        assert!(Verifier::parse("nonsense!").is_err());
    }
}
