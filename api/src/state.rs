//! What every request handler can reach.

use std::{
    collections::HashMap,
    sync::{
        Arc, Mutex,
        atomic::{AtomicU64, Ordering},
    },
    time::{Duration, Instant},
};

use jobcall_entity::ClientId;
use jobcall_jobs::{
    clients::SecretsCache,
    config::DomainSettings,
    kinds::Registry,
    metrics::Metrics,
    outbound::Outbound,
    secrets::EncryptionKey,
    signals::Signals,
    store::{Database, Writer},
    worker::{LocalDispatch, WorkerRuntime},
};

use crate::auth::{Authenticator, KnownClients};

/// Settings of the HTTP layer.
#[derive(Debug, Clone)]
pub struct ApiSettings {
    /// The largest request body accepted (413 beyond).
    pub max_body_bytes: usize,
    /// Submissions per second per client, with a burst of the same size; 0 = unlimited.
    pub submit_rate_per_client: u32,
    /// Queued jobs beyond which submissions are refused with 503.
    pub max_queued_jobs: u64,
    /// How long a rotated-out signing secret keeps signing.
    pub secret_rotation_overlap: Duration,
}

impl Default for ApiSettings {
    fn default() -> Self {
        Self {
            max_body_bytes: 1024 * 1024,
            submit_rate_per_client: 1000,
            max_queued_jobs: 1_000_000,
            secret_rotation_overlap: Duration::from_secs(24 * 3600),
        }
    }
}

/// What the ops routes need; all a worker-only process has.
pub struct Ops {
    pub db: Database,
    /// The workers of this process, when it runs any (for readiness).
    pub workers: Option<Arc<WorkerRuntime>>,
    pub metrics: Arc<Metrics>,
}

pub struct AppState {
    pub db: Database,
    pub writer: Writer,
    pub signals: Signals,
    pub registry: Registry,
    pub outbound: Outbound,
    pub domain: DomainSettings,
    pub api: ApiSettings,
    pub auth: Authenticator,
    pub secrets_key: EncryptionKey,
    /// Signing secrets, for test events.
    pub secrets: SecretsCache,
    pub known_clients: KnownClients,
    pub rate_limiter: RateLimiter,
    pub backlog: Backlog,
    pub metrics: Arc<Metrics>,
    /// This process's workers, when it runs them: new jobs go straight to a
    /// free one.
    pub dispatch: Option<LocalDispatch>,
}

/// A token bucket per client: `rate` tokens a second, at most `rate` saved up.
pub struct RateLimiter {
    rate: f64,
    buckets: Mutex<HashMap<ClientId, Bucket>>,
}

struct Bucket {
    tokens: f64,
    refilled: Instant,
}

impl RateLimiter {
    pub fn new(per_second: u32) -> Self {
        Self {
            rate: per_second as f64,
            buckets: Mutex::default(),
        }
    }

    /// Takes a token, or says how long until one is available.
    pub fn take(&self, client: &ClientId) -> Result<(), Duration> {
        if self.rate == 0.0 {
            return Ok(());
        }
        let now = Instant::now();
        let mut buckets = self.buckets.lock().unwrap_or_else(|p| p.into_inner());
        if buckets.len() > 100_000 {
            // Forget full buckets of clients that went quiet.
            let rate = self.rate;
            buckets.retain(|_, b| {
                b.tokens + now.duration_since(b.refilled).as_secs_f64() * rate < rate
            });
        }
        let bucket = buckets.entry(client.clone()).or_insert(Bucket {
            tokens: self.rate,
            refilled: now,
        });
        bucket.tokens = (bucket.tokens
            + now.duration_since(bucket.refilled).as_secs_f64() * self.rate)
            .min(self.rate);
        bucket.refilled = now;
        if bucket.tokens >= 1.0 {
            bucket.tokens -= 1.0;
            Ok(())
        } else {
            Err(Duration::from_secs_f64((1.0 - bucket.tokens) / self.rate))
        }
    }
}

/// The number of queued jobs, refreshed from the database every second and
/// counted up between refreshes, for backpressure.
#[derive(Default)]
pub struct Backlog {
    queued: AtomicU64,
}

impl Backlog {
    pub fn set(&self, queued: u64) {
        self.queued.store(queued, Ordering::Relaxed);
    }

    pub fn accepted(&self) {
        self.queued.fetch_add(1, Ordering::Relaxed);
    }

    pub fn queued(&self) -> u64 {
        self.queued.load(Ordering::Relaxed)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_bucket_allows_a_burst_then_the_rate() {
        let limiter = RateLimiter::new(5);
        let client = ClientId::generate();
        for _ in 0..5 {
            assert!(limiter.take(&client).is_ok());
        }
        let wait = limiter.take(&client).unwrap_err();
        assert!(wait <= Duration::from_millis(200), "{wait:?}");
        assert!(
            limiter.take(&ClientId::generate()).is_ok(),
            "clients have their own buckets"
        );
        std::thread::sleep(Duration::from_millis(220));
        assert!(limiter.take(&client).is_ok());
    }

    #[test]
    fn zero_means_unlimited() {
        let limiter = RateLimiter::new(0);
        let client = ClientId::generate();
        for _ in 0..10_000 {
            assert!(limiter.take(&client).is_ok());
        }
    }
}
