//! A call's receiver, read by its send loop every 20 ms: reads the caller's packets, latches the reply address, reports digits,
//! feeds the audio tap, and reports a silent (packet-less) line once.

use super::inbound::{Dropped, InboundPath};
use super::outbox::Outbox;
use super::stats::Counters;
use super::watched::Watched;
use super::{lock, MediaEvent, RtpOptions, SharedLatch};
use crate::media::port_pool::RtpSocket;
use crate::media::sdp::NegotiatedMedia;
use crate::media::srtp::{self, SrtpTransform};
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;
use tokio::sync::{mpsc, watch};
use tokio::time::Instant;

/// Larger than any G.711 packet (20 ms = 172 bytes; even 200 ms fits) and than a usual MTU.
pub(super) const DATAGRAM_BUFFER: usize = 2048;
/// 20 ms packets arrive one per tick; 16 per tick covers a phone's burst after a stall.
const MAX_DATAGRAMS_PER_TICK: usize = 16;

pub struct Receiver {
    socket: Arc<RtpSocket>,
    media: Watched<NegotiatedMedia>,
    tap: Watched<Option<mpsc::Sender<Vec<i16>>>>,
    latch: SharedLatch,
    events: Outbox,
    counters: Arc<Counters>,
    inactivity_timeout: Duration,
    inbound: InboundPath,
    /// The peer's SRTP context on an SRTP call (`None`: plain RTP).
    srtp: Option<SrtpTransform>,
    start: Instant,
    last_heard: Instant,
    timed_out: bool,
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
        let start = Instant::now();
        Receiver {
            socket,
            media: Watched::new(media),
            tap: Watched::new(tap),
            latch,
            events: Outbox::new(events),
            counters,
            inactivity_timeout: options.inactivity_timeout,
            inbound: InboundPath::new(options.inband_dtmf),
            srtp: None,
            start,
            last_heard: start,
            timed_out: false,
        }
    }

    /// Reads what arrived since the last tick, then checks the line for silence. Called by the
    /// send loop every 20 ms, so a packet waits at most one tick to be read: no wake-up per
    /// packet (issue 16), and 20 ms more at most before a key or relayed audio is acted on.
    pub(super) fn on_tick(&mut self, now: Instant, buf: &mut [u8; DATAGRAM_BUFFER]) {
        self.events.flush();
        self.tap.refresh();
        if self.media.refresh() {
            // A re-INVITE is a sign of life, and after an unhold the phone gets a full
            // timeout to resume sending.
            self.last_heard = now;
        }
        // At most a few ticks' worth of packets at a time: one peer flooding its port must not
        // hold up the loop's other calls (the kernel keeps the rest for the next tick).
        for _ in 0..MAX_DATAGRAMS_PER_TICK {
            match self.socket.try_recv_from(buf) {
                Ok((n, from)) => {
                    if self.on_datagram(&buf[..n], from, now) {
                        self.last_heard = now;
                    }
                }
                Err(e) if e.kind() == std::io::ErrorKind::WouldBlock => break,
                // Unconnected UDP sockets report nothing worth acting on (at most an ICMP
                // error for an earlier send on some systems); the next datagram may be fine.
                Err(e) => tracing::debug!(error = %e, "RTP receive failed"),
            }
        }
        // A held phone may legitimately send nothing, so the clock only runs off hold.
        if !self.timed_out
            && !self.media.get().on_hold()
            && now.saturating_duration_since(self.last_heard) >= self.inactivity_timeout
        {
            self.timed_out = true;
            tracing::info!(timeout = ?self.inactivity_timeout, "no RTP from the caller");
            self.events.send(MediaEvent::RtpTimeout);
        }
    }

    /// Handles one datagram; true if it was well-formed RTP, i.e. the phone is alive.
    fn on_datagram(&mut self, bytes: &[u8], from: SocketAddr, now: Instant) -> bool {
        let at_ms = now.saturating_duration_since(self.start).as_millis() as u64;
        // Decode only for a listener: the tap, or the in-band detector (the path knows).
        let want_audio = self.tap.get().is_some();
        let result = {
            let media = self.media.get();
            let wanted = media.srtp.as_ref().map(|k| (k.suite, &k.remote));
            SrtpTransform::follow(&mut self.srtp, srtp::Direction::Inbound, wanted);
            let decrypted;
            let rtp = match &mut self.srtp {
                None => bytes,
                Some(transform) => match transform.unprotect(bytes) {
                    Ok(plain) => {
                        decrypted = plain;
                        &decrypted[..]
                    }
                    Err(e) => {
                        // Not from the peer (or replayed): not a sign of life, not a source
                        // to latch on, and never audio or a key.
                        tracing::trace!(error = %e, "SRTP packet refused");
                        Counters::add(&self.counters.srtp_refused, 1);
                        return false;
                    }
                },
            };
            self.inbound.read(rtp, media, at_ms, want_audio)
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
            if let Some(tap) = self.tap.get() {
                // A full tap (a stalled recorder) must not stall the media path: drop the frame.
                if let Err(mpsc::error::TrySendError::Full(_)) = tap.try_send(pcm.to_vec()) {
                    Counters::add(&self.counters.tap_frames_dropped, 1);
                }
            }
        }
        for (digit, source) in accepted.digits {
            tracing::debug!(%digit, ?source, "digit");
            self.events.send(MediaEvent::Digit { digit, source });
        }
        true
    }
}
