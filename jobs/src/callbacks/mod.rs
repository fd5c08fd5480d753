//! Callbacks, without the worker that sends them (`worker::deliver`):
//! events written to an outbox in the same transaction as the state change
//! they report, the writes of their delivery, how one attempt is sent and
//! signed as Standard Webhooks, and what its outcome decides.

mod envelope;
mod ops;
pub(crate) mod outbox;
pub mod outcome;
mod read;
mod receivers;
pub mod sender;
pub mod signing;

pub use envelope::Envelope;
pub use ops::{
    ClaimDelivery, DeferDelivery, DeliveryClaim, RecordAttempt, Recorded, Replay, ReplayLatest,
};
pub use outcome::SendOutcome;
pub use read::{MAX_LISTED_ATTEMPTS, list_attempts};
pub use receivers::ReceiverLimits;
