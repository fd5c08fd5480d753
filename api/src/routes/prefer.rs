//! The `Prefer` request header (RFC 7240), of which jobcall honours one
//! preference: `wait=N` on a submission, "answer with the finished job if
//! it takes at most N seconds".
//!
//! As the RFC asks, a preference the server does not know, or cannot read,
//! is ignored rather than refused: `Prefer: wait=soon` is a submission
//! without a wait, not a 400. A wait longer than the server's longest is
//! shortened to it (the RFC lets the server choose how long it waits), and
//! `Preference-Applied` says which wait was used.

use std::time::Duration;

use actix_web::{
    HttpRequest,
    http::header::{HeaderName, HeaderValue},
};

use super::wait::MAX_WAIT_SECONDS;

pub const PREFER: HeaderName = HeaderName::from_static("prefer");
pub const PREFERENCE_APPLIED: HeaderName = HeaderName::from_static("preference-applied");

/// A `wait` preference the server will honour: 1 to [`MAX_WAIT_SECONDS`]
/// seconds.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Wait(u64);

impl Wait {
    /// The first `wait` preference of the request's `Prefer` headers, if it
    /// asks for a wait (`wait=0` asks for none).
    pub fn of(request: &HttpRequest) -> Option<Self> {
        request
            .headers()
            .get_all(PREFER)
            .filter_map(|value| value.to_str().ok())
            .flat_map(|value| value.split(','))
            .find_map(|preference| {
                let (name, value) = name_and_value(preference)?;
                name.eq_ignore_ascii_case("wait").then_some(value)
            })
            .and_then(Self::parse)
    }

    /// `delta-seconds`, quoted or not; longer than the longest wait is cut
    /// to it. Anything else is not a wait.
    fn parse(value: Option<&str>) -> Option<Self> {
        let digits = value?.trim_matches('"');
        if digits.is_empty() || !digits.bytes().all(|b| b.is_ascii_digit()) {
            return None;
        }
        // Longer than u64 holds is longer than the longest wait.
        let seconds = digits.parse::<u64>().unwrap_or(u64::MAX);
        (seconds > 0).then(|| Self(seconds.min(MAX_WAIT_SECONDS)))
    }

    pub fn duration(self) -> Duration {
        Duration::from_secs(self.0)
    }

    /// `Preference-Applied: wait=N`, with the wait actually used.
    pub fn applied(self) -> (HeaderName, HeaderValue) {
        let value = HeaderValue::from_str(&format!("wait={}", self.0))
            .expect("`wait=` and digits are a valid header value");
        (PREFERENCE_APPLIED, value)
    }
}

/// A preference's name and its value, if it has one (`token [ BWS "=" BWS
/// word ] *( OWS ";" [ OWS parameter ] )`); its parameters are not needed.
fn name_and_value(preference: &str) -> Option<(&str, Option<&str>)> {
    let main = preference.split(';').next()?.trim();
    if main.is_empty() {
        return None;
    }
    Some(match main.split_once('=') {
        Some((name, value)) => (name.trim(), Some(value.trim())),
        None => (main, None),
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use actix_web::test::TestRequest;
    use proptest::prelude::*;

    fn wait(headers: &[&str]) -> Option<u64> {
        let mut request = TestRequest::default();
        for header in headers {
            request = request.append_header((PREFER, *header));
        }
        Wait::of(&request.to_http_request()).map(|w| w.0)
    }

    #[test]
    fn a_wait_is_read_among_other_preferences() {
        assert_eq!(wait(&["wait=5"]), Some(5));
        assert_eq!(wait(&["respond-async, wait=10"]), Some(10));
        assert_eq!(wait(&["handling=lenient; x=y, WAIT = \"7\" ; q"]), Some(7));
        assert_eq!(wait(&["return=minimal", "wait=3"]), Some(3));
        assert_eq!(wait(&["wait=2, wait=9"]), Some(2), "the first one counts");
    }

    #[test]
    fn long_waits_are_cut_to_the_longest() {
        assert_eq!(wait(&["wait=61"]), Some(60));
        assert_eq!(wait(&["wait=99999999999999999999999"]), Some(60));
    }

    #[test]
    fn what_is_not_a_wait_is_ignored() {
        for header in [
            "",
            "wait",
            "wait=",
            "wait=0",
            "wait=-1",
            "wait=1.5",
            "wait=soon",
            "wait=\"\"",
            "respond-async",
            "waiting=5",
        ] {
            assert_eq!(wait(&[header]), None, "{header:?}");
        }
        assert_eq!(wait(&[]), None);
    }

    #[test]
    fn the_applied_header_names_the_wait_used() {
        let (name, value) = Wait(60).applied();
        assert_eq!(name, PREFERENCE_APPLIED);
        assert_eq!(value, "wait=60");
    }

    proptest! {
        #[test]
        fn any_header_is_read_or_ignored_never_more_than_the_longest_wait(header in "[ -~]{0,80}") {
            if let Some(seconds) = wait(&[&header]) {
                prop_assert!((1..=MAX_WAIT_SECONDS).contains(&seconds));
            }
        }
    }
}
