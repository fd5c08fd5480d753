//! A batch of submissions (`POST /v1/jobs/batch`): each written as a single
//! submission is, all in one transaction, so that the batch's accepted jobs
//! commit together or not at all.

use super::{Submission, Submitted};
use crate::store::{StoreError, WriteOp, WriteTx};

/// The valid items of a batch, in request order.
#[derive(Debug, Clone)]
pub struct SubmitBatch(pub Vec<Submission>);

impl WriteOp for SubmitBatch {
    /// What each submission came to, in the same order.
    type Output = Vec<Submitted>;

    // Its submissions only insert new rows.
    const BATCHES: bool = true;

    async fn apply(self, tx: &mut WriteTx) -> Result<Vec<Submitted>, StoreError> {
        let mut submitted = Vec::with_capacity(self.0.len());
        for submission in self.0 {
            submitted.push(submission.apply(tx).await?);
        }
        Ok(submitted)
    }
}
