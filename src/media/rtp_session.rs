//! One call's RTP: paced G.711 sending, receiving, DTMF detection, symmetric RTP, inactivity.
//!
//! A single task per call owns the socket: it wakes every 20 ms to send the next frame and
//! whenever a packet arrives. Keeping send and receive in one task means no shared state beyond
//! counters, and one wake-up per packet.

use super::dtmf::{Digit, DigitMerger, InbandDetector, TelephoneEventReceiver};
use super::g711::G711;
use super::port_pool::RtpSocket;
use super::prompt::Prompt;
use super::sdp::NegotiatedMedia;
use rtp::header::Header;
use rtp::packet::Packet;
use std::collections::VecDeque;
use std::net::SocketAddr;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::Duration;
use tokio::sync::{mpsc, oneshot};
use tokio::time::Instant;
use webrtc_util::marshal::{Marshal, Unmarshal};

/// 20 ms of 8 kHz audio: the packet size every G.711 phone expects (RFC 3551 §4.5).
pub const FRAME_SAMPLES: usize = 160;
const FRAME: Duration = Duration::from_millis(20);
/// If the sender wakes this late, it skips ahead instead of bursting the backlog: a phone's
/// jitter buffer copes with a gap far better than with a burst of stale packets.
const MAX_LATENESS: Duration = Duration::from_millis(100);
/// A key press seen both as RFC 4733 and in-band within this window counts once. A phone that
/// sends both starts them together (in-band detection lags by ~25 ms); a person cannot press
/// the same key twice within 120 ms, so a longer window would swallow real presses.
const DIGIT_MERGE_WINDOW_MS: u64 = 120;

/// Options from the configuration.
#[derive(Debug, Clone)]
pub struct RtpOptions {
    /// No packet from the caller for this long ends the call (paused while on hold).
    pub inactivity_timeout: Duration,
}

/// Identifies one `play` request.
pub type PlaybackId = u64;

/// Where a digit came from.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum DigitSource {
    Rfc4733,
    Inband,
}

/// What the media session reports to its call.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum MediaEvent {
    Digit { digit: Digit, source: DigitSource },
    PlaybackFinished(PlaybackId),
    RtpTimeout,
}

/// Counters, readable while the call runs.
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
pub struct MediaStats {
    pub packets_sent: u64,
    pub packets_received: u64,
    pub packets_dropped: u64,
    /// Frames skipped because the sender woke too late (a sign of an overloaded server).
    pub frames_skipped: u64,
}

#[derive(Debug, Default)]
struct Counters {
    sent: AtomicU64,
    received: AtomicU64,
    dropped: AtomicU64,
    skipped: AtomicU64,
}

impl Counters {
    fn snapshot(&self) -> MediaStats {
        MediaStats {
            packets_sent: self.sent.load(Ordering::Relaxed),
            packets_received: self.received.load(Ordering::Relaxed),
            packets_dropped: self.dropped.load(Ordering::Relaxed),
            frames_skipped: self.skipped.load(Ordering::Relaxed),
        }
    }
}

enum Command {
    Play(PlaybackId, Vec<Arc<Prompt>>),
    Stop,
    UpdateRemote(NegotiatedMedia),
    Tap(Option<mpsc::Sender<Vec<i16>>>),
    Close(oneshot::Sender<()>),
}

/// The handle a call holds on its media.
pub struct MediaSession {
    commands: mpsc::UnboundedSender<Command>,
    counters: Arc<Counters>,
    next_playback: PlaybackId,
}

impl MediaSession {
    /// Starts sending and receiving on `socket` as negotiated.
    pub fn start(
        socket: RtpSocket,
        media: NegotiatedMedia,
        options: RtpOptions,
    ) -> (MediaSession, mpsc::Receiver<MediaEvent>) {
        let (commands, commands_rx) = mpsc::unbounded_channel();
        let (events_tx, events) = mpsc::channel(64);
        let counters = Arc::new(Counters::default());
        let task = SessionTask::new(socket, media, options, events_tx, counters.clone());
        tokio::spawn(task.run(commands_rx));
        (
            MediaSession {
                commands,
                counters,
                next_playback: 1,
            },
            events,
        )
    }

    /// Queues prompts; `PlaybackFinished` with the returned id follows when the last one ends.
    pub fn play(&mut self, prompts: Vec<Arc<Prompt>>) -> PlaybackId {
        let id = self.next_playback;
        self.next_playback += 1;
        let _ = self.commands.send(Command::Play(id, prompts));
        id
    }

    /// Stops playback at the next frame (barge-in); no `PlaybackFinished` is sent for it.
    pub fn stop_playback(&self) {
        let _ = self.commands.send(Command::Stop);
    }

    /// New remote media from a re-INVITE: address, codec, hold or unhold.
    pub fn update_remote(&self, media: NegotiatedMedia) {
        let _ = self.commands.send(Command::UpdateRemote(media));
    }

