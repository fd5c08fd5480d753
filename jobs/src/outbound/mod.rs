//! Every request jobcall makes to a URL a client chose: callbacks and the
//! `http.request` and `digest` kinds. All of them go through one client whose
//! DNS resolver only ever hands out addresses the [`Guard`] accepted, so the
//! address that is checked is the address that is connected to.

mod address;
mod client;
mod guard;
pub(crate) mod resolver;

pub use address::{AddressClass, classify};
pub use client::{BodyCapture, Outbound, OutboundError, OutboundErrorClass};
pub use guard::{CheckedUrl, Guard, GuardError, OutboundPolicy};
pub use resolver::{NameResolver, SystemResolver};
