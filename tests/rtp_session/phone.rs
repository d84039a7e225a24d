//! A test phone: a real UDP socket that sends and reads RTP the way a SIP phone does.

use bytes::Bytes;
use hotline::media::dtmf::{encode_telephone_event, Digit};
use hotline::media::g711::G711;
use hotline::media::port_pool::PortPool;
use hotline::media::prompt::Prompt;
use hotline::media::rtp_session::{MediaEvent, MediaSession, RtpOptions};
use hotline::media::sdp::NegotiatedMedia;
use rtp::header::Header;
use rtp::packet::Packet;
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;
use tokio::net::UdpSocket;
use tokio::sync::mpsc;
use tokio::time::{timeout, Instant};
use webrtc_util::marshal::{Marshal, Unmarshal};

/// Long enough for a loaded CI machine, short enough that a failure does not hang the suite.
pub const PATIENCE: Duration = Duration::from_secs(3);
pub const TELEPHONE_EVENT_PT: u8 = 101;
/// An inactivity timeout no test reaches unless it means to.
pub const NO_TIMEOUT: Duration = Duration::from_secs(600);

/// Waits (polling every 2 ms) until `done` holds; for effects only visible in counters.
pub async fn wait_until(what: &str, done: impl Fn() -> bool) {
    let deadline = Instant::now() + PATIENCE;
    while !done() {
        assert!(Instant::now() < deadline, "still waiting for {what}");
        tokio::time::sleep(Duration::from_millis(2)).await;
    }
}

pub fn digit(c: char) -> Digit {
    Digit::from_char(c).unwrap()
}

/// What a phone at `remote` speaking `codec` (static payload type) negotiated.
pub fn negotiated(remote: SocketAddr, codec: G711) -> NegotiatedMedia {
    NegotiatedMedia {
        telephone_event_pt: Some(TELEPHONE_EVENT_PT),
        ..NegotiatedMedia::plain(remote, codec)
    }
}

/// A session on a port of its own (pool on loopback, below Linux's ephemeral range so that
/// port-0 sockets of parallel tests rarely collide; a collision is skipped anyway).
pub async fn start_session(
    media: NegotiatedMedia,
    inactivity_timeout: Duration,
) -> (MediaSession, mpsc::Receiver<MediaEvent>, SocketAddr) {
    let base = 20_000 + 2 * (rand::random::<u16>() % 5_000);
    let pool = PortPool::new(base..=base + 40, "127.0.0.1".parse().unwrap());
    let socket = pool.bind().await.expect("an RTP port");
    let ours = socket.local_addr().unwrap();
    let (session, events) = MediaSession::start(
        socket,
        media,
        RtpOptions {
            inactivity_timeout,
            ..RtpOptions::default()
        },
    );
    (session, events, ours)
}

pub async fn next_event(events: &mut mpsc::Receiver<MediaEvent>) -> MediaEvent {
    timeout(PATIENCE, events.recv())
        .await
        .expect("a media event in time")
        .expect("the session is alive")
}

/// `ms` of a 440 Hz tone at about -12 dBm0: audible, and nothing like a DTMF pair.
pub fn tone_prompt(ms: usize) -> Arc<Prompt> {
    let samples: Vec<i16> = (0..ms * 8)
        .map(|n| (5000.0 * (2.0 * std::f64::consts::PI * 440.0 * n as f64 / 8000.0).sin()) as i16)
        .collect();
    Arc::new(Prompt::new("tone", samples))
}

/// Mean absolute sample value of a decoded payload: 0 for G.711 silence.
pub fn loudness(codec: G711, payload: &[u8]) -> f64 {
    let mut pcm = Vec::new();
    codec.decode(payload, &mut pcm);
    pcm.iter().map(|&s| f64::from(s).abs()).sum::<f64>() / pcm.len().max(1) as f64
}

