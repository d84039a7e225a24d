//! Datagrams as a call's RTP receive path reads them (`InboundPath::read`: Hotline's own RTP
//! header parser, RFC 4733 telephone events, G.711 decoding and the in-band detector), and
//! payloads straight into the telephone-event receiver.
//!
//! Not the `rtp` crate's `Packet::unmarshal`: Hotline only uses that crate to write packets, and
//! its unmarshal of rtp 0.17.2 panics on a header extension longer than the packet (found by
//! this target when it still called it) — anyone can send any bytes to a call's RTP port.
#![no_main]

use hotline::media::dtmf::{InbandPolicy, TelephoneEventReceiver};
use hotline::media::g711::G711;
use hotline::media::rtp_session::inbound::InboundPath;
use hotline::media::sdp::NegotiatedMedia;
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    // The first byte picks the datagram size and the in-band policy, so packet boundaries and
    // both detectors are explored; the rest is a stream of datagrams.
    let Some((&control, stream)) = data.split_first() else {
        return;
    };
    let codec = if control & 1 == 0 { G711::Ulaw } else { G711::Alaw };
    let media = NegotiatedMedia::plain("127.0.0.1:4000".parse().unwrap(), codec);
    let policy = match control >> 6 {
        0 => InbandPolicy::Never,
        1 => InbandPolicy::Always,
        _ => InbandPolicy::UntilRfc4733,
    };
    let mut path = InboundPath::new(policy);
    let size = 12 + usize::from(control & 0x3E) * 8;
    let _ = path.read(stream, &media, 0, true);
    for (i, datagram) in stream.chunks(size).enumerate() {
        let _ = path.read(datagram, &media, 20 * i as u64, i % 2 == 0);
    }
    let mut receiver = TelephoneEventReceiver::new();
    for (i, chunk) in stream.chunks(4).enumerate() {
        let _ = receiver.on_packet(i as u32 / 3, false, chunk);
    }
});
