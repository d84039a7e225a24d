//! DTMF tone synthesis, for test callers and in-band tests.

use super::Digit;

/// Peak amplitude of a 0 dBm0 sine in 16-bit linear G.711 audio: the µ-law full scale (8159 in
/// 14 bits, +3.17 dBm0) scaled to 16 bits and brought down by 3.17 dB.
pub const ZERO_DBM0_PEAK: f64 = 22_656.0;

/// `duration_ms` of the key's tone pair at 8 kHz, each tone at `level_dbm0_per_tone`.
pub fn synthesize_tone(digit: Digit, duration_ms: u32, level_dbm0_per_tone: f64) -> Vec<i16> {
    let (row, col) = digit.frequencies();
    let amplitude = ZERO_DBM0_PEAK * 10f64.powf(level_dbm0_per_tone / 20.0);
    (0..duration_ms as usize * 8)
        .map(|n| {
            let t = n as f64 / 8000.0;
            let s = amplitude
                * ((2.0 * std::f64::consts::PI * row * t).sin()
                    + (2.0 * std::f64::consts::PI * col * t).sin());
            s.round().clamp(-32768.0, 32767.0) as i16
        })
        .collect()
}
