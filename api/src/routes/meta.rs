//! The service describing itself: the OpenAPI document, and a reference page
//! for people rendered by Redoc from files compiled into the binary.

use actix_web::HttpResponse;

/// The OpenAPI document this server implements, compiled in.
pub const OPENAPI_YAML: &str = include_str!("../../../openapi.yaml");
const DOCS_HTML: &str = include_str!("../../static/docs.html");
const REDOC_JS: &[u8] = include_bytes!("../../static/redoc.standalone.js");

pub async fn openapi() -> HttpResponse {
    HttpResponse::Ok()
        .content_type("application/yaml")
        .body(OPENAPI_YAML)
}

pub async fn docs() -> HttpResponse {
    HttpResponse::Ok()
        .content_type("text/html; charset=utf-8")
        // Redoc runs its search in a worker created from a blob and styles inline.
        .insert_header((
            "Content-Security-Policy",
            "default-src 'self'; script-src 'self'; style-src 'self' 'unsafe-inline'; \
             worker-src 'self' blob:; img-src 'self' data:; font-src 'self' data:",
        ))
        .body(DOCS_HTML)
}

pub async fn redoc() -> HttpResponse {
    HttpResponse::Ok()
        .content_type("application/javascript")
        .insert_header(("Cache-Control", "public, max-age=86400"))
        .body(REDOC_JS)
}
