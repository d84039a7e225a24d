//! One call's RTP: paced G.711 sending, receiving, DTMF detection, symmetric RTP, inactivity.
//!
//! A [`MediaSession`] owns the call's UDP socket, shared by two parts:
//! - the **sender** (`send.rs`) takes, on a monotonic 20 ms grid (`pacer.rs`), the next frame
//!   of the prompt queue (`playout.rs`) or silence, and sends it;
//! - the **receiver** (`receive.rs`) parses what the caller sends, feeds the DTMF detectors and
//!   the audio tap, latches the reply address, and watches for inactivity.
//!
//! Neither is a task: a media loop (`media_loop.rs`) serves both, with the other calls of a
//! runtime worker, every 20 ms. Neither ever waits (events a slow call task has not read yet
//! wait, in order, in `outbox.rs`), so nothing on the receive side can delay a send
//! deadline. What they share is small: the negotiated media (a `watch`, changed by
//! re-INVITEs), the reply address (`Latch`, a lock held for a copy), and counters. Dropping or
//! closing the session takes the call out of its loop; the socket, and so its port, is freed
//! when the loop lets it go.

mod digits_out;
/// Public for the fuzz target (`fuzz/fuzz_targets/rtp_telephone_event.rs`): every datagram
/// that reaches a call's RTP port goes through it first.
pub mod inbound;
mod live;
mod loop_lag;
mod media_loop;
mod outbox;
mod pacer;
mod playout;
mod receive;
mod send;
mod stats;
mod watched;

pub use stats::MediaStats;

use super::dtmf::{Digit, InbandPolicy};
use super::port_pool::RtpSocket;
use super::prompt::Prompt;
use super::sdp::NegotiatedMedia;
use stats::Counters;
use std::net::SocketAddr;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, PoisonError};
use std::time::Duration;
use tokio::sync::{mpsc, watch};

/// 20 ms of 8 kHz audio: the packet size every G.711 phone expects (RFC 3551 §4.5). We always
/// send 20 ms packets and announce `ptime:20`; what the phone sends may differ, and is decoded
/// whatever its length.
pub const FRAME_SAMPLES: usize = 160;
/// The send period matching [`FRAME_SAMPLES`].
pub const FRAME: Duration = Duration::from_millis(20);
/// How many events may wait for the call task before the receiver waits for it.
const EVENT_QUEUE: usize = 64;

/// Options from the configuration.
#[derive(Debug, Clone)]
pub struct RtpOptions {
    /// No RTP from the caller for this long ends the call (issue 2: default 30 s). Paused while
    /// the call is on hold, since a held phone may legitimately send nothing.
    pub inactivity_timeout: Duration,
    /// When the caller's audio is searched for DTMF tones (`media.inband_dtmf`).
    pub inband_dtmf: InbandPolicy,
}

impl Default for RtpOptions {
    fn default() -> Self {
        RtpOptions {
            inactivity_timeout: Duration::from_secs(30),
            inband_dtmf: InbandPolicy::default(),
        }
    }
}

/// Identifies one [`MediaSession::play`] request, so the call knows which playback finished.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct PlaybackId(u64);

/// Where a digit came from.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum DigitSource {
    /// RTP telephone-event packets (RFC 4733).
    Rfc4733,
    /// The dual tone in the caller's audio, found by the Goertzel detector.
    Inband,
}

/// What the media session reports to its call.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum MediaEvent {
    /// A key press, reported once however it was sent (both ways at once included).
    Digit { digit: Digit, source: DigitSource },
    /// The last frame of this playback was sent. Not reported for a stopped playback.
    PlaybackFinished(PlaybackId),
    /// No RTP from the caller for the configured time; reported once per session.
    RtpTimeout,
}

/// Where our RTP goes: the SDP address until the caller's first packet shows where it really
/// is (symmetric RTP, RFC 4961; the "comedia" practice of SBCs and PBXs). Behind a NAT the SDP
/// names a private address, and only the source of the caller's packets is reachable.
#[derive(Debug)]
struct Latch {
    sdp: SocketAddr,
    learned: Option<SocketAddr>,
}

impl Latch {
    fn target(&self) -> SocketAddr {
        self.learned.unwrap_or(self.sdp)
    }
}

type SharedLatch = Arc<Mutex<Latch>>;

fn lock(latch: &SharedLatch) -> std::sync::MutexGuard<'_, Latch> {
    // The lock only guards a copy of two addresses; a panic elsewhere cannot leave it torn.
    latch.lock().unwrap_or_else(PoisonError::into_inner)
}

/// Instructions for the sender.
#[derive(Debug)]
enum PlayoutCommand {
    Play(PlaybackId, Vec<Arc<Prompt>>),
    Stop,
    /// Another leg's audio to play whenever no prompt is queued (`None`: back to silence).
    Live(Option<mpsc::Receiver<Vec<i16>>>),
    /// A key to send as an RFC 4733 event.
    Digit(Digit),
}

