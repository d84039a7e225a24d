//! Events for the call task, sent in order without ever waiting: the media loop serves other
//! calls and must not wait for one slow call task. What the call's queue has no room for waits
//! here, in order, and goes out at the next tick (`flush`) before anything newer.

use super::MediaEvent;
use std::collections::VecDeque;
use tokio::sync::mpsc;
use tokio::sync::mpsc::error::TrySendError;

#[derive(Debug)]
pub(super) struct Outbox {
    events: mpsc::Sender<MediaEvent>,
    /// Events the queue had no room for, oldest first. Bounded in practice by what a call
    /// produces while its task does not read (keys and playback ends, a few a second).
    backlog: VecDeque<MediaEvent>,
}

impl Outbox {
    pub(super) fn new(events: mpsc::Sender<MediaEvent>) -> Self {
        Outbox {
            events,
            backlog: VecDeque::new(),
        }
    }

    /// Queues `event` after everything not yet delivered.
    pub(super) fn send(&mut self, event: MediaEvent) {
        self.backlog.push_back(event);
        self.flush();
    }

    /// Moves what waits here into the call's queue, oldest first, as far as there is room.
    pub(super) fn flush(&mut self) {
        while let Some(event) = self.backlog.pop_front() {
            match self.events.try_send(event) {
                Ok(()) => {}
                Err(TrySendError::Full(event)) => {
                    self.backlog.push_front(event);
                    return;
                }
                // The call is gone: nobody will read them.
                Err(TrySendError::Closed(_)) => {
                    self.backlog.clear();
                    return;
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::super::PlaybackId;
    use super::*;

    #[test]
    fn events_beyond_the_queue_wait_and_arrive_in_order() {
        let (tx, mut rx) = mpsc::channel(2);
        let mut outbox = Outbox::new(tx);
        let finished = |n| MediaEvent::PlaybackFinished(PlaybackId(n));
        for n in 1..=5 {
            outbox.send(finished(n));
        }
        let mut seen = Vec::new();
        let mut read = |rx: &mut mpsc::Receiver<MediaEvent>| {
            while let Ok(MediaEvent::PlaybackFinished(PlaybackId(n))) = rx.try_recv() {
                seen.push(n);
            }
        };
        read(&mut rx);
        // Room again, but 3, 4 and 5 are older: 6 must not overtake them.
        outbox.send(finished(6));
        for _ in 0..3 {
            read(&mut rx);
            outbox.flush();
        }
        assert_eq!(seen, [1, 2, 3, 4, 5, 6]);
        drop(rx);
        outbox.send(MediaEvent::RtpTimeout);
        assert!(
            outbox.backlog.is_empty(),
            "nothing kept for a call that is gone"
        );
    }
}
