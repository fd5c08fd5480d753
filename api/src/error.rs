//! The API's one error type, rendered as RFC 9457 `application/problem+json`.
//! Internal causes are logged with context and never sent.

use std::time::Duration;

use actix_web::{
    HttpResponse, ResponseError,
    http::{StatusCode, header},
};
use jobcall_jobs::{
    store::StoreError,
    validation::{FieldError, FieldErrors},
};
use serde::Serialize;
use tracing::{error, warn};

/// Everything a request can fail with. Each variant names its status.
#[derive(Debug, thiserror::Error)]
pub enum ApiError {
    /// 400: fields of the request are missing, unknown or invalid (the
    /// first [`FieldErrors::MAX`] named, the others counted).
    #[error("the request is invalid")]
    Validation(FieldErrors),
    /// 400: the request cannot be read at all (not JSON, not an object).
    #[error("{0}")]
    BadRequest(String),
    /// 401: no valid bearer token. `WWW-Authenticate` says why.
    #[error("{detail}")]
    Unauthorized { detail: String, invalid_token: bool },
    /// 403: the token lacks the scope the operation needs.
    #[error("this operation needs the `{0}` scope")]
    Forbidden(&'static str),
    /// 404: no such resource (or not this client's).
    #[error("{0}")]
    NotFound(String),
    /// 405
    #[error("this method is not allowed on this resource")]
    MethodNotAllowed,
    /// 409: the operation does not apply in the resource's current state.
    #[error("{0}")]
    Conflict(String),
    /// 413
    #[error("the request body is larger than {0} bytes")]
    PayloadTooLarge(usize),
    /// 415
    #[error("the request body must be application/json")]
    UnsupportedMediaType,
    /// 422: an `Idempotency-Key` reused with a different request.
    #[error("this Idempotency-Key was already used with a different request")]
    IdempotencyConflict,
    /// 429: the client submits, sends test events or replays faster than
    /// its rate allows (they share one).
    #[error("too many requests; retry after {} s", retry_after.as_secs().max(1))]
    RateLimited { retry_after: Duration },
    /// 503: too much work is queued, or the database cannot be reached.
    #[error("{detail}")]
    Unavailable {
        detail: String,
        retry_after: Duration,
    },
    /// 500: a bug or an unexpected failure; details are in the logs.
    #[error("internal error")]
    Internal(String),
}

impl ApiError {
    pub fn field(field: impl Into<String>, message: impl Into<String>) -> Self {
        Self::Validation(FieldError::new(field, message).into())
    }

    /// The problem `type`: a stable identifier for each kind of problem.
    fn problem_type(&self) -> &'static str {
        match self {
            Self::Validation(_) => "urn:jobcall:problem:validation-error",
            Self::BadRequest(_) => "urn:jobcall:problem:malformed-request",
            Self::Conflict(_) => "urn:jobcall:problem:conflict",
            Self::IdempotencyConflict => "urn:jobcall:problem:idempotency-key-reused",
            Self::RateLimited { .. } => "urn:jobcall:problem:rate-limited",
            Self::Unavailable { .. } => "urn:jobcall:problem:unavailable",
            _ => "about:blank",
        }
    }

    fn title(&self) -> &'static str {
        match self {
            Self::Validation(_) => "The request is invalid",
            Self::BadRequest(_) => "The request cannot be read",
            Self::Unauthorized { .. } => "Unauthorized",
            Self::Forbidden(_) => "Forbidden",
            Self::NotFound(_) => "Not Found",
            Self::MethodNotAllowed => "Method Not Allowed",
            Self::Conflict(_) => "Conflict",
            Self::PayloadTooLarge(_) => "Payload Too Large",
            Self::UnsupportedMediaType => "Unsupported Media Type",
            Self::IdempotencyConflict => "Idempotency-Key reused",
            Self::RateLimited { .. } => "Too Many Requests",
            Self::Unavailable { .. } => "Service Unavailable",
            Self::Internal(_) => "Internal Server Error",
        }
    }
}

impl ApiError {
    /// The problem+json document of this error: the body of its response,
    /// or one item's answer in a batch.
    pub fn problem(&self) -> Problem<'_> {
        let (detail, errors, errors_omitted) = match self {
            Self::Validation(errors) => (
                describe_fields(errors),
                errors.kept(),
                Some(errors.omitted()).filter(|n| *n > 0),
            ),
            other => (other.to_string(), &[][..], None),
        };
        Problem {
            problem_type: self.problem_type(),
            title: self.title(),
            status: self.status_code().as_u16(),
            detail,
            errors,
            errors_omitted,
        }
    }
}

