//! Logging: human-readable by default, one JSON object per line with
//! `JOBCALL_LOG_FORMAT=json`. Every line carries the fields of the spans it
//! happens in (`request_id` for a request, `job_id` for a job).

use std::io::IsTerminal;

use tracing_subscriber::{EnvFilter, fmt, prelude::*};

use crate::settings::LogFormat;

/// Chatty dependencies are held to warnings unless asked for by name.
const QUIET: &str = "sqlx=warn,sea_orm=warn,sea_orm_migration=warn,apalis=warn,apalis_core=warn,apalis_sqlite=warn,apalis_postgres=warn,actix_server=warn,hyper=warn,reqwest=warn";

/// The filter: `RUST_LOG` when set, else `level` with quiet dependencies.
pub fn filter(level: &str) -> EnvFilter {
    EnvFilter::try_from_default_env().unwrap_or_else(|_| EnvFilter::new(format!("{level},{QUIET}")))
}

/// Installs the global subscriber writing to stderr. Fails if one is set.
pub fn init(format: LogFormat, level: &str) -> anyhow::Result<()> {
    let registry = tracing_subscriber::registry().with(filter(level));
    match format {
        // Colours only for a person at a terminal: a log file or a pipe
        // (`jobcall serve > log 2>&1`) would keep the escape codes.
        LogFormat::Pretty => registry
            .with(
                fmt::layer()
                    .with_ansi(std::io::stderr().is_terminal())
                    .with_writer(std::io::stderr),
            )
            .try_init()?,
        LogFormat::Json => registry
            .with(
                fmt::layer()
                    .json()
                    .flatten_event(true)
                    .with_current_span(false)
                    .with_span_list(true)
                    .with_writer(std::io::stderr),
            )
            .try_init()?,
    }
    Ok(())
}
