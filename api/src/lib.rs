//! The HTTP API of jobcall: actix-web routes, authentication, request and
//! response types, and the mapping of every error to problem+json.

pub mod auth;
mod background;
mod bearer;
mod body;
pub mod error;
mod middleware;
mod routes;
pub mod state;

use std::{net::TcpListener, time::Duration};

use actix_web::{App, HttpServer, dev::Server, middleware::from_fn, web};

pub use background::spawn_background;
pub use routes::{OPENAPI_YAML, routes};
pub use state::{ApiSettings, AppState, Ops};

/// The HTTP server on `listener`. It does not install signal handlers: the
/// caller stops it (see `ServerHandle::stop`), so that it stops together
/// with the workers.
pub fn server(
    state: web::Data<AppState>,
    ops: web::Data<Ops>,
    listener: TcpListener,
    http_workers: usize,
    shutdown_timeout: Duration,
) -> std::io::Result<Server> {
    let server = HttpServer::new(move || {
        App::new()
            .app_data(state.clone())
            .app_data(ops.clone())
            .wrap(from_fn(middleware::request_context))
            .configure(routes::configure)
    })
    .workers(http_workers.max(1))
    // A client that closes its side is gone: drop its request at once (a
    // long-poll would otherwise wait out its minute, holding its place
    // among the client's long-polls). Clients that half-close after sending
    // and still read the answer are not supported.
    .h1_allow_half_closed(false)
    .disable_signals()
    .shutdown_timeout(shutdown_timeout.as_secs().max(1))
    .listen(listener)?
    .run();
    Ok(server)
}

/// The ops server of a worker-only process: health, readiness and metrics.
pub fn ops_server(
    ops: web::Data<Ops>,
    listener: TcpListener,
    shutdown_timeout: Duration,
) -> std::io::Result<Server> {
    let server = HttpServer::new(move || {
        App::new()
            .app_data(ops.clone())
            .wrap(from_fn(middleware::request_context))
            .configure(routes::configure_ops_only)
    })
    .workers(1)
    .disable_signals()
    .shutdown_timeout(shutdown_timeout.as_secs().max(1))
    .listen(listener)?
    .run();
    Ok(server)
}
