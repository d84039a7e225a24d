//! In-band DTMF detection with the Goertzel algorithm, as in ITU-T Q.24 receivers.
//!
//! The detector runs on every caller's audio for the whole call, so its cost is paid per call
//! and per packet: it was a quarter of the server's CPU under load (issue 16). A block of audio
//! therefore goes through gates, cheapest first, and only a block that looks like a tone pair
//! pays for the full Q.24 checks:
//! 1. **energy**: silence and quiet noise stop here;
//! 2. **spectral share at the nominal frequencies**: the eight Goertzel filters run together
//!    (one pass over the block, eight lanes the compiler vectorises) and the strongest row and
//!    column must hold most of the block's energy. Speech spreads its energy over formants and
//!    harmonics and stops here;
//! 3. the **full checks** (±1.5 % frequency offsets, peak ratio, twist, share, harmonics), the
//!    same as Q.24 asks, on the few blocks left.
//!
//! Coefficients are computed once; the arithmetic is f32 (a 102-sample block of 16-bit audio
//! needs far less than f32's 24 bits of mantissa for these ratios).

use super::Digit;
use std::sync::LazyLock;

/// Block length: 102 samples (12.75 ms at 8 kHz) gives ~78 Hz bins, narrow enough to separate
/// the DTMF rows (73 Hz apart at the closest after scalloping) and short enough that a 40 ms key
/// press spans two whole blocks wherever it starts.
const BLOCK: usize = 102;
/// The four row tones then the four column tones (ITU-T Q.23).
const TONES: [f32; 8] = [697.0, 770.0, 852.0, 941.0, 1209.0, 1336.0, 1477.0, 1633.0];
/// Least energy for a block to be considered: a tone pair at about -33 dBm0 in total.
const MIN_BLOCK_ENERGY: f32 = BLOCK as f32 * 0.5 * 716.0 * 716.0;
/// The tone pair must carry this share of the block's energy: speech and music spread theirs
/// over many frequencies; a real key press puts nearly all of it in two tones. It also rejects
/// blocks only partly filled by a too-short tone.
const MIN_TONE_SHARE: f32 = 0.85;
/// The gate's share, measured at the nominal frequencies only. A tone 1.5 % off (the Q.24
/// tolerance) keeps 72 % of its power in the nominal 1633 Hz bin (sinc² of 24.5 Hz over a
/// 12.75 ms block) and more in the lower bins, so a pair that passes [`MIN_TONE_SHARE`] with
/// the offsets shows at least 0.85 × 0.72 ≈ 0.61 here; 0.5 leaves room for noise and leakage.
const GATE_TONE_SHARE: f32 = 0.5;
/// Each tone is also measured at ±1.5 % (the Q.24 tolerance), keeping the best, so an
/// off-frequency keypad still puts nearly all its energy in the measured pair and the share
/// threshold can stay strict.
const OFFSETS: [f32; 2] = [0.985, 1.015];
/// The strongest row (column) must beat every other row (column) by 6 dB.
const MIN_PEAK_RATIO: f32 = 4.0;
/// Twist limits: Q.24 asks receivers to accept 8 dB of normal twist (the line attenuates the high
/// column tone) and 4 dB of reverse twist; we accept 8 dB both ways because gateways with
/// pre-emphasis produce more reverse twist than the standard expects.
const MAX_NORMAL_TWIST: f32 = 6.31; // 8 dB
const MAX_REVERSE_TWIST: f32 = 6.31; // 8 dB
/// A second harmonic this close to the fundamental means a voice, not a keypad.
const MAX_HARMONIC_RATIO: f32 = 0.25;
/// Consecutive blocks that must agree before a digit is reported (~25 ms of stable tone).
const BLOCKS_TO_DETECT: u32 = 2;
/// Consecutive blocks without the digit before the key counts as released (~25 ms).
const BLOCKS_TO_RELEASE: u32 = 2;

/// Goertzel coefficients `2 cos(2π f / 8000)`, computed once for the process.
struct Coefficients {
    nominal: [f32; 8],
    offsets: [[f32; 8]; 2],
    /// Second harmonics (2 f), to tell a voice from a keypad.
    harmonics: [f32; 8],
}

