//! Whether each queue's worker in this process is running and recently
//! alive, for readiness.

use std::{
    sync::atomic::{AtomicBool, AtomicU64, Ordering},
    time::{Duration, Instant},
};

use crate::queue::Queue;

/// Whether each queue's worker is running and recently alive.
#[derive(Default)]
pub struct WorkerHealth {
    execute: QueueHealth,
    deliver: QueueHealth,
}

/// Liveness is measured on the monotonic clock: it is about this process's
/// own workers answering, not about a time anything is stored or scheduled at.
struct QueueHealth {
    running: AtomicBool,
    /// Milliseconds after `since` the worker was last heard from.
    last_alive_ms: AtomicU64,
    since: Instant,
}

impl Default for QueueHealth {
    fn default() -> Self {
        Self {
            running: AtomicBool::new(false),
            last_alive_ms: AtomicU64::new(0),
            since: Instant::now(),
        }
    }
}

impl WorkerHealth {
    fn of(&self, queue: Queue) -> &QueueHealth {
        match queue {
            Queue::Execute => &self.execute,
            Queue::Deliver => &self.deliver,
        }
    }

    pub(super) fn alive(&self, queue: Queue) {
        let health = self.of(queue);
        health.running.store(true, Ordering::Relaxed);
        let alive = health.since.elapsed().as_millis() as u64;
        health.last_alive_ms.store(alive, Ordering::Relaxed);
    }

    pub(super) fn stopped(&self, queue: Queue) {
        self.of(queue).running.store(false, Ordering::Relaxed);
    }

    /// The queues whose worker is not running, or has not been heard from
    /// within `silence`.
    pub fn unhealthy(&self, silence: Duration) -> Vec<Queue> {
        Queue::ALL
            .into_iter()
            .filter(|queue| {
                let health = self.of(*queue);
                let now = health.since.elapsed().as_millis() as u64;
                !health.running.load(Ordering::Relaxed)
                    || now.saturating_sub(health.last_alive_ms.load(Ordering::Relaxed))
                        > silence.as_millis() as u64
            })
            .collect()
    }
}
