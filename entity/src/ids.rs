//! Opaque, prefixed, time-sortable identifiers (`job_01J…`).
//!
//! An id is a type prefix, an underscore and a ULID in its canonical upper-case
//! Crockford form. Ids sort by creation time, which the job list's cursor
//! pagination relies on. Parsing accepts any case and canonicalises, so an id
//! copied in lower case still finds its row.

use std::{fmt, str::FromStr};

use sea_orm::DeriveValueType;
use serde::{Deserialize, Deserializer, Serialize, Serializer};
use ulid::Ulid;

/// Why a string is not an id of the expected kind.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum IdError {
    #[error("must start with `{0}_`")]
    WrongPrefix(&'static str),
    #[error("must be `{0}_` followed by a 26-character ULID")]
    Malformed(&'static str),
}

macro_rules! prefixed_id {
    ($(#[$meta:meta])* $name:ident, $prefix:literal) => {
        $(#[$meta])*
        #[derive(Clone, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, DeriveValueType)]
        pub struct $name(String);

        impl $name {
            /// The type prefix, without the underscore.
            pub const PREFIX: &'static str = $prefix;

            /// A new id for an object created now.
            pub fn generate() -> Self {
                Self(format!("{}_{}", $prefix, Ulid::generate()))
            }

            /// Parses an id, canonicalising the ULID's case.
            pub fn parse(s: &str) -> Result<Self, IdError> {
                let rest = s
                    .strip_prefix(concat!($prefix, "_"))
                    .ok_or(IdError::WrongPrefix($prefix))?;
                if rest.len() != 26 {
                    return Err(IdError::Malformed($prefix));
                }
                let ulid = Ulid::from_string(rest).map_err(|_| IdError::Malformed($prefix))?;
                Ok(Self(format!("{}_{}", $prefix, ulid)))
            }

            pub fn as_str(&self) -> &str {
                &self.0
            }

            /// Milliseconds since the Unix epoch at which the id was generated.
            pub fn timestamp_ms(&self) -> u64 {
                Ulid::from_string(&self.0[$prefix.len() + 1..])
                    .map(|u| u.timestamp_ms())
                    .unwrap_or(0)
            }
        }

        // Primary keys must claim to come from an auto-increment; ours never do.
        impl sea_orm::TryFromU64 for $name {
            fn try_from_u64(_: u64) -> Result<Self, sea_orm::DbErr> {
                Err(sea_orm::DbErr::ConvertFromU64(stringify!($name)))
            }
        }

        impl fmt::Display for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str(&self.0)
            }
        }

        impl FromStr for $name {
            type Err = IdError;
            fn from_str(s: &str) -> Result<Self, Self::Err> {
                Self::parse(s)
            }
        }

        impl Serialize for $name {
            fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
                serializer.serialize_str(&self.0)
            }
        }

        impl<'de> Deserialize<'de> for $name {
            fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
                let s = String::deserialize(deserializer)?;
                Self::parse(&s).map_err(serde::de::Error::custom)
            }
        }
    };
}

prefixed_id!(
    /// A job: one unit of submitted work.
    JobId,
    "job"
);
prefixed_id!(
    /// A callback event; sent as `webhook-id`, the same on every retry and replay.
    EventId,
    "evt"
);
prefixed_id!(
    /// An API client: the `sub` of its tokens, the owner of its jobs.
    ClientId,
    "cli"
);
prefixed_id!(
    /// One signing secret of a client.
    SecretId,
    "sec"
);

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn generated_ids_parse_back_to_themselves() {
        let id = JobId::generate();
        assert_eq!(JobId::parse(id.as_str()).unwrap(), id);
        assert!(id.as_str().starts_with("job_"));
        assert_eq!(id.as_str().len(), 30);
    }

    #[test]
    fn lower_case_ids_are_canonicalised() {
        let id = JobId::generate();
        let lower = id.as_str().to_lowercase();
        assert_eq!(JobId::parse(&lower).unwrap(), id);
    }

    #[test]
    fn ids_of_another_type_are_refused() {
        let event = EventId::generate();
        assert_eq!(
            JobId::parse(event.as_str()),
            Err(IdError::WrongPrefix("job"))
        );
    }

    #[test]
    fn malformed_ids_are_refused() {
        for bad in [
            "job_",
            "job_123",
            "job_01J!!!!!!!!!!!!!!!!!!!!!!!",
            "job_01JD3XQZ8Z8Z8Z8Z8Z8Z8Z8Z8Z8Z",
        ] {
            assert_eq!(JobId::parse(bad), Err(IdError::Malformed("job")), "{bad}");
        }
    }

    #[test]
    fn ids_sort_by_creation_time() {
        let first = JobId::generate();
        std::thread::sleep(std::time::Duration::from_millis(2));
        let second = JobId::generate();
        assert!(first < second);
        assert!(first.timestamp_ms() <= second.timestamp_ms());
    }

    proptest! {
        #[test]
        fn parsing_never_panics(s in ".{0,64}") {
            let _ = JobId::parse(&s);
        }

        #[test]
        fn parsed_ids_always_render_canonically(s in "job_[0-7][0-9A-HJKMNP-TV-Za-hjkmnp-tv-z]{25}") {
            let id = JobId::parse(&s).unwrap();
            prop_assert_eq!(id.as_str(), format!("job_{}", s[4..].to_uppercase()));
        }
    }
}
