//! What a running attempt can see and do besides its input.

use jobcall_entity::JobId;
use tokio::sync::watch;
use tokio_util::sync::CancellationToken;

/// Handed to [`super::Kind::run`]: who the job is, how to report progress,
/// and whether to stop.
#[derive(Debug, Clone)]
pub struct JobContext {
    job_id: JobId,
    attempt: u32,
    cancel: CancellationToken,
    progress: watch::Sender<Option<u8>>,
}

/// The receiving end of a context's progress reports.
pub type Progress = watch::Receiver<Option<u8>>;

impl JobContext {
    pub fn new(job_id: JobId, attempt: u32, cancel: CancellationToken) -> (Self, Progress) {
        let (progress, reports) = watch::channel(None);
        (
            Self {
                job_id,
                attempt,
                cancel,
                progress,
            },
            reports,
        )
    }

    pub fn job_id(&self) -> &JobId {
        &self.job_id
    }

    /// The attempt being run, from 1.
    pub fn attempt(&self) -> u32 {
        self.attempt
    }

    /// Reports progress in percent (values over 100 count as 100). Reports
    /// are coalesced: the latest one is stored and, if subscribed, sent as
    /// `job.progress`.
    pub fn report_progress(&self, percent: u8) {
        self.progress.send_replace(Some(percent.min(100)));
    }

    /// Resolves when the attempt should stop: the job was canceled, its
    /// lease was lost, or the worker is shutting down.
    pub async fn cancelled(&self) {
        self.cancel.cancelled().await
    }

    pub fn is_cancelled(&self) -> bool {
        self.cancel.is_cancelled()
    }
}
