//! At most so many deliveries in flight to one receiver (host and port), so
//! that a slow or dead receiver holds a bounded share of the delivery slots
//! and the others keep flowing.

use std::{
    collections::HashMap,
    sync::{Arc, Mutex},
    time::Duration,
};

use tokio::sync::{OwnedSemaphorePermit, Semaphore};

pub struct ReceiverLimits {
    per_receiver: usize,
    receivers: Mutex<HashMap<String, Arc<Semaphore>>>,
}

impl ReceiverLimits {
    pub fn new(per_receiver: usize) -> Self {
        Self {
            per_receiver: per_receiver.max(1),
            receivers: Mutex::default(),
        }
    }

    /// A slot for `receiver`, or `None` when none frees up within `wait`.
    pub async fn acquire(&self, receiver: &str, wait: Duration) -> Option<OwnedSemaphorePermit> {
        let semaphore = {
            let mut receivers = self.receivers.lock().unwrap_or_else(|p| p.into_inner());
            if receivers.len() > 10_000 {
                let full = self.per_receiver;
                receivers.retain(|_, s| s.available_permits() < full);
            }
            receivers
                .entry(receiver.to_owned())
                .or_insert_with(|| Arc::new(Semaphore::new(self.per_receiver)))
                .clone()
        };
        tokio::time::timeout(wait, semaphore.acquire_owned())
            .await
            .ok()?
            .ok()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn a_busy_receiver_does_not_block_another() {
        let limits = ReceiverLimits::new(2);
        let wait = Duration::from_millis(20);
        let a1 = limits.acquire("slow:443", wait).await.unwrap();
        let _a2 = limits.acquire("slow:443", wait).await.unwrap();
        assert!(limits.acquire("slow:443", wait).await.is_none());
        assert!(limits.acquire("fast:443", wait).await.is_some());
        drop(a1);
        assert!(limits.acquire("slow:443", wait).await.is_some());
    }
}
