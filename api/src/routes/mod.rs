//! The routes of the API, and the problems for unknown routes and methods.

mod clients;
mod deliveries;
pub use meta::OPENAPI_YAML;
mod health;
mod jobs;
mod kinds;
pub(crate) mod meta;
mod query;

use actix_web::{HttpResponse, http::header, web};

use crate::error::ApiError;

pub fn configure(cfg: &mut web::ServiceConfig) {
    cfg.service(
        web::resource("/v1/jobs")
            .route(web::post().to(jobs::submit))
            .route(web::get().to(jobs::list))
            .default_service(allow("GET, POST")),
    )
    .service(
        web::resource("/v1/jobs/{id}")
            .route(web::get().to(jobs::get))
            .default_service(allow("GET")),
    )
    .service(
        web::resource("/v1/jobs/{id}/cancel")
            .route(web::post().to(jobs::cancel))
            .default_service(allow("POST")),
    )
    .service(
        web::resource("/v1/jobs/{id}/deliveries")
            .route(web::get().to(deliveries::list))
            .route(web::post().to(deliveries::replay))
            .default_service(allow("GET, POST")),
    )
    .service(
        web::resource("/v1/callbacks/test")
            .route(web::post().to(deliveries::test_send))
            .default_service(allow("POST")),
    )
    .service(
        web::resource("/v1/kinds")
            .route(web::get().to(kinds::list))
            .default_service(allow("GET")),
    )
    .service(
        web::resource("/v1/clients")
            .route(web::post().to(clients::create))
            .default_service(allow("POST")),
    )
    .service(
        web::resource("/v1/clients/{id}/rotate-secret")
            .route(web::post().to(clients::rotate_secret))
            .default_service(allow("POST")),
    )
    .service(
        web::resource("/healthz")
            .route(web::get().to(health::live))
            .default_service(allow("GET")),
    )
    .service(
        web::resource("/readyz")
            .route(web::get().to(health::ready))
            .default_service(allow("GET")),
    )
    .service(
        web::resource("/openapi.yaml")
            .route(web::get().to(meta::openapi))
            .default_service(allow("GET")),
    )
    .default_service(web::to(not_found));
}

/// 405 with the `Allow` header the resource supports.
fn allow(methods: &'static str) -> actix_web::Route {
    web::to(move || async move {
        let mut response = actix_web::ResponseError::error_response(&ApiError::MethodNotAllowed);
        response
            .headers_mut()
            .insert(header::ALLOW, header::HeaderValue::from_static(methods));
        response
    })
}

async fn not_found() -> Result<HttpResponse, ApiError> {
    Err(ApiError::NotFound("there is nothing at this path".into()))
}
