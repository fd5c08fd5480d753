//! `/healthz` (the process answers), `/readyz` (it can do its work) and
//! `/metrics` (Prometheus).

use std::time::Duration;

use actix_web::{HttpResponse, web};
use serde_json::json;
use tracing::warn;

use crate::state::Ops;

pub async fn live() -> HttpResponse {
    HttpResponse::Ok().json(json!({"status": "ok"}))
}

/// Ready when the database answers and, if this process runs workers, each
/// of them has been heard from recently.
pub async fn ready(ops: web::Data<Ops>) -> HttpResponse {
    // Which check failed is public; why is for the operator's log only.
    let database = match tokio::time::timeout(Duration::from_secs(2), ops.db.ping()).await {
        Ok(Ok(())) => "ok".to_owned(),
        Ok(Err(err)) => {
            warn!(error = %err, "readiness: the database does not answer");
            "unreachable".to_owned()
        }
        Err(_) => {
            warn!("readiness: the database gave no answer within 2 s");
            "unreachable".to_owned()
        }
    };
    let workers = match &ops.workers {
        None => "not run by this process".to_owned(),
        Some(runtime) => {
            let silence = runtime
                .services
                .settings
                .worker
                .takeover
                .max(Duration::from_secs(5));
            let unhealthy = runtime.health().unhealthy(silence);
            if unhealthy.is_empty() {
                "ok".to_owned()
            } else {
                let names: Vec<_> = unhealthy.iter().map(|q| q.label()).collect();
                format!("not running: {}", names.join(", "))
            }
        }
    };
    let ready = database == "ok" && (ops.workers.is_none() || workers == "ok");
    let body = json!({
        "status": if ready { "ready" } else { "unavailable" },
        "checks": {"database": database, "workers": workers},
    });
    if ready {
        HttpResponse::Ok().json(body)
    } else {
        HttpResponse::ServiceUnavailable()
            .insert_header(("Retry-After", "5"))
            .json(body)
    }
}

pub async fn metrics(ops: web::Data<Ops>) -> HttpResponse {
    HttpResponse::Ok()
        .content_type("application/openmetrics-text; version=1.0.0; charset=utf-8")
        .body(ops.metrics.render())
}
