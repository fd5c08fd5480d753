//! The tables of jobcall as sea-orm entities, and the typed values stored in
//! them: prefixed ids and the state enums. No behaviour lives here beyond
//! parsing those values; the domain is in `jobcall-jobs`.

pub mod client;
pub mod delivery_attempt;
pub mod event;
mod ids;
pub mod job;
pub mod key_fingerprint;
mod signatures;
pub mod signing_secret;
mod states;

pub use ids::{ClientId, EventId, IdError, JobId, SecretId};
pub use signatures::{SignatureScheme, SignatureSchemes};
pub use states::{CallbackState, DeliveryTrigger, EventState, EventType, JobStatus};
