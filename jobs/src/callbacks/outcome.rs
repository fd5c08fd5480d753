//! How one delivery attempt ended, and what happens next: a pure function of
//! the outcome, the attempt count and the event's age.

use std::time::Duration;

use crate::{
    backoff,
    config::CallbackSettings,
    outbound::{OutboundError, OutboundErrorClass},
};

/// How one attempt to send a webhook ended. Every reader of an attempt (the
/// retry decision, the attempt record, metrics, the API's test send) asks
/// this one value.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum SendOutcome {
    /// The receiver answered with a 2xx status.
    Delivered { status: u16 },
    /// The receiver answered with any other status; `retry_after` is its
    /// `Retry-After`, if it sent one.
    Rejected {
        status: u16,
        retry_after: Option<Duration>,
    },
    /// No answer: the request failed with an error of this class.
    NetworkError {
        class: OutboundErrorClass,
        message: String,
    },
    /// The outbound guard refused the URL, or the address its host resolved to.
    Refused { message: String },
}

impl SendOutcome {
    /// The receiver's answer.
    pub fn answered(status: u16, retry_after: Option<Duration>) -> Self {
        if (200..300).contains(&status) {
            Self::Delivered { status }
        } else {
            Self::Rejected {
                status,
                retry_after,
            }
        }
    }

    /// A request that got no answer.
    pub fn failed(error: OutboundError) -> Self {
        match error.class {
            OutboundErrorClass::Blocked => Self::Refused {
                message: error.message,
            },
            class => Self::NetworkError {
                class,
                message: error.message,
            },
        }
    }

    pub fn delivered(&self) -> bool {
        matches!(self, Self::Delivered { .. })
    }

    /// The status the receiver answered with, if it answered.
    pub fn status_code(&self) -> Option<u16> {
        match self {
            Self::Delivered { status } | Self::Rejected { status, .. } => Some(*status),
            Self::NetworkError { .. } | Self::Refused { .. } => None,
        }
    }

    /// What kind of failure this was, as recorded and counted; `None` when
    /// delivered.
    pub fn error_class(&self) -> Option<&'static str> {
        match self {
            Self::Delivered { .. } => None,
            Self::Rejected { .. } => Some("http_status"),
            Self::NetworkError { class, .. } => Some(class.as_str()),
            Self::Refused { .. } => Some(OutboundErrorClass::Blocked.as_str()),
        }
    }

    /// What went wrong, for people; `None` when delivered.
    pub fn error_message(&self) -> Option<String> {
        match self {
            Self::Delivered { .. } => None,
            Self::Rejected { status, .. } => Some(format!("the receiver answered {status}")),
            Self::NetworkError { message, .. } | Self::Refused { message } => Some(message.clone()),
        }
    }
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
    outcome: &SendOutcome,
    attempt: u32,
    created_at: i64,
    now: i64,
    jitter: f64,
) -> Next {
    let retry_after = match outcome {
        SendOutcome::Delivered { .. } => return Next::Delivered,
        SendOutcome::Rejected { status: 410, .. } => {
            return Next::GiveUp("the receiver answered 410 Gone");
        }
        SendOutcome::Refused { .. } => {
            return Next::GiveUp("the callback URL resolves to an address that is not allowed");
        }
        SendOutcome::Rejected {
            status: 429 | 503,
            retry_after,
        } => retry_after.map(|wait| wait.min(settings.max_retry_after)),
        SendOutcome::Rejected { .. } | SendOutcome::NetworkError { .. } => None,
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

    fn status(code: u16) -> SendOutcome {
        SendOutcome::answered(code, None)
    }

    fn network(class: OutboundErrorClass) -> SendOutcome {
        SendOutcome::failed(OutboundError {
            class,
            message: "it broke".into(),
        })
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
            network(OutboundErrorClass::Timeout),
            network(OutboundErrorClass::Connect),
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
        let blocked = network(OutboundErrorClass::Blocked);
        assert_eq!(
            blocked,
            SendOutcome::Refused {
                message: "it broke".into()
            }
        );
        assert!(matches!(
            next_step(&settings(), &blocked, 1, NOW, NOW, 0.0),
            Next::GiveUp(_)
        ));
    }

    #[test]
    fn retry_after_is_honoured_and_capped() {
        let asked = |code, seconds| SendOutcome::answered(code, Some(Duration::from_secs(seconds)));
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
    fn an_outcome_says_what_is_recorded_of_it() {
        let cases = [
            (status(204), true, Some(204), None, None),
            (
                status(500),
                false,
                Some(500),
                Some("http_status"),
                Some("the receiver answered 500"),
            ),
            (
                network(OutboundErrorClass::Timeout),
                false,
                None,
                Some("timeout"),
                Some("it broke"),
            ),
            (
                network(OutboundErrorClass::Blocked),
                false,
                None,
                Some("blocked_address"),
                Some("it broke"),
            ),
        ];
        for (outcome, delivered, code, class, message) in cases {
            assert_eq!(outcome.delivered(), delivered, "{outcome:?}");
            assert_eq!(outcome.status_code(), code, "{outcome:?}");
            assert_eq!(outcome.error_class(), class, "{outcome:?}");
            assert_eq!(outcome.error_message().as_deref(), message, "{outcome:?}");
        }
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
