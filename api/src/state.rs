//! What every request handler can reach.

use std::{
    collections::HashMap,
    sync::{
        Arc, Mutex,
        atomic::{AtomicU64, AtomicUsize, Ordering},
    },
    time::Duration,
};

use jobcall_entity::ClientId;
use jobcall_jobs::{
    metrics::{Gauge, Metrics},
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
    /// Long-polls one client may hold open at once; past it `?wait` answers
    /// at once, as a plain read. 0 = unlimited.
    pub max_waits_per_client: usize,
    /// The most jobs one batch submits.
    pub max_batch_jobs: usize,
    /// How long a rotated-out signing secret keeps signing.
    pub secret_rotation_overlap: Duration,
}

impl Default for ApiSettings {
    fn default() -> Self {
        Self {
            max_body_bytes: 1024 * 1024,
            submit_rate_per_client: 1000,
            max_queued_jobs: 1_000_000,
            max_waits_per_client: 100,
            max_batch_jobs: 100,
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
    pub waits: Arc<Waits>,
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
            waits: Arc::new(Waits::new(
                api.max_waits_per_client,
                services.metrics.long_polls_waiting.clone(),
            )),
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
        self.take_rate_for(client, 1)
    }

    /// Takes `count` of the client's tokens at once (a batch of `count`
    /// submissions), or none and refuses with 429.
    pub fn take_rate_for(&self, client: &ClientId, count: u32) -> Result<(), ApiError> {
        self.rate_limiter
            .take(client, count)
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

    /// The most tokens one take can have: the burst (`None`: unlimited).
    pub fn burst(&self) -> Option<u32> {
        (self.rate > 0.0).then_some(self.rate as u32)
    }

    /// Takes `count` tokens, or none and says how long until `count` are
    /// available. `count` must be at most the [burst](Self::burst).
    pub fn take(&self, client: &ClientId, count: u32) -> Result<(), Duration> {
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
        let count = f64::from(count);
        if bucket.tokens >= count {
            bucket.tokens -= count;
            Ok(())
        } else {
            Err(Duration::from_secs_f64((count - bucket.tokens) / self.rate))
        }
    }
}

/// The long-polls each client holds open, capped: a waiting request holds a
/// connection, its buffers and a task for up to a minute while costing the
/// client nothing, so one client could otherwise hold thousands.
pub struct Waits {
    /// 0 = unlimited.
    max_per_client: usize,
    waiting: Mutex<HashMap<ClientId, usize>>,
    /// Every client's long-polls together, and the most there were since
    /// [`Waits::take_peak`] last looked (a burst may come and go between
    /// two looks).
    total: AtomicUsize,
    peak: AtomicUsize,
    gauge: Gauge,
}

impl Waits {
    pub fn new(max_per_client: usize, gauge: Gauge) -> Self {
        Self {
            max_per_client,
            waiting: Mutex::default(),
            total: AtomicUsize::new(0),
            peak: AtomicUsize::new(0),
            gauge,
        }
    }

    /// Room for one more long-poll of `client`, held until the permit
    /// drops (the wait ended, or the client went away and actix dropped the
    /// request); `None` when the client already holds its share.
    pub fn begin(self: &Arc<Self>, client: &ClientId) -> Option<WaitPermit> {
        let mut waiting = self.waiting.lock().unwrap_or_else(|p| p.into_inner());
        let count = waiting.entry(client.clone()).or_insert(0);
        if self.max_per_client != 0 && *count >= self.max_per_client {
            return None;
        }
        *count += 1;
        let total = self.total.fetch_add(1, Ordering::Relaxed) + 1;
        self.peak.fetch_max(total, Ordering::Relaxed);
        self.gauge.inc();
        Some(WaitPermit {
            waits: self.clone(),
            client: client.clone(),
        })
    }

    /// The most long-polls open at once since the last call, and how many
    /// are open now.
    pub fn take_peak(&self) -> (usize, usize) {
        let now = self.total.load(Ordering::Relaxed);
        (self.peak.swap(now, Ordering::Relaxed).max(now), now)
    }

    /// How many long-polls `client` holds open.
    pub fn of(&self, client: &ClientId) -> usize {
        let waiting = self.waiting.lock().unwrap_or_else(|p| p.into_inner());
        waiting.get(client).copied().unwrap_or(0)
    }
}

/// One long-poll's place; see [`Waits::begin`].
pub struct WaitPermit {
    waits: Arc<Waits>,
    client: ClientId,
}

impl Drop for WaitPermit {
    fn drop(&mut self) {
        let mut waiting = self.waits.waiting.lock().unwrap_or_else(|p| p.into_inner());
        if let Some(count) = waiting.get_mut(&self.client) {
            *count -= 1;
            if *count == 0 {
                // No entry per client that ever waited: the map stays as
                // small as the set of clients waiting now.
                waiting.remove(&self.client);
            }
        }
        self.waits.total.fetch_sub(1, Ordering::Relaxed);
        self.waits.gauge.dec();
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
            assert!(limiter.take(&client, 1).is_ok());
        }
        let wait = limiter.take(&client, 1).unwrap_err();
        assert!(wait <= Duration::from_millis(200), "{wait:?}");
        assert!(
            limiter.take(&ClientId::generate(), 1).is_ok(),
            "clients have their own buckets"
        );
        test.advance(Duration::from_millis(220));
        assert!(limiter.take(&client, 1).is_ok());
    }

    #[test]
    fn a_batch_takes_all_its_tokens_or_none() {
        let test = jobcall_jobs::time::TestClock::new();
        let limiter = RateLimiter::new(10, test.clock());
        let client = ClientId::generate();
        assert_eq!(limiter.burst(), Some(10));
        assert!(limiter.take(&client, 7).is_ok());
        let wait = limiter.take(&client, 5).unwrap_err();
        assert!(
            wait > Duration::from_millis(150) && wait <= Duration::from_millis(200),
            "two more tokens take 200 ms: {wait:?}"
        );
        assert!(
            limiter.take(&client, 3).is_ok(),
            "the refused take took none"
        );
        assert!(limiter.take(&client, 1).is_err());
        test.advance(Duration::from_millis(500));
        assert!(limiter.take(&client, 5).is_ok());
        assert_eq!(RateLimiter::new(0, Clock::system()).burst(), None);
    }

    #[test]
    fn long_polls_are_capped_per_client_until_their_permits_drop() {
        let waits = Arc::new(Waits::new(2, Gauge::default()));
        let (a, b) = (ClientId::generate(), ClientId::generate());
        let first = waits.begin(&a).unwrap();
        let second = waits.begin(&a).unwrap();
        assert!(waits.begin(&a).is_none());
        assert!(waits.begin(&b).is_some(), "clients have their own share");
        assert_eq!(waits.gauge.get(), 2, "b's permit dropped at once");
        drop(first);
        let third = waits.begin(&a).unwrap();
        drop((second, third));
        assert_eq!(waits.of(&a), 0);
        assert_eq!(waits.take_peak(), (3, 0), "a and b's waits at the busiest");
        assert_eq!(waits.take_peak(), (0, 0));
        assert!(lock_len(&waits) == 0, "no entry is left behind");
        let unlimited = Arc::new(Waits::new(0, Gauge::default()));
        let held: Vec<_> = (0..1000).filter_map(|_| unlimited.begin(&a)).collect();
        assert_eq!(held.len(), 1000);
    }

    fn lock_len(waits: &Waits) -> usize {
        waits.waiting.lock().unwrap().len()
    }

    #[test]
    fn zero_means_unlimited() {
        let limiter = RateLimiter::new(0, Clock::system());
        let client = ClientId::generate();
        for _ in 0..10_000 {
            assert!(limiter.take(&client, 1).is_ok());
        }
    }
}
