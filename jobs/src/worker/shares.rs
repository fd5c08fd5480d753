//! Fair shares between clients within one process: a client holds at most
//! `cap` of a pool's slots (execution or delivery), so that another
//! client's work always finds one free. Work of a client at its cap goes
//! back to the queue for a while; the more of it there is, the longer the
//! wait, so that a flood is not fetched and put back over and over.

use std::{
    collections::HashMap,
    sync::{Arc, Mutex, MutexGuard},
    time::Duration,
};

use jobcall_entity::ClientId;

/// Slots per client in one pool.
pub(super) struct ClientShares {
    cap: usize,
    state: Arc<Mutex<HashMap<ClientId, Share>>>,
}

#[derive(Default)]
struct Share {
    held: usize,
    /// Tasks of this client put back since it last got a slot: how crowded
    /// its line is.
    put_back: usize,
}

/// A client's slot, given back on drop.
pub(super) struct ClientSlot {
    client: ClientId,
    state: Arc<Mutex<HashMap<ClientId, Share>>>,
}

impl ClientShares {
    /// The most put-back delay: a task of a client at its cap is tried
    /// again within this.
    const MAX_WAIT: Duration = Duration::from_secs(30);

    pub(super) fn new(cap: usize) -> Self {
        Self {
            cap: cap.max(1),
            state: Arc::default(),
        }
    }

    /// A slot for `client`, unless it holds its share already.
    pub(super) fn try_acquire(&self, client: &ClientId) -> Option<ClientSlot> {
        let mut state = lock(&self.state);
        let share = state.entry(client.clone()).or_default();
        if share.held >= self.cap {
            return None;
        }
        share.held += 1;
        share.put_back = 0;
        Some(ClientSlot {
            client: client.clone(),
            state: self.state.clone(),
        })
    }

    /// How long a task of `client`, refused a slot, waits before it is
    /// tried again: a second per `cap` tasks put back before it, so that
    /// its line comes back at about the pace its slots free up.
    pub(super) fn put_back(&self, client: &ClientId) -> Duration {
        let mut state = lock(&self.state);
        let share = state.entry(client.clone()).or_default();
        share.put_back += 1;
        let rounds = share.put_back.div_ceil(self.cap) as u32;
        (Duration::from_secs(1) * rounds).min(Self::MAX_WAIT)
    }
}

impl Drop for ClientSlot {
    fn drop(&mut self) {
        let mut state = lock(&self.state);
        if let Some(share) = state.get_mut(&self.client) {
            share.held = share.held.saturating_sub(1);
            if share.held == 0 && share.put_back == 0 {
                state.remove(&self.client);
            }
        }
    }
}

fn lock(state: &Mutex<HashMap<ClientId, Share>>) -> MutexGuard<'_, HashMap<ClientId, Share>> {
    state.lock().unwrap_or_else(|p| p.into_inner())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_client_holds_at_most_its_cap_and_others_still_get_slots() {
        let shares = ClientShares::new(2);
        let (a, b) = (ClientId::generate(), ClientId::generate());
        let a1 = shares.try_acquire(&a).unwrap();
        let _a2 = shares.try_acquire(&a).unwrap();
        assert!(shares.try_acquire(&a).is_none());
        assert!(shares.try_acquire(&b).is_some());
        drop(a1);
        assert!(shares.try_acquire(&a).is_some());
    }

    #[test]
    fn a_longer_line_waits_longer_up_to_a_bound() {
        let shares = ClientShares::new(2);
        let a = ClientId::generate();
        let _held = (shares.try_acquire(&a), shares.try_acquire(&a));
        let waits: Vec<_> = (0..6).map(|_| shares.put_back(&a).as_secs()).collect();
        assert_eq!(waits, [1, 1, 2, 2, 3, 3]);
        for _ in 0..1000 {
            shares.put_back(&a);
        }
        assert_eq!(shares.put_back(&a), ClientShares::MAX_WAIT);
    }
}