    /// Sends the caller's decoded audio (8 kHz, one frame per packet, in arrival order) to `tap`.
    pub fn set_audio_tap(&self, tap: Option<mpsc::Sender<Vec<i16>>>) {
        let _ = self.commands.send(Command::Tap(tap));
    }

    pub fn stats(&self) -> MediaStats {
        self.counters.snapshot()
    }

    /// Stops the session and frees its port.
    pub async fn close(self) -> MediaStats {
        let (tx, rx) = oneshot::channel();
        if self.commands.send(Command::Close(tx)).is_ok() {
            let _ = rx.await;
        }
        self.counters.snapshot()
    }
}

struct Playing {
    id: PlaybackId,
    prompts: VecDeque<Arc<Prompt>>,
    offset: usize,
    started: bool,
}

struct SessionTask {
    socket: RtpSocket,
    media: NegotiatedMedia,
    options: RtpOptions,
    events: mpsc::Sender<MediaEvent>,
    counters: Arc<Counters>,
    /// Where to send: the SDP address until the caller's first packet shows where it really is.
    target: SocketAddr,
    latched: bool,
    ssrc: u32,
    sequence: u16,
    timestamp: u32,
    start: Instant,
    frame_index: u64,
    queue: VecDeque<Playing>,
    telephone_events: TelephoneEventReceiver,
    inband: InbandDetector,
    merger: DigitMerger,
    tap: Option<mpsc::Sender<Vec<i16>>>,
    last_received: Instant,
    timed_out: bool,
}

impl SessionTask {
    fn new(
        socket: RtpSocket,
        media: NegotiatedMedia,
        options: RtpOptions,
        events: mpsc::Sender<MediaEvent>,
        counters: Arc<Counters>,
    ) -> Self {
        let now = Instant::now();
        SessionTask {
            socket,
            target: media.remote,
            media,
            options,
            events,
            counters,
            latched: false,
            // Random SSRC, sequence and timestamp (RFC 3550 §5.1) so a restarted call is never
            // mistaken for the continuation of an old one.
            ssrc: rand::random(),
            sequence: rand::random(),
            timestamp: rand::random(),
            start: now,
            frame_index: 0,
            queue: VecDeque::new(),
            telephone_events: TelephoneEventReceiver::new(),
            inband: InbandDetector::new(),
            merger: DigitMerger::new(DIGIT_MERGE_WINDOW_MS),
            tap: None,
            last_received: now,
            timed_out: false,
        }
    }

    async fn run(mut self, mut commands: mpsc::UnboundedReceiver<Command>) {
        let mut buf = vec![0u8; 2048];
        loop {
            let deadline = self.start + FRAME * (self.frame_index as u32);
            tokio::select! {
                biased;
                command = commands.recv() => match command {
                    Some(Command::Close(done)) => {
                        let _ = done.send(());
                        return;
                    }
                    Some(c) => self.on_command(c),
                    None => return,
                },
                () = tokio::time::sleep_until(deadline) => self.on_tick().await,
                received = self.socket.socket().recv_from(&mut buf) => {
                    if let Ok((n, from)) = received {
                        self.on_packet(&buf[..n], from).await;
                    }
                }
            }
        }
    }

    fn on_command(&mut self, command: Command) {
        match command {
            Command::Play(id, prompts) => self.queue.push_back(Playing {
                id,
                prompts: prompts.into(),
                offset: 0,
                started: false,
            }),
            Command::Stop => self.queue.clear(),
            Command::UpdateRemote(media) => {
                if media.remote != self.media.remote {
                    self.target = media.remote;
                    self.latched = false;
                }
                self.media = media;
                self.last_received = Instant::now();
            }
            Command::Tap(tap) => self.tap = tap,
            Command::Close(_) => {}
        }
    }

    /// Sends the frame due now, then schedules the next.
    async fn on_tick(&mut self) {
        let now = Instant::now();
        let due = self.start + FRAME * (self.frame_index as u32);
        if now > due + MAX_LATENESS {
            let behind = ((now - self.start).as_millis() / FRAME.as_millis()) as u64;
            let skipped = behind - self.frame_index;
            self.counters.skipped.fetch_add(skipped, Ordering::Relaxed);
            self.frame_index = behind;
            self.timestamp = self
                .timestamp
                .wrapping_add((skipped * FRAME_SAMPLES as u64) as u32);
        }
        self.frame_index += 1;
        let (samples, marker, finished) = self.next_frame();
        if let Some(id) = finished {
            let _ = self.events.try_send(MediaEvent::PlaybackFinished(id));
        }
        if !self.media.on_hold() {
            self.send_frame(&samples, marker).await;
        }
        self.timestamp = self.timestamp.wrapping_add(FRAME_SAMPLES as u32);
        self.check_inactivity(now);
    }