impl From<StoreError> for ApiError {
    fn from(err: StoreError) -> Self {
        if is_unreachable(&err) {
            // The cause goes to the log, as for a 500: the caller only
            // needs to know to come back.
            warn!(cause = %err, "the database cannot be reached");
            Self::Unavailable {
                detail: "the database cannot be reached".into(),
                retry_after: Duration::from_secs(5),
            }
        } else {
            Self::Internal(err.to_string())
        }
    }
}

/// Whether `err` says the database could not be reached (down, restarting,
/// every connection busy) rather than that a statement is wrong: the first
/// is worth retrying, the second is a bug. The one place that decides 503
/// against 500 for every route, reads (sea-orm) and writes (sqlx) alike.
fn is_unreachable(err: &StoreError) -> bool {
    use sea_orm::{DbErr, RuntimeErr};
    match err {
        StoreError::Sqlx(err) => is_unreachable_sqlx(err),
        StoreError::Orm(DbErr::Conn(_) | DbErr::ConnectionAcquire(_)) => true,
        StoreError::Orm(
            DbErr::Query(RuntimeErr::SqlxError(err)) | DbErr::Exec(RuntimeErr::SqlxError(err)),
        ) => is_unreachable_sqlx(err),
        _ => false,
    }
}

fn is_unreachable_sqlx(err: &sea_orm::sqlx::Error) -> bool {
    use sea_orm::sqlx::Error;
    match err {
        Error::Io(_) | Error::PoolTimedOut | Error::PoolClosed | Error::Tls(_) => true,
        // PostgreSQL answering but not serving: connection exceptions (08…),
        // too many connections (53300), shutting down or starting up
        // (57P01–57P03).
        Error::Database(db) => db.code().is_some_and(|code| {
            code.starts_with("08") || matches!(&*code, "53300" | "57P01" | "57P02" | "57P03")
        }),
        _ => false,
    }
}
/// The RFC 9457 body.
#[derive(Debug, Serialize)]
pub struct Problem<'a> {
    #[serde(rename = "type")]
    pub problem_type: &'static str,
    pub title: &'static str,
    pub status: u16,
    pub detail: String,
    #[serde(skip_serializing_if = "<[_]>::is_empty")]
    pub errors: &'a [FieldError],
    /// How many more problems were found than `errors` lists.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub errors_omitted: Option<usize>,
}

impl ResponseError for ApiError {
    fn status_code(&self) -> StatusCode {
        match self {
            Self::Validation(_) | Self::BadRequest(_) => StatusCode::BAD_REQUEST,
            Self::Unauthorized { .. } => StatusCode::UNAUTHORIZED,
            Self::Forbidden(_) => StatusCode::FORBIDDEN,
            Self::NotFound(_) => StatusCode::NOT_FOUND,
            Self::MethodNotAllowed => StatusCode::METHOD_NOT_ALLOWED,
            Self::Conflict(_) => StatusCode::CONFLICT,
            Self::PayloadTooLarge(_) => StatusCode::PAYLOAD_TOO_LARGE,
            Self::UnsupportedMediaType => StatusCode::UNSUPPORTED_MEDIA_TYPE,
            Self::IdempotencyConflict => StatusCode::UNPROCESSABLE_ENTITY,
            Self::RateLimited { .. } => StatusCode::TOO_MANY_REQUESTS,
            Self::Unavailable { .. } => StatusCode::SERVICE_UNAVAILABLE,
            Self::Internal(_) => StatusCode::INTERNAL_SERVER_ERROR,
        }
    }

    fn error_response(&self) -> HttpResponse {
        if let Self::Internal(cause) = self {
            error!(cause = %cause, "internal error");
        }
        let status = self.status_code();
        let problem = self.problem();
        let mut response = HttpResponse::build(status);
        response.content_type("application/problem+json");
        match self {
            Self::Unauthorized { invalid_token, .. } => {
                let challenge = if *invalid_token {
                    r#"Bearer realm="jobcall", error="invalid_token""#
                } else {
                    r#"Bearer realm="jobcall""#
                };
                response.insert_header((header::WWW_AUTHENTICATE, challenge));
            }
            Self::RateLimited { retry_after } | Self::Unavailable { retry_after, .. } => {
                response.insert_header((
                    header::RETRY_AFTER,
                    retry_after.as_secs().max(1).to_string(),
                ));
            }
            _ => {}
        }
        response.json(problem)
    }
}

