//! A prompt file through the WAV loader (any format hound reads, resampled to 8 kHz mono).
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let _ = hotline::media::prompt::decode_wav(std::io::Cursor::new(data));
});
