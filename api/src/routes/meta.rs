//! The service describing itself.

use actix_web::HttpResponse;

/// The OpenAPI document this server implements, compiled in.
pub const OPENAPI_YAML: &str = include_str!("../../../openapi.yaml");

pub async fn openapi() -> HttpResponse {
    HttpResponse::Ok()
        .content_type("application/yaml")
        .body(OPENAPI_YAML)
}
