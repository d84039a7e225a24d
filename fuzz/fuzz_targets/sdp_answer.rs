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
    };
    let _ = sdp::answer(text, &local);
    let _ = sdp::accept_answer(text);
});
