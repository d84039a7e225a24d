//! In-band DTMF detection with the Goertzel algorithm, as in ITU-T Q.24 receivers.

use super::Digit;

/// Block length: 102 samples (12.75 ms at 8 kHz) gives ~78 Hz bins, narrow enough to separate
/// the DTMF rows (73 Hz apart at the closest after scalloping) and short enough that a 40 ms key
/// press spans two whole blocks wherever it starts.
const BLOCK: usize = 102;
const ROWS: [f64; 4] = [697.0, 770.0, 852.0, 941.0];
const COLS: [f64; 4] = [1209.0, 1336.0, 1477.0, 1633.0];
/// Least energy for a block to be considered: a tone pair at about -33 dBm0 in total.
const MIN_BLOCK_ENERGY: f64 = BLOCK as f64 * 0.5 * 716.0 * 716.0;
/// The tone pair must carry this share of the block's energy: speech and music spread theirs
/// over many frequencies; a real key press puts nearly all of it in two tones. It also rejects
/// blocks only partly filled by a too-short tone.
const MIN_TONE_SHARE: f64 = 0.85;
/// Each tone is measured at its nominal frequency and ±1.5 % (the Q.24 tolerance), keeping the
/// best, so an off-frequency keypad still puts nearly all its energy in the measured pair and the
/// share threshold can stay strict.
const OFFSETS: [f64; 3] = [0.985, 1.0, 1.015];
/// The strongest row (column) must beat every other row (column) by 6 dB.
const MIN_PEAK_RATIO: f64 = 4.0;
/// Twist limits: Q.24 asks receivers to accept 8 dB of normal twist (the line attenuates the high
/// column tone) and 4 dB of reverse twist; we accept 8 dB both ways because gateways with
/// pre-emphasis produce more reverse twist than the standard expects.
const MAX_NORMAL_TWIST: f64 = 6.31; // 8 dB
const MAX_REVERSE_TWIST: f64 = 6.31; // 8 dB
/// A second harmonic this close to the fundamental means a voice, not a keypad.
const MAX_HARMONIC_RATIO: f64 = 0.25;
/// Consecutive blocks that must agree before a digit is reported (~25 ms of stable tone).
const BLOCKS_TO_DETECT: u32 = 2;
/// Consecutive blocks without the digit before the key counts as released (~25 ms).
const BLOCKS_TO_RELEASE: u32 = 2;

/// The tone's energy in the block, measured at its nominal frequency and the tolerance edges.
fn tone_energy(block: &[f64], freq: f64) -> f64 {
    OFFSETS
        .iter()
        .map(|k| goertzel(block, freq * k))
        .fold(0.0, f64::max)
}

/// Goertzel power of one frequency over a block, normalised to the tone's energy in the block.
fn goertzel(block: &[f64], freq: f64) -> f64 {
    let coeff = 2.0 * (2.0 * std::f64::consts::PI * freq / 8000.0).cos();
    let (mut s1, mut s2) = (0.0, 0.0);
    for &x in block {
        let s = x + coeff * s1 - s2;
        s2 = s1;
        s1 = s;
    }
    let power = s1 * s1 + s2 * s2 - coeff * s1 * s2;
    2.0 * power / block.len() as f64
}

/// Detects key presses in 8 kHz linear audio; each press is reported once, at its start.
#[derive(Debug, Default)]
pub struct InbandDetector {
    pending: Vec<f64>,
    candidate: Option<Digit>,
    hits: u32,
    held: Option<Digit>,
    misses: u32,
}

impl InbandDetector {
    pub fn new() -> Self {
        Self::default()
    }

    /// Feeds audio of any length; returns the key presses that started in it.
    pub fn push(&mut self, pcm: &[i16]) -> Vec<Digit> {
        let mut found = Vec::new();
        for &s in pcm {
            self.pending.push(s as f64);
            if self.pending.len() == BLOCK {
                let block = std::mem::take(&mut self.pending);
                if let Some(d) = self.on_block(classify(&block)) {
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

/// The key whose tone pair fills this block, if any.
fn classify(block: &[f64]) -> Option<Digit> {
    let energy: f64 = block.iter().map(|x| x * x).sum();
    if energy < MIN_BLOCK_ENERGY {
        return None;
    }
    let rows: Vec<f64> = ROWS.iter().map(|f| tone_energy(block, *f)).collect();
    let cols: Vec<f64> = COLS.iter().map(|f| tone_energy(block, *f)).collect();
    let (r, row) = strongest(&rows)?;
    let (c, col) = strongest(&cols)?;
    if col * MAX_NORMAL_TWIST < row || row * MAX_REVERSE_TWIST < col {
        return None;
    }
    if (row + col) < MIN_TONE_SHARE * energy {
        return None;
    }
    let row_harmonic = goertzel(block, 2.0 * ROWS[r]);
    let col_harmonic = goertzel(block, 2.0 * COLS[c]);
    if row_harmonic > MAX_HARMONIC_RATIO * row || col_harmonic > MAX_HARMONIC_RATIO * col {
        return None;
    }
    Some(Digit::at(r, c))
}

/// The index and power of the strongest entry, if it beats all others by `MIN_PEAK_RATIO`.
fn strongest(powers: &[f64]) -> Option<(usize, f64)> {
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
}
