//! RTP packets as the receive path reads them, and their payloads as RFC 4733 telephone events.
#![no_main]

use hotline::media::dtmf::TelephoneEventReceiver;
use libfuzzer_sys::fuzz_target;
use webrtc_util::marshal::Unmarshal;

fuzz_target!(|data: &[u8]| {
    let mut receiver = TelephoneEventReceiver::new();
    // The whole input as one packet, then as a stream of 4-byte event payloads.
    let mut buf = data;
    if let Ok(packet) = rtp::packet::Packet::unmarshal(&mut buf) {
        let _ = receiver.on_packet(
            packet.header.timestamp,
            packet.header.marker,
            &packet.payload,
        );
    }
    for (i, chunk) in data.chunks(4).enumerate() {
        let _ = receiver.on_packet(i as u32 / 3, false, chunk);
    }
});
