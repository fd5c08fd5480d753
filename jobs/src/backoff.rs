//! Exponential backoff with bounded jitter, as a pure function.

use std::time::Duration;

use crate::config::Backoff;

/// How far a delay may stray from the nominal schedule: ±20 %.
pub const JITTER: f64 = 0.2;

/// The delay before the next attempt, after `failed_attempts` attempts have
/// failed (1 for the first failure): `initial × 2^(failed_attempts − 1)`,
/// capped at `max`, then scaled by `1 + JITTER × jitter` where `jitter` is a
/// sample from `[-1, 1]` (see [`jitter_sample`]).
///
/// With the callback defaults (initial 10 s, max 2 h) and no jitter, the
/// delays after attempts 1, 2, 3, … are:
///
/// | failed attempts | delay | next attempt, after the first |
/// |---:|---:|---:|
/// | 1 | 10 s | 10 s |
/// | 2 | 20 s | 30 s |
/// | 3 | 40 s | 1 min 10 s |
/// | 4 | 1 min 20 s | 2 min 30 s |
/// | 5 | 2 min 40 s | 5 min 10 s |
/// | 6 | 5 min 20 s | 10 min 30 s |
/// | 7 | 10 min 40 s | 21 min 10 s |
/// | 8 | 21 min 20 s | 42 min 30 s |
/// | 9 | 42 min 40 s | 1 h 25 min 10 s |
/// | 10 | 1 h 25 min 20 s | 2 h 50 min 30 s |
/// | 11 – 17 | 2 h (the cap) | 4 h 50 min 30 s … 16 h 50 min 30 s |
///
/// so the default 18 attempts span about 17 hours, inside the default
/// maximum age of 24 hours. Execution retries use the same function with
/// their own policy (initial 1 s, max 5 min).
pub fn delay(policy: Backoff, failed_attempts: u32, jitter: f64) -> Duration {
    let doublings = failed_attempts.saturating_sub(1).min(63);
    let nominal = policy
        .initial
        .checked_mul(1u32.checked_shl(doublings.min(31)).unwrap_or(u32::MAX))
        .unwrap_or(policy.max)
        .min(policy.max);
    nominal.mul_f64(1.0 + JITTER * jitter.clamp(-1.0, 1.0))
}

/// A uniform sample from `[-1, 1]`.
pub fn jitter_sample() -> f64 {
    rand::random_range(-1.0..=1.0)
}

#[cfg(test)]
mod tests {
    use super::*;

    const CALLBACKS: Backoff = Backoff {
        initial: Duration::from_secs(10),
        max: Duration::from_secs(7200),
    };

    #[test]
    fn doubles_from_the_initial_delay_up_to_the_cap() {
        let schedule: Vec<u64> = (1..=12)
            .map(|n| delay(CALLBACKS, n, 0.0).as_secs())
            .collect();
        assert_eq!(
            schedule,
            [10, 20, 40, 80, 160, 320, 640, 1280, 2560, 5120, 7200, 7200]
        );
    }

    #[test]
    fn the_documented_default_schedule_spans_about_seventeen_hours() {
        let total: u64 = (1..18).map(|n| delay(CALLBACKS, n, 0.0).as_secs()).sum();
        assert_eq!(total, 10_230 + 7 * 7200);
        assert!(total < 24 * 3600);
    }

    #[test]
    fn jitter_stays_within_twenty_percent() {
        assert_eq!(delay(CALLBACKS, 1, -1.0), Duration::from_secs(8));
        assert_eq!(delay(CALLBACKS, 1, 1.0), Duration::from_secs(12));
        assert_eq!(delay(CALLBACKS, 1, 7.0), Duration::from_secs(12));
        for _ in 0..1000 {
            let d = delay(CALLBACKS, 3, jitter_sample()).as_secs_f64();
            assert!((32.0..=48.0).contains(&d), "{d}");
        }
    }

    #[test]
    fn huge_attempt_counts_stay_at_the_cap() {
        assert_eq!(delay(CALLBACKS, u32::MAX, 0.0), Duration::from_secs(7200));
        assert_eq!(delay(CALLBACKS, 0, 0.0), Duration::from_secs(10));
    }
}
