//! `http.request`: performs one HTTP request and returns the response, the
//! job a cron service runs. The outbound URL guard applies, at submit and at
//! connect time; redirects are returned, not followed.

use std::{
    collections::BTreeMap,
    time::{Duration, Instant},
};

use base64::Engine;
use reqwest::{
    Method,
    header::{HeaderMap, HeaderName, HeaderValue},
};
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

use super::{JobContext, JobError, Kind};
use crate::{
    outbound::{BodyCapture, Outbound, OutboundError, OutboundErrorClass},
    validation::FieldError,
};

/// The most response-body bytes kept in the result.
const RESPONSE_BODY_LIMIT: usize = 64 * 1024;

/// Headers that describe the connection or the body framing; the client sets them.
const MANAGED_HEADERS: &[&str] = &[
    "host",
    "content-length",
    "transfer-encoding",
    "connection",
    "upgrade",
    "te",
    "trailer",
];

pub struct HttpRequest {
    outbound: Outbound,
}

impl HttpRequest {
    pub fn new(outbound: Outbound) -> Self {
        Self { outbound }
    }
}

#[derive(Debug, Clone, Copy, Default, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "UPPERCASE")]
pub enum HttpMethod {
    #[default]
    Get,
    Head,
    Post,
    Put,
    Patch,
    Delete,
    Options,
}

impl HttpMethod {
    fn as_method(self) -> Method {
        match self {
            Self::Get => Method::GET,
            Self::Head => Method::HEAD,
            Self::Post => Method::POST,
            Self::Put => Method::PUT,
            Self::Patch => Method::PATCH,
            Self::Delete => Method::DELETE,
            Self::Options => Method::OPTIONS,
        }
    }
}

/// Input of `http.request`.
#[derive(Debug, Clone, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct HttpRequestInput {
    /// The request method (default GET).
    #[serde(default)]
    pub method: HttpMethod,
    /// The URL to request: https (http only where the server allows it) to a public address.
    #[schemars(length(min = 1, max = 2048))]
    pub url: String,
    /// Request headers.
    #[serde(default)]
    #[schemars(extend("maxProperties" = 50))]
    pub headers: BTreeMap<String, String>,
    /// The request body, as text.
    #[serde(default)]
    #[schemars(length(max = 1_048_576))]
    pub body: Option<String>,
    /// How long to wait for the whole response (default 30000).
    #[serde(default = "default_timeout_ms")]
    #[schemars(range(min = 1, max = 300_000))]
    pub timeout_ms: u64,
}

fn default_timeout_ms() -> u64 {
    30_000
}

/// Result of `http.request`: the response, whatever its status.
#[derive(Debug, Clone, Serialize)]
pub struct HttpResponseOutput {
    pub status: u16,
    /// Response headers; repeated headers joined with ", ".
    pub headers: BTreeMap<String, String>,
    /// The body as text, when it is UTF-8.
    pub body: Option<String>,
    /// The body in base64, when it is not UTF-8.
    pub body_base64: Option<String>,
    /// The body was longer than the 64 KiB kept.
    pub body_truncated: bool,
    pub duration_ms: u64,
}

impl Kind for HttpRequest {
    const NAME: &'static str = "http.request";
    const DESCRIPTION: &'static str =
        "Performs an HTTP request and returns status, headers, body (up to 64 KiB) and duration.";

    type Input = HttpRequestInput;
    type Output = HttpResponseOutput;

    async fn check(&self, input: &HttpRequestInput) -> Result<(), Vec<FieldError>> {
        let mut errors = Vec::new();
        if let Err(e) = self.outbound.guard().check(&input.url).await {
            errors.push(FieldError::new("url", e.to_string()));
        }
        for (name, value) in &input.headers {
            if let Err(message) = parse_header(name, value) {
                errors.push(FieldError::new(format!("headers.{name}"), message));
            }
        }
        if errors.is_empty() {
            Ok(())
        } else {
            Err(errors)
        }
    }

    async fn run(
        &self,
        input: HttpRequestInput,
        _ctx: JobContext,
    ) -> Result<HttpResponseOutput, JobError> {
        let url = self
            .outbound
            .guard()
            .policy()
            .parse_url(&input.url)
            .map_err(|e| JobError::permanent("blocked_address", format!("url {e}")))?;
        let mut headers = HeaderMap::new();
        for (name, value) in &input.headers {
            let (name, value) =
                parse_header(name, value).map_err(|m| JobError::permanent("invalid_input", m))?;
            headers.append(name, value);
        }
        let timeout = Duration::from_millis(input.timeout_ms);
        let started = Instant::now();
        let body = input.body.map(String::into_bytes);
        let response = self
            .outbound
            .send(input.method.as_method(), &url, headers, body, timeout)
            .await
            .map_err(request_failed)?;
        let status = response.status().as_u16();
        let mut headers = BTreeMap::<String, String>::new();
        for (name, value) in response.headers() {
            let value = String::from_utf8_lossy(value.as_bytes()).into_owned();
            headers
                .entry(name.as_str().to_owned())
                .and_modify(|existing| {
                    existing.push_str(", ");
                    existing.push_str(&value);
                })
                .or_insert(value);
        }
        let remaining = timeout.saturating_sub(started.elapsed());
        let captured =
            tokio::time::timeout(remaining, BodyCapture::read(response, RESPONSE_BODY_LIMIT))
                .await
                .map_err(|_| {
                    JobError::retryable(
                        "timeout",
                        format!("no complete response within {} ms", input.timeout_ms),
                    )
                })?
                .map_err(request_failed)?;
        let (body, body_base64) = match String::from_utf8(captured.bytes) {
            Ok(text) => (Some(text), None),
            Err(binary) => (
                None,
                Some(base64::engine::general_purpose::STANDARD.encode(binary.as_bytes())),
            ),
        };
        Ok(HttpResponseOutput {
            status,
            headers,
            body,
            body_base64,
            body_truncated: captured.truncated,
            duration_ms: started.elapsed().as_millis() as u64,
        })
    }
}

fn parse_header(name: &str, value: &str) -> Result<(HeaderName, HeaderValue), String> {
    let name = HeaderName::try_from(name).map_err(|_| "is not a valid header name".to_owned())?;
    if MANAGED_HEADERS.contains(&name.as_str()) {
        return Err("is set by jobcall and cannot be given".to_owned());
    }
    let value =
        HeaderValue::try_from(value).map_err(|_| "is not a valid header value".to_owned())?;
    Ok((name, value))
}

/// How a failed outbound request fails the job: the network may recover,
/// a refused address or a bad certificate will not.
pub(crate) fn request_failed(err: OutboundError) -> JobError {
    let code = err.class.as_str();
    match err.class {
        OutboundErrorClass::Blocked | OutboundErrorClass::Tls => {
            JobError::permanent(code, err.message)
        }
        _ => JobError::retryable(code, err.message),
    }
}