fn coefficient(freq: f32) -> f32 {
    (2.0 * (2.0 * std::f64::consts::PI * f64::from(freq) / 8000.0).cos()) as f32
}

static COEFFICIENTS: LazyLock<Coefficients> = LazyLock::new(|| Coefficients {
    nominal: TONES.map(coefficient),
    offsets: OFFSETS.map(|k| TONES.map(|f| coefficient(f * k))),
    harmonics: TONES.map(|f| coefficient(2.0 * f)),
});

/// Goertzel power of eight frequencies over a block in one pass, each normalised to the tone's
/// energy in the block. The eight filters are independent lanes of the same recurrence, which
/// the compiler turns into vector arithmetic.
fn goertzel8(block: &[f32; BLOCK], coeffs: &[f32; 8]) -> [f32; 8] {
    let (mut s1, mut s2) = ([0f32; 8], [0f32; 8]);
    for &x in block {
        for k in 0..8 {
            let s = x + coeffs[k] * s1[k] - s2[k];
            s2[k] = s1[k];
            s1[k] = s;
        }
    }
    let mut power = [0f32; 8];
    for k in 0..8 {
        power[k] = 2.0 * (s1[k] * s1[k] + s2[k] * s2[k] - coeffs[k] * s1[k] * s2[k]) / BLOCK as f32;
    }
    power
}

/// Goertzel power of one frequency (by its coefficient) over a block.
fn goertzel(block: &[f32; BLOCK], coeff: f32) -> f32 {
    let (mut s1, mut s2) = (0f32, 0f32);
    for &x in block {
        let s = x + coeff * s1 - s2;
        s2 = s1;
        s1 = s;
    }
    2.0 * (s1 * s1 + s2 * s2 - coeff * s1 * s2) / BLOCK as f32
}

/// Detects key presses in 8 kHz linear audio; each press is reported once, at its start.
#[derive(Debug)]
pub struct InbandDetector {
    block: [f32; BLOCK],
    filled: usize,
    candidate: Option<Digit>,
    hits: u32,
    held: Option<Digit>,
    misses: u32,
}

impl Default for InbandDetector {
    fn default() -> Self {
        InbandDetector {
            block: [0.0; BLOCK],
            filled: 0,
            candidate: None,
            hits: 0,
            held: None,
            misses: 0,
        }
    }
}

impl InbandDetector {
    pub fn new() -> Self {
        Self::default()
    }

    /// Feeds audio of any length; returns the key presses that started in it. Allocates only
    /// when a key press is found.
    pub fn push(&mut self, pcm: &[i16]) -> Vec<Digit> {
        let mut found = Vec::new();
        let mut rest = pcm;
        while !rest.is_empty() {
            let take = rest.len().min(BLOCK - self.filled);
            for (slot, &s) in self.block[self.filled..self.filled + take]
                .iter_mut()
                .zip(&rest[..take])
            {
                *slot = f32::from(s);
            }
            self.filled += take;
            rest = &rest[take..];
            if self.filled == BLOCK {
                self.filled = 0;
                let seen = classify(&self.block);
                if let Some(d) = self.on_block(seen) {
                    found.push(d);
                }
            }
        }
        found
    }

    fn on_block(&mut self, seen: Option<Digit>) -> Option<Digit> {
        match seen {
            Some(d) if self.held == Some(d) => {
                self.misses = 0;
                None
            }
            Some(d) => {
                if self.candidate == Some(d) {
                    self.hits += 1;
                } else {
                    self.candidate = Some(d);
                    self.hits = 1;
                }
                if self.hits >= BLOCKS_TO_DETECT {
                    self.held = Some(d);
                    self.misses = 0;
                    self.candidate = None;
                    self.hits = 0;
                    return Some(d);
                }
                None
            }
            None => {
                self.candidate = None;
                self.hits = 0;
                if self.held.is_some() {
                    self.misses += 1;
                    if self.misses >= BLOCKS_TO_RELEASE {
                        self.held = None;
                    }
                }
                None
            }
        }
    }
}

