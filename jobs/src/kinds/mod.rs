//! Job kinds. A kind is a Rust type implementing [`Kind`]: a name, an input
//! type whose JSON Schema is generated and enforced, an output type, and an
//! async `run`. Adding one is a file in this folder and a line in
//! [`Registry::builtin`].

mod context;
mod digest;
mod echo;
mod http_request;
mod registry;
mod schema;

use std::future::Future;

use schemars::JsonSchema;
use serde::{Serialize, de::DeserializeOwned};

pub use context::{JobContext, Progress};
pub use digest::Digest;
pub use echo::Echo;
pub use http_request::HttpRequest;
pub use registry::{KindInfo, RegisteredKind, Registry};

use crate::validation::FieldError;

/// One kind of work jobcall can run.
pub trait Kind: Send + Sync + 'static {
    /// What clients put in `kind`.
    const NAME: &'static str;
    /// One sentence for `GET /v1/kinds`.
    const DESCRIPTION: &'static str;

    /// The job's `input`. Its JSON Schema (from `JsonSchema`, doc comments
    /// and `schemars` attributes) is published and checked at submit time.
    type Input: DeserializeOwned + JsonSchema + Send + 'static;
    /// The job's `result`.
    type Output: Serialize + Send + 'static;

    /// Checks the schema cannot express, at submit time (e.g. the outbound
    /// URL guard). Field names are relative to the input.
    fn check(
        &self,
        _input: &Self::Input,
    ) -> impl Future<Output = Result<(), Vec<FieldError>>> + Send {
        async { Ok(()) }
    }

    /// Runs one attempt. Long runs should report progress and return soon
    /// after `ctx.cancelled()` fires; a run that ignores it is dropped at its
    /// next await point anyway.
    fn run(
        &self,
        input: Self::Input,
        ctx: JobContext,
    ) -> impl Future<Output = Result<Self::Output, JobError>> + Send;
}

/// Why an attempt failed. `code` is a stable machine-readable word;
/// `retryable` failures get another attempt while attempts remain.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct JobError {
    pub code: String,
    pub message: String,
    #[serde(skip)]
    pub retryable: bool,
}

impl JobError {
    /// A failure that another attempt would not fix.
    pub fn permanent(code: &str, message: impl Into<String>) -> Self {
        Self {
            code: code.to_owned(),
            message: message.into(),
            retryable: false,
        }
    }

    /// A failure that another attempt might not meet (network, timeouts).
    pub fn retryable(code: &str, message: impl Into<String>) -> Self {
        Self {
            code: code.to_owned(),
            message: message.into(),
            retryable: true,
        }
    }
}
