//! SRTP on a call's receive path (RFC 3711, keys from SDES), as `rtp_session::receive` runs it:
//! each datagram through the inbound `SrtpTransform` (kept in step with the negotiated keys by
//! `SrtpTransform::follow`), and what authenticates through `InboundPath::read`.
//!
//! Random bytes never pass an authentication tag, so the input mostly describes packets rather
//! than being them: each record is a plain RTP packet (header byte, payload type, sequence
//! number, SSRC, payload) that the target protects with an outbound transform of the same key,
//! as the phone would, then delivers intact, with a byte flipped, cut short, lengthened, in
//! clear, or again (a replay). Sequence numbers are arbitrary, so reordering, jumps and
//! rollover (65535 → 0) reach the rollover-counter guess on both sides; a record may also
//! re-key the call (a re-INVITE). Both suites (80- and 32-bit tags).
//!
//! Checked on the way: an intact packet that authenticates decrypts to what was protected; with
//! the 80-bit tag a mutated, clear or replayed packet is never accepted (a 32-bit tag can be
//! guessed, once in 2^32); the inbound state never outgrows `MAX_INBOUND_STREAMS`.
#![no_main]

use hotline::media::dtmf::InbandPolicy;
use hotline::media::g711::G711;
use hotline::media::rtp_session::inbound::InboundPath;
use hotline::media::sdp::{MasterKey, NegotiatedMedia, SrtpKeys, SrtpSuite, MASTER_LEN};
use hotline::media::srtp::{self, SrtpTransform, MAX_INBOUND_STREAMS};
use libfuzzer_sys::fuzz_target;

/// Bytes before each record's payload: flags, header byte, payload type, sequence number (2),
/// SSRC pick, mutation argument, payload length.
const RECORD_HEADER: usize = 8;

/// What happens to a record's protected packet before it is delivered.
enum Delivery {
    Intact,
    /// One byte XORed (never with 0).
    Flipped,
    /// Cut to fewer bytes.
    Truncated,
    /// Bytes added after the tag.
    Lengthened,
    /// The plain packet, as someone without the key sends it.
    Clear,
    /// The last packet accepted, sent again.
    Replay,
}

fn key(n: u8) -> MasterKey {
    MasterKey::from_bytes([n; MASTER_LEN])
}

fn media(suite: SrtpSuite, remote: MasterKey, codec: G711) -> NegotiatedMedia {
    NegotiatedMedia {
        srtp: Some(SrtpKeys {
            suite,
            local: key(0xEE),
            remote,
        }),
        ..NegotiatedMedia::plain("127.0.0.1:4000".parse().unwrap(), codec)
    }
}

fuzz_target!(|data: &[u8]| {
    let Some((&control, mut rest)) = data.split_first() else {
        return;
    };
    let suite = if control & 1 == 0 {
        SrtpSuite::AesCm128HmacSha1_80
    } else {
        SrtpSuite::AesCm128HmacSha1_32
    };
    let codec = if control & 2 == 0 {
        G711::Ulaw
    } else {
        G711::Alaw
    };
    let policy = match (control >> 2) & 3 {
        0 => InbandPolicy::Never,
        1 => InbandPolicy::Always,
        _ => InbandPolicy::UntilRfc4733,
    };
    let mut phone_key = 1u8;
    let mut media = media(suite, key(phone_key), codec);
    let mut phone = SrtpTransform::new(srtp::Direction::Outbound, suite, &key(phone_key)).unwrap();
    let mut ours: Option<SrtpTransform> = None;
    let mut path = InboundPath::new(policy);

    // The whole input as one datagram first: arbitrary bytes at an SRTP port.
    let remote = media.srtp.as_ref().map(|k| (k.suite, &k.remote));
    SrtpTransform::follow(&mut ours, srtp::Direction::Inbound, remote);
    let _ = ours.as_mut().unwrap().unprotect(data);

    let mut last_accepted: Option<Vec<u8>> = None;
    let mut at_ms = 0u64;
    while rest.len() >= RECORD_HEADER {
        let (header, tail) = rest.split_at(RECORD_HEADER);
        let [flags, first, pt, seq_hi, seq_lo, ssrc_pick, arg, len] = header.try_into().unwrap();
        let (payload, next) = tail.split_at(usize::from(len).min(tail.len()));
        rest = next;
        at_ms += 20;

        if flags & 0x80 != 0 {
            // A re-INVITE with a new key for the phone: both sides start afresh.
            phone_key = phone_key.wrapping_add(1);
            media.srtp.as_mut().unwrap().remote = key(phone_key);
            phone = SrtpTransform::new(srtp::Direction::Outbound, suite, &key(phone_key)).unwrap();
            last_accepted = None;
        }
        let remote = media.srtp.as_ref().map(|k| (k.suite, &k.remote));
        SrtpTransform::follow(&mut ours, srtp::Direction::Inbound, remote);
        let inbound = ours.as_mut().expect("a valid key makes a context");

        // Version 2; padding, extension and CSRC count from the input.
        let mut plain = vec![0x80 | (first & 0x3F), pt, seq_hi, seq_lo];
        let seq = u32::from(u16::from_be_bytes([seq_hi, seq_lo]));
        plain.extend((seq * 160).to_be_bytes());
        plain.extend((u32::from(ssrc_pick) * 0x0101_0101).to_be_bytes());
        plain.extend(payload);

        let delivery = match flags & 0x0F {
            0..=5 => Delivery::Intact,
            6 | 7 => Delivery::Flipped,
            8 | 9 => Delivery::Truncated,
            10 => Delivery::Lengthened,
            11 | 12 => Delivery::Clear,
            _ => Delivery::Replay,
        };
        let datagram = match delivery {
            Delivery::Clear => plain.clone(),
            Delivery::Replay => match &last_accepted {
                Some(p) => p.clone(),
                None => continue,
            },
            _ => {
                // The phone's own side refuses what is not RTP; nothing is sent then.
                let Ok(protected) = phone.protect(&plain) else {
                    continue;
                };
                let mut d = protected.to_vec();
                match delivery {
                    Delivery::Flipped => {
                        let at = usize::from(arg) % d.len();
                        d[at] ^= (flags >> 4) | 1;
                    }
                    Delivery::Truncated => d.truncate(usize::from(arg) % d.len()),
                    Delivery::Lengthened => d.extend(vec![arg; 1 + usize::from(arg) % 16]),
                    _ => {}
                }
                d
            }
        };
        if let Ok(rtp) = inbound.unprotect(&datagram) {
            match delivery {
                Delivery::Intact => {
                    assert_eq!(rtp[..], plain[..], "an authentic packet decrypts to itself")
                }
                Delivery::Replay => panic!("a replay was accepted"),
                _ => assert!(
                    suite == SrtpSuite::AesCm128HmacSha1_32,
                    "a packet that is not the phone's was accepted"
                ),
            }
            let _ = path.read(&rtp, &media, at_ms, flags & 0x10 != 0);
            last_accepted = Some(datagram);
        }
        assert!(inbound.inbound_streams() <= MAX_INBOUND_STREAMS);
    }
});
