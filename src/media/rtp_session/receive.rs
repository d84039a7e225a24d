//! The receiver task: reads the caller's packets, latches the reply address, reports digits,
//! feeds the audio tap, and reports a silent (packet-less) line once.

use super::inbound::{Dropped, InboundPath};
use super::stats::Counters;
use super::{lock, MediaEvent, RtpOptions, SharedLatch};
use crate::media::port_pool::RtpSocket;
use crate::media::sdp::NegotiatedMedia;
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;
use tokio::sync::{mpsc, watch};
use tokio::time::Instant;

/// Larger than any G.711 packet (20 ms = 172 bytes; even 200 ms fits) and than a usual MTU.
const DATAGRAM_BUFFER: usize = 2048;

pub struct Receiver {
    socket: Arc<RtpSocket>,
    media: watch::Receiver<NegotiatedMedia>,
    tap: watch::Receiver<Option<mpsc::Sender<Vec<i16>>>>,
    latch: SharedLatch,
    events: mpsc::Sender<MediaEvent>,
    counters: Arc<Counters>,
    inactivity_timeout: Duration,
    inbound: InboundPath,
    start: Instant,
}

impl Receiver {
    pub fn new(
        socket: Arc<RtpSocket>,
        media: watch::Receiver<NegotiatedMedia>,
        tap: watch::Receiver<Option<mpsc::Sender<Vec<i16>>>>,
        latch: SharedLatch,
        events: mpsc::Sender<MediaEvent>,
        counters: Arc<Counters>,
        options: &RtpOptions,
    ) -> Self {
        Receiver {
            socket,
            media,
            tap,
            latch,
            events,
            counters,
            inactivity_timeout: options.inactivity_timeout,
            inbound: InboundPath::new(options.inband_dtmf),
            start: Instant::now(),
        }
    }

    pub async fn run(mut self) {
        let mut buf = vec![0u8; DATAGRAM_BUFFER];
        let mut last_heard = self.start;
        let mut timed_out = false;
        // Both waits below live for the whole session instead of being made anew for every
        // packet: a fresh timer per packet was an insertion into and a removal from the timer
        // wheel, and a fresh `changed()` a registration on the watch, 50 times a second per
        // call (4 % of the server's profile at 1,500 calls, issue 16). The silence timer is
        // only moved when it fires early, i.e. about once per inactivity timeout.
        let silence = tokio::time::sleep_until(self.start + self.inactivity_timeout);
        tokio::pin!(silence);
        let mut changes = Box::pin(next_change(self.media.clone()));
        loop {
            // A held phone may legitimately send nothing, so the clock only runs off hold.
            let watching = !timed_out && !self.media.borrow().on_hold();
            tokio::select! {
                received = self.socket.socket().recv_from(&mut buf) => match received {
                    Ok((n, from)) => {
                        let now = Instant::now();
                        if self.on_datagram(&buf[..n], from, now).await {
                            last_heard = now;
                        }
                    }
                    // Unconnected UDP sockets report nothing worth acting on (at most an ICMP
                    // error for an earlier send on some systems); the next datagram may be fine.
                    Err(e) => tracing::debug!(error = %e, "RTP receive failed"),
                },
                (changed, media) = &mut changes => {
                    if changed.is_err() {
                        return; // The session is gone.
                    }
                    changes = Box::pin(next_change(media));
                    // A re-INVITE is a sign of life, and after an unhold the phone gets a full
                    // timeout to resume sending.
                    last_heard = Instant::now();
                }
                () = &mut silence, if watching => {
                    let deadline = last_heard + self.inactivity_timeout;
                    if Instant::now() < deadline {
                        // Heard from since the timer was set: wait for the rest.
                        silence.as_mut().reset(deadline);
                        continue;
                    }
                    timed_out = true;
                    tracing::info!(timeout = ?self.inactivity_timeout, "no RTP from the caller");
                    let _ = self.events.send(MediaEvent::RtpTimeout).await;
                }
            }
        }
    }

    /// Handles one datagram; true if it was well-formed RTP, i.e. the phone is alive.
    async fn on_datagram(&mut self, bytes: &[u8], from: SocketAddr, now: Instant) -> bool {
        let at_ms = now.saturating_duration_since(self.start).as_millis() as u64;
        // Decode only for a listener: the tap, or the in-band detector (the path knows).
        let want_audio = self.tap.borrow().is_some();
        let result = {
            let media = self.media.borrow();
            self.inbound.read(bytes, &media, at_ms, want_audio)
        };
        if result == Err(Dropped::NotRtp) {
            Counters::add(&self.counters.packets_dropped, 1);
            return false;
        }
        self.counters.received(bytes.len(), now);
        {
            // Latch on the first RTP packet only (not on garbage, which anyone can send).
            // Later packets from elsewhere are still heard but do not move the stream: a
            // stray sender must not be able to redirect the caller's audio.
            let mut latch = lock(&self.latch);
            if latch.learned.is_none() {
                latch.learned = Some(from);
                if from != latch.sdp {
                    tracing::debug!(sdp = %latch.sdp, actual = %from, "symmetric RTP: replying to the packets' source");
                }
            }
        }
        let accepted = match result {
            Ok(accepted) => accepted,
            Err(reason) => {
                tracing::trace!(?reason, "RTP packet dropped");
                Counters::add(&self.counters.packets_dropped, 1);
                return true;
            }
        };
        if let Some(pcm) = accepted.audio {
            let tap = self.tap.borrow();
            if let Some(tap) = tap.as_ref() {
                // A full tap (a stalled recorder) must not stall the media path: drop the frame.
                if let Err(mpsc::error::TrySendError::Full(_)) = tap.try_send(pcm.to_vec()) {
                    Counters::add(&self.counters.tap_frames_dropped, 1);
                }
            }
        }
        for (digit, source) in accepted.digits {
            tracing::debug!(%digit, ?source, "digit");
            // Waiting here only delays reading the socket (the kernel buffers meanwhile); the
            // sender keeps its pace. A digit is worth the wait: dropping it would lose a key.
            let _ = self.events.send(MediaEvent::Digit { digit, source }).await;
        }
        true
    }
}

/// The next change of the negotiated media, with the receiver to wait for the one after: an
/// owned future, so the receive loop can keep it across iterations.
async fn next_change(
    mut media: watch::Receiver<NegotiatedMedia>,
) -> (
    Result<(), watch::error::RecvError>,
    watch::Receiver<NegotiatedMedia>,
) {
    let changed = media.changed().await;
    (changed, media)
}
