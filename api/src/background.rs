//! Work the API process does on its own: refreshing the backlog gauge used
//! for backpressure, and waking long-polls whose job finished in a process
//! that could not tell this one (a safety net under the notifications);
//! and handing memory back to the system after a burst of long-polls.

use std::time::Duration;

use actix_web::web;
use jobcall_jobs::{job, signals::Signal};
use tokio_util::sync::CancellationToken;
use tracing::warn;

use crate::state::AppState;

pub fn spawn_background(state: web::Data<AppState>, shutdown: CancellationToken) {
    tokio::spawn(refresh_backlog(state.clone(), shutdown.clone()));
    tokio::spawn(sweep_long_polls(state.clone(), shutdown.clone()));
    tokio::spawn(trim_after_long_polls(state, shutdown));
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

/// Long-polls ended since the busiest moment that make a burst worth a trim.
const TRIM_AFTER_WAITS_ENDED: usize = 100;

/// Thousands of waiting requests take a hundred MB and more, spread over
/// the allocator arenas of the HTTP and runtime threads. When they end,
/// glibc keeps the freed pages (it gives back only the top of each heap,
/// and what is still in use pins the rest), so RSS stays at its peak. Once
/// the long-polls open have fallen well below their peak, `malloc_trim`
/// hands the free pages back. Measured with `ci/longpoll_memory.py`
/// (5,000 waits, release build): RSS after them ~166 MB without, ~50 MB
/// with (34 MB before).
async fn trim_after_long_polls(state: web::Data<AppState>, shutdown: CancellationToken) {
    loop {
        tokio::select! {
            _ = tokio::time::sleep(Duration::from_secs(5)) => {}
            _ = shutdown.cancelled() => return,
        }
        let (peak, now) = state.waits.take_peak();
        if peak - now >= TRIM_AFTER_WAITS_ENDED {
            release_free_memory();
        }
    }
}

#[cfg(all(target_os = "linux", target_env = "gnu"))]
fn release_free_memory() {
    // SAFETY: malloc_trim takes the arena locks itself; it only releases
    // pages no allocation uses.
    let released = unsafe { libc::malloc_trim(0) };
    tracing::debug!(
        released = released != 0,
        "free memory handed back after long-polls"
    );
}

#[cfg(not(all(target_os = "linux", target_env = "gnu")))]
fn release_free_memory() {}
