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
    let mut errors = Vec::new();
    for (name, value) in url::form_urlencoded::parse(request.query_string().as_bytes()) {
        if !known.contains(&name.as_ref()) {
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
