//! Work the API process does on its own: refreshing the backlog gauge used
//! for backpressure, and waking long-polls whose job finished in a process
//! that could not tell this one (a safety net under the notifications).

use std::time::Duration;

use actix_web::web;
use jobcall_jobs::{job, signals::Signal};
use tokio_util::sync::CancellationToken;
use tracing::warn;

use crate::state::AppState;

pub fn spawn_background(state: web::Data<AppState>, shutdown: CancellationToken) {
    tokio::spawn(refresh_backlog(state.clone(), shutdown.clone()));
    tokio::spawn(sweep_long_polls(state, shutdown));
}

async fn refresh_backlog(state: web::Data<AppState>, shutdown: CancellationToken) {
    loop {
        match job::queue_depth(&state.services.db, state.api.max_queued_jobs + 1).await {
            Ok(queued) => state.backlog.set(queued),
            Err(err) => warn!(error = %err, "could not count queued jobs"),
        }
        tokio::select! {
            _ = tokio::time::sleep(Duration::from_secs(1)) => {}
            _ = shutdown.cancelled() => return,
        }
    }
}

async fn sweep_long_polls(state: web::Data<AppState>, shutdown: CancellationToken) {
    loop {
        tokio::select! {
            _ = tokio::time::sleep(Duration::from_secs(1)) => {}
            _ = shutdown.cancelled() => return,
        }
        let watched = state.services.signals.watched_jobs();
        if watched.is_empty() {
            continue;
        }
        match job::finished_among(&state.services.db, watched).await {
            Ok(finished) => state
                .services
                .signals
                .publish_all(finished.into_iter().map(Signal::JobFinished)),
            Err(err) => warn!(error = %err, "could not check long-polled jobs"),
        }
    }
}