/// The first few problems in a sentence; `errors` lists them all (up to
/// [`FieldErrors::MAX`]), so the detail does not repeat a long list.
fn describe_fields(errors: &FieldErrors) -> String {
    const DESCRIBED: usize = 3;
    let mut fields: Vec<String> = errors
        .iter()
        .take(DESCRIBED)
        .map(|e| {
            if e.field.is_empty() {
                e.message.clone()
            } else {
                format!("`{}` {}", e.field, e.message)
            }
        })
        .collect();
    let found = errors.kept().len() + errors.omitted();
    if found > DESCRIBED {
        fields.push(format!("and {} more problems", found - DESCRIBED));
    }
    let mut detail = fields.join("; ");
    if errors.omitted() > 0 {
        detail.push_str(&format!(
            " ({} found; `errors` lists the first {}, `errors_omitted` counts the others)",
            found,
            errors.kept().len()
        ));
    }
    detail
}

#[cfg(test)]
mod tests {
    use std::{io, sync::Arc};

    use actix_web::body::MessageBody;
    use sea_orm::{ConnAcquireErr, DbErr, RuntimeErr, sqlx};

    use super::*;

    fn respond(err: StoreError) -> (StatusCode, Option<String>, String) {
        let response = ApiError::from(err).error_response();
        let retry_after = response
            .headers()
            .get(header::RETRY_AFTER)
            .map(|v| v.to_str().unwrap().to_owned());
        let status = response.status();
        let body = response.into_body().try_into_bytes().unwrap();
        (
            status,
            retry_after,
            String::from_utf8(body.to_vec()).unwrap(),
        )
    }

    fn refused() -> sqlx::Error {
        sqlx::Error::Io(io::Error::new(
            io::ErrorKind::ConnectionRefused,
            "connect to db.internal:5432 refused",
        ))
    }

    #[test]
    fn an_unreachable_database_is_503_with_retry_after_on_reads_and_writes() {
        let unreachable = [
            StoreError::Sqlx(refused()),
            StoreError::Sqlx(sqlx::Error::PoolTimedOut),
            StoreError::Orm(DbErr::ConnectionAcquire(ConnAcquireErr::Timeout)),
            StoreError::Orm(DbErr::ConnectionAcquire(ConnAcquireErr::ConnectionClosed)),
            StoreError::Orm(DbErr::Conn(RuntimeErr::Internal(
                "db.internal:5432 refused".into(),
            ))),
            StoreError::Orm(DbErr::Query(RuntimeErr::SqlxError(Arc::new(refused())))),
            StoreError::Orm(DbErr::Exec(RuntimeErr::SqlxError(Arc::new(
                sqlx::Error::PoolClosed,
            )))),
        ];
        for err in unreachable {
            let shown = format!("{err:?}");
            let (status, retry_after, body) = respond(err);
            assert_eq!(status, StatusCode::SERVICE_UNAVAILABLE, "{shown}");
            assert_eq!(retry_after.as_deref(), Some("5"), "{shown}");
            assert!(body.contains("the database cannot be reached"), "{body}");
            assert!(!body.contains("db.internal"), "{shown} leaks: {body}");
        }
    }

    #[test]
    fn a_failing_statement_is_500_and_says_nothing_of_its_cause() {
        let bugs = [
            StoreError::Sqlx(sqlx::Error::RowNotFound),
            StoreError::Orm(DbErr::Query(RuntimeErr::SqlxError(Arc::new(
                sqlx::Error::ColumnNotFound("secret_column".into()),
            )))),
            StoreError::Orm(DbErr::Custom("secret_column is missing".into())),
            StoreError::Orm(DbErr::Exec(RuntimeErr::Internal("secret_column".into()))),
            StoreError::Corrupt("secret_column holds garbage".into()),
        ];
        for err in bugs {
            let shown = format!("{err:?}");
            let (status, retry_after, body) = respond(err);
            assert_eq!(status, StatusCode::INTERNAL_SERVER_ERROR, "{shown}");
            assert_eq!(retry_after, None, "{shown}");
            assert!(!body.contains("secret_column"), "{shown} leaks: {body}");
        }
    }
}
