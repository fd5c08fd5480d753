//! Secrets: webhook signing secrets (`whsec_…`) and the key that encrypts
//! them at rest. Neither ever prints: their `Debug` is redacted.

use std::fmt;

use aws_lc_rs::{
    aead::{AES_256_GCM, Aad, LessSafeKey, NONCE_LEN, Nonce, UnboundKey},
    hmac,
};
use base64::{Engine, engine::general_purpose::STANDARD};

const SIGNING_PREFIX: &str = "whsec_";
const SIGNING_SECRET_BYTES: std::ops::RangeInclusive<usize> = 16..=64;
/// The prefix of ciphertexts bound to their row by associated data. Release
/// 0.1.0 wrote bare base64 without it; base64 never contains `:`, so the two
/// cannot be confused.
const SEALED_V2: &str = "v2:";

/// Random bytes from the operating system.
pub fn random_bytes<const N: usize>() -> [u8; N] {
    let mut bytes = [0u8; N];
    aws_lc_rs::rand::fill(&mut bytes).expect("the system random source works");
    bytes
}

/// A Standard Webhooks signing secret: raw key bytes, shown as
/// `whsec_<base64>`.
#[derive(Clone, PartialEq, Eq)]
pub struct SigningSecret(Vec<u8>);

impl SigningSecret {
    pub fn generate() -> Self {
        Self(random_bytes::<32>().to_vec())
    }

    /// Parses `whsec_<base64>` (the prefix is optional, as in the official libraries).
    pub fn parse(text: &str) -> Result<Self, SecretError> {
        let encoded = text.strip_prefix(SIGNING_PREFIX).unwrap_or(text);
        let bytes = STANDARD
            .decode(encoded)
            .map_err(|_| SecretError::NotBase64)?;
        if !SIGNING_SECRET_BYTES.contains(&bytes.len()) {
            return Err(SecretError::SigningSecretLength(bytes.len()));
        }
        Ok(Self(bytes))
    }

    pub(crate) fn from_bytes(bytes: Vec<u8>) -> Self {
        Self(bytes)
    }

    pub fn key(&self) -> &[u8] {
        &self.0
    }

    /// The `whsec_…` form, for the one response that shows it.
    pub fn expose(&self) -> String {
        format!("{SIGNING_PREFIX}{}", STANDARD.encode(&self.0))
    }
}

impl fmt::Debug for SigningSecret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("SigningSecret([redacted])")
    }
}

/// The key that encrypts signing secrets in the database (AES-256-GCM).
#[derive(Clone)]
pub struct EncryptionKey(LessSafeKeyHolder);

#[derive(Clone)]
struct LessSafeKeyHolder([u8; 32]);

impl fmt::Debug for EncryptionKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("EncryptionKey([redacted])")
    }
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum SecretError {
    #[error("a key is its prefix (`whsec_`, `whsk_`, `whpk_`) followed by base64")]
    NotBase64,
    #[error("a signing secret must be 16 to 64 bytes, not {0}")]
    SigningSecretLength(usize),
    #[error("an ed25519 signing key (`whsk_`) is a 32-byte seed, not {0} bytes")]
    SigningKeyLength(usize),
    #[error("an ed25519 public key (`whpk_`) is 32 bytes, not {0}")]
    PublicKeyLength(usize),
    #[error("the secrets key must be 32 bytes in base64")]
    BadKey,
    #[error("a stored secret cannot be decrypted: wrong secrets key, or corrupt data")]
    Undecryptable,
}

impl EncryptionKey {
    pub fn generate() -> Self {
        Self(LessSafeKeyHolder(random_bytes::<32>()))
    }

    /// A key from its base64 form.
    pub fn parse(text: &str) -> Result<Self, SecretError> {
        let bytes = STANDARD
            .decode(text.trim())
            .map_err(|_| SecretError::BadKey)?;
        let key: [u8; 32] = bytes.try_into().map_err(|_| SecretError::BadKey)?;
        Ok(Self(LessSafeKeyHolder(key)))
    }

    /// The base64 form, for storing a generated key.
    pub fn to_base64(&self) -> String {
        STANDARD.encode(self.0.0)
    }

    fn cipher(&self) -> LessSafeKey {
        LessSafeKey::new(
            UnboundKey::new(&AES_256_GCM, &self.0.0).expect("a 32-byte key is valid for AES-256"),
        )
    }

    /// Seals `plaintext` for the row `aad` names: `v2:base64(nonce ‖
    /// ciphertext ‖ tag)`, with a fresh random nonce and `aad` as the
    /// associated data. The ciphertext opens only with the same `aad`: one
    /// copied to another row does not decrypt there.
    pub fn seal(&self, plaintext: &[u8], aad: &[u8]) -> String {
        format!("{SEALED_V2}{}", self.encrypt(plaintext, aad))
    }

    /// Opens what [`seal`](Self::seal) made with the same `aad`, or a
    /// ciphertext from release 0.1.0 (no prefix, no associated data: those
    /// were written before rows were bound, and must stay readable).
    pub fn open(&self, sealed: &str, aad: &[u8]) -> Result<Vec<u8>, SecretError> {
        match sealed.strip_prefix(SEALED_V2) {
            Some(v2) => self.decrypt(v2, aad),
            None => self.decrypt(sealed, b""),
        }
    }

