//! Callback delivery: events written to an outbox in the same transaction
//! as the state change they report, then sent in order, signed as Standard
//! Webhooks, retried on a persisted schedule, every attempt recorded.

mod envelope;
pub(crate) mod outbox;

pub use envelope::Envelope;
