//! Query strings: known parameters only, each parsed with its own error.

use std::collections::HashMap;

use actix_web::HttpRequest;

use crate::error::ApiError;

/// The parameters of the query string; unknown ones and repeats are refused.
pub(super) fn params(
    request: &HttpRequest,
    known: &[&str],
) -> Result<HashMap<String, String>, ApiError> {
    let mut found = HashMap::new();
    let mut errors = jobcall_jobs::validation::FieldErrors::new();
    for (name, value) in url::form_urlencoded::parse(request.query_string().as_bytes()) {
        if name.is_empty() {
            // `?=x`: there is no name to report, so the query string is.
            errors.push(jobcall_jobs::validation::FieldError::new(
                "query",
                "has a parameter without a name",
            ));
        } else if !known.contains(&name.as_ref()) {
            errors.push(jobcall_jobs::validation::FieldError::new(
                name.as_ref(),
                "is not a known query parameter",
            ));
        } else if found.insert(name.to_string(), value.to_string()).is_some() {
            errors.push(jobcall_jobs::validation::FieldError::new(
                name.as_ref(),
                "is given more than once",
            ));
        }
    }
    if errors.is_empty() {
        Ok(found)
    } else {
        Err(ApiError::Validation(errors))
    }
}

/// An integer parameter within `range`, or `default` when absent.
pub(super) fn integer(
    params: &HashMap<String, String>,
    name: &str,
    range: std::ops::RangeInclusive<u64>,
    default: u64,
) -> Result<u64, ApiError> {
    match params.get(name) {
        None => Ok(default),
        Some(raw) => match raw.parse::<u64>() {
            Ok(n) if range.contains(&n) => Ok(n),
            _ => Err(ApiError::field(
                name,
                format!(
                    "must be an integer from {} to {}",
                    range.start(),
                    range.end()
                ),
            )),
        },
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use actix_web::test::TestRequest;
    use proptest::prelude::*;

    proptest! {
        // At least 4096 cases; PROPTEST_CASES=N asks for more in a long run.
        #![proptest_config(ProptestConfig::with_cases(ProptestConfig::default().cases.max(4096)))]

        /// Any query string is parsed or refused with named parameters; an
        /// integer parameter is only ever accepted inside its range.
        #[test]
        fn any_query_string_is_read_or_refused(query in "[a-z=&%0-9+._-]{0,60}") {
            let request = TestRequest::with_uri(&format!("/v1/jobs?{query}")).to_http_request();
            match params(&request, &["status", "kind", "limit", "cursor"]) {
                Ok(found) => {
                    if let Ok(limit) = integer(&found, "limit", 1..=100, 20) {
                        prop_assert!((1..=100).contains(&limit));
                    }
                }
                Err(ApiError::Validation(errors)) => prop_assert!(errors.iter().all(|e| !e.field.is_empty())),
                Err(other) => prop_assert!(false, "unexpected error {other:?}"),
            }
        }
    }
}
