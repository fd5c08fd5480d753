//! The kinds a server runs, by name.

use std::{collections::BTreeMap, panic::AssertUnwindSafe, sync::Arc};

use futures::{FutureExt, future::BoxFuture};
use serde_json::Value;

use super::{Digest, Echo, HttpRequest, JobContext, JobError, Kind, schema::InputSchema};
use crate::{
    outbound::Outbound,
    validation::{FieldError, FieldErrors},
};

/// A kind behind a name, its input schema compiled.
pub trait RegisteredKind: Send + Sync {
    fn name(&self) -> &'static str;
    fn description(&self) -> &'static str;
    /// The JSON Schema of the input.
    fn input_schema(&self) -> &Value;
    /// The schema, then the kind's own checks. Fields are relative to the input.
    fn validate<'a>(&'a self, input: &'a Value) -> BoxFuture<'a, Result<(), FieldErrors>>;
    /// One attempt. A panic in the kind becomes a permanent `panic` failure.
    fn run(&self, input: Value, ctx: JobContext) -> BoxFuture<'static, Result<Value, JobError>>;
}

struct Registered<K: Kind> {
    kind: Arc<K>,
    schema: InputSchema,
}

impl<K: Kind> RegisteredKind for Registered<K> {
    fn name(&self) -> &'static str {
        K::NAME
    }

    fn description(&self) -> &'static str {
        K::DESCRIPTION
    }

    fn input_schema(&self) -> &Value {
        self.schema.document()
    }

    fn validate<'a>(&'a self, input: &'a Value) -> BoxFuture<'a, Result<(), FieldErrors>> {
        Box::pin(async move {
            let violations = self.schema.violations(input);
            if !violations.is_empty() {
                return Err(violations);
            }
            let typed: K::Input = serde_json::from_value(input.clone())
                .map_err(|e| FieldErrors::from(FieldError::new("", e.to_string())))?;
            self.kind.check(&typed).await.map_err(FieldErrors::from)
        })
    }

    fn run(&self, input: Value, ctx: JobContext) -> BoxFuture<'static, Result<Value, JobError>> {
        let kind = self.kind.clone();
        Box::pin(async move {
            let input: K::Input = serde_json::from_value(input).map_err(|e| {
                JobError::permanent(
                    "invalid_input",
                    format!("the stored input no longer parses: {e}"),
                )
            })?;
            let run = AssertUnwindSafe(kind.run(input, ctx)).catch_unwind();
            let output = match run.await {
                Ok(result) => result?,
                Err(panic) => {
                    let message = panic
                        .downcast_ref::<&str>()
                        .map(|s| s.to_string())
                        .or_else(|| panic.downcast_ref::<String>().cloned())
                        .unwrap_or_else(|| "the kind panicked".to_owned());
                    return Err(JobError::permanent("panic", message));
                }
            };
            serde_json::to_value(output).map_err(|e| {
                JobError::permanent(
                    "invalid_output",
                    format!("the result could not be encoded: {e}"),
                )
            })
        })
    }
}

/// What `GET /v1/kinds` shows of a kind.
#[derive(Debug, Clone, serde::Serialize)]
pub struct KindInfo {
    pub name: &'static str,
    pub description: &'static str,
    pub input_schema: Value,
}

/// The kinds a server runs.
#[derive(Clone, Default)]
pub struct Registry {
    kinds: BTreeMap<&'static str, Arc<dyn RegisteredKind>>,
}

impl std::fmt::Debug for Registry {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_list().entries(self.kinds.keys()).finish()
    }
}

impl Registry {
    /// The built-in kinds, making outbound requests through `outbound`.
    pub fn builtin(outbound: &Outbound) -> Self {
        let mut registry = Self::default();
        registry.register(Echo);
        registry.register(HttpRequest::new(outbound.clone()));
        registry.register(Digest::new(outbound.clone()));
        registry
    }

    /// Adds a kind; a kind of the same name is replaced.
    pub fn register<K: Kind>(&mut self, kind: K) -> &mut Self {
        let registered = Registered {
            kind: Arc::new(kind),
            schema: InputSchema::of::<K::Input>(),
        };
        self.kinds.insert(K::NAME, Arc::new(registered));
        self
    }

