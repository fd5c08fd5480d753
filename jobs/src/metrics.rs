//! Prometheus metrics of one process. Label values are bounded sets (kinds
//! of this server, statuses, outcome classes, route patterns, queue names):
//! never ids or URLs.

use prometheus_client::{
    encoding::EncodeLabelSet,
    metrics::{
        counter::Counter,
        family::Family,
        histogram::{Histogram, exponential_buckets},
    },
    registry::Registry,
};
use std::sync::atomic::AtomicU64;

/// For the HTTP layer's own gauges.
pub use prometheus_client::metrics::gauge::Gauge;

#[derive(Debug, Clone, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct KindLabels {
    pub kind: String,
}

#[derive(Debug, Clone, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct FinishedLabels {
    pub kind: String,
    pub status: String,
}

#[derive(Debug, Clone, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct QueueLabels {
    pub queue: String,
}

#[derive(Debug, Clone, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct OutcomeLabels {
    /// `delivered`, or the class of the failure (`http_status`, `timeout`, …).
    pub outcome: String,
}

#[derive(Debug, Clone, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct TableLabels {
    /// `jobs`, `events`, `delivery_attempts`, `clients`, `queue_tasks`.
    pub table: String,
}

#[derive(Debug, Clone, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct HttpLabels {
    /// A standard method's name, or `other`: clients may invent methods.
    pub method: String,
    /// The route pattern (`/v1/jobs/{id}`), `unmatched` for unknown paths.
    pub route: String,
    pub status: u16,
}

type Histograms<L> = Family<L, Histogram, fn() -> Histogram>;

/// Durations from 1 ms to about 9 hours.
fn seconds_histogram() -> Histogram {
    Histogram::new(exponential_buckets(0.001, 2.0, 25))
}

/// Request durations from 100 µs to about 52 s.
fn request_histogram() -> Histogram {
    Histogram::new(exponential_buckets(0.0001, 2.0, 20))
}

pub struct Metrics {
    registry: Registry,
    pub jobs_submitted: Family<KindLabels, Counter>,
    pub jobs_finished: Family<FinishedLabels, Counter>,
    pub job_run_seconds: Histograms<KindLabels>,
    pub queue_depth: Family<QueueLabels, Gauge>,
    pub queue_oldest_seconds: Family<QueueLabels, Gauge<f64, AtomicU64>>,
    pub callback_attempts: Family<OutcomeLabels, Counter>,
    pub delivery_latency_seconds: Histogram,
    pub http_request_seconds: Histograms<HttpLabels>,
    pub table_rows: Family<TableLabels, Gauge>,
    pub database_bytes: Gauge,
    pub rows_purged: Family<TableLabels, Counter>,
    /// Long-polls (`GET /v1/jobs/{id}?wait=N`) waiting now.
    pub long_polls_waiting: Gauge,
}

impl std::fmt::Debug for Metrics {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Metrics").finish_non_exhaustive()
    }
}

impl Default for Metrics {
    fn default() -> Self {
        let mut registry = Registry::with_prefix("jobcall");
        let jobs_submitted = Family::<KindLabels, Counter>::default();
        registry.register(
            "jobs_submitted",
            "Jobs accepted, by kind",
            jobs_submitted.clone(),
        );
        let jobs_finished = Family::<FinishedLabels, Counter>::default();
        registry.register(
            "jobs_finished",
            "Jobs that reached a terminal state, by kind and status",
            jobs_finished.clone(),
        );
        let job_run_seconds: Histograms<KindLabels> =
            Family::new_with_constructor(seconds_histogram);
        registry.register(
            "job_run_seconds",
            "How long attempts ran, by kind",
            job_run_seconds.clone(),
        );
        let queue_depth = Family::<QueueLabels, Gauge>::default();
        registry.register(
            "queue_depth",
            "Tasks due and waiting for a worker, per queue",
            queue_depth.clone(),
        );
        let queue_oldest_seconds = Family::<QueueLabels, Gauge<f64, AtomicU64>>::default();
        registry.register(
            "queue_oldest_age_seconds",
            "How long the oldest due task has waited, per queue",
            queue_oldest_seconds.clone(),
        );
        let callback_attempts = Family::<OutcomeLabels, Counter>::default();
        registry.register(
            "callback_attempts",
            "Callback attempts, by outcome (delivered, or the class of the failure)",
            callback_attempts.clone(),
        );
        let delivery_latency_seconds = seconds_histogram();
        registry.register(
            "callback_delivery_latency_seconds",
            "From an event's creation to the receiver's 2xx",
            delivery_latency_seconds.clone(),
        );
        let http_request_seconds: Histograms<HttpLabels> =
            Family::new_with_constructor(request_histogram);
        registry.register(
            "http_request_duration_seconds",
            "HTTP requests served, by method, route and status",
            http_request_seconds.clone(),
        );
        let table_rows = Family::<TableLabels, Gauge>::default();
        registry.register(
            "table_rows",
            "Rows per table, sampled at each retention sweep (PostgreSQL: the planner's estimate)",
            table_rows.clone(),
        );
        let database_bytes = Gauge::default();
        registry.register(
            "database_size_bytes",
            "The database's size on disk, sampled at each retention sweep",
            database_bytes.clone(),
        );
        let rows_purged = Family::<TableLabels, Counter>::default();
        registry.register(
            "rows_purged",
            "Rows deleted by retention, per table",
            rows_purged.clone(),
        );
        let long_polls_waiting = Gauge::default();
        registry.register(
            "http_long_polls_waiting",
            "Long-polls (GET /v1/jobs/{id}?wait) waiting now",
            long_polls_waiting.clone(),
        );
        Self {
            registry,
            table_rows,
            database_bytes,
            rows_purged,
            jobs_submitted,
            jobs_finished,
            job_run_seconds,
            queue_depth,
            queue_oldest_seconds,
            callback_attempts,
            delivery_latency_seconds,
            http_request_seconds,
            long_polls_waiting,
        }
    }
}

