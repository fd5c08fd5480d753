//! A submission, parsed: [`NewJob`] is what a client sent (well-typed but
//! unchecked), [`JobSpec`] is a job jobcall is willing to run.

use std::{collections::BTreeMap, time::Duration};

use jobcall_entity::EventType;
use serde_json::{Map, Value};
use sha2::{Digest, Sha256};

use crate::{
    config::JobLimits,
    kinds::Registry,
    outbound::{CheckedUrl, Guard},
    validation::{FieldError, FieldErrors},
};

/// A submission as the client sent it.
#[derive(Debug, Clone, Default)]
pub struct NewJob {
    pub kind: String,
    pub input: Value,
    pub callback_url: Option<String>,
    pub callback_events: Option<Vec<String>>,
    pub metadata: Option<Map<String, Value>>,
    pub timeout_seconds: Option<i64>,
    pub max_attempts: Option<i64>,
}

/// Where and what to call back.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CallbackSpec {
    pub url: CheckedUrl,
    /// The subscribed events, in canonical order, without repeats.
    pub events: Vec<EventType>,
}

/// A job jobcall accepts: known kind, input valid for it, a callback URL the
/// guard allows, metadata and limits within bounds.
#[derive(Debug, Clone, PartialEq)]
pub struct JobSpec {
    pub kind: String,
    pub input: Value,
    pub callback: Option<CallbackSpec>,
    pub metadata: BTreeMap<String, String>,
    pub timeout: Duration,
    pub max_attempts: u32,
}

impl JobSpec {
    /// Checks everything and reports every problem found, each naming its field.
    pub async fn parse(
        new: NewJob,
        registry: &Registry,
        guard: &Guard,
        limits: &JobLimits,
    ) -> Result<Self, FieldErrors> {
        let mut errors = FieldErrors::new();

        let kind = registry.get(&new.kind);
        if kind.is_none() {
            let known: Vec<_> = registry.names().collect();
            errors.push(FieldError::new(
                "kind",
                format!(
                    "`{}` is not a known kind (known: {})",
                    new.kind,
                    known.join(", ")
                ),
            ));
        }
        let input_bytes = serde_json::to_vec(&new.input)
            .map(|v| v.len())
            .unwrap_or(usize::MAX);
        if input_bytes > limits.max_input_bytes {
            errors.push(FieldError::new(
                "input",
                format!(
                    "is {input_bytes} bytes; at most {} are accepted",
                    limits.max_input_bytes
                ),
            ));
        } else if let Some(kind) = kind
            && let Err(input_errors) = kind.validate(&new.input).await
        {
            errors.append_under(input_errors, "input");
        }

        let new_events_given = new.callback_events.is_some();
        let events = match new.callback_events {
            None => EventType::TERMINAL.to_vec(),
            Some(names) => parse_events(&names, &mut errors),
        };
        let callback = match new.callback_url {
            None => {
                if new_events_given
                    && !errors
                        .iter()
                        .any(|e| e.field.starts_with("callback_events"))
                {
                    errors.push(FieldError::new(
                        "callback_events",
                        "needs a callback_url to send them to",
                    ));
                }
                None
            }
            Some(raw) => match guard.check(&raw).await {
                Ok(url) => Some(CallbackSpec { url, events }),
                Err(e) => {
                    errors.push(FieldError::new("callback_url", e.to_string()));
                    None
                }
            },
        };

        let metadata = parse_metadata(new.metadata.unwrap_or_default(), limits, &mut errors);

        let max_timeout = limits.max_timeout.as_secs() as i64;
        let timeout = match new.timeout_seconds {
            None => limits.default_timeout,
            Some(seconds) if (1..=max_timeout).contains(&seconds) => {
                Duration::from_secs(seconds as u64)
            }
            Some(_) => {
                errors.push(FieldError::new(
                    "timeout_seconds",
                    format!("must be between 1 and {max_timeout}"),
                ));
                limits.default_timeout
            }
        };
        let max_attempts = match new.max_attempts {
            None => limits.default_max_attempts,
            Some(n) if (1..=limits.max_max_attempts as i64).contains(&n) => n as u32,
            Some(_) => {
                errors.push(FieldError::new(
                    "max_attempts",
                    format!("must be between 1 and {}", limits.max_max_attempts),
                ));
                limits.default_max_attempts
            }
        };

        if !errors.is_empty() {
            return Err(errors);
        }
        Ok(Self {
            kind: new.kind,
            input: new.input,
            callback,
            metadata,
            timeout,
            max_attempts,
        })
    }