/// How far a block got through the gates; counted by the tests.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Verdict {
    TooQuiet,
    NotTonal,
    Rejected,
    Key(Digit),
}

/// The block's energy, summed in eight lanes (a single running sum is a chain of dependent
/// additions the compiler may not reorder, eight times slower on silence).
fn energy(block: &[f32; BLOCK]) -> f32 {
    let mut lanes = [0f32; 8];
    let chunks = block.chunks_exact(8);
    let tail: f32 = chunks.remainder().iter().map(|x| x * x).sum();
    for chunk in chunks {
        for (lane, x) in lanes.iter_mut().zip(chunk) {
            *lane += x * x;
        }
    }
    lanes.iter().sum::<f32>() + tail
}

/// The key whose tone pair fills this block, if any.
fn classify(block: &[f32; BLOCK]) -> Option<Digit> {
    match judge(block, energy(block)) {
        Verdict::Key(d) => Some(d),
        _ => None,
    }
}

fn judge(block: &[f32; BLOCK], energy: f32) -> Verdict {
    if energy < MIN_BLOCK_ENERGY {
        return Verdict::TooQuiet;
    }
    let c = &*COEFFICIENTS;
    let nominal = goertzel8(block, &c.nominal);
    let best_row = nominal[..4].iter().copied().fold(0.0, f32::max);
    let best_col = nominal[4..].iter().copied().fold(0.0, f32::max);
    if best_row + best_col < GATE_TONE_SHARE * energy {
        return Verdict::NotTonal;
    }
    // Each tone at its best of nominal and ±1.5 %.
    let mut powers = nominal;
    for coeffs in &c.offsets {
        for (p, q) in powers.iter_mut().zip(goertzel8(block, coeffs)) {
            *p = p.max(q);
        }
    }
    let (Some((r, row)), Some((col_i, col))) = (strongest(&powers[..4]), strongest(&powers[4..]))
    else {
        return Verdict::Rejected;
    };
    if col * MAX_NORMAL_TWIST < row || row * MAX_REVERSE_TWIST < col {
        return Verdict::Rejected;
    }
    if (row + col) < MIN_TONE_SHARE * energy {
        return Verdict::Rejected;
    }
    let row_harmonic = goertzel(block, c.harmonics[r]);
    let col_harmonic = goertzel(block, c.harmonics[4 + col_i]);
    if row_harmonic > MAX_HARMONIC_RATIO * row || col_harmonic > MAX_HARMONIC_RATIO * col {
        return Verdict::Rejected;
    }
    Verdict::Key(Digit::at(r, col_i))
}

/// The index and power of the strongest entry, if it beats all others by `MIN_PEAK_RATIO`.
fn strongest(powers: &[f32]) -> Option<(usize, f32)> {
    let (i, &best) = powers
        .iter()
        .enumerate()
        .max_by(|a, b| a.1.total_cmp(b.1))?;
    powers
        .iter()
        .enumerate()
        .all(|(j, &p)| j == i || p * MIN_PEAK_RATIO <= best)
        .then_some((i, best))
}

#[cfg(test)]
mod tests {
    use super::super::synthesize_tone;
    use super::super::tone::ZERO_DBM0_PEAK;
    use super::*;
    use crate::media::g711::G711;

    const KEYS: &str = "0123456789*#ABCD";

