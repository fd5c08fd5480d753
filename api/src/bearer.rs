//! The authenticated caller as an actix extractor: the bearer token of the
//! `Authorization` header, checked against this server's key and clients.

use actix_web::{FromRequest, HttpRequest, dev::Payload, http::header, web};
use futures::future::LocalBoxFuture;

use crate::{auth::Caller, error::ApiError, state::AppState};

impl FromRequest for Caller {
    type Error = ApiError;
    type Future = LocalBoxFuture<'static, Result<Self, ApiError>>;

    fn from_request(request: &HttpRequest, _: &mut Payload) -> Self::Future {
        let state = request.app_data::<web::Data<AppState>>().cloned();
        let token = bearer_token(request);
        Box::pin(async move {
            let state = state.ok_or_else(|| ApiError::Internal("no application state".into()))?;
            let token = token?;
            state
                .auth
                .authenticate(&token, &state.known_clients, &state.services.db)
                .await
        })
    }
}

fn bearer_token(request: &HttpRequest) -> Result<String, ApiError> {
    let missing = || ApiError::Unauthorized {
        detail: "this operation needs an `Authorization: Bearer <token>` header".into(),
        invalid_token: false,
    };
    let value = request
        .headers()
        .get(header::AUTHORIZATION)
        .ok_or_else(missing)?;
    let value = value.to_str().map_err(|_| missing())?;
    let (scheme, token) = value.trim().split_once(' ').ok_or_else(missing)?;
    if !scheme.eq_ignore_ascii_case("bearer") || token.trim().is_empty() {
        return Err(missing());
    }
    Ok(token.trim().to_owned())
}
