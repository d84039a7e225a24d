//! A `watch` value copied into the call's own state and refreshed only when it changes.
//!
//! The media loops look at a call's negotiated media and audio tap several times per packet;
//! each `borrow` takes the channel's read lock (two atomic operations) and the profile at 2,000
//! calls had 2.3 % in the channel's state loads alone (issue 16). A re-INVITE or a new tap is
//! rare, so the call keeps a copy and pays one atomic load per tick to learn of a change.

use tokio::sync::watch;

pub(super) struct Watched<T> {
    channel: watch::Receiver<T>,
    current: T,
}

impl<T: Clone> Watched<T> {
    pub(super) fn new(mut channel: watch::Receiver<T>) -> Self {
        let current = channel.borrow_and_update().clone();
        Watched { channel, current }
    }

    /// Takes the newest value if it changed since the last look; true if it did. A closed
    /// channel keeps the last value.
    pub(super) fn refresh(&mut self) -> bool {
        if !self.channel.has_changed().unwrap_or(false) {
            return false;
        }
        self.current = self.channel.borrow_and_update().clone();
        true
    }

    pub(super) fn get(&self) -> &T {
        &self.current
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_change_is_seen_once_and_then_kept() {
        let (tx, rx) = watch::channel(1);
        let mut watched = Watched::new(rx);
        assert!(!watched.refresh());
        assert_eq!(*watched.get(), 1);
        tx.send(2).unwrap();
        assert!(watched.refresh());
        assert_eq!(*watched.get(), 2);
        assert!(!watched.refresh());
        drop(tx);
        assert!(!watched.refresh());
        assert_eq!(*watched.get(), 2);
    }
}
