//! A call's sender: one G.711 packet every 20 ms, prompt audio or silence, sent by a send
//! loop (`send_loop.rs`) that serves many calls.
//!
//! Each audio packet is written into one buffer the task keeps: the 12-byte RTP header, then
//! 160 bytes copied from the prompt's G.711 encoding (or, while bridged, the other leg's audio
//! encoded in place). Nothing is encoded or allocated per prompt packet.

use super::digits_out::DigitSender;
use super::live::LiveAudio;
use super::outbox::Outbox;
use super::pacer::Pacer;
use super::playout::Playout;
use super::stats::Counters;
use super::watched::Watched;
use super::{lock, MediaEvent, PlayoutCommand, SharedLatch, FRAME_SAMPLES};
use crate::media::port_pool::RtpSocket;
use crate::media::sdp::NegotiatedMedia;
use crate::media::srtp::{self, SrtpTransform};
use bytes::Bytes;
use rtp::header::Header;
use rtp::packet::Packet;
use std::sync::Arc;
use tokio::sync::{mpsc, watch};
use tokio::time::Instant;
use webrtc_util::marshal::Marshal;

/// The fixed RTP header: no CSRC, no extension (RFC 3550 §5.1).
pub const RTP_HEADER: usize = 12;

/// Our outgoing stream's identity and position (RFC 3550 §5.1).
#[derive(Debug)]
pub struct OutboundStream {
    ssrc: u32,
    sequence: u16,
    timestamp: u32,
}

impl OutboundStream {
    /// Random SSRC, sequence number and timestamp (RFC 3550 §5.1): a known start would make
    /// a plaintext stream easier to inject into, and a restarted call must not look like the
    /// continuation of an old one.
    pub fn random() -> Self {
        OutboundStream {
            ssrc: rand::random(),
            sequence: rand::random(),
            timestamp: rand::random(),
        }
    }

    /// Moves the media clock over `frames` frames that are not sent (on hold, or skipped by a
    /// late sender): the timestamp follows the sampling clock, the sequence number only counts
    /// packets actually sent, so the phone sees a gap in time, not a loss.
    pub fn advance(&mut self, frames: u64) {
        let samples = frames.wrapping_mul(FRAME_SAMPLES as u64) as u32;
        self.timestamp = self.timestamp.wrapping_add(samples);
    }

    /// The timestamp the next packet will carry.
    pub fn timestamp(&self) -> u32 {
        self.timestamp
    }

    /// A telephone-event packet in place of this frame's audio: it carries the event's start
    /// timestamp (RFC 4733 §2.5.1.2) while the media clock moves on by one frame.
    pub fn event_packet(
        &mut self,
        payload_type: u8,
        marker: bool,
        event_timestamp: u32,
        payload: Bytes,
    ) -> Packet {
        let mut packet = self.packet(payload_type, marker, payload);
        packet.header.timestamp = event_timestamp;
        packet
    }

    /// Writes the header of the stream's next packet; its frame is then behind us.
    pub fn write_header(&mut self, payload_type: u8, marker: bool, header: &mut [u8; RTP_HEADER]) {
        header[0] = 0x80; // version 2, no padding, no extension, no CSRC
        header[1] = (u8::from(marker) << 7) | (payload_type & 0x7F);
        header[2..4].copy_from_slice(&self.sequence.to_be_bytes());
        header[4..8].copy_from_slice(&self.timestamp.to_be_bytes());
        header[8..12].copy_from_slice(&self.ssrc.to_be_bytes());
        self.sequence = self.sequence.wrapping_add(1);
        self.advance(1);
    }

    /// The next packet of the stream; its frame is then behind us.
    pub fn packet(&mut self, payload_type: u8, marker: bool, payload: Bytes) -> Packet {
        let packet = Packet {
            header: Header {
                version: 2,
                marker,
                payload_type,
                sequence_number: self.sequence,
                timestamp: self.timestamp,
                ssrc: self.ssrc,
                ..Default::default()
            },
            payload,
        };
        self.sequence = self.sequence.wrapping_add(1);
        self.advance(1);
        packet
    }
}

pub struct Sender {
    socket: Arc<RtpSocket>,
    media: Watched<NegotiatedMedia>,
    latch: SharedLatch,
    events: Outbox,
    counters: Arc<Counters>,
    stream: OutboundStream,
    playout: Playout,
    /// The next packet sent starts a talkspurt: the first of the session, and the first after
    /// a hold.
    resuming: bool,
    /// Another leg's audio while bridged, played whenever no prompt is queued.
    live: Option<(mpsc::Receiver<Vec<i16>>, LiveAudio)>,
    /// Keys to send as RFC 4733 events.
    digits: DigitSender,
    pacer: Pacer,
    /// Our SRTP context on an SRTP call (`None`: plain RTP).
    srtp: Option<SrtpTransform>,
}

