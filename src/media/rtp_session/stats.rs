//! Counters both media tasks update and the call reads, lock-free.

use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;
use tokio::time::Instant;

/// What a media session has done so far.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct MediaStats {
    /// RTP packets sent (silence included).
    pub packets_sent: u64,
    /// Bytes of those packets, RTP header included (UDP/IP headers not).
    pub bytes_sent: u64,
    /// Well-formed RTP packets received (whatever their payload type).
    pub packets_received: u64,
    /// Bytes of those packets, RTP header included.
    pub bytes_received: u64,
    /// Datagrams dropped: not RTP version 2, truncated, an unexpected payload type, or a
    /// telephone-event payload that cannot be read.
    pub packets_dropped: u64,
    /// Frames never sent because the sender woke more than `MAX_LATENESS` late (a sign of an
    /// overloaded server; the stream's timestamps jump over them).
    pub frames_skipped: u64,
    /// Decoded frames the audio tap had no room for.
    pub tap_frames_dropped: u64,
    /// SRTP datagrams refused: a tag that does not authenticate, a replay, or too short.
    /// Never played, recorded or read for digits.
    pub srtp_refused: u64,
    /// When the last well-formed RTP packet arrived.
    pub last_received: Option<Instant>,
}

#[derive(Debug)]
pub(super) struct Counters {
    origin: Instant,
    pub(super) packets_sent: AtomicU64,
    pub(super) bytes_sent: AtomicU64,
    pub(super) packets_received: AtomicU64,
    pub(super) bytes_received: AtomicU64,
    pub(super) packets_dropped: AtomicU64,
    pub(super) frames_skipped: AtomicU64,
    pub(super) tap_frames_dropped: AtomicU64,
    pub(super) srtp_refused: AtomicU64,
    /// Nanoseconds after `origin` plus one; zero until a packet arrived.
    last_received: AtomicU64,
}

impl Counters {
    pub(super) fn new() -> Self {
        Counters {
            origin: Instant::now(),
            packets_sent: AtomicU64::new(0),
            bytes_sent: AtomicU64::new(0),
            packets_received: AtomicU64::new(0),
            bytes_received: AtomicU64::new(0),
            packets_dropped: AtomicU64::new(0),
            frames_skipped: AtomicU64::new(0),
            tap_frames_dropped: AtomicU64::new(0),
            srtp_refused: AtomicU64::new(0),
            last_received: AtomicU64::new(0),
        }
    }

    pub(super) fn add(counter: &AtomicU64, n: u64) {
        counter.fetch_add(n, Ordering::Relaxed);
    }

    pub(super) fn received(&self, bytes: usize, at: Instant) {
        Self::add(&self.packets_received, 1);
        Self::add(&self.bytes_received, bytes as u64);
        let nanos = at.saturating_duration_since(self.origin).as_nanos() as u64;
        self.last_received
            .store(nanos.saturating_add(1), Ordering::Relaxed);
    }

    pub(super) fn snapshot(&self) -> MediaStats {
        let load = |c: &AtomicU64| c.load(Ordering::Relaxed);
        let last = load(&self.last_received);
        MediaStats {
            packets_sent: load(&self.packets_sent),
            bytes_sent: load(&self.bytes_sent),
            packets_received: load(&self.packets_received),
            bytes_received: load(&self.bytes_received),
            packets_dropped: load(&self.packets_dropped),
            frames_skipped: load(&self.frames_skipped),
            tap_frames_dropped: load(&self.tap_frames_dropped),
            srtp_refused: load(&self.srtp_refused),
            last_received: (last > 0).then(|| self.origin + Duration::from_nanos(last - 1)),
        }
    }
}
