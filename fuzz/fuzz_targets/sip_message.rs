//! One datagram through everything the transport does before the endpoint sees it: the raw
//! checks, rsip's parse with our normalisation, the request checks, and the raw responses built
//! for refusals. None may panic, whatever the bytes.
#![no_main]

use hotline::sip::{message, validate};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let head = message::normalised_head(data);
    if let Some(refusal) = validate::check_raw(&head) {
        let _ = message::raw_response(data, &refusal);
    }
    match message::parse(data) {
        Ok(rsip::SipMessage::Request(request)) => {
            if let Some(refusal) = validate::check_request(&request) {
                let _ = message::raw_response(data, &refusal);
            }
            let _ = message::encode(&rsip::SipMessage::Request(request));
        }
        Ok(other) => {
            let _ = message::encode(&other);
        }
        Err(error) => {
            let _ = message::raw_error_response(data, &error);
        }
    }
});
