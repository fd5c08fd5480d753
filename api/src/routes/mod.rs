//! The routes of the API, declared once: the same table configures actix-web
//! and is published as [`ROUTES`], which the tests compare with
//! `openapi.yaml`.

mod clients;
mod deliveries;
mod health;
mod jobs;
mod kinds;
pub(crate) mod meta;
mod query;

pub use meta::OPENAPI_YAML;

use actix_web::{HttpResponse, http::header, web};

use crate::error::ApiError;

macro_rules! routes {
    ($($path:literal => { $($method:ident => $handler:path),+ $(,)? }),+ $(,)?) => {
        /// Every path the server serves, with its methods.
        pub const ROUTES: &[(&str, &[&str])] = &[$(($path, &[$(stringify!($method)),+])),+];

        pub fn configure(cfg: &mut web::ServiceConfig) {
            $(
                cfg.service(
                    web::resource($path)
                        $(.route(web::method(actix_web::http::Method::$method).to($handler)))+
                        .default_service(allow(concat!($(stringify!($method), ", "),+))),
                );
            )+
            cfg.default_service(web::to(not_found));
        }
    };
}

routes! {
    "/v1/jobs" => { GET => jobs::list, POST => jobs::submit },
    "/v1/jobs/{id}" => { GET => jobs::get },
    "/v1/jobs/{id}/cancel" => { POST => jobs::cancel },
    "/v1/jobs/{id}/deliveries" => { GET => deliveries::list, POST => deliveries::replay },
    "/v1/callbacks/test" => { POST => deliveries::test_send },
    "/v1/kinds" => { GET => kinds::list },
    "/v1/clients" => { POST => clients::create },
    "/v1/clients/{id}/rotate-secret" => { POST => clients::rotate_secret },
    "/healthz" => { GET => health::live },
    "/readyz" => { GET => health::ready },
    "/openapi.yaml" => { GET => meta::openapi },
    "/docs" => { GET => meta::docs },
    "/docs/redoc.standalone.js" => { GET => meta::redoc },
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
