//! The media loops: one task per runtime worker wakes every 20 ms and, for every call it
//! serves, reads what the caller sent and sends the frame that is due.
//!
//! A send task with its timer and a receive task per call cost, 50 times a second per call and
//! direction, a wake-up and a task switch, plus a timer-wheel insert and removal and a look at
//! the call's command queue (issue 16's profiles: the timer wheel ~4 %, the command queue ~3 %,
//! epoll wake-ups, scheduling and futex wake-ups more). Here the calls of one loop share one
//! timer and one wake-up per 20 ms, commands for all of them arrive on one queue drained once
//! per tick, and sockets are read without waiting (a packet waits at most one tick, 20 ms, to
//! be read). Each call's frames stay on its own absolute 20 ms grid (`pacer.rs`); the loop
//! starts that grid on one of its ticks when the call joins, so a call's frames are due exactly
//! when the loop wakes.
//!
//! The loops of a runtime tick out of phase (loop `i` of `n` is `i × 20 / n` ms later), so
//! their bursts of sends interleave rather than land together. A loop with no call waits on
//! its queue and does not tick: an idle server does not wake.

use super::loop_lag::{smoothed, LoopLags};
use super::receive::{Receiver, DATAGRAM_BUFFER};
use super::send::{Buffers, Sender};
use super::PlayoutCommand;
use crate::media::rtp_session::FRAME;
use std::collections::HashMap;
use std::panic::{catch_unwind, AssertUnwindSafe};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Mutex, PoisonError};
use std::time::Duration;
use tokio::runtime::{self, Handle};
use tokio::sync::{mpsc, oneshot};
use tokio::time::Instant;

/// One call's two halves, served together: read first, so the reply address is latched and a
/// relayed leg's audio is current before the frame is sent.
pub(super) struct Call {
    pub(super) sender: Sender,
    pub(super) receiver: Receiver,
}

enum Message {
    Join(u64, Box<Call>),
    Command(u64, PlayoutCommand),
    /// The call's media closes; the call (and its hold on the socket) is dropped, then the
    /// reply, if any, says so.
    Leave(u64, Option<oneshot::Sender<()>>),
}

/// A call's place in a media loop: commands for its sender, and leaving (on drop too).
#[derive(Debug)]
pub(super) struct LoopHandle {
    queue: mpsc::UnboundedSender<Message>,
    key: u64,
}

impl std::fmt::Debug for Message {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Message::Join(key, _) => write!(f, "Join({key})"),
            Message::Command(key, command) => write!(f, "Command({key}, {command:?})"),
            Message::Leave(key, _) => write!(f, "Leave({key})"),
        }
    }
}

impl LoopHandle {
    /// Takes effect on the call's next frame.
    pub(super) fn command(&self, command: PlayoutCommand) {
        let _ = self.queue.send(Message::Command(self.key, command));
    }

    /// Stops the call's media and waits (at most one tick) until the loop has let it go, so the
    /// socket is released when this returns. Returns at once if the loop is gone.
    pub(super) async fn leave(&self) {
        let (done, gone) = oneshot::channel();
        if self
            .queue
            .send(Message::Leave(self.key, Some(done)))
            .is_ok()
        {
            let _ = gone.await;
        }
    }
}

impl Drop for LoopHandle {
    fn drop(&mut self) {
        // After `leave` the key is unknown to the loop and this does nothing.
        let _ = self.queue.send(Message::Leave(self.key, None));
    }
}

/// The loops of one runtime. Tests run many runtimes in one process, and a loop lives and dies
/// with the runtime that spawned it, so each runtime gets its own.
struct Loops {
    runtime: runtime::Id,
    queues: Vec<mpsc::UnboundedSender<Message>>,
    next: usize,
}

static LOOPS: Mutex<Vec<Loops>> = Mutex::new(Vec::new());
static NEXT_KEY: AtomicU64 = AtomicU64::new(1);

