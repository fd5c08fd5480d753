//! `echo`: returns its input. For integration tests and "try it" flows: it
//! can wait first (reporting progress) and fail on request.

use std::time::Duration;

use schemars::JsonSchema;
use serde::{Deserialize, Serialize};
use serde_json::Value;

use super::{JobContext, JobError, Kind};

pub struct Echo;

/// Input of `echo`. The whole input is returned as the result.
#[derive(Debug, Clone, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct EchoInput {
    /// Any JSON value, returned as part of the result.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub message: Option<Value>,
    /// Wait this long before answering (progress is reported while waiting).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(range(min = 0, max = 3_600_000))]
    pub delay_ms: Option<u64>,
    /// Fail with this message instead of answering.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(length(min = 1, max = 1000))]
    pub fail: Option<String>,
    /// Whether the requested failure may be retried (default false).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub retryable: Option<bool>,
    /// Fail only the first this many attempts, then succeed (default: every attempt).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(range(min = 1, max = 100))]
    pub fail_attempts: Option<u32>,
}

/// How many progress reports a delayed echo makes.
const PROGRESS_STEPS: u32 = 4;

impl Kind for Echo {
    const NAME: &'static str = "echo";
    const DESCRIPTION: &'static str = "Returns its input as the result, optionally after a delay (delay_ms) or failing on request (fail).";

    type Input = EchoInput;
    type Output = EchoInput;

    async fn run(&self, input: EchoInput, ctx: JobContext) -> Result<EchoInput, JobError> {
        if let Some(delay_ms) = input.delay_ms.filter(|d| *d > 0) {
            let step = Duration::from_millis(delay_ms) / PROGRESS_STEPS;
            for done in 1..=PROGRESS_STEPS {
                tokio::select! {
                    _ = tokio::time::sleep(step) => ctx.report_progress((done * 100 / PROGRESS_STEPS) as u8),
                    _ = ctx.cancelled() => return Err(JobError::permanent("canceled", "canceled while waiting")),
                }
            }
        }
        if let Some(message) = &input.fail {
            let failing_attempt = input.fail_attempts.is_none_or(|n| ctx.attempt() <= n);
            if failing_attempt {
                return Err(if input.retryable.unwrap_or(false) {
                    JobError::retryable("echo_failed", message.clone())
                } else {
                    JobError::permanent("echo_failed", message.clone())
                });
            }
        }
        Ok(input)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use jobcall_entity::JobId;
    use serde_json::json;
    use tokio_util::sync::CancellationToken;

    fn context(attempt: u32) -> JobContext {
        JobContext::new(JobId::generate(), attempt, CancellationToken::new()).0
    }

    fn input(value: Value) -> EchoInput {
        serde_json::from_value(value).unwrap()
    }

    #[tokio::test]
    async fn returns_its_input() {
        let output = Echo
            .run(input(json!({"message": {"a": [1, 2]}})), context(1))
            .await
            .unwrap();
        assert_eq!(
            serde_json::to_value(output).unwrap(),
            json!({"message": {"a": [1, 2]}})
        );
    }

    #[tokio::test]
    async fn fails_on_request_until_the_named_attempt() {
        let failing = input(json!({"fail": "boom", "retryable": true, "fail_attempts": 2}));
        let err = Echo.run(failing.clone(), context(2)).await.unwrap_err();
        assert_eq!(err, JobError::retryable("echo_failed", "boom"));
        assert!(Echo.run(failing, context(3)).await.is_ok());
        let permanent = Echo
            .run(input(json!({"fail": "no"})), context(1))
            .await
            .unwrap_err();
        assert!(!permanent.retryable);
    }

    #[tokio::test(start_paused = true)]
    async fn reports_progress_while_waiting_and_stops_when_canceled() {
        let (ctx, progress) = JobContext::new(JobId::generate(), 1, CancellationToken::new());
        Echo.run(input(json!({"delay_ms": 400})), ctx)
            .await
            .unwrap();
        assert_eq!(*progress.borrow(), Some(100));

        let cancel = CancellationToken::new();
        let (ctx, _) = JobContext::new(JobId::generate(), 1, cancel.clone());
        cancel.cancel();
        let err = Echo
            .run(input(json!({"delay_ms": 60_000})), ctx)
            .await
            .unwrap_err();
        assert_eq!(err.code, "canceled");
    }
}
