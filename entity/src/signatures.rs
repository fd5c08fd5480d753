//! How a client's callbacks are signed: the Standard Webhooks schemes
//! `v1` (HMAC-SHA256 with a shared secret) and `v1a` (ed25519, verified with
//! a public key), one or both. The database enforces the list with CHECK
//! constraints (migration `m20261203_160001`).

use sea_orm::entity::prelude::*;
use serde::{Deserialize, Serialize};

/// One signature scheme of the Standard Webhooks specification.
#[derive(
    Debug,
    Clone,
    Copy,
    PartialEq,
    Eq,
    Hash,
    PartialOrd,
    Ord,
    EnumIter,
    DeriveActiveEnum,
    Serialize,
    Deserialize,
)]
#[sea_orm(rs_type = "String", db_type = "String(StringLen::N(8))")]
pub enum SignatureScheme {
    /// `v1,<base64 HMAC-SHA256>`, with a `whsec_` secret the receiver holds too.
    #[sea_orm(string_value = "v1")]
    #[serde(rename = "v1")]
    V1,
    /// `v1a,<base64 ed25519 signature>`: the receiver holds only the
    /// `whpk_` public key, which cannot sign.
    #[sea_orm(string_value = "v1a")]
    #[serde(rename = "v1a")]
    V1a,
}

impl SignatureScheme {
    pub const ALL: [SignatureScheme; 2] = [SignatureScheme::V1, SignatureScheme::V1a];

    pub fn as_str(self) -> &'static str {
        match self {
            Self::V1 => "v1",
            Self::V1a => "v1a",
        }
    }

    pub fn parse(s: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|scheme| scheme.as_str() == s)
    }
}

/// The schemes a client's callbacks are signed with: at least one, each
/// once, in canonical order. Stored space-separated (`v1 v1a`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct SignatureSchemes(Vec<SignatureScheme>);

impl SignatureSchemes {
    /// The default: `v1` alone, as before `v1a` existed.
    pub fn v1() -> Self {
        Self(vec![SignatureScheme::V1])
    }

    /// The set of `schemes`; `None` when it is empty.
    pub fn new(schemes: impl IntoIterator<Item = SignatureScheme>) -> Option<Self> {
        let mut schemes: Vec<_> = schemes.into_iter().collect();
        schemes.sort_unstable();
        schemes.dedup();
        (!schemes.is_empty()).then_some(Self(schemes))
    }

    /// Reads the stored form; anything unreadable is `v1`, the scheme every
    /// client had before the column existed.
    pub fn from_stored(text: &str) -> Self {
        Self::new(text.split_whitespace().filter_map(SignatureScheme::parse))
            .unwrap_or_else(Self::v1)
    }

    pub fn to_stored(&self) -> String {
        self.0
            .iter()
            .map(|scheme| scheme.as_str())
            .collect::<Vec<_>>()
            .join(" ")
    }

    pub fn contains(&self, scheme: SignatureScheme) -> bool {
        self.0.contains(&scheme)
    }

    pub fn iter(&self) -> impl Iterator<Item = SignatureScheme> + '_ {
        self.0.iter().copied()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sets_are_canonical_and_never_empty() {
        use SignatureScheme::*;
        let both = SignatureSchemes::new([V1a, V1, V1a]).unwrap();
        assert_eq!(both.to_stored(), "v1 v1a");
        assert_eq!(SignatureSchemes::from_stored("v1 v1a"), both);
        assert_eq!(SignatureSchemes::from_stored("v1a").to_stored(), "v1a");
        assert_eq!(SignatureSchemes::new([]), None);
        assert_eq!(SignatureSchemes::from_stored(""), SignatureSchemes::v1());
        assert_eq!(
            serde_json::to_value(&both).unwrap(),
            serde_json::json!(["v1", "v1a"])
        );
    }
}