    /// SHA-256 over a canonical rendering of the job: the same request,
    /// however its JSON was spelled, hashes the same. An idempotency key
    /// reused with a different hash is a conflict.
    pub fn fingerprint(&self) -> String {
        let canonical = serde_json::json!({
            "kind": self.kind,
            "input": canonical(&self.input),
            "callback_url": self.callback.as_ref().map(|c| c.url.as_str()),
            "callback_events": self.callback.as_ref().map(|c| c.events.iter().map(|e| e.as_str()).collect::<Vec<_>>()),
            "metadata": self.metadata,
            "timeout_ms": self.timeout.as_millis() as u64,
            "max_attempts": self.max_attempts,
        });
        hex::encode(Sha256::digest(canonical.to_string().as_bytes()))
    }
}

fn parse_events(names: &[String], errors: &mut FieldErrors) -> Vec<EventType> {
    if names.is_empty() {
        errors.push(FieldError::new(
            "callback_events",
            "must name at least one event (omit it for the terminal events)",
        ));
        return Vec::new();
    }
    // Each event once is all a subscription can say; a longer list is a
    // mistake, and would cost one error per item.
    if names.len() > EventType::ALL.len() {
        errors.push(FieldError::new(
            "callback_events",
            format!(
                "has {} items; at most {} (one per event) are allowed",
                names.len(),
                EventType::ALL.len()
            ),
        ));
        return Vec::new();
    }
    let mut events = Vec::new();
    for (i, name) in names.iter().enumerate() {
        match EventType::parse(name) {
            Some(event) => events.push(event),
            None => errors.push(FieldError::new(
                format!("callback_events.{i}"),
                format!(
                    "`{name}` is not an event (events: {})",
                    EventType::ALL.map(EventType::as_str).join(", ")
                ),
            )),
        }
    }
    EventType::ALL
        .into_iter()
        .filter(|e| events.contains(e))
        .collect()
}

fn parse_metadata(
    raw: Map<String, Value>,
    limits: &JobLimits,
    errors: &mut FieldErrors,
) -> BTreeMap<String, String> {
    if raw.len() > limits.max_metadata_keys {
        // One error for the object, not one per key beyond the limit.
        errors.push(FieldError::new(
            "metadata",
            format!(
                "has {} keys; at most {} are allowed",
                raw.len(),
                limits.max_metadata_keys
            ),
        ));
        return BTreeMap::new();
    }
    let mut metadata = BTreeMap::new();
    for (key, value) in raw {
        let field = format!("metadata.{key}");
        if key.is_empty() || key.chars().count() > limits.max_metadata_key_chars {
            errors.push(FieldError::new(
                field,
                format!(
                    "keys must be 1 to {} characters",
                    limits.max_metadata_key_chars
                ),
            ));
            continue;
        }
        match value {
            Value::String(s) if s.chars().count() <= limits.max_metadata_value_chars => {
                metadata.insert(key, s);
            }
            Value::String(_) => errors.push(FieldError::new(
                field,
                format!(
                    "values must be at most {} characters",
                    limits.max_metadata_value_chars
                ),
            )),
            _ => errors.push(FieldError::new(field, "values must be strings")),
        }
    }
    metadata
}

/// `value` with every object's keys in sorted order.
fn canonical(value: &Value) -> Value {
    match value {
        Value::Object(map) => {
            let sorted: BTreeMap<_, _> =
                map.iter().map(|(k, v)| (k.clone(), canonical(v))).collect();
            Value::Object(sorted.into_iter().collect())
        }
        Value::Array(items) => Value::Array(items.iter().map(canonical).collect()),
        other => other.clone(),
    }
}