    /// A short, stable name for this key that does not reveal it:
    /// HMAC-SHA256(key, "jobcall key fingerprint"), first 16 bytes, in hex.
    /// Stored with the data the key seals, so that a process started with
    /// another key can tell and refuse.
    pub fn fingerprint(&self) -> String {
        let key = hmac::Key::new(hmac::HMAC_SHA256, &self.0.0);
        let tag = hmac::sign(&key, b"jobcall key fingerprint");
        hex::encode(&tag.as_ref()[..16])
    }

    /// `base64(nonce ‖ ciphertext ‖ tag)`, with a fresh random nonce.
    fn encrypt(&self, plaintext: &[u8], aad: &[u8]) -> String {
        let nonce = random_bytes::<NONCE_LEN>();
        let mut sealed = plaintext.to_vec();
        self.cipher()
            .seal_in_place_append_tag(
                Nonce::assume_unique_for_key(nonce),
                Aad::from(aad),
                &mut sealed,
            )
            .expect("sealing a short message cannot fail");
        let mut out = nonce.to_vec();
        out.extend_from_slice(&sealed);
        STANDARD.encode(out)
    }

    fn decrypt(&self, text: &str, aad: &[u8]) -> Result<Vec<u8>, SecretError> {
        let bytes = STANDARD
            .decode(text)
            .map_err(|_| SecretError::Undecryptable)?;
        if bytes.len() < NONCE_LEN {
            return Err(SecretError::Undecryptable);
        }
        let (nonce, sealed) = bytes.split_at(NONCE_LEN);
        let nonce =
            Nonce::try_assume_unique_for_key(nonce).map_err(|_| SecretError::Undecryptable)?;
        let mut in_out = sealed.to_vec();
        let plain = self
            .cipher()
            .open_in_place(nonce, Aad::from(aad), &mut in_out)
            .map_err(|_| SecretError::Undecryptable)?;
        Ok(plain.to_vec())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn signing_secrets_round_trip_through_their_whsec_form() {
        let secret = SigningSecret::generate();
        let shown = secret.expose();
        assert!(shown.starts_with("whsec_"));
        assert_eq!(SigningSecret::parse(&shown).unwrap(), secret);
        assert_eq!(format!("{secret:?}"), "SigningSecret([redacted])");
        assert!(SigningSecret::parse("whsec_not base64!").is_err());
        assert!(SigningSecret::parse("whsec_AAAA").is_err());
        assert_eq!(
            SigningSecret::parse("whsec_not base64!"),
            Err(SecretError::NotBase64)
        );
        assert_eq!(
            SigningSecret::parse("whsec_AAAA"),
            Err(SecretError::SigningSecretLength(3))
        );
    }

    #[test]
    fn encryption_round_trips_and_detects_tampering_and_wrong_keys() {
        let key = EncryptionKey::generate();
        let sealed = key.seal(b"secret bytes", b"row 1");
        assert!(sealed.starts_with("v2:"), "{sealed}");
        assert_eq!(key.open(&sealed, b"row 1").unwrap(), b"secret bytes");
        assert_ne!(
            key.seal(b"secret bytes", b"row 1"),
            sealed,
            "nonces are fresh"
        );
        let mut tampered = STANDARD.decode(&sealed[3..]).unwrap();
        let last = tampered.len() - 1;
        tampered[last] ^= 1;
        assert_eq!(
            key.open(&format!("v2:{}", STANDARD.encode(tampered)), b"row 1"),
            Err(SecretError::Undecryptable)
        );
        assert_eq!(
            EncryptionKey::generate().open(&sealed, b"row 1"),
            Err(SecretError::Undecryptable)
        );
        assert!(!format!("{key:?}").contains(&key.to_base64()));
        assert_eq!(
            EncryptionKey::parse(&key.to_base64())
                .unwrap()
                .open(&sealed, b"row 1")
                .unwrap(),
            b"secret bytes"
        );
        assert_eq!(
            EncryptionKey::parse("c2hvcnQ=").unwrap_err(),
            SecretError::BadKey
        );
    }

    #[test]
    fn a_ciphertext_opens_only_for_the_row_it_was_sealed_for() {
        let key = EncryptionKey::generate();
        let sealed = key.seal(b"secret bytes", b"row 1");
        assert_eq!(key.open(&sealed, b"row 2"), Err(SecretError::Undecryptable));
        assert_eq!(key.open(&sealed, b""), Err(SecretError::Undecryptable));
        // Stripping the prefix does not get it read as unbound: the data
        // was sealed with the row's, and opens with nothing else.
        assert_eq!(
            key.open(&sealed[3..], b"row 2"),
            Err(SecretError::Undecryptable)
        );
    }

    #[test]
    fn ciphertexts_from_release_0_1_0_still_open() {
        let key = EncryptionKey::generate();
        // What 0.1.0 stored: bare base64, no associated data.
        let old = key.encrypt(b"secret bytes", b"");
        assert_eq!(key.open(&old, b"any row").unwrap(), b"secret bytes");
    }

    #[test]
    fn fingerprints_are_stable_short_and_differ_by_key() {
        let key = EncryptionKey::generate();
        let print = key.fingerprint();
        assert_eq!(print.len(), 32);
        assert_eq!(
            EncryptionKey::parse(&key.to_base64())
                .unwrap()
                .fingerprint(),
            print
        );
        assert_ne!(EncryptionKey::generate().fingerprint(), print);
        assert!(!print.contains(&hex::encode(&key.0.0[..4])));
    }
}