/// Scratch space the send loop lends each sender in turn: one decoded frame, one packet.
pub(super) struct Buffers {
    frame: [i16; FRAME_SAMPLES],
    packet: [u8; RTP_HEADER + FRAME_SAMPLES],
}

impl Default for Buffers {
    fn default() -> Self {
        Buffers {
            frame: [0; FRAME_SAMPLES],
            packet: [0; RTP_HEADER + FRAME_SAMPLES],
        }
    }
}

impl Sender {
    pub fn new(
        socket: Arc<RtpSocket>,
        media: watch::Receiver<NegotiatedMedia>,
        latch: SharedLatch,
        events: mpsc::Sender<MediaEvent>,
        counters: Arc<Counters>,
    ) -> Self {
        Sender {
            socket,
            media: Watched::new(media),
            latch,
            events: Outbox::new(events),
            counters,
            stream: OutboundStream::random(),
            playout: Playout::default(),
            resuming: true,
            live: None,
            digits: DigitSender::default(),
            pacer: Pacer::new(Instant::now()),
            srtp: None,
        }
    }

    /// Starts the media clock: the first frame is due at `start`.
    pub(super) fn start_at(&mut self, start: Instant) {
        self.pacer = Pacer::new(start);
    }

    /// Commands only matter when a frame is built: the send loop hands them over before the
    /// call's next frame, so a barge-in takes effect on that very frame.
    pub(super) fn command(&mut self, command: PlayoutCommand) {
        match command {
            PlayoutCommand::Play(id, prompts) => self.playout.play(id, prompts),
            PlayoutCommand::Stop => self.playout.stop(),
            PlayoutCommand::Live(source) => {
                self.live = source.map(|rx| (rx, LiveAudio::new()));
            }
            PlayoutCommand::Digit(digit) => self.digits.push(digit),
        }
    }

    /// Sends every frame due at `now`: one on time, a few back to back after a short stall,
    /// or a jump forward after a long one (`pacer.rs`).
    pub(super) fn on_tick(&mut self, now: Instant, buffers: &mut Buffers) {
        self.events.flush();
        self.media.refresh();
        while self.pacer.deadline() <= now {
            let due = self.pacer.deadline();
            let tick = self.pacer.tick(now);
            if now.saturating_duration_since(due) > crate::metrics::RTP_LATE_AFTER {
                crate::metrics::RTP_PACKETS_LATE.inc();
            }
            if tick.skipped > 0 {
                tracing::debug!(
                    skipped = tick.skipped,
                    "RTP sender woke late; skipping frames"
                );
                Counters::add(&self.counters.frames_skipped, tick.skipped);
                crate::metrics::RTP_FRAMES_SKIPPED.add(tick.skipped);
                self.stream.advance(tick.skipped);
            }
            self.send_frame(&mut buffers.frame, &mut buffers.packet);
        }
    }

    /// Sends the next frame: queued audio, or silence when nothing is queued. Silence is sent
    /// rather than nothing because many phones treat a packet-less stream as a dead call
    /// (their own RTP timeout), NAT bindings for the reverse path expire without traffic, and
    /// some jitter buffers only start playing once packets flow.
    fn send_frame(
        &mut self,
        frame: &mut [i16; FRAME_SAMPLES],
        packet: &mut [u8; RTP_HEADER + FRAME_SAMPLES],
    ) {
        let (codec, payload_type, on_hold, event_pt) = {
            let media = self.media.get();
            let wanted = media.srtp.as_ref().map(|k| (k.suite, &k.local));
            SrtpTransform::follow(&mut self.srtp, srtp::Direction::Outbound, wanted);
            (
                media.codec,
                media.codec_pt,
                media.on_hold(),
                media.telephone_event_pt,
            )
        };
        let (header, payload) = packet.split_at_mut(RTP_HEADER);
        let header: &mut [u8; RTP_HEADER] = header.try_into().expect("12 bytes");
        let payload: &mut [u8; FRAME_SAMPLES] = payload.try_into().expect("160 bytes");
        let prompting = self.playout.is_active();
        let info = self.playout.next_frame(codec, payload);
        if let Some((rx, live)) = &mut self.live {
            // Drained every tick, so what is heard after a prompt or a hold is current.
            while let Ok(audio) = rx.try_recv() {
                live.push(&audio);
            }
            if prompting {
                live.clear();
            } else {
                live.next_frame(frame);
                codec.encode_into(frame, payload);
            }
        }
        if !on_hold && self.digits.busy() {
            match event_pt {
                Some(pt) => {
                    let now = self.stream.timestamp();
                    if let Some(event) = self.digits.next(now) {
                        let payload = Bytes::copy_from_slice(&event.payload);
                        let packet =
                            self.stream
                                .event_packet(pt, event.marker, event.timestamp, payload);
                        if let Ok(bytes) = packet.marshal() {
                            self.transmit(&bytes);
                        }
                        for id in info.finished {
                            self.events.send(MediaEvent::PlaybackFinished(id));
                        }
                        return;
                    }
                }
                None => {
                    // The phone takes no telephone-events: the key cannot be sent this way.
                    tracing::debug!("key dropped: the peer negotiated no telephone-event");
                    self.digits = DigitSender::default();
                }
            }
        }
        if on_hold {
            // The phone asked for no audio. The playout still advances, so a prompt played
            // during hold finishes on time and the call's own timers keep their meaning.
            self.stream.advance(1);
            self.resuming = true;
        } else {
            let marker = std::mem::take(&mut self.resuming) || info.talkspurt_start;
            self.stream.write_header(payload_type, marker, header);
            self.transmit(packet);
        }
        for id in info.finished {
            self.events.send(MediaEvent::PlaybackFinished(id));
        }
    }

