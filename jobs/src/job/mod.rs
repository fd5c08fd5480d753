//! Jobs: what a submission becomes, the transitions of its life, and how it
//! is read back. Every transition is a [`crate::store::WriteOp`] whose
//! `WHERE` clause states the state it starts from, so two processes racing
//! for the same job cannot both win.

mod batch;
mod cancel;
mod claim;
mod finish;
mod lease;
mod read;
mod spec;
mod submit;
mod view;

pub use batch::SubmitBatch;
pub use cancel::{CancelJob, CancelOutcome};
pub use claim::{ClaimJob, JobClaim, JobEnd};
pub use finish::{AttemptOutcome, FinishAttempt, Finished};
pub use lease::{LeaseState, RecordProgress, RenewLease};
pub use read::{JobFilter, JobPage, find_job, finished_among, list_jobs, queue_depth};
pub use spec::{CallbackSpec, IdempotencyKey, JobSpec, NewJob};
pub use submit::{Submission, Submitted};
pub use view::{CallbackSummary, JobErrorView, JobView, subscribed_events};
