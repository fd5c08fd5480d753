//! `digest`: streams a URL (or inline data) and returns its SHA-256 and size.

use base64::Engine;
use futures::StreamExt;
use reqwest::{Method, header::HeaderMap};
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};
use sha2::{Digest as _, Sha256};
use std::time::Duration;

use super::{JobContext, JobError, Kind, http_request::request_failed};
use crate::{outbound::Outbound, validation::FieldError};

/// The most bytes a digest reads unless the input asks for less.
const MAX_BYTES: u64 = 1024 * 1024 * 1024;
const DEFAULT_MAX_BYTES: u64 = 100 * 1024 * 1024;
const FETCH_TIMEOUT: Duration = Duration::from_secs(600);

pub struct Digest {
    outbound: Outbound,
}

impl Digest {
    pub fn new(outbound: Outbound) -> Self {
        Self { outbound }
    }
}

/// Input of `digest`: exactly one of `url` and `data_base64`.
#[derive(Debug, Clone, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
#[schemars(extend("oneOf" = [{"required": ["url"]}, {"required": ["data_base64"]}]))]
pub struct DigestInput {
    /// A URL to fetch with GET and hash; the outbound URL guard applies.
    #[serde(default)]
    #[schemars(length(min = 1, max = 2048))]
    pub url: Option<String>,
    /// Data to hash, in standard base64.
    #[serde(default)]
    #[schemars(length(max = 262_144))]
    pub data_base64: Option<String>,
    /// Fail when the content is longer than this (default 104857600, at most 1073741824).
    #[serde(default)]
    #[schemars(range(min = 1, max = 1_073_741_824))]
    pub max_bytes: Option<u64>,
}

/// Result of `digest`.
#[derive(Debug, Clone, Serialize)]
pub struct DigestOutput {
    /// The SHA-256 of the content, lower-case hex.
    pub sha256: String,
    /// The length of the content in bytes.
    pub bytes: u64,
}

impl Kind for Digest {
    const NAME: &'static str = "digest";
    const DESCRIPTION: &'static str = "Streams a URL (or inline base64 data) and returns its SHA-256 (hex) and its size in bytes.";

    type Input = DigestInput;
    type Output = DigestOutput;

    async fn check(&self, input: &DigestInput) -> Result<(), Vec<FieldError>> {
        match (&input.url, &input.data_base64) {
            (Some(url), None) => self
                .outbound
                .guard()
                .check(url)
                .await
                .map(drop)
                .map_err(|e| vec![FieldError::new("url", e.to_string())]),
            (None, Some(data)) => decode(data)
                .map(drop)
                .map_err(|e| vec![FieldError::new("data_base64", e)]),
            _ => Err(vec![FieldError::new(
                "",
                "needs exactly one of `url` and `data_base64`",
            )]),
        }
    }

    async fn run(&self, input: DigestInput, _ctx: JobContext) -> Result<DigestOutput, JobError> {
        let limit = input.max_bytes.unwrap_or(DEFAULT_MAX_BYTES).min(MAX_BYTES);
        if let Some(data) = &input.data_base64 {
            let bytes = decode(data).map_err(|e| JobError::permanent("invalid_input", e))?;
            if bytes.len() as u64 > limit {
                return Err(too_large(limit));
            }
            return Ok(DigestOutput {
                sha256: hex::encode(Sha256::digest(&bytes)),
                bytes: bytes.len() as u64,
            });
        }
        let url = input.url.as_deref().unwrap_or_default();
        let url = self
            .outbound
            .guard()
            .policy()
            .parse_url(url)
            .map_err(|e| JobError::permanent("blocked_address", format!("url {e}")))?;
        let response = self
            .outbound
            .send(Method::GET, &url, HeaderMap::new(), None, FETCH_TIMEOUT)
            .await
            .map_err(request_failed)?;
        let status = response.status();
        if !status.is_success() {
            let message = format!("the URL answered {status}");
            return Err(if status.is_server_error() || status.as_u16() == 429 {
                JobError::retryable("http_status", message)
            } else {
                JobError::permanent("http_status", message)
            });
        }
        if response
            .content_length()
            .is_some_and(|length| length > limit)
        {
            return Err(too_large(limit));
        }
        let mut hasher = Sha256::new();
        let mut total = 0u64;
        let mut body = response.bytes_stream();
        while let Some(chunk) = body.next().await {
            let chunk =
                chunk.map_err(|e| JobError::retryable("body", e.without_url().to_string()))?;
            total += chunk.len() as u64;
            if total > limit {
                return Err(too_large(limit));
            }
            hasher.update(&chunk);
        }
        Ok(DigestOutput {
            sha256: hex::encode(hasher.finalize()),
            bytes: total,
        })
    }
}

fn decode(data: &str) -> Result<Vec<u8>, String> {
    base64::engine::general_purpose::STANDARD
        .decode(data)
        .map_err(|e| format!("is not valid base64: {e}"))
}

fn too_large(limit: u64) -> JobError {
    JobError::permanent(
        "too_large",
        format!("the content is longer than {limit} bytes"),
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::outbound::{Guard, OutboundPolicy, SystemResolver};
    use jobcall_entity::JobId;
    use std::sync::Arc;
    use tokio_util::sync::CancellationToken;

    fn digest() -> Digest {
        Digest::new(Outbound::new(
            Guard::new(OutboundPolicy::default(), Arc::new(SystemResolver)),
            "test",
        ))
    }

    fn ctx() -> JobContext {
        JobContext::new(JobId::generate(), 1, CancellationToken::new()).0
    }

    #[tokio::test]
    async fn hashes_inline_data() {
        let input: DigestInput =
            serde_json::from_value(serde_json::json!({"data_base64": "aGVsbG8="})).unwrap();
        let out = digest().run(input, ctx()).await.unwrap();
        assert_eq!(
            out.sha256,
            "2cf24dba5fb0a30e26e83b2ac5b9e29e1b161e5c1fa7425e73043362938b9824"
        );
        assert_eq!(out.bytes, 5);
    }

    #[tokio::test]
    async fn refuses_content_over_the_limit() {
        let input: DigestInput =
            serde_json::from_value(serde_json::json!({"data_base64": "aGVsbG8=", "max_bytes": 4}))
                .unwrap();
        let err = digest().run(input, ctx()).await.unwrap_err();
        assert_eq!(err.code, "too_large");
    }

    #[tokio::test]
    async fn needs_exactly_one_source() {
        let both: DigestInput = serde_json::from_value(
            serde_json::json!({"url": "https://example.com", "data_base64": "aA=="}),
        )
        .unwrap();
        assert!(digest().check(&both).await.is_err());
        let bad: DigestInput =
            serde_json::from_value(serde_json::json!({"data_base64": "%%%"})).unwrap();
        assert_eq!(
            digest().check(&bad).await.unwrap_err()[0].field,
            "data_base64"
        );
    }
}
