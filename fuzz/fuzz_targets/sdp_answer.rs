//! A caller's SDP offer (and, as an answer to our offer, the same text) through offer/answer.
#![no_main]

use hotline::media::sdp::{self, LocalMedia};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    let local = LocalMedia {
        ip: [127, 0, 0, 1].into(),
        port: 20000,
        session_id: 1,
        session_version: 1,
        srtp: Default::default(),
    };
    let _ = sdp::answer(text, &local);
    let _ = sdp::accept_answer(text, &local);
    // Over TLS the a=crypto lines are read too.
    let tls = LocalMedia {
        srtp: sdp::SrtpPolicy::Allowed(sdp::MasterKey::from_bytes([1; sdp::MASTER_LEN])),
        ..local
    };
    let _ = sdp::answer(text, &tls);
    let _ = sdp::accept_answer(text, &tls);
});
