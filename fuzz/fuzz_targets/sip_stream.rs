//! TCP framing: the bytes of a stream, cut into reads of varying size, framed into messages
//! under a small size limit. The framer must never panic, and what it hands out stays bounded.
#![no_main]

use hotline::sip::transport::framing::StreamFramer;
use libfuzzer_sys::fuzz_target;

const LIMIT: usize = 4096;

fuzz_target!(|data: &[u8]| {
    let mut framer = StreamFramer::with_limit(LIMIT);
    // The first byte chooses the read size, so splits across reads are explored too.
    let (size, stream) = match data.split_first() {
        Some((n, rest)) => (usize::from(*n).max(1), rest),
        None => return,
    };
    for chunk in stream.chunks(size) {
        framer.push(chunk);
        loop {
            match framer.next_message() {
                Ok(Some(message)) => assert!(message.len() <= LIMIT),
                Ok(None) => break,
                Err(_) => return,
            }
        }
    }
});
