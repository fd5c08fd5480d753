//! The domain's settings, with the defaults a fresh `jobcall serve` runs
//! with. Loading them from the environment is the binary's business.

use std::time::Duration;

use crate::outbound::OutboundPolicy;

/// Exponential backoff: `initial`, doubling per failed attempt, capped at
/// `max`, with ±20 % jitter. See [`crate::callbacks::backoff`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Backoff {
    pub initial: Duration,
    pub max: Duration,
}

/// Bounds on what a submission may ask for.
#[derive(Debug, Clone)]
pub struct JobLimits {
    /// The most bytes the `input` may take, serialized.
    pub max_input_bytes: usize,
    pub max_metadata_keys: usize,
    pub max_metadata_key_chars: usize,
    pub max_metadata_value_chars: usize,
    pub default_timeout: Duration,
    pub max_timeout: Duration,
    pub default_max_attempts: u32,
    pub max_max_attempts: u32,
}

impl Default for JobLimits {
    fn default() -> Self {
        Self {
            max_input_bytes: 256 * 1024,
            max_metadata_keys: 50,
            max_metadata_key_chars: 40,
            max_metadata_value_chars: 500,
            default_timeout: Duration::from_secs(300),
            max_timeout: Duration::from_secs(24 * 3600),
            default_max_attempts: 3,
            max_max_attempts: 20,
        }
    }
}

/// How workers run jobs.
#[derive(Debug, Clone)]
pub struct WorkerSettings {
    /// Attempts run at once in this process.
    pub concurrency: usize,
    /// Attempts of one client run at once in this process; 0: the default
    /// of [`client_share`].
    pub max_per_client: usize,
    /// How long a silent worker's jobs and deliveries wait before another
    /// worker takes them over. Running attempts renew their lease well
    /// within it.
    pub takeover: Duration,
    /// On shutdown, how long running attempts get to finish before they are
    /// handed back to the queue.
    pub shutdown_grace: Duration,
    /// Backoff between execution attempts after a retryable failure.
    pub retry_backoff: Backoff,
    /// How often an idle worker looks for tasks it was not told about
    /// (tasks queued by another process without a notification, or falling
    /// due there).
    pub poll_interval: Duration,
}

impl Default for WorkerSettings {
    fn default() -> Self {
        Self {
            concurrency: 32,
            max_per_client: 0,
            takeover: Duration::from_secs(60),
            shutdown_grace: Duration::from_secs(30),
            retry_backoff: Backoff {
                initial: Duration::from_secs(1),
                max: Duration::from_secs(300),
            },
            poll_interval: Duration::from_millis(1000),
        }
    }
}

/// One client's share of `concurrency` slots: `max_per_client`, or by
/// default all but an eighth (at least one), which stays free for other
/// clients: a single client loses little, and another client's work finds
/// a slot at once however long the first one's jobs run.
pub fn client_share(concurrency: usize, max_per_client: usize) -> usize {
    match max_per_client {
        0 => concurrency.saturating_sub((concurrency / 8).max(1)).max(1),
        n => n.min(concurrency).max(1),
    }
}

/// How callbacks are delivered.
#[derive(Debug, Clone)]
pub struct CallbackSettings {
    /// Attempts per event in total, the first included.
    pub max_attempts: u32,
    pub backoff: Backoff,
    /// An event is given up once its next attempt would fall later than this after the event.
    pub max_age: Duration,
    /// How long one attempt waits for a complete response.
    pub attempt_timeout: Duration,
    /// The longest `Retry-After` honoured.
    pub max_retry_after: Duration,
    /// Deliveries in flight at once in this process.
    pub concurrency: usize,
    /// Deliveries of one client in flight at once in this process; 0: the
    /// default of [`client_share`].
    pub max_per_client: usize,
    /// Deliveries in flight at once to one receiver (the address its host
    /// resolves to, and the port: however many names point at it), so that
    /// a slow receiver cannot take every delivery slot.
    pub per_receiver_concurrency: usize,
    /// How much of a receiver's response body is kept with the attempt.
    pub response_body_bytes: usize,
}

impl Default for CallbackSettings {
    fn default() -> Self {
        Self {
            max_attempts: 18,
            backoff: Backoff {
                initial: Duration::from_secs(10),
                max: Duration::from_secs(2 * 3600),
            },
            max_age: Duration::from_secs(24 * 3600),
            attempt_timeout: Duration::from_secs(10),
            max_retry_after: Duration::from_secs(3600),
            concurrency: 64,
            max_per_client: 0,
            per_receiver_concurrency: 8,
            response_body_bytes: 1024,
        }
    }
}

/// How long finished jobs are kept, and how they are swept.
#[derive(Debug, Clone)]
pub struct RetentionSettings {
    /// Succeeded and canceled jobs are deleted this long after they
    /// finished; `None`: kept forever.
    pub finished: Option<Duration>,
    /// The same for failed jobs.
    pub failed: Option<Duration>,
    /// How often the sweep looks for jobs past their retention.
    pub sweep_interval: Duration,
    /// Jobs deleted per transaction: small enough that a batch holds the
    /// write path for a few milliseconds.
    pub batch: usize,
}

impl Default for RetentionSettings {
    fn default() -> Self {
        Self {
            finished: Some(Duration::from_secs(7 * 24 * 3600)),
            failed: Some(Duration::from_secs(30 * 24 * 3600)),
            sweep_interval: Duration::from_secs(60),
            batch: 200,
        }
    }
}

/// Everything the domain needs to know.
#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_client_leaves_an_eighth_of_the_slots_to_others() {
        assert_eq!(client_share(32, 0), 28);
        assert_eq!(client_share(64, 0), 56);
        assert_eq!(client_share(8, 0), 7);
        assert_eq!(client_share(2, 0), 1);
        assert_eq!(client_share(1, 0), 1);
        assert_eq!(client_share(32, 40), 32, "at most the whole pool");
        assert_eq!(client_share(32, 4), 4);
    }
}

#[derive(Debug, Clone, Default)]
pub struct DomainSettings {
    pub limits: JobLimits,
    pub worker: WorkerSettings,
    pub callbacks: CallbackSettings,
    pub outbound: OutboundPolicy,
    pub retention: RetentionSettings,
}
