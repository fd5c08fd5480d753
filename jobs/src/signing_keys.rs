//! ed25519 keys for Standard Webhooks `v1a` signatures: the signing key
//! (`whsk_<base64 seed>`, kept sealed in the database, never shown) and its
//! public key (`whpk_<base64>`, served to the client, which verifies with
//! it and cannot sign).
//!
//! aws-lc-rs does the ed25519: it is already the crypto of this workspace
//! (HMAC signatures, AES-GCM sealing, rustls through reqwest), so `v1a`
//! adds no dependency and no build time; `ed25519-dalek` would add the
//! curve25519 crates for the same two calls.

use std::fmt;

use aws_lc_rs::signature::{ED25519, Ed25519KeyPair, KeyPair, UnparsedPublicKey};
use base64::{Engine, engine::general_purpose::STANDARD};

use crate::secrets::{SecretError, random_bytes};

const SECRET_PREFIX: &str = "whsk_";
const PUBLIC_PREFIX: &str = "whpk_";
const SEED_BYTES: usize = 32;
const PUBLIC_KEY_BYTES: usize = 32;
const SIGNATURE_BYTES: usize = 64;

/// An ed25519 signing key, from its 32-byte seed. Its `Debug` is redacted.
pub struct SigningKey {
    seed: [u8; SEED_BYTES],
    pair: Ed25519KeyPair,
}

impl SigningKey {
    pub fn generate() -> Self {
        Self::from_seed(random_bytes::<SEED_BYTES>())
    }

    pub fn from_seed(seed: [u8; SEED_BYTES]) -> Self {
        let pair =
            Ed25519KeyPair::from_seed_unchecked(&seed).expect("any 32 bytes are an ed25519 seed");
        Self { seed, pair }
    }

    /// The seed as stored (sealed): any other length is not a key.
    pub fn from_seed_bytes(bytes: &[u8]) -> Result<Self, SecretError> {
        let seed: [u8; SEED_BYTES] = bytes
            .try_into()
            .map_err(|_| SecretError::SigningKeyLength(bytes.len()))?;
        Ok(Self::from_seed(seed))
    }

    /// Parses `whsk_<base64 seed>` (the prefix is optional, as in the
    /// official libraries).
    pub fn parse(text: &str) -> Result<Self, SecretError> {
        let encoded = text.strip_prefix(SECRET_PREFIX).unwrap_or(text);
        let bytes = STANDARD
            .decode(encoded)
            .map_err(|_| SecretError::NotBase64)?;
        Self::from_seed_bytes(&bytes)
    }

    pub fn seed(&self) -> &[u8] {
        &self.seed
    }

    pub fn public_key(&self) -> PublicKey {
        let bytes: [u8; PUBLIC_KEY_BYTES] = self
            .pair
            .public_key()
            .as_ref()
            .try_into()
            .expect("an ed25519 public key is 32 bytes");
        PublicKey(bytes)
    }

    /// The base64 ed25519 signature of `message`.
    pub fn sign(&self, message: &[u8]) -> String {
        STANDARD.encode(self.pair.sign(message).as_ref())
    }
}

impl Clone for SigningKey {
    fn clone(&self) -> Self {
        Self::from_seed(self.seed)
    }
}

impl PartialEq for SigningKey {
    fn eq(&self, other: &Self) -> bool {
        self.seed == other.seed
    }
}

impl fmt::Debug for SigningKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("SigningKey([redacted])")
    }
}

/// An ed25519 public key, shown as `whpk_<base64>`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct PublicKey([u8; PUBLIC_KEY_BYTES]);

impl PublicKey {
    /// Parses `whpk_<base64>` (the prefix is optional).
    pub fn parse(text: &str) -> Result<Self, SecretError> {
        let encoded = text.strip_prefix(PUBLIC_PREFIX).unwrap_or(text);
        let bytes = STANDARD
            .decode(encoded)
            .map_err(|_| SecretError::NotBase64)?;
        let key = bytes
            .as_slice()
            .try_into()
            .map_err(|_| SecretError::PublicKeyLength(bytes.len()))?;
        Ok(Self(key))
    }

    /// The raw key, base64 (as stored).
    pub fn to_base64(&self) -> String {
        STANDARD.encode(self.0)
    }

    /// The `whpk_…` form clients are given.
    pub fn expose(&self) -> String {
        format!("{PUBLIC_PREFIX}{}", self.to_base64())
    }

    /// Whether `signature` (base64) is this key's signature of `message`.
    pub fn verifies(&self, message: &[u8], signature: &str) -> bool {
        let Ok(signature) = STANDARD.decode(signature) else {
            return false;
        };
        signature.len() == SIGNATURE_BYTES
            && UnparsedPublicKey::new(&ED25519, self.0)
                .verify(message, &signature)
                .is_ok()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// RFC 8032, section 7.1, test 2 (a one-byte message).
    #[test]
    fn matches_rfc_8032() {
        let seed = hex::decode("4ccd089b28ff96da9db6c346ec114e0f5b8a319f35aba624da8cf6ed4fb8a6fb")
            .unwrap();
        let key = SigningKey::from_seed_bytes(&seed).unwrap();
        assert_eq!(
            hex::encode(key.public_key().0),
            "3d4017c3e843895a92b70aa74d1b7ebc9c982ccf2ec4968cc0cd55f12af4660c"
        );
        let signature = STANDARD.decode(key.sign(&[0x72])).unwrap();
        assert_eq!(
            hex::encode(signature),
            "92a009a9f0d4cab8720e820b5f642540a2b27b5416503f8fb3762223ebdb69da\
             085ac1e43e15996e458f3613d0f11d8c387b2eaeb4302aeeb00d291612bb0c00"
        );
        assert!(key.public_key().verifies(&[0x72], &key.sign(&[0x72])));
    }

    #[test]
    fn keys_round_trip_through_their_text_forms_and_never_print() {
        let key = SigningKey::generate();
        let public = key.public_key();
        assert!(public.expose().starts_with("whpk_"));
        assert_eq!(PublicKey::parse(&public.expose()).unwrap(), public);
        let shown = format!("whsk_{}", STANDARD.encode(key.seed()));
        assert_eq!(SigningKey::parse(&shown).unwrap(), key);
        assert_eq!(format!("{key:?}"), "SigningKey([redacted])");
        assert_eq!(
            PublicKey::parse("whpk_AAAA"),
            Err(SecretError::PublicKeyLength(3))
        );
        assert_eq!(PublicKey::parse("whpk_!"), Err(SecretError::NotBase64));
        assert_eq!(
            SigningKey::from_seed_bytes(&[0; 31]),
            Err(SecretError::SigningKeyLength(31))
        );
    }

    #[test]
    fn only_the_right_key_and_message_verify() {
        let key = SigningKey::generate();
        let signature = key.sign(b"msg_1.1614265330.{}");
        assert!(
            key.public_key()
                .verifies(b"msg_1.1614265330.{}", &signature)
        );
        assert!(
            !key.public_key()
                .verifies(b"msg_1.1614265331.{}", &signature)
        );
        assert!(
            !SigningKey::generate()
                .public_key()
                .verifies(b"msg_1.1614265330.{}", &signature)
        );
        assert!(!key.public_key().verifies(b"x", "not base64!"));
        assert!(!key.public_key().verifies(b"x", "AAAA"));
    }
}