pub struct Phone {
    pub socket: UdpSocket,
    ssrc: u32,
    sequence: u16,
    timestamp: u32,
}

impl Phone {
    pub async fn new() -> Phone {
        Phone {
            socket: UdpSocket::bind("127.0.0.1:0").await.unwrap(),
            ssrc: rand::random(),
            sequence: rand::random(),
            timestamp: rand::random(),
        }
    }

    pub fn addr(&self) -> SocketAddr {
        self.socket.local_addr().unwrap()
    }

    /// The next RTP packet from the session, and when it arrived.
    pub async fn recv(&self) -> (Packet, Instant) {
        let mut buf = [0u8; 2048];
        let (n, _) = timeout(PATIENCE, self.socket.recv_from(&mut buf))
            .await
            .expect("an RTP packet in time")
            .unwrap();
        let at = Instant::now();
        (
            Packet::unmarshal(&mut &buf[..n]).expect("well-formed RTP"),
            at,
        )
    }

    /// The next packet whose audio is not silence.
    pub async fn recv_audible(&self, codec: G711) -> (Packet, Instant) {
        loop {
            let (packet, at) = self.recv().await;
            if loudness(codec, &packet.payload) > 100.0 {
                return (packet, at);
            }
        }
    }

    pub async fn send_raw(&self, to: SocketAddr, bytes: &[u8]) {
        self.socket.send_to(bytes, to).await.unwrap();
    }

    fn packet(&mut self, pt: u8, marker: bool, timestamp: u32, payload: Vec<u8>) -> Vec<u8> {
        let packet = Packet {
            header: Header {
                version: 2,
                marker,
                payload_type: pt,
                sequence_number: self.sequence,
                timestamp,
                ssrc: self.ssrc,
                ..Default::default()
            },
            payload: Bytes::from(payload),
        };
        self.sequence = self.sequence.wrapping_add(1);
        packet.marshal().unwrap().to_vec()
    }

    /// One audio packet of `pcm` (any length), encoded with `codec`.
    pub async fn send_audio(&mut self, to: SocketAddr, codec: G711, pcm: &[i16]) {
        let mut payload = Vec::new();
        codec.encode(pcm, &mut payload);
        let ts = self.timestamp;
        self.timestamp = ts.wrapping_add(pcm.len() as u32);
        let bytes = self.packet(codec.payload_type(), false, ts, payload);
        self.send_raw(to, &bytes).await;
    }

    /// A whole RFC 4733 key press as phones send it: packets every 20 ms of media time with
    /// growing duration, the first with the marker bit, then the end packet three times
    /// (§2.5.1.4). All carry the timestamp of the event's start.
    pub async fn press_rfc4733(&mut self, to: SocketAddr, key: Digit, ms: u16) {
        let start = self.timestamp;
        let steps = ms / 20;
        for step in 1..=steps {
            let payload = encode_telephone_event(key, false, 10, step * 160).to_vec();
            let bytes = self.packet(TELEPHONE_EVENT_PT, step == 1, start, payload);
            self.send_raw(to, &bytes).await;
        }
        for _ in 0..3 {
            let payload = encode_telephone_event(key, true, 10, steps * 160).to_vec();
            let bytes = self.packet(TELEPHONE_EVENT_PT, false, start, payload);
            self.send_raw(to, &bytes).await;
        }
        self.timestamp = start.wrapping_add(u32::from(steps) * 160);
    }

    /// One telephone-event packet of an event that started at `start`.
    pub async fn send_event(
        &mut self,
        to: SocketAddr,
        key: Digit,
        start: u32,
        marker: bool,
        end: bool,
        duration: u16,
    ) {
        let payload = encode_telephone_event(key, end, 10, duration).to_vec();
        let bytes = self.packet(TELEPHONE_EVENT_PT, marker, start, payload);
        self.send_raw(to, &bytes).await;
    }

    pub fn timestamp(&self) -> u32 {
        self.timestamp
    }
}
