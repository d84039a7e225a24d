//! The mel filter bank whisper.cpp expects in its model file: librosa's default
//! `mel(sr=16000, n_fft=400, n_mels=80)` — Slaney mel scale, Slaney area normalisation.
//! CTranslate2 files do not carry it, so it is computed.

pub const N_MELS: usize = 80;
pub const N_FFT_BINS: usize = 201;
const SAMPLE_RATE: f64 = 16000.0;

fn hz_to_mel(hz: f64) -> f64 {
    let f_sp = 200.0 / 3.0;
    let min_log_hz = 1000.0;
    let min_log_mel = min_log_hz / f_sp;
    let logstep = 6.4f64.ln() / 27.0;
    if hz >= min_log_hz {
        min_log_mel + (hz / min_log_hz).ln() / logstep
    } else {
        hz / f_sp
    }
}

fn mel_to_hz(mel: f64) -> f64 {
    let f_sp = 200.0 / 3.0;
    let min_log_hz = 1000.0;
    let min_log_mel = min_log_hz / f_sp;
    let logstep = 6.4f64.ln() / 27.0;
    if mel >= min_log_mel {
        min_log_hz * (logstep * (mel - min_log_mel)).exp()
    } else {
        f_sp * mel
    }
}

/// 80 × 201 filter weights, row by row.
pub fn filters() -> Vec<f32> {
    let fft_freqs: Vec<f64> = (0..N_FFT_BINS)
        .map(|i| i as f64 * SAMPLE_RATE / 2.0 / (N_FFT_BINS - 1) as f64)
        .collect();
    let (lo, hi) = (hz_to_mel(0.0), hz_to_mel(SAMPLE_RATE / 2.0));
    let mel_f: Vec<f64> = (0..N_MELS + 2)
        .map(|i| mel_to_hz(lo + (hi - lo) * i as f64 / (N_MELS + 1) as f64))
        .collect();
    let mut weights = vec![0f32; N_MELS * N_FFT_BINS];
    for m in 0..N_MELS {
        let (left, center, right) = (mel_f[m], mel_f[m + 1], mel_f[m + 2]);
        let enorm = 2.0 / (right - left);
        for (k, &f) in fft_freqs.iter().enumerate() {
            let lower = (f - left) / (center - left);
            let upper = (right - f) / (right - center);
            weights[m * N_FFT_BINS + k] = (lower.min(upper).max(0.0) * enorm) as f32;
        }
    }
    weights
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn filters_match_librosa_reference_points() {
        let w = filters();
        // Weight of bin 1 (40 Hz) in filter 0, from librosa's Slaney formulas evaluated by hand.
        assert!((w[1] - 0.024_862_3).abs() < 1e-4, "{}", w[1]);
        let last_row = &w[79 * N_FFT_BINS..];
        assert!(last_row.iter().any(|&x| x > 0.0));
        // Every filter is a triangle: non-zero over a contiguous band.
        for m in 0..N_MELS {
            let row = &w[m * N_FFT_BINS..(m + 1) * N_FFT_BINS];
            let nz: Vec<usize> = (0..N_FFT_BINS).filter(|&k| row[k] > 0.0).collect();
            assert!(!nz.is_empty(), "filter {m} empty");
            assert_eq!(
                nz.last().unwrap() - nz[0] + 1,
                nz.len(),
                "filter {m} not contiguous"
            );
        }
    }
}