impl Metrics {
    /// The Prometheus text exposition.
    pub fn render(&self) -> String {
        let mut text = String::new();
        prometheus_client::encoding::text::encode(&mut text, &self.registry)
            .expect("writing to a String cannot fail");
        text
    }

    pub fn job_submitted(&self, kind: &str) {
        self.jobs_submitted
            .get_or_create(&KindLabels {
                kind: kind.to_owned(),
            })
            .inc();
    }

    /// What one retention batch deleted.
    pub fn purged(&self, jobs: u64, events: u64, attempts: u64) {
        for (table, rows) in [
            ("jobs", jobs),
            ("events", events),
            ("delivery_attempts", attempts),
        ] {
            self.rows_purged
                .get_or_create(&TableLabels {
                    table: table.to_owned(),
                })
                .inc_by(rows);
        }
    }

    /// Rows per table and the database's size, as last sampled.
    pub fn storage(&self, rows: &[(&str, i64)], bytes: i64) {
        for (table, count) in rows {
            self.table_rows
                .get_or_create(&TableLabels {
                    table: (*table).to_owned(),
                })
                .set(*count);
        }
        self.database_bytes.set(bytes);
    }

    pub fn job_finished(&self, kind: &str, status: &str) {
        self.jobs_finished
            .get_or_create(&FinishedLabels {
                kind: kind.to_owned(),
                status: status.to_owned(),
            })
            .inc();
    }
}

/// Samples the queue gauges every few seconds until `stop`.
pub fn spawn_queue_sampler(
    db: crate::store::Database,
    metrics: std::sync::Arc<Metrics>,
    stop: tokio_util::sync::CancellationToken,
) {
    tokio::spawn(async move {
        loop {
            match crate::store::sample_queues(&db).await {
                Ok(gauges) => {
                    for gauge in gauges {
                        let labels = QueueLabels {
                            queue: gauge.queue.label().to_owned(),
                        };
                        metrics.queue_depth.get_or_create(&labels).set(gauge.depth);
                        metrics
                            .queue_oldest_seconds
                            .get_or_create(&labels)
                            .set(gauge.oldest_age_seconds);
                    }
                }
                Err(err) => tracing::warn!(error = %err, "could not sample the queues"),
            }
            tokio::select! {
                _ = tokio::time::sleep(std::time::Duration::from_secs(5)) => {}
                _ = stop.cancelled() => return,
            }
        }
    });
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn renders_prometheus_text() {
        let metrics = Metrics::default();
        metrics.job_submitted("echo");
        metrics.job_finished("echo", "succeeded");
        metrics.delivery_latency_seconds.observe(0.004);
        let text = metrics.render();
        assert!(
            text.contains("jobcall_jobs_submitted_total{kind=\"echo\"} 1"),
            "{text}"
        );
        assert!(
            text.contains("jobcall_jobs_finished_total{kind=\"echo\",status=\"succeeded\"} 1"),
            "{text}"
        );
        assert!(
            text.contains("jobcall_callback_delivery_latency_seconds_count 1"),
            "{text}"
        );
        assert!(text.ends_with("# EOF\n"));
    }
}
