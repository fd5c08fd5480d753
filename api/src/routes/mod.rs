//! The routes, declared once: each table configures actix-web and is
//! published through [`routes`], which the tests compare with `openapi.yaml`.
//! The ops routes (health, readiness, metrics) are also all a worker-only
//! process serves.

mod batch;
mod clients;
mod deliveries;
mod health;
mod jobs;
mod kinds;
pub(crate) mod meta;
mod prefer;
mod query;
mod signing_keys;
mod submission;
mod wait;

pub use meta::OPENAPI_YAML;

use actix_web::{HttpResponse, http::header, web};

use crate::error::ApiError;

macro_rules! route_table {
    ($configure:ident, $table:ident: $($path:literal => { $($method:ident => $handler:path),+ $(,)? }),+ $(,)?) => {
        const $table: &[(&str, &[&str])] = &[$(($path, &[$(stringify!($method)),+])),+];

        fn $configure(cfg: &mut web::ServiceConfig) {
            $(
                cfg.service(
                    web::resource($path)
                        $(.route(web::method(actix_web::http::Method::$method).to($handler)))+
                        .default_service(allow(concat!($(stringify!($method), ", "),+))),
                );
            )+
        }
    };
}

route_table! {
    configure_api, API_ROUTES:
    "/v1/jobs" => { GET => jobs::list, POST => jobs::submit },
    // Before `/v1/jobs/{id}`, which would take `batch` for an id.
    "/v1/jobs/batch" => { POST => batch::submit },
    "/v1/jobs/{id}" => { GET => jobs::get, DELETE => jobs::erase },
    "/v1/jobs/{id}/cancel" => { POST => jobs::cancel },
    "/v1/jobs/{id}/deliveries" => { GET => deliveries::list, POST => deliveries::replay },
    "/v1/callbacks/test" => { POST => deliveries::test_send },
    "/v1/kinds" => { GET => kinds::list },
    "/v1/clients" => { POST => clients::create },
    "/v1/clients/{id}" => { PATCH => clients::update },
    "/v1/clients/{id}/rotate-secret" => { POST => clients::rotate_secret },
    "/v1/clients/{id}/signing-keys" => { GET => signing_keys::list },
    "/v1/clients/{id}/rotate-signing-key" => { POST => signing_keys::rotate },
    "/openapi.yaml" => { GET => meta::openapi },
    "/docs" => { GET => meta::docs },
    "/docs/redoc.standalone.js" => { GET => meta::redoc },
}

route_table! {
    configure_ops, OPS_ROUTES:
    "/healthz" => { GET => health::live },
    "/readyz" => { GET => health::ready },
    "/metrics" => { GET => health::metrics },
}

/// Every path the API serves, with its methods.
pub fn routes() -> impl Iterator<Item = (&'static str, &'static [&'static str])> {
    API_ROUTES.iter().chain(OPS_ROUTES).copied()
}

/// The whole API.
pub fn configure(cfg: &mut web::ServiceConfig) {
    configure_api(cfg);
    configure_ops(cfg);
    cfg.default_service(web::to(not_found));
}

/// Only health, readiness and metrics: what a worker-only process serves.
pub fn configure_ops_only(cfg: &mut web::ServiceConfig) {
    configure_ops(cfg);
    cfg.default_service(web::to(not_found));
}

/// 405 with the `Allow` header of the resource (`methods` ends in ", ").
fn allow(methods: &'static str) -> actix_web::Route {
    let methods = methods.trim_end_matches(", ");
    web::to(move || async move {
        let mut response = actix_web::ResponseError::error_response(&ApiError::MethodNotAllowed);
        if let Ok(value) = header::HeaderValue::from_str(methods) {
            response.headers_mut().insert(header::ALLOW, value);
        }
        response
    })
}

async fn not_found() -> Result<HttpResponse, ApiError> {
    Err(ApiError::NotFound("there is nothing at this path".into()))
}
