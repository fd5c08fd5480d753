//! Logging: human-readable by default, one JSON object per line with
//! `JOBCALL_LOG_FORMAT=json`. Every line carries the fields of the spans it
//! happens in (`request_id` for a request, `job_id` for a job, `trace_id`
//! for both).
//!
//! With `JOBCALL_OTLP_ENDPOINT`, the spans that make up a job's trace
//! (`request`, `job.attempt`, `callback.attempt`) are also exported to an
//! OpenTelemetry collector over OTLP/HTTP (protobuf), in the trace of the
//! submitter's `traceparent` (see `jobcall_jobs::trace`). Off by default.

use std::io::IsTerminal;

use opentelemetry::trace::TracerProvider;
use opentelemetry_otlp::{SpanExporter, WithExportConfig};
use opentelemetry_sdk::{Resource, trace::SdkTracerProvider};
use tracing_subscriber::{EnvFilter, filter::filter_fn, fmt, prelude::*};

use crate::settings::LogFormat;

/// Chatty dependencies are held to warnings unless asked for by name.
const QUIET: &str = "sqlx=warn,sea_orm=warn,sea_orm_migration=warn,apalis=warn,apalis_core=warn,apalis_sqlite=warn,apalis_postgres=warn,actix_server=warn,hyper=warn,reqwest=warn,opentelemetry_sdk=warn,opentelemetry_otlp=warn";

/// The spans exported to a collector: a job's trace, from the submitting
/// request to each attempt and each callback. (The `job` and `delivery`
/// spans around them are entered before the job is read, too early to join
/// its trace; they carry `trace_id` on their log lines instead.)
const EXPORTED_SPANS: [&str; 3] = ["request", "job.attempt", "callback.attempt"];

/// The filter: `RUST_LOG` when set, else `level` with quiet dependencies.
pub fn filter(level: &str) -> EnvFilter {
    EnvFilter::try_from_default_env().unwrap_or_else(|_| EnvFilter::new(format!("{level},{QUIET}")))
}

/// Flushes the exported spans when dropped (at exit).
pub struct Telemetry {
    provider: Option<SdkTracerProvider>,
}

impl Drop for Telemetry {
    fn drop(&mut self) {
        if let Some(provider) = self.provider.take()
            && let Err(err) = provider.shutdown()
        {
            eprintln!("jobcall: exporting the last spans failed: {err}");
        }
    }
}

/// Installs the global subscriber writing to stderr, exporting spans to
/// `otlp_traces_url` when given. Fails if a subscriber is set.
pub fn init(
    format: LogFormat,
    level: &str,
    otlp_traces_url: Option<&str>,
) -> anyhow::Result<Telemetry> {
    let provider = otlp_traces_url.map(tracer_provider).transpose()?;
    let export = provider.as_ref().map(|provider| {
        tracing_opentelemetry::layer()
            .with_tracer(provider.tracer("jobcall"))
            .with_filter(filter_fn(|meta| {
                meta.is_span() && EXPORTED_SPANS.contains(&meta.name())
            }))
    });
    let registry = tracing_subscriber::registry()
        .with(filter(level))
        .with(export);
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
    Ok(Telemetry { provider })
}

/// Spans batched and sent over OTLP/HTTP (protobuf) from a thread of their
/// own, so that a slow collector holds up no request.
fn tracer_provider(url: &str) -> anyhow::Result<SdkTracerProvider> {
    let exporter = SpanExporter::builder()
        .with_http()
        .with_endpoint(url)
        .build()?;
    Ok(SdkTracerProvider::builder()
        .with_batch_exporter(exporter)
        .with_resource(Resource::builder().with_service_name("jobcall").build())
        .build())
}