/// The handle a call holds on its media. Dropping it stops the media.
#[derive(Debug)]
pub struct MediaSession {
    playout: media_loop::LoopHandle,
    media: watch::Sender<NegotiatedMedia>,
    tap: watch::Sender<Option<mpsc::Sender<Vec<i16>>>>,
    latch: SharedLatch,
    counters: Arc<Counters>,
    next_playback: AtomicU64,
}

impl MediaSession {
    /// Starts sending (silence until something is played) and receiving on `socket`, as
    /// negotiated. Must be called inside a tokio runtime.
    pub fn start(
        socket: RtpSocket,
        media: NegotiatedMedia,
        options: RtpOptions,
    ) -> (MediaSession, mpsc::Receiver<MediaEvent>) {
        let socket = Arc::new(socket);
        let (events_tx, events) = mpsc::channel(EVENT_QUEUE);
        let latch = Arc::new(Mutex::new(Latch {
            sdp: media.remote,
            learned: None,
        }));
        let (media_tx, media_rx) = watch::channel(media);
        let (tap, tap_rx) = watch::channel(None);
        let counters = Arc::new(Counters::new());
        let sender = send::Sender::new(
            socket.clone(),
            media_rx.clone(),
            latch.clone(),
            events_tx.clone(),
            counters.clone(),
        );
        let receiver = receive::Receiver::new(
            socket,
            media_rx,
            tap_rx,
            latch.clone(),
            events_tx,
            counters.clone(),
            &options,
        );
        let playout = media_loop::join(media_loop::Call { sender, receiver });
        (
            MediaSession {
                playout,
                media: media_tx,
                tap,
                latch,
                counters,
                next_playback: AtomicU64::new(1),
            },
            events,
        )
    }

    /// Queues prompts after whatever is already queued; they are sent as 20 ms packets, the
    /// first with the marker bit. `PlaybackFinished` with the returned id follows when the last
    /// frame is sent. An empty list finishes at the next frame.
    pub fn play(&self, prompts: Vec<Arc<Prompt>>) -> PlaybackId {
        let id = PlaybackId(self.next_playback.fetch_add(1, Ordering::Relaxed));
        self.playout.command(PlayoutCommand::Play(id, prompts));
        id
    }

    /// Barge-in: drops everything queued; the next 20 ms frame is silence. No
    /// `PlaybackFinished` is reported for what was stopped.
    pub fn stop_playback(&self) {
        self.playout.command(PlayoutCommand::Stop);
    }

    /// Plays `source` (decoded 8 kHz audio, e.g. another leg's tap) whenever no prompt is
    /// queued, re-framed to 20 ms and encoded in this leg's codec; `None` stops it. Prompts
    /// played meanwhile (music on hold, an announcement) take the line over it.
    pub fn set_live_source(&self, source: Option<mpsc::Receiver<Vec<i16>>>) {
        self.playout.command(PlayoutCommand::Live(source));
    }

    /// Sends a key to the peer as an RFC 4733 telephone-event (dropped if none was negotiated).
    pub fn send_digit(&self, digit: Digit) {
        self.playout.command(PlayoutCommand::Digit(digit));
    }

    /// Whether the peer has put us on hold (sendonly, inactive, or no address).
    pub fn on_hold(&self) -> bool {
        self.media.borrow().on_hold()
    }

    /// Whether this leg's RTP is SRTP.
    pub fn uses_srtp(&self) -> bool {
        self.media.borrow().srtp.is_some()
    }

    /// The codec this leg uses.
    pub fn codec(&self) -> crate::media::g711::G711 {
        self.media.borrow().codec
    }

    /// New remote media from a re-INVITE: address, codec, payload types, hold or unhold.
    /// A new address forgets the latched one: the phone's packets will come from elsewhere.
    pub fn update_remote(&self, media: NegotiatedMedia) {
        {
            let mut latch = lock(&self.latch);
            if latch.sdp != media.remote {
                latch.sdp = media.remote;
                latch.learned = None;
            }
        }
        self.media.send_replace(media);
    }

    /// Sends the caller's decoded audio (8 kHz, one packet's worth per message, in arrival
    /// order) to `tap`, or stops with `None`. A full tap drops frames rather than stall the
    /// media path; `MediaStats::tap_frames_dropped` counts them.
    pub fn set_audio_tap(&self, tap: Option<mpsc::Sender<Vec<i16>>>) {
        self.tap.send_replace(tap);
    }

    /// Where our packets go now (the latched source of the caller's packets, or the SDP
    /// address before any arrived).
    pub fn remote_target(&self) -> SocketAddr {
        lock(&self.latch).target()
    }

    /// Counters, readable while the call runs.
    pub fn stats(&self) -> MediaStats {
        self.counters.snapshot()
    }

    /// Stops the media and waits (at most one 20 ms tick) until its loop has let the socket go,
    /// so the port is back in the pool when this returns. Dropping the session stops it too,
    /// without waiting.
    pub async fn close(self) -> MediaStats {
        self.playout.leave().await;
        self.counters.snapshot()
    }
}