    /// The next 160 samples of the queue (silence when idle), whether this frame starts a
    /// talkspurt, and the playback that ended in it.
    fn next_frame(&mut self) -> (Vec<i16>, bool, Option<PlaybackId>) {
        let mut frame = Vec::with_capacity(FRAME_SAMPLES);
        let mut marker = false;
        let mut finished = None;
        while frame.len() < FRAME_SAMPLES {
            let Some(playing) = self.queue.front_mut() else {
                break;
            };
            if !playing.started {
                playing.started = true;
                marker = true;
            }
            let Some(prompt) = playing.prompts.front() else {
                finished = Some(playing.id);
                self.queue.pop_front();
                continue;
            };
            let take = (FRAME_SAMPLES - frame.len()).min(prompt.samples.len() - playing.offset);
            frame.extend_from_slice(&prompt.samples[playing.offset..playing.offset + take]);
            playing.offset += take;
            if playing.offset >= prompt.samples.len() {
                playing.prompts.pop_front();
                playing.offset = 0;
                if playing.prompts.is_empty() {
                    finished = Some(playing.id);
                    self.queue.pop_front();
                }
            }
        }
        // Idle frames are silence: phones and NATs expect a continuous stream, and some
        // phones hang up on a silent (packet-less) line.
        frame.resize(FRAME_SAMPLES, 0);
        (frame, marker, finished)
    }

    async fn send_frame(&mut self, samples: &[i16], marker: bool) {
        let mut payload = Vec::with_capacity(FRAME_SAMPLES);
        self.media.codec.encode(samples, &mut payload);
        let packet = Packet {
            header: Header {
                version: 2,
                marker,
                payload_type: self.media.codec_pt,
                sequence_number: self.sequence,
                timestamp: self.timestamp,
                ssrc: self.ssrc,
                ..Default::default()
            },
            payload: payload.into(),
        };
        self.sequence = self.sequence.wrapping_add(1);
        if let Ok(bytes) = packet.marshal() {
            if self
                .socket
                .socket()
                .send_to(&bytes, self.target)
                .await
                .is_ok()
            {
                self.counters.sent.fetch_add(1, Ordering::Relaxed);
            }
        }
    }

    fn check_inactivity(&mut self, now: Instant) {
        // A held phone may legitimately send nothing.
        if self.timed_out || self.media.on_hold() {
            self.last_received = self
                .last_received
                .max(now - self.options.inactivity_timeout / 2);
            return;
        }
        if now - self.last_received >= self.options.inactivity_timeout {
            self.timed_out = true;
            let _ = self.events.try_send(MediaEvent::RtpTimeout);
        }
    }

    async fn on_packet(&mut self, bytes: &[u8], from: SocketAddr) {
        let mut slice = bytes;
        let Ok(packet) = Packet::unmarshal(&mut slice) else {
            self.counters.dropped.fetch_add(1, Ordering::Relaxed);
            return;
        };
        self.counters.received.fetch_add(1, Ordering::Relaxed);
        self.last_received = Instant::now();
        if !self.latched {
            // Symmetric RTP (RFC 4961, "comedia"): answer where the caller's packets come from,
            // which differs from its SDP behind a NAT.
            self.target = from;
            self.latched = true;
        }
        let at_ms = self.start.elapsed().as_millis() as u64;
        let pt = packet.header.payload_type;
        if Some(pt) == self.media.telephone_event_pt {
            match self.telephone_events.on_packet(
                packet.header.timestamp,
                packet.header.marker,
                &packet.payload,
            ) {
                Ok(Some(digit)) => {
                    if let Some(d) = self.merger.rfc4733(digit, at_ms) {
                        self.emit_digit(d, DigitSource::Rfc4733).await;
                    }
                }
                Ok(None) => {}
                Err(_) => {
                    self.counters.dropped.fetch_add(1, Ordering::Relaxed);
                }
            }
            return;
        }
        // The negotiated number first (it may be dynamic), then the static ones.
        let codec = if pt == self.media.codec_pt {
            Some(self.media.codec)
        } else {
            G711::from_payload_type(pt)
        };
        let Some(codec) = codec else {
            self.counters.dropped.fetch_add(1, Ordering::Relaxed);
            return;
        };
        let mut pcm = Vec::with_capacity(packet.payload.len());
        codec.decode(&packet.payload, &mut pcm);
        for digit in self.inband.push(&pcm) {
            if let Some(d) = self.merger.inband(digit, at_ms) {
                self.emit_digit(d, DigitSource::Inband).await;
            }
        }
        if let Some(tap) = &self.tap {
            // A full tap (a stalled recorder) must not stall the media path: drop the frame.
            let _ = tap.try_send(pcm);
        }
    }

    async fn emit_digit(&mut self, digit: Digit, source: DigitSource) {
        tracing::debug!(%digit, ?source, "digit");
        let _ = self.events.send(MediaEvent::Digit { digit, source }).await;
    }
}
