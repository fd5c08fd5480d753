//! The `jobcall` binary's library: settings, logging, and the application
//! that puts the API and the workers together. `main.rs` only parses the
//! command line.

pub mod app;
#[cfg(feature = "bench")]
pub mod bench;
pub mod keys;
pub mod listen;
pub mod settings;
pub mod telemetry;

pub use app::{Application, Customize, Role};
pub use settings::Settings;
