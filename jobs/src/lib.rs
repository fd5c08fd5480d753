//! The domain of jobcall: jobs and their kinds, the workers that run them,
//! and the delivery of their callbacks. No HTTP server code lives here.

pub mod backoff;
pub mod callbacks;
pub mod claim;
pub mod clients;
pub mod config;
pub mod fingerprint;
pub mod job;
pub mod kinds;
pub mod metrics;
pub mod outbound;
pub mod queue;
pub mod retention;
pub mod secrets;
pub mod services;
pub mod signals;
pub mod signers;
pub mod signing_keys;
pub mod store;
pub mod time;
pub mod trace;
pub mod validation;
pub mod worker;