/// A client's `Idempotency-Key`: 1 to 255 visible ASCII characters.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct IdempotencyKey(String);

impl IdempotencyKey {
    pub const MAX_LEN: usize = 255;

    pub fn parse(raw: &str) -> Result<Self, &'static str> {
        if raw.is_empty() || raw.len() > Self::MAX_LEN {
            return Err("must be 1 to 255 characters");
        }
        if !raw.bytes().all(|b| b.is_ascii_graphic()) {
            return Err("must be visible ASCII characters without spaces");
        }
        Ok(Self(raw.to_owned()))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::outbound::{Outbound, OutboundPolicy, resolver::tests::FixedResolver};
    use proptest::prelude::*;
    use serde_json::json;
    use std::sync::Arc;

    fn fixtures() -> (Registry, Guard) {
        // No name resolves: these tests use address literals, and fuzzed
        // names must not wait on DNS.
        let guard = Guard::new(OutboundPolicy::default(), Arc::new(FixedResolver::new(&[])));
        (
            Registry::builtin(&Outbound::new(guard.clone(), "test")),
            guard,
        )
    }

    async fn parse(new: NewJob) -> Result<JobSpec, Vec<FieldError>> {
        let (registry, guard) = fixtures();
        JobSpec::parse(new, &registry, &guard, &JobLimits::default())
            .await
            .map_err(|errors| errors.into_iter().collect())
    }

    fn echo() -> NewJob {
        NewJob {
            kind: "echo".into(),
            input: json!({"message": "hi"}),
            ..NewJob::default()
        }
    }

    fn fields(errors: &[FieldError]) -> Vec<&str> {
        errors.iter().map(|e| e.field.as_str()).collect()
    }

    #[tokio::test]
    async fn defaults_apply() {
        let spec = parse(echo()).await.unwrap();
        assert_eq!(spec.max_attempts, 3);
        assert_eq!(spec.timeout, Duration::from_secs(300));
        assert!(spec.callback.is_none());
    }

    #[tokio::test]
    async fn every_problem_is_reported_with_its_field() {
        let new = NewJob {
            kind: "echo".into(),
            input: json!({"delay_ms": -1, "colour": "red"}),
            callback_url: Some("http://10.0.0.1/hook".into()),
            callback_events: Some(vec!["job.started".into(), "job.exploded".into()]),
            metadata: Some(serde_json::from_value(json!({"team": 7, "": "x"})).unwrap()),
            timeout_seconds: Some(0),
            max_attempts: Some(99),
        };
        let errors = parse(new).await.unwrap_err();
        let mut names = fields(&errors);
        names.sort();
        assert_eq!(
            names,
            [
                "callback_events.1",
                "callback_url",
                "input.colour",
                "input.delay_ms",
                "max_attempts",
                "metadata.",
                "metadata.team",
                "timeout_seconds"
            ]
        );
    }

    #[tokio::test]
    async fn long_event_lists_and_big_metadata_are_one_error_each() {
        let new = NewJob {
            callback_url: Some("https://93.184.216.34/hook".into()),
            callback_events: Some(vec!["job.nope".into(); 100_000]),
            metadata: Some((0..100_000).map(|i| (format!("k{i}"), json!(i))).collect()),
            ..echo()
        };
        let errors = parse(new).await.unwrap_err();
        assert_eq!(fields(&errors), ["callback_events", "metadata"]);
    }

    #[tokio::test]
    async fn unknown_kinds_list_the_known_ones() {
        let errors = parse(NewJob {
            kind: "transcode".into(),
            ..echo()
        })
        .await
        .unwrap_err();
        assert_eq!(fields(&errors), ["kind"]);
        assert!(errors[0].message.contains("echo"), "{}", errors[0].message);
    }

    #[tokio::test]
    async fn oversized_input_is_refused_before_validation() {
        let big = "x".repeat(300 * 1024);
        let errors = parse(NewJob {
            input: json!({"message": big}),
            ..echo()
        })
        .await
        .unwrap_err();
        assert_eq!(fields(&errors), ["input"]);
    }

