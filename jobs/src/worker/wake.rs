//! When an idle apalis worker looks for tasks: at once when this process
//! queued one (or a delayed one fell due, or another process announced one),
//! and otherwise every poll interval.

use std::{
    future::Future,
    pin::Pin,
    sync::Arc,
    task::{Context, Poll},
    time::Duration,
};

use apalis_core::backend::ext::poll_strategy::{PollSnapshot, PollStrategy};
use tokio::{
    sync::{Notify, futures::OwnedNotified},
    time::{Instant, Sleep},
};

pub(crate) struct WakeStrategy {
    notify: Arc<Notify>,
    notified: Pin<Box<OwnedNotified>>,
    interval: Duration,
    tick: Pin<Box<Sleep>>,
}

impl WakeStrategy {
    pub(crate) fn new(notify: Arc<Notify>, interval: Duration) -> Self {
        Self {
            notified: Box::pin(notify.clone().notified_owned()),
            notify,
            interval,
            tick: Box::pin(tokio::time::sleep(interval)),
        }
    }
}

impl PollStrategy for WakeStrategy {
    fn poll_drive(&mut self, cx: &mut Context<'_>, _: &PollSnapshot) -> Poll<Option<()>> {
        let mut woken = false;
        // Re-arm after every wakeup, so the waker stays registered.
        while self.notified.as_mut().poll(cx).is_ready() {
            self.notified = Box::pin(self.notify.clone().notified_owned());
            woken = true;
        }
        while self.tick.as_mut().poll(cx).is_ready() {
            self.tick.as_mut().reset(Instant::now() + self.interval);
            woken = true;
        }
        if woken {
            Poll::Ready(Some(()))
        } else {
            Poll::Pending
        }
    }
}
