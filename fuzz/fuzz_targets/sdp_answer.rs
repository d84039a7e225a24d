//! A caller's SDP offer (and, as an answer to our offer, the same text) through offer/answer,
//! under each SRTP policy: plain SIP, TLS, and TLS with SRTP required (the `a=crypto` lines of
//! RFC 4568 are read on the TLS ones).
//!
//! Whatever keys offer/answer agrees on must make SRTP contexts in both directions: the RTP
//! session would otherwise drop the call's audio (`SrtpTransform::follow`).
#![no_main]

use hotline::media::sdp::{self, LocalMedia, MasterKey, NegotiatedMedia, SrtpPolicy};
use hotline::media::srtp::{Direction, SrtpTransform};
use libfuzzer_sys::fuzz_target;

fn keys_make_contexts(media: &NegotiatedMedia) {
    if let Some(keys) = &media.srtp {
        SrtpTransform::new(Direction::Inbound, keys.suite, &keys.remote).unwrap();
        SrtpTransform::new(Direction::Outbound, keys.suite, &keys.local).unwrap();
    }
}

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    let ours = MasterKey::from_bytes([1; sdp::MASTER_LEN]);
    for srtp in [
        SrtpPolicy::Refused,
        SrtpPolicy::Allowed(ours.clone()),
        SrtpPolicy::Required(ours),
    ] {
        let plain_sip = srtp == SrtpPolicy::Refused;
        let required = matches!(srtp, SrtpPolicy::Required(_));
        let local = LocalMedia {
            ip: [127, 0, 0, 1].into(),
            port: 20000,
            session_id: 1,
            session_version: 1,
            srtp,
        };
        if let Ok((media, _)) = sdp::answer(text, &local) {
            assert!(!plain_sip || media.srtp.is_none(), "SRTP over plain SIP");
            assert!(
                !required || media.srtp.is_some(),
                "plain RTP when SRTP is required"
            );
            keys_make_contexts(&media);
        }
        if let Ok(media) = sdp::accept_answer(text, &local) {
            // Our offer is RTP/SAVP exactly when SIP is on TLS: the answer must match it.
            assert_eq!(
                media.srtp.is_none(),
                plain_sip,
                "the answer's profile is our offer's"
            );
            keys_make_contexts(&media);
        }
    }
});