    /// A tone pair with per-tone levels, a frequency factor and white noise at `snr_db`.
    fn tone(
        digit: Digit,
        ms: usize,
        row_dbm0: f64,
        col_dbm0: f64,
        freq_factor: f64,
        snr_db: Option<f64>,
        seed: u64,
    ) -> Vec<i16> {
        let (fr, fc) = digit.frequencies();
        let (ar, ac) = (
            ZERO_DBM0_PEAK * 10f64.powf(row_dbm0 / 20.0),
            ZERO_DBM0_PEAK * 10f64.powf(col_dbm0 / 20.0),
        );
        let signal_power = (ar * ar + ac * ac) / 2.0;
        let noise_rms = snr_db
            .map(|s| (signal_power / 10f64.powf(s / 10.0)).sqrt())
            .unwrap_or(0.0);
        let mut state = seed | 1;
        let mut noise = || {
            // Sum of uniforms ≈ Gaussian; xorshift keeps the test deterministic.
            let mut acc = 0.0;
            for _ in 0..12 {
                state ^= state << 13;
                state ^= state >> 7;
                state ^= state << 17;
                acc += (state as f64 / u64::MAX as f64) - 0.5;
            }
            acc
        };
        (0..ms * 8)
            .map(|n| {
                let t = n as f64 / 8000.0;
                let s = ar * (2.0 * std::f64::consts::PI * fr * freq_factor * t).sin()
                    + ac * (2.0 * std::f64::consts::PI * fc * freq_factor * t).sin()
                    + noise_rms * noise();
                s.round().clamp(-32768.0, 32767.0) as i16
            })
            .collect()
    }

    fn through(codec: G711, pcm: &[i16]) -> Vec<i16> {
        let mut enc = Vec::new();
        codec.encode(pcm, &mut enc);
        let mut dec = Vec::new();
        codec.decode(&enc, &mut dec);
        dec
    }

    fn detect(pcm: &[i16]) -> Vec<char> {
        let mut d = InbandDetector::new();
        // Feed in uneven chunks, as RTP and the network would.
        pcm.chunks(97)
            .flat_map(|c| d.push(c))
            .map(|d| d.as_char())
            .collect()
    }

    #[test]
    fn every_key_is_detected_across_levels_codecs_noise_twist_and_offset() {
        let mut failures = Vec::new();
        let mut cases = 0;
        for key in KEYS.chars() {
            let digit = Digit::from_char(key).unwrap();
            for level in [-3.0, -10.0, -18.0, -25.0] {
                for (twist, factor, snr) in [
                    (0.0, 1.0, None),
                    (4.0, 1.015, Some(15.0)),
                    (-4.0, 0.985, Some(15.0)),
                ] {
                    for codec in [G711::Ulaw, G711::Alaw] {
                        cases += 1;
                        let mut pcm = vec![0i16; 400];
                        pcm.extend(tone(digit, 60, level, level - twist, factor, snr, cases));
                        pcm.extend(vec![0i16; 400]);
                        let got = detect(&through(codec, &pcm));
                        if got != vec![key] {
                            failures.push(format!(
                                "{key} {level} dBm0 twist {twist} x{factor} {codec:?}: {got:?}"
                            ));
                        }
                    }
                }
            }
        }
        assert!(
            failures.is_empty(),
            "{} of {cases} failed: {failures:#?}",
            failures.len()
        );
    }

    #[test]
    fn fast_dialling_40ms_tones_with_40ms_gaps_are_all_detected() {
        let mut pcm = Vec::new();
        for key in KEYS.chars() {
            pcm.extend(synthesize_tone(Digit::from_char(key).unwrap(), 40, -10.0));
            pcm.extend(vec![0i16; 320]);
        }
        assert_eq!(
            detect(&through(G711::Ulaw, &pcm))
                .iter()
                .collect::<String>(),
            KEYS
        );
    }

    #[test]
    fn a_held_key_counts_once_and_a_second_press_counts_again() {
        let five = Digit::from_char('5').unwrap();
        let mut pcm = synthesize_tone(five, 800, -10.0);
        pcm.extend(vec![0i16; 400]);
        pcm.extend(synthesize_tone(five, 100, -10.0));
        assert_eq!(detect(&pcm), vec!['5', '5']);
    }

    #[test]
    fn too_short_tones_single_tones_silence_and_noise_are_not_keys() {
        for key in KEYS.chars() {
            let mut pcm = vec![0i16; 203];
            pcm.extend(synthesize_tone(Digit::from_char(key).unwrap(), 20, -10.0));
            pcm.extend(vec![0i16; 400]);
            assert_eq!(detect(&pcm), Vec::<char>::new(), "20 ms of {key}");
        }
        let single: Vec<i16> = (0..8000)
            .map(|n| {
                (8000.0 * (2.0 * std::f64::consts::PI * 941.0 * n as f64 / 8000.0).sin()) as i16
            })
            .collect();
        assert!(detect(&single).is_empty());
        assert!(detect(&vec![0i16; 8000]).is_empty());
        let noise = tone(
            Digit::from_char('1').unwrap(),
            1000,
            -60.0,
            -60.0,
            1.0,
            Some(-40.0),
            7,
        );
        assert!(detect(&noise).is_empty());
    }

