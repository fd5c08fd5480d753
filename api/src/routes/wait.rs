//! Waiting for a job to finish, for a long-poll (`GET /v1/jobs/{id}?wait=N`)
//! and for a submission that prefers to wait (`Prefer: wait=N`). Waiting
//! costs no database reads: the write that finishes the job wakes the
//! request (in this process, or through a PostgreSQL notification from
//! another). A client holds at most its share of waits at once.

use std::time::Duration;

use jobcall_entity::{ClientId, JobId, job};
use jobcall_jobs::job::find_job;

use crate::{error::ApiError, state::AppState};

/// The longest wait, in seconds, of a long-poll or a submission.
pub(crate) const MAX_WAIT_SECONDS: u64 = 60;

/// The job, once it is terminal or `wait` has passed, whichever comes first.
/// `Ok(None)` when it is not (or no longer) the client's. The caller holds
/// a place among the client's waits ([`crate::state::Waits::begin`]) while
/// it waits.
pub(super) async fn until_finished(
    state: &AppState,
    client: &ClientId,
    id: &JobId,
    wait: Duration,
) -> Result<Option<job::Model>, ApiError> {
    let clock = &state.services.clock;
    let deadline = clock.after(wait);
    let watch = state.services.signals.watch_job(id);
    loop {
        let finished = watch.notify().notified();
        tokio::pin!(finished);
        finished.as_mut().enable();
        {
            // What a waiting request keeps is what it costs, times the
            // waits open: the query's future lives on the heap only while
            // it runs (not in every waiting request's state), and the job
            // read (its input may be 256 KiB) is dropped before waiting.
            let Some(job) = Box::pin(find_job(&state.services.db, client, id)).await? else {
                return Ok(None);
            };
            if job.status.is_terminal() || clock.now_ms() >= deadline {
                return Ok(Some(job));
            }
        }
        // Woken or timed out: either way, read once more.
        tokio::select! {
            () = finished => {}
            () = clock.sleep_until(deadline) => {}
        }
    }
}