/// Hands `call` to a media loop of the current runtime (started on first use), round robin.
/// Must be called inside a tokio runtime.
pub(super) fn join(call: Call) -> LoopHandle {
    let runtime = Handle::current();
    let id = runtime.id();
    let mut all = LOOPS.lock().unwrap_or_else(PoisonError::into_inner);
    // A runtime that has shut down dropped its loops: forget them.
    all.retain(|l| l.queues.iter().all(|q| !q.is_closed()));
    let index = match all.iter().position(|l| l.runtime == id) {
        Some(index) => index,
        None => {
            let n = runtime.metrics().num_workers().max(1);
            let lags = LoopLags::new(n);
            let queues = (0..n)
                .map(|i| {
                    let (queue, messages) = mpsc::unbounded_channel();
                    let phase = FRAME * i as u32 / n as u32;
                    runtime.spawn(run(messages, phase, lags.clone(), i));
                    queue
                })
                .collect();
            all.push(Loops {
                runtime: id,
                queues,
                next: 0,
            });
            all.len() - 1
        }
    };
    let loops = &mut all[index];
    let queue = loops.queues[loops.next % loops.queues.len()].clone();
    loops.next = loops.next.wrapping_add(1);
    drop(all);
    let key = NEXT_KEY.fetch_add(1, Ordering::Relaxed);
    let _ = queue.send(Message::Join(key, Box::new(call)));
    LoopHandle { queue, key }
}

/// The first point of the loop's grid (`origin + k × 20 ms`) at or after `now`.
fn tick_at_or_after(origin: Instant, now: Instant) -> Instant {
    if now <= origin {
        return origin;
    }
    let frame = FRAME.as_nanos() as u64;
    let elapsed = (now - origin).as_nanos() as u64;
    origin + Duration::from_nanos(elapsed.div_ceil(frame) * frame)
}

async fn run(
    mut messages: mpsc::UnboundedReceiver<Message>,
    phase: Duration,
    lags: LoopLags,
    index: usize,
) {
    let origin = Instant::now() + phase;
    let mut calls: HashMap<u64, Box<Call>> = HashMap::new();
    let mut buffers = Buffers::default();
    let mut datagram = Box::new([0u8; DATAGRAM_BUFFER]);
    let mut tick = origin;
    let mut lag_us = 0;
    loop {
        if calls.is_empty() {
            lag_us = 0;
            lags.publish(index, lag_us);
            // Idle: no timer until a call joins.
            let Some(message) = messages.recv().await else {
                return;
            };
            tick = tick_at_or_after(origin, Instant::now());
            apply(&mut calls, message, tick);
        }
        tokio::time::sleep_until(tick).await;
        let now = Instant::now();
        loop {
            match messages.try_recv() {
                Ok(message) => apply(&mut calls, message, tick),
                Err(mpsc::error::TryRecvError::Empty) => break,
                Err(mpsc::error::TryRecvError::Disconnected) => return,
            }
        }
        calls.retain(|key, call| {
            // A panic in one call's media ends that call's media, not the loop's other calls
            // (as a task of its own would).
            let served = catch_unwind(AssertUnwindSafe(|| {
                call.receiver.on_tick(now, &mut datagram);
                call.sender.on_tick(now, &mut buffers);
            }));
            if served.is_err() {
                tracing::error!(
                    call = key,
                    "RTP media panicked; the call sends and reads no more audio"
                );
            }
            served.is_ok()
        });
        lag_us = smoothed(lag_us, Instant::now().saturating_duration_since(tick));
        lags.publish(index, lag_us);
        // The next tick after now: a loop that woke late does not tick in a burst to catch
        // up; each sender's pacer decides what it still owes.
        tick = tick_at_or_after(origin, now + Duration::from_nanos(1));
    }
}

fn apply(calls: &mut HashMap<u64, Box<Call>>, message: Message, tick: Instant) {
    match message {
        Message::Join(key, mut call) => {
            call.sender.start_at(tick);
            calls.insert(key, call);
        }
        Message::Command(key, command) => {
            if let Some(call) = calls.get_mut(&key) {
                call.sender.command(command);
            }
        }
        Message::Leave(key, done) => {
            drop(calls.remove(&key));
            if let Some(done) = done {
                let _ = done.send(());
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ticks_are_on_the_grid_at_or_after_now() {
        let origin = Instant::now();
        let ms = Duration::from_millis;
        assert_eq!(tick_at_or_after(origin, origin), origin);
        assert_eq!(tick_at_or_after(origin, origin - ms(5)), origin);
        assert_eq!(tick_at_or_after(origin, origin + ms(1)), origin + ms(20));
        assert_eq!(tick_at_or_after(origin, origin + ms(20)), origin + ms(20));
        assert_eq!(tick_at_or_after(origin, origin + ms(41)), origin + ms(60));
    }
}
