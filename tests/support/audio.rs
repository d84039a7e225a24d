//! Audio the tests send and check: pure tones, and how strongly a tone is in what was heard.

use std::f64::consts::PI;

/// `ms` of a sine at `hz`, 8 kHz.
pub fn tone(hz: f64, ms: usize) -> Vec<i16> {
    (0..ms * 8)
        .map(|n| (6000.0 * (2.0 * PI * hz * n as f64 / 8000.0).sin()) as i16)
        .collect()
}

/// The strongest 100 ms window's share of energy at `hz` (Goertzel), 0 to 1.
pub fn best_share_at(pcm: &[i16], hz: f64) -> f64 {
    pcm.chunks(800)
        .filter(|w| w.len() == 800)
        .map(|w| {
            let k = 2.0 * (2.0 * PI * hz / 8000.0).cos();
            let (mut s1, mut s2) = (0.0, 0.0);
            for &x in w {
                let s = f64::from(x) + k * s1 - s2;
                s2 = s1;
                s1 = s;
            }
            let power = s1 * s1 + s2 * s2 - k * s1 * s2;
            let energy: f64 = w.iter().map(|&x| f64::from(x).powi(2)).sum();
            if energy < 1e6 {
                0.0
            } else {
                power / (energy * w.len() as f64 / 2.0)
            }
        })
        .fold(0.0, f64::max)
}