    #[test]
    fn speech_is_not_taken_for_keys() {
        let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/speech");
        let mut files = 0;
        for entry in std::fs::read_dir(&dir).expect("speech fixtures") {
            let path = entry.unwrap().path();
            if path.extension().is_some_and(|e| e == "wav") {
                let mut reader = hound::WavReader::open(&path).unwrap();
                assert_eq!(reader.spec().sample_rate, 8000);
                let pcm: Vec<i16> = reader.samples::<i16>().map(Result::unwrap).collect();
                for codec in [G711::Ulaw, G711::Alaw] {
                    assert!(
                        detect(&through(codec, &pcm)).is_empty(),
                        "{} ({codec:?}) triggered",
                        path.display()
                    );
                }
                files += 1;
            }
        }
        assert!(files >= 4, "speech fixtures present");
    }

    #[test]
    fn a_key_pressed_over_speech_is_still_detected() {
        let path = std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
            .join("tests/fixtures/speech/en-printer.wav");
        let speech: Vec<i16> = hound::WavReader::open(path)
            .unwrap()
            .samples::<i16>()
            .map(Result::unwrap)
            .collect();
        let key = synthesize_tone(Digit::from_char('7').unwrap(), 100, -6.0);
        let mut mixed: Vec<i16> = speech[..8000].iter().map(|s| s / 8).collect();
        for (i, k) in key.iter().enumerate() {
            mixed[3000 + i] = mixed[3000 + i].saturating_add(*k);
        }
        assert_eq!(detect(&mixed), vec!['7']);
    }

    /// The gates' verdicts on every block of the speech fixtures, as a caller's phone sends them.
    #[test]
    fn speech_rarely_gets_past_the_cheap_gates() {
        let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/speech");
        let (mut loud, mut past_gate) = (0, 0);
        for entry in std::fs::read_dir(&dir).expect("speech fixtures") {
            let path = entry.unwrap().path();
            if path.extension().is_none_or(|e| e != "wav") {
                continue;
            }
            let pcm: Vec<i16> = hound::WavReader::open(&path)
                .unwrap()
                .samples::<i16>()
                .map(Result::unwrap)
                .collect();
            for chunk in through(G711::Ulaw, &pcm).chunks_exact(BLOCK) {
                let block: [f32; BLOCK] = std::array::from_fn(|i| f32::from(chunk[i]));
                match judge(&block, energy(&block)) {
                    Verdict::TooQuiet => {}
                    Verdict::NotTonal => loud += 1,
                    // A single block may look like a key; a digit needs two in a row, which
                    // `speech_is_not_taken_for_keys` checks.
                    Verdict::Rejected | Verdict::Key(_) => {
                        loud += 1;
                        past_gate += 1;
                    }
                }
            }
        }
        assert!(loud > 500, "the fixtures hold speech ({loud} loud blocks)");
        // The full checks cost three times the gate; speech must rarely pay for them
        // (measured: 24 of 1,336 blocks, 1.8 %).
        assert!(
            past_gate * 100 <= loud * 3,
            "{past_gate} of {loud} loud speech blocks passed the spectral gate"
        );
    }

    #[test]
    fn coefficients_are_the_goertzel_coefficients_of_the_dtmf_tones() {
        let c = &*COEFFICIENTS;
        for (i, f) in TONES.iter().enumerate() {
            let exact = 2.0 * (2.0 * std::f64::consts::PI * f64::from(*f) / 8000.0).cos();
            assert!((f64::from(c.nominal[i]) - exact).abs() < 1e-6, "{f} Hz");
        }
        assert!(c.offsets[0][7] > c.nominal[7] && c.offsets[1][7] < c.nominal[7]);
    }
}
