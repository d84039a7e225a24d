//! `cargo bench --bench inband_dtmf`: what the in-band DTMF detector costs per 20 ms frame of a
//! caller's audio (issue 16), for silence, speech and key presses, beside the detector it
//! replaced (kept below as `reference`: f64, cosines recomputed, 24 Goertzel passes per
//! block on every block loud enough), measured in the same run on the same input.

use hotline::media::dtmf::{synthesize_tone, Digit, InbandDetector};
use hotline::media::g711::G711;
use std::hint::black_box;
use std::time::Instant;

/// The detector as it was before issue 16, unchanged but for its name.
mod reference {
    use hotline::media::dtmf::Digit;

    const BLOCK: usize = 102;
    const ROWS: [f64; 4] = [697.0, 770.0, 852.0, 941.0];
    const COLS: [f64; 4] = [1209.0, 1336.0, 1477.0, 1633.0];
    const MIN_BLOCK_ENERGY: f64 = BLOCK as f64 * 0.5 * 716.0 * 716.0;
    const MIN_TONE_SHARE: f64 = 0.85;
    const OFFSETS: [f64; 3] = [0.985, 1.0, 1.015];
    const MIN_PEAK_RATIO: f64 = 4.0;
    const MAX_TWIST: f64 = 6.31;
    const MAX_HARMONIC_RATIO: f64 = 0.25;
    const KEYS: [&str; 4] = ["123A", "456B", "789C", "*0#D"];

    fn tone_energy(block: &[f64], freq: f64) -> f64 {
        OFFSETS
            .iter()
            .map(|k| goertzel(block, freq * k))
            .fold(0.0, f64::max)
    }

    fn goertzel(block: &[f64], freq: f64) -> f64 {
        let coeff = 2.0 * (2.0 * std::f64::consts::PI * freq / 8000.0).cos();
        let (mut s1, mut s2) = (0.0, 0.0);
        for &x in block {
            let s = x + coeff * s1 - s2;
            s2 = s1;
            s1 = s;
        }
        2.0 * (s1 * s1 + s2 * s2 - coeff * s1 * s2) / block.len() as f64
    }

    #[derive(Default)]
    pub struct Detector {
        pending: Vec<f64>,
        candidate: Option<Digit>,
        hits: u32,
        held: Option<Digit>,
        misses: u32,
    }

    impl Detector {
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
                    if self.hits >= 2 {
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
                        if self.misses >= 2 {
                            self.held = None;
                        }
                    }
                    None
                }
            }
        }
    }

    fn classify(block: &[f64]) -> Option<Digit> {
        let energy: f64 = block.iter().map(|x| x * x).sum();
        if energy < MIN_BLOCK_ENERGY {
            return None;
        }
        let rows: Vec<f64> = ROWS.iter().map(|f| tone_energy(block, *f)).collect();
        let cols: Vec<f64> = COLS.iter().map(|f| tone_energy(block, *f)).collect();
        let (r, row) = strongest(&rows)?;
        let (c, col) = strongest(&cols)?;
        if col * MAX_TWIST < row || row * MAX_TWIST < col {
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
        Digit::from_char(KEYS[r].as_bytes()[c] as char)
    }

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
}

/// Audio as a phone sends it: through µ-law and back.
fn phone(pcm: &[i16]) -> Vec<i16> {
    let mut enc = Vec::new();
    G711::Ulaw.encode(pcm, &mut enc);
    let mut dec = Vec::new();
    G711::Ulaw.decode(&enc, &mut dec);
    dec
}

fn speech() -> Vec<i16> {
    let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/speech");
    let mut paths: Vec<_> = std::fs::read_dir(dir)
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.extension().is_some_and(|e| e == "wav"))
        .collect();
    paths.sort();
    let mut pcm = Vec::new();
    for path in paths {
        let mut reader = hound::WavReader::open(path).unwrap();
        pcm.extend(reader.samples::<i16>().map(Result::unwrap));
    }
    phone(&pcm)
}

fn keys() -> Vec<i16> {
    let mut pcm = Vec::new();
    for _ in 0..20 {
        for key in "0123456789*#ABCD".chars() {
            pcm.extend(synthesize_tone(Digit::from_char(key).unwrap(), 100, -10.0));
            pcm.extend(vec![0i16; 800]);
        }
    }
    phone(&pcm)
}

/// Nanoseconds per 160-sample frame, and the digits found (the same for both detectors).
fn measure(audio: &[i16], mut push: impl FnMut(&[i16]) -> usize) -> (f64, usize) {
    let frames = audio.len() / 160;
    // Enough passes for about a second of work on the slowest case; the best pass counts, as
    // other processes share the machine.
    let mut best = f64::INFINITY;
    let mut found = 0;
    for _ in 0..5 {
        let started = Instant::now();
        found = 0;
        for frame in audio.chunks_exact(160) {
            found += push(black_box(frame));
        }
        best = best.min(started.elapsed().as_nanos() as f64 / frames as f64);
    }
    (best, found)
}

fn main() {
    let cases = [
        ("silence (60 s)", vec![0i16; 8000 * 60]),
        ("speech (25 s, 5 fixtures)", speech()),
        ("key presses (320 × 100 ms)", keys()),
    ];
    println!("| audio | before (ns per 20 ms frame) | after (ns per 20 ms frame) | speed-up | keys found before / after |");
    println!("|---|---|---|---|---|");
    for (name, audio) in &cases {
        let mut old = reference::Detector::default();
        let (before, found_before) = measure(audio, |f| old.push(f).len());
        let mut new = InbandDetector::new();
        let (after, found_after) = measure(audio, |f| new.push(f).len());
        println!(
            "| {name} | {before:.0} | {after:.0} | {:.1}× | {found_before} / {found_after} |",
            before / after
        );
    }
}
