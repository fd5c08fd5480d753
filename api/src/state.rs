//! What every request handler can reach.

use std::{
    collections::HashMap,
    sync::{
        Arc, Mutex,
        atomic::{AtomicU64, Ordering},
    },
    time::Duration,
};

use jobcall_entity::ClientId;
use jobcall_jobs::{
    metrics::Metrics,
    services::Services,
    store::Database,
    time::Clock,
    worker::{LocalDispatch, WorkerRuntime},
};

use crate::{
    auth::{Authenticator, KnownClients},
    error::ApiError,
};

/// Settings of the HTTP layer.
#[derive(Debug, Clone)]
pub struct ApiSettings {
    /// The largest request body accepted (413 beyond).
    pub max_body_bytes: usize,
    /// Requests that make work (submissions, test events, replays) per
    /// second per client, with a burst of the same size; 0 = unlimited.
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

/// What the request handlers share: the process's [`Services`] (the same
/// ones its workers use), and what only the HTTP layer needs.
pub struct AppState {
    pub services: Services,
    pub api: ApiSettings,
    pub auth: Authenticator,
    pub known_clients: KnownClients,
    pub rate_limiter: RateLimiter,
    pub backlog: Backlog,
    /// This process's workers, when it runs them: new jobs go straight to a
    /// free one.
    pub dispatch: Option<LocalDispatch>,
}

impl AppState {
    pub fn new(
        services: Services,
        api: ApiSettings,
        auth: Authenticator,
        dispatch: Option<LocalDispatch>,
    ) -> Self {
        Self {
            rate_limiter: RateLimiter::new(api.submit_rate_per_client, services.clock.clone()),
            known_clients: KnownClients::default(),
            backlog: Backlog::default(),
            services,
            api,
            auth,
            dispatch,
        }
    }

    /// Takes one of the client's tokens, or refuses with 429. Submissions,
    /// test events (an outbound request made while the caller waits) and
    /// replays (an outbound request each) share the bucket: each makes work
    /// out of one cheap request.
    pub fn take_rate(&self, client: &ClientId) -> Result<(), ApiError> {
        self.rate_limiter
            .take(client)
            .map_err(|wait| ApiError::RateLimited {
                retry_after: Duration::from_secs(wait.as_secs_f64().ceil() as u64),
            })
    }
}

/// A token bucket per client: `rate` tokens a second, at most `rate` saved up.
pub struct RateLimiter {
    rate: f64,
    clock: Clock,
    buckets: Mutex<HashMap<ClientId, Bucket>>,
}

struct Bucket {
    tokens: f64,
    /// When the bucket was last refilled, on the clock.
    refilled_ms: i64,
}

impl RateLimiter {
    pub fn new(per_second: u32, clock: Clock) -> Self {
        Self {
            rate: per_second as f64,
            clock,
            buckets: Mutex::default(),
        }
    }

    /// Takes a token, or says how long until one is available.
    pub fn take(&self, client: &ClientId) -> Result<(), Duration> {
        if self.rate == 0.0 {
            return Ok(());
        }
        let now = self.clock.now_ms();
        let rate = self.rate;
        let refill = |bucket: &Bucket| {
            (bucket.tokens + (now - bucket.refilled_ms).max(0) as f64 / 1000.0 * rate).min(rate)
        };
        let mut buckets = self.buckets.lock().unwrap_or_else(|p| p.into_inner());
        if buckets.len() > 100_000 {
            // Forget full buckets of clients that went quiet.
            buckets.retain(|_, bucket| refill(bucket) < rate);
        }
        let bucket = buckets.entry(client.clone()).or_insert(Bucket {
            tokens: rate,
            refilled_ms: now,
        });
        bucket.tokens = refill(bucket);
        bucket.refilled_ms = now;
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
        let test = jobcall_jobs::time::TestClock::new();
        let limiter = RateLimiter::new(5, test.clock());
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
        test.advance(Duration::from_millis(220));
        assert!(limiter.take(&client).is_ok());
    }

    #[test]
    fn zero_means_unlimited() {
        let limiter = RateLimiter::new(0, Clock::system());
        let client = ClientId::generate();
        for _ in 0..10_000 {
            assert!(limiter.take(&client).is_ok());
        }
    }
}
