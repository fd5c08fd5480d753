//! The one clock every time decision reads (leases, takeovers, backoff,
//! timeouts, rotation overlap, rate limits, schedules), in Unix
//! milliseconds, the unit every stored time uses.
//!
//! A process runs on the system clock. Tests run on a [`TestClock`]: the
//! system clock plus an offset that the test moves forward, so that
//! everything keeps running at its own pace while a test skips the waits it
//! would otherwise sleep through. Sleeping on the clock ends early when the
//! clock jumps past the wake-up time.

use std::{
    sync::{
        Arc,
        atomic::{AtomicI64, Ordering},
    },
    time::{Duration, SystemTime, UNIX_EPOCH},
};

use chrono::{DateTime, SecondsFormat, Utc};
use tokio::sync::watch;

/// A source of the current time. Cheap to clone.
#[derive(Clone, Default)]
pub struct Clock {
    /// `None`: the system clock.
    shifted: Option<Arc<Shift>>,
}

struct Shift {
    offset_ms: AtomicI64,
    /// Bumped on every jump, to wake sleepers.
    jumps: watch::Sender<u64>,
}

impl std::fmt::Debug for Clock {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match &self.shifted {
            None => f.write_str("Clock::System"),
            Some(shift) => write!(
                f,
                "Clock::Test(+{} ms)",
                shift.offset_ms.load(Ordering::Relaxed)
            ),
        }
    }
}

fn system_ms() -> i64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_millis() as i64)
        .unwrap_or(0)
}

impl Clock {
    pub fn system() -> Self {
        Self::default()
    }

    /// Milliseconds since the Unix epoch, now.
    pub fn now_ms(&self) -> i64 {
        system_ms() + self.offset_ms()
    }

    /// How far this clock is ahead of the system clock.
    pub fn offset_ms(&self) -> i64 {
        self.shifted
            .as_ref()
            .map_or(0, |shift| shift.offset_ms.load(Ordering::Relaxed))
    }

    /// The system time at which this clock will read `at_ms`: what to
    /// store where the database, not this clock, decides when a time has
    /// come (queue tasks' due times).
    pub fn to_system_ms(&self, at_ms: i64) -> i64 {
        at_ms - self.offset_ms()
    }

    /// `now + wait`, in this clock's milliseconds.
    pub fn after(&self, wait: Duration) -> i64 {
        self.now_ms().saturating_add(wait.as_millis() as i64)
    }

    /// Resolves once this clock reads `at_ms` or later.
    pub async fn sleep_until(&self, at_ms: i64) {
        let mut jumps = self.shifted.as_ref().map(|shift| shift.jumps.subscribe());
        loop {
            let left = at_ms - self.now_ms();
            if left <= 0 {
                return;
            }
            let nap = tokio::time::sleep(Duration::from_millis(left as u64));
            match jumps.as_mut() {
                None => nap.await,
                Some(jumps) => {
                    tokio::select! {
                        () = nap => {}
                        changed = jumps.changed() => if changed.is_err() {
                            // The test clock is gone with its test; sleep out the rest.
                            jumps.borrow_and_update();
                        },
                    }
                }
            }
        }
    }

    /// Resolves after `wait` has passed on this clock.
    pub async fn sleep(&self, wait: Duration) {
        self.sleep_until(self.after(wait)).await
    }
}

/// The clock of a test: the system clock, plus whatever the test has
/// advanced it by. Hand [`TestClock::clock`] to the code under test.
#[derive(Clone)]
pub struct TestClock {
    clock: Clock,
}

impl Default for TestClock {
    fn default() -> Self {
        Self::new()
    }
}

impl TestClock {
    pub fn new() -> Self {
        Self {
            clock: Clock {
                shifted: Some(Arc::new(Shift {
                    offset_ms: AtomicI64::new(0),
                    jumps: watch::Sender::new(0),
                })),
            },
        }
    }

    pub fn clock(&self) -> Clock {
        self.clock.clone()
    }

    /// Moves the clock forward by `by` at once, waking whatever sleeps on it.
    pub fn advance(&self, by: Duration) {
        let shift = self
            .clock
            .shifted
            .as_ref()
            .expect("a test clock is shifted");
        shift
            .offset_ms
            .fetch_add(by.as_millis() as i64, Ordering::Relaxed);
        shift.jumps.send_modify(|jumps| *jumps += 1);
    }
}

/// RFC 3339 with millisecond precision and a `Z` suffix, as the API shows times.
pub fn rfc3339(ms: i64) -> String {
    DateTime::<Utc>::from_timestamp_millis(ms)
        .unwrap_or_default()
        .to_rfc3339_opts(SecondsFormat::Millis, true)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn renders_rfc3339_in_utc_with_milliseconds() {
        assert_eq!(rfc3339(0), "1970-01-01T00:00:00.000Z");
        assert_eq!(rfc3339(1_764_028_800_123), "2025-11-25T00:00:00.123Z");
    }

    #[test]
    fn a_test_clock_runs_ahead_by_what_it_was_advanced() {
        let test = TestClock::new();
        let clock = test.clock();
        let before = clock.now_ms();
        test.advance(Duration::from_secs(3600));
        let after = clock.now_ms();
        assert!(
            (3_600_000..3_601_000).contains(&(after - before)),
            "{}",
            after - before
        );
        assert_eq!(clock.to_system_ms(after) + 3_600_000, after);
        assert_eq!(Clock::system().offset_ms(), 0);
    }

    #[tokio::test]
    async fn sleepers_wake_when_the_clock_jumps_past_their_time() {
        let test = TestClock::new();
        let clock = test.clock();
        let sleeper = tokio::spawn(async move { clock.sleep(Duration::from_secs(3600)).await });
        tokio::task::yield_now().await;
        assert!(!sleeper.is_finished());
        test.advance(Duration::from_secs(3600));
        tokio::time::timeout(Duration::from_secs(5), sleeper)
            .await
            .expect("the sleeper woke at the jump")
            .unwrap();
    }
}
