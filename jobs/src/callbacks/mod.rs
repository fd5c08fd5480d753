//! Callback delivery: events written to an outbox in the same transaction
//! as the state change they report, then sent in order, signed as Standard
//! Webhooks, retried on a persisted schedule, every attempt recorded.

pub(crate) mod deliver;
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
pub use read::{MAX_LISTED_ATTEMPTS, list_attempts};
pub use receivers::ReceiverLimits;