    #[tokio::test]
    async fn events_are_deduplicated_in_canonical_order() {
        let new = NewJob {
            callback_url: Some("https://93.184.216.34/hook".into()),
            callback_events: Some(vec![
                "job.succeeded".into(),
                "job.started".into(),
                "job.succeeded".into(),
            ]),
            ..echo()
        };
        let callback = parse(new).await.unwrap().callback.unwrap();
        assert_eq!(
            callback.events,
            [EventType::JobStarted, EventType::JobSucceeded]
        );
        let empty = NewJob {
            callback_events: Some(vec![]),
            ..echo()
        };
        assert_eq!(
            fields(&parse(empty).await.unwrap_err()),
            ["callback_events"]
        );
    }

    #[tokio::test]
    async fn fingerprints_ignore_key_order_but_not_content() {
        let a = parse(NewJob {
            input: json!({"message": {"a": 1, "b": 2}}),
            ..echo()
        })
        .await
        .unwrap();
        let b = parse(NewJob {
            input: json!({"message": {"b": 2, "a": 1}}),
            ..echo()
        })
        .await
        .unwrap();
        let c = parse(NewJob {
            input: json!({"message": {"a": 1, "b": 3}}),
            ..echo()
        })
        .await
        .unwrap();
        assert_eq!(a.fingerprint(), b.fingerprint());
        assert_ne!(a.fingerprint(), c.fingerprint());
    }

    #[test]
    fn idempotency_keys() {
        assert!(IdempotencyKey::parse("order-42/retry:1").is_ok());
        assert!(IdempotencyKey::parse("").is_err());
        assert!(IdempotencyKey::parse("has space").is_err());
        assert!(IdempotencyKey::parse("é").is_err());
        assert!(IdempotencyKey::parse(&"k".repeat(256)).is_err());
    }

    fn any_json() -> impl Strategy<Value = serde_json::Value> {
        let leaf = prop_oneof![
            Just(serde_json::Value::Null),
            any::<bool>().prop_map(serde_json::Value::Bool),
            any::<i64>().prop_map(serde_json::Value::from),
            any::<f64>().prop_map(serde_json::Value::from),
            ".{0,30}".prop_map(serde_json::Value::String),
        ];
        let key = prop_oneof![
            prop::sample::select(vec![
                "message",
                "delay_ms",
                "fail",
                "retryable",
                "fail_attempts",
                "url",
                "method",
                "headers",
                "body",
                "timeout_ms",
                "data_base64",
                "max_bytes"
            ])
            .prop_map(str::to_owned),
            ".{0,10}",
        ];
        leaf.prop_recursive(3, 32, 6, move |inner| {
            prop_oneof![
                prop::collection::vec(inner.clone(), 0..6).prop_map(serde_json::Value::Array),
                prop::collection::vec((key.clone(), inner), 0..6)
                    .prop_map(|e| serde_json::Value::Object(e.into_iter().collect())),
            ]
        })
    }

    proptest! {
        // At least 1024 cases; PROPTEST_CASES=N asks for more in a long run.
        #![proptest_config(ProptestConfig::with_cases(ProptestConfig::default().cases.max(1024)))]

        /// Any input for any kind is accepted or refused, never panics, and
        /// every refusal names a field under `input` (or `kind`).
        #[test]
        fn any_input_for_any_kind_is_checked(kind in prop::sample::select(vec!["echo", "http.request", "digest", "nope"]), input in any_json()) {
            let runtime = tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap();
            let result = runtime.block_on(parse(NewJob { kind: kind.to_owned(), input, ..NewJob::default() }));
            if let Err(errors) = result {
                prop_assert!(!errors.is_empty());
                for error in errors {
                    prop_assert!(error.field == "kind" || error.field == "input" || error.field.starts_with("input."), "{}", error.field);
                }
            }
        }

        #[test]
        fn idempotency_key_parsing_never_panics_and_accepts_only_visible_ascii(raw in ".{0,300}") {
            if let Ok(key) = IdempotencyKey::parse(&raw) {
                prop_assert!(key.as_str().bytes().all(|b| (0x21..=0x7e).contains(&b)));
                prop_assert!((1..=255).contains(&key.as_str().len()));
            }
        }
    }
}
