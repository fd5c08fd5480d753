//! How one delivery attempt ended, and what happens next: a pure function of
//! the response (or the failure), the attempt count and the event's age.

use std::time::Duration;

use crate::{backoff, config::CallbackSettings, outbound::OutboundErrorClass};

/// What the receiver did with an attempt.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Response {
    /// It answered with this status; `retry_after` is its `Retry-After`, if any.
    Status {
        code: u16,
        retry_after: Option<Duration>,
    },
    /// No answer: the request failed with this class of error.
    Failed { class: OutboundErrorClass },
}

/// What to do after an attempt.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Next {
    Delivered,
    /// Try again at this time (Unix ms).
    RetryAt(i64),
    /// Stop trying; the event failed for this reason.
    GiveUp(&'static str),
}

/// The decision after attempt number `attempt` of an event created at
/// `created_at`, made at `now`. `jitter` is a sample from `[-1, 1]`.
pub fn next_step(
    settings: &CallbackSettings,
    response: &Response,
    attempt: u32,
    created_at: i64,
    now: i64,
    jitter: f64,
) -> Next {
    let retry_after = match response {
        Response::Status {
            code: 200..=299, ..
        } => return Next::Delivered,
        Response::Status { code: 410, .. } => {
            return Next::GiveUp("the receiver answered 410 Gone");
        }
        Response::Failed {
            class: OutboundErrorClass::Blocked,
        } => return Next::GiveUp("the callback URL resolves to an address that is not allowed"),
        Response::Status {
            code: 429 | 503,
            retry_after,
        } => retry_after.map(|wait| wait.min(settings.max_retry_after)),
        _ => None,
    };
    if attempt >= settings.max_attempts {
        return Next::GiveUp("every attempt failed");
    }
    // The receiver's Retry-After is a floor: never retry sooner than it asked.
    let delay =
        backoff::delay(settings.backoff, attempt, jitter).max(retry_after.unwrap_or_default());
    let at = now + delay.as_millis() as i64;
    if at > created_at + settings.max_age.as_millis() as i64 {
        return Next::GiveUp("the event is older than the maximum age for retries");
    }
    Next::RetryAt(at)
}

/// `Retry-After` as seconds or as an HTTP date.
pub fn parse_retry_after(value: &str, now_ms: i64) -> Option<Duration> {
    let value = value.trim();
    if let Ok(seconds) = value.parse::<u64>() {
        return Some(Duration::from_secs(seconds));
    }
    let at = chrono::DateTime::parse_from_rfc2822(value)
        .ok()?
        .timestamp_millis();
    Some(Duration::from_millis((at - now_ms).max(0) as u64))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::Backoff;

    fn settings() -> CallbackSettings {
        CallbackSettings {
            max_attempts: 5,
            backoff: Backoff {
                initial: Duration::from_secs(10),
                max: Duration::from_secs(3600),
            },
            max_age: Duration::from_secs(24 * 3600),
            max_retry_after: Duration::from_secs(600),
            ..CallbackSettings::default()
        }
    }

    fn status(code: u16) -> Response {
        Response::Status {
            code,
            retry_after: None,
        }
    }

    const NOW: i64 = 1_000_000_000;

    #[test]
    fn any_2xx_delivers() {
        for code in [200, 201, 202, 204, 299] {
            assert_eq!(
                next_step(&settings(), &status(code), 1, NOW, NOW, 0.0),
                Next::Delivered
            );
        }
    }

    #[test]
    fn failures_retry_on_the_backoff_schedule() {
        for response in [
            status(500),
            status(404),
            status(301),
            Response::Failed {
                class: OutboundErrorClass::Timeout,
            },
            Response::Failed {
                class: OutboundErrorClass::Connect,
            },
        ] {
            assert_eq!(
                next_step(&settings(), &response, 1, NOW, NOW, 0.0),
                Next::RetryAt(NOW + 10_000)
            );
            assert_eq!(
                next_step(&settings(), &response, 3, NOW, NOW, 0.0),
                Next::RetryAt(NOW + 40_000)
            );
        }
    }

    #[test]
    fn gone_and_refused_addresses_stop_at_once() {
        assert!(matches!(
            next_step(&settings(), &status(410), 1, NOW, NOW, 0.0),
            Next::GiveUp(_)
        ));
        let blocked = Response::Failed {
            class: OutboundErrorClass::Blocked,
        };
        assert!(matches!(
            next_step(&settings(), &blocked, 1, NOW, NOW, 0.0),
            Next::GiveUp(_)
        ));
    }

    #[test]
    fn retry_after_is_honoured_and_capped() {
        let asked = |code, seconds| Response::Status {
            code,
            retry_after: Some(Duration::from_secs(seconds)),
        };
        assert_eq!(
            next_step(&settings(), &asked(429, 120), 1, NOW, NOW, 0.0),
            Next::RetryAt(NOW + 120_000)
        );
        assert_eq!(
            next_step(&settings(), &asked(503, 99_999), 1, NOW, NOW, 0.0),
            Next::RetryAt(NOW + 600_000)
        );
        // Shorter than the backoff: the backoff wins.
        assert_eq!(
            next_step(&settings(), &asked(429, 1), 1, NOW, NOW, 0.0),
            Next::RetryAt(NOW + 10_000)
        );
        // Only 429 and 503 carry a meaningful Retry-After.
        assert_eq!(
            next_step(&settings(), &asked(500, 120), 1, NOW, NOW, 0.0),
            Next::RetryAt(NOW + 10_000)
        );
    }

    #[test]
    fn attempts_and_age_run_out() {
        assert_eq!(
            next_step(&settings(), &status(500), 5, NOW, NOW, 0.0),
            Next::GiveUp("every attempt failed")
        );
        let old = NOW - 24 * 3600 * 1000 + 5_000;
        assert!(matches!(
            next_step(&settings(), &status(500), 1, old, NOW, 0.0),
            Next::GiveUp(_)
        ));
    }

    #[test]
    fn retry_after_parses_seconds_and_dates() {
        assert_eq!(parse_retry_after("120", 0), Some(Duration::from_secs(120)));
        let now = chrono::DateTime::parse_from_rfc2822("Wed, 21 Oct 2015 07:28:00 GMT")
            .unwrap()
            .timestamp_millis();
        assert_eq!(
            parse_retry_after("Wed, 21 Oct 2015 07:29:00 GMT", now),
            Some(Duration::from_secs(60))
        );
        assert_eq!(parse_retry_after("soon", 0), None);
    }
}