    pub fn get(&self, name: &str) -> Option<&Arc<dyn RegisteredKind>> {
        self.kinds.get(name)
    }

    pub fn names(&self) -> impl Iterator<Item = &'static str> + '_ {
        self.kinds.keys().copied()
    }

    pub fn describe(&self) -> Vec<KindInfo> {
        self.kinds
            .values()
            .map(|kind| KindInfo {
                name: kind.name(),
                description: kind.description(),
                input_schema: kind.input_schema().clone(),
            })
            .collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::outbound::{Guard, OutboundPolicy, SystemResolver};
    use serde_json::json;

    fn registry() -> Registry {
        let guard = Guard::new(OutboundPolicy::default(), Arc::new(SystemResolver));
        Registry::builtin(&Outbound::new(guard, "test"))
    }

    async fn errors(kind: &str, input: Value) -> Vec<FieldError> {
        registry()
            .get(kind)
            .unwrap()
            .validate(&input)
            .await
            .unwrap_err()
            .into_iter()
            .collect()
    }

    #[test]
    fn the_builtin_kinds_are_registered_with_draft_2020_12_schemas() {
        let registry = registry();
        assert_eq!(
            registry.names().collect::<Vec<_>>(),
            ["digest", "echo", "http.request"]
        );
        for kind in registry.describe() {
            assert_eq!(
                kind.input_schema["$schema"],
                "https://json-schema.org/draft/2020-12/schema"
            );
            assert_eq!(kind.input_schema["type"], "object");
            assert_eq!(
                kind.input_schema["additionalProperties"], false,
                "{}",
                kind.name
            );
        }
    }

    #[tokio::test]
    async fn violations_name_the_field() {
        assert_eq!(
            errors("echo", json!({"delai_ms": 5})).await,
            [FieldError::new("delai_ms", "is not a known field")]
        );
        let range = errors("echo", json!({"delay_ms": 99_999_999})).await;
        assert_eq!(range[0].field, "delay_ms");
        assert!(range[0].message.contains("maximum"), "{}", range[0].message);
        assert_eq!(
            errors("http.request", json!({})).await,
            [FieldError::new("url", "is required")]
        );
        let method = errors(
            "http.request",
            json!({"url": "https://example.com", "method": "BREW"}),
        )
        .await;
        assert_eq!(method[0].field, "method");
        let header = errors(
            "http.request",
            json!({"url": "https://example.com", "headers": {"x": 1}}),
        )
        .await;
        assert_eq!(header[0].field, "headers.x");
        assert_eq!(errors("echo", json!([1])).await[0].field, "");
    }

    #[tokio::test]
    async fn kind_checks_run_after_the_schema() {
        let blocked = errors("http.request", json!({"url": "https://127.0.0.1/admin"})).await;
        assert_eq!(blocked[0].field, "url");
        assert!(
            blocked[0].message.contains("loopback"),
            "{}",
            blocked[0].message
        );
        let header = errors(
            "http.request",
            json!({"url": "https://93.184.216.34/", "headers": {"Host": "x"}}),
        )
        .await;
        assert_eq!(header[0].field, "headers.Host");
        let neither = errors("digest", json!({})).await;
        assert_eq!(neither[0].field, "");
        assert!(
            neither[0].message.contains("allowed forms"),
            "{}",
            neither[0].message
        );
    }

    #[tokio::test]
    async fn a_panicking_kind_fails_its_attempt() {
        struct Panics;
        impl Kind for Panics {
            const NAME: &'static str = "test.panics";
            const DESCRIPTION: &'static str = "Panics.";
            type Input = Value;
            type Output = Value;
            async fn run(&self, _: Value, _: JobContext) -> Result<Value, JobError> {
                panic!("kaboom")
            }
        }
        let mut registry = Registry::default();
        registry.register(Panics);
        let ctx = JobContext::new(jobcall_entity::JobId::generate(), 1, Default::default()).0;
        let err = registry
            .get("test.panics")
            .unwrap()
            .run(json!({}), ctx)
            .await
            .unwrap_err();
        assert_eq!(err, JobError::permanent("panic", "kaboom"));
    }
}