    fn transmit(&mut self, packet: &[u8]) {
        let protected;
        let packet = match &mut self.srtp {
            None => packet,
            Some(transform) => match transform.protect(packet) {
                Ok(p) => {
                    protected = p;
                    &protected[..]
                }
                Err(e) => {
                    // Only after 2^48 packets with one key (RFC 3711 §9.2); never in clear.
                    tracing::warn!(error = %e, "RTP packet not sent: SRTP refused to protect it");
                    return;
                }
            },
        };
        let target = lock(&self.latch).target();
        // Never waits: the send loop serves other calls. A UDP socket whose kernel buffer is
        // full (the only `WouldBlock`) would drop the datagram further on anyway.
        match self.socket.try_send_to(packet, target) {
            Ok(n) => {
                Counters::add(&self.counters.packets_sent, 1);
                Counters::add(&self.counters.bytes_sent, n as u64);
            }
            Err(e) => tracing::debug!(%target, error = %e, "RTP send failed"),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::super::inbound::RtpView;
    use super::*;

    fn packet(stream: &mut OutboundStream, pt: u8, marker: bool) -> [u8; RTP_HEADER] {
        let mut header = [0; RTP_HEADER];
        stream.write_header(pt, marker, &mut header);
        header
    }

    fn sequence(header: &[u8; RTP_HEADER]) -> u16 {
        u16::from_be_bytes([header[2], header[3]])
    }

    #[test]
    fn packets_count_up_by_one_and_160_samples_and_skipped_frames_only_move_the_clock() {
        let mut stream = OutboundStream::random();
        let a = packet(&mut stream, 0, true);
        let b = packet(&mut stream, 0, false);
        stream.advance(5);
        let c = packet(&mut stream, 8, false);
        let (ra, rb, rc) = (
            RtpView::parse(&a).unwrap(),
            RtpView::parse(&b).unwrap(),
            RtpView::parse(&c).unwrap(),
        );
        assert_eq!(sequence(&b), sequence(&a).wrapping_add(1));
        assert_eq!(sequence(&c), sequence(&b).wrapping_add(1));
        assert_eq!(rb.timestamp, ra.timestamp.wrapping_add(160));
        assert_eq!(rc.timestamp, rb.timestamp.wrapping_add(6 * 160));
        assert_eq!(a[8..12], c[8..12], "one SSRC");
        assert_eq!((ra.marker, rb.marker, rc.payload_type), (true, false, 8));
        assert_eq!(a[0], 0x80, "RTP version 2, nothing optional");
    }

    #[test]
    fn two_streams_start_at_different_random_points() {
        let (a, b) = (OutboundStream::random(), OutboundStream::random());
        // 2^-80 chance of a false failure.
        assert!(a.ssrc != b.ssrc || a.sequence != b.sequence || a.timestamp != b.timestamp);
    }

    #[test]
    fn building_a_prompt_packet_allocates_nothing() {
        use super::super::playout::Playout;
        use super::super::PlaybackId;
        use crate::media::g711::G711;
        use crate::media::prompt::Prompt;
        let mut playout = Playout::default();
        playout.play(
            PlaybackId(1),
            vec![Arc::new(Prompt::new("long", vec![1000i16; 160 * 100]))],
        );
        let mut stream = OutboundStream::random();
        let mut packet = [0u8; RTP_HEADER + FRAME_SAMPLES];
        let allocations = crate::media::alloc_count::counting(|| {
            for _ in 0..90 {
                let (header, payload) = packet.split_at_mut(RTP_HEADER);
                let info = playout.next_frame(G711::Alaw, payload.try_into().unwrap());
                stream.write_header(8, info.talkspurt_start, header.try_into().unwrap());
            }
        });
        assert_eq!(allocations, 0);
        let mut expected = Vec::new();
        G711::Alaw.encode(&[1000; FRAME_SAMPLES], &mut expected);
        assert_eq!(
            packet[RTP_HEADER..],
            expected[..],
            "the prompt's A-law bytes"
        );
    }
}
