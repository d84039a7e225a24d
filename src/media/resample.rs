//! Sample-rate conversion of whole clips: prompts recorded at 16/44.1/48 kHz down to the 8 kHz
//! of G.711, and 8 kHz voicemail up to the 16 kHz a speech recogniser wants.
//!
//! A windowed-sinc resampler (rubato) rather than linear interpolation: going down, anything
//! above the new Nyquist frequency must be filtered out first or it folds back as audible
//! aliasing (a 6 kHz hiss at 16 kHz becomes a 2 kHz whistle at 8 kHz); going up, linear
//! interpolation leaves images of the speech band that a recogniser hears as noise.

use rubato::audioadapter_buffers::direct::InterleavedSlice;
use rubato::{Async, FixedAsync, Resampler, SincInterpolationParameters, WindowFunction};

/// Input frames per internal processing step; the whole clip goes through in steps this big.
const CHUNK_FRAMES: usize = 1024;

/// Why a clip could not be resampled.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ResampleError {
    #[error("cannot resample from {from_hz} Hz to {to_hz} Hz: a sample rate must be above 0 Hz")]
    ZeroRate { from_hz: u32, to_hz: u32 },
    #[error("resampling from {from_hz} Hz to {to_hz} Hz failed: {reason}")]
    Resampler {
        from_hz: u32,
        to_hz: u32,
        reason: String,
    },
}

/// Resamples a mono clip from `from_hz` to `to_hz`.
///
/// The output holds `ceil(input.len() * to_hz / from_hz)` samples and is aligned with the input:
/// the filter's start-up delay is trimmed, so sample `n` of the output is the instant
/// `n / to_hz` of the input (a prompt does not start late, a recording keeps its timing).
pub fn resample(input: &[f32], from_hz: u32, to_hz: u32) -> Result<Vec<f32>, ResampleError> {
    if from_hz == 0 || to_hz == 0 {
        return Err(ResampleError::ZeroRate { from_hz, to_hz });
    }
    if from_hz == to_hz || input.is_empty() {
        return Ok(input.to_vec());
    }
    let failed = |reason: String| ResampleError::Resampler {
        from_hz,
        to_hz,
        reason,
    };
    // 256 taps with a Blackman-Harris² window and the automatic cutoff: going 16 kHz -> 8 kHz
    // the response is flat to 3.4 kHz (the top of the telephone band), 0.2 dB down at 3.6 kHz,
    // and more than 70 dB down from 4.1 kHz on, below what 16-bit audio can carry.
    let parameters = SincInterpolationParameters::new(256, WindowFunction::BlackmanHarris2);
    let ratio = f64::from(to_hz) / f64::from(from_hz);
    let mut resampler =
        Async::<f32>::new_sinc(ratio, 1.0, &parameters, CHUNK_FRAMES, 1, FixedAsync::Input)
            .map_err(|e| failed(e.to_string()))?;
    let clip = InterleavedSlice::new(input, 1, input.len()).map_err(|e| failed(e.to_string()))?;
    let output = resampler
        .process_all(&clip, input.len(), None)
        .map_err(|e| failed(e.to_string()))?;
    Ok(output.take_data())
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::f64::consts::PI;

    fn sine(freq: f64, rate: u32, seconds: f64, amplitude: f64) -> Vec<f32> {
        let n = (f64::from(rate) * seconds) as usize;
        (0..n)
            .map(|i| (amplitude * (2.0 * PI * freq * i as f64 / f64::from(rate)).sin()) as f32)
            .collect()
    }

    /// The middle of a clip, away from the edges where the filter sees the clip start or end.
    fn middle(x: &[f32]) -> &[f32] {
        &x[x.len() / 4..x.len() * 3 / 4]
    }

    fn rms(x: &[f32]) -> f64 {
        (x.iter().map(|&s| f64::from(s).powi(2)).sum::<f64>() / x.len() as f64).sqrt()
    }

    fn db(ratio: f64) -> f64 {
        20.0 * ratio.log10()
    }

    /// Checks that the middle of `output` is a pure `freq` tone of `amplitude`: a least-squares
    /// fit of a sine at `freq` (free phase) must match in level and leave almost nothing over.
    fn assert_is_tone(output: &[f32], freq: f64, rate: u32, amplitude: f64) {
        let start = output.len() / 4;
        let part = middle(output);
        let w = 2.0 * PI * freq / f64::from(rate);
        let (mut s, mut c) = (0.0, 0.0);
        for (i, &x) in part.iter().enumerate() {
            let t = w * (start + i) as f64;
            s += f64::from(x) * t.sin();
            c += f64::from(x) * t.cos();
        }
        let (a_sin, a_cos) = (2.0 * s / part.len() as f64, 2.0 * c / part.len() as f64);
        let fitted = a_sin.hypot(a_cos);
        let level = db(fitted / amplitude);
        assert!(level.abs() < 0.5, "{freq} Hz level off by {level:.2} dB");
        let residual: Vec<f32> = part
            .iter()
            .enumerate()
            .map(|(i, &x)| {
                let t = w * (start + i) as f64;
                (f64::from(x) - a_sin * t.sin() - a_cos * t.cos()) as f32
            })
            .collect();
        let rest = db(rms(&residual) / (amplitude / 2f64.sqrt()));
        assert!(
            rest < -40.0,
            "{rest:.1} dB of the output is not the {freq} Hz tone"
        );
    }

    /// Where a click at input sample `at` comes out, in output samples.
    fn click_position(from_hz: u32, to_hz: u32, at: usize) -> usize {
        let mut input = vec![0.0f32; from_hz as usize / 10];
        input[at] = 1.0;
        let output = resample(&input, from_hz, to_hz).unwrap();
        (0..output.len())
            .max_by(|&a, &b| output[a].abs().total_cmp(&output[b].abs()))
            .unwrap()
    }

    #[test]
    fn upsampling_8k_to_16k_keeps_a_1khz_tone_and_its_level() {
        let input = sine(1000.0, 8000, 0.5, 0.5);
        let output = resample(&input, 8000, 16000).unwrap();
        assert_eq!(output.len(), input.len() * 2);
        assert_is_tone(&output, 1000.0, 16000, 0.5);
    }

    #[test]
    fn downsampling_48k_to_8k_keeps_a_1khz_tone_and_its_level() {
        let input = sine(1000.0, 48000, 0.5, 0.5);
        let output = resample(&input, 48000, 8000).unwrap();
        assert_eq!(output.len(), input.len() / 6);
        assert_is_tone(&output, 1000.0, 8000, 0.5);
    }

    #[test]
    fn downsampling_44_1k_to_8k_handles_a_fractional_ratio() {
        let input = sine(440.0, 44100, 0.5, 0.3);
        let output = resample(&input, 44100, 8000).unwrap();
        assert_eq!(output.len(), 4000);
        assert_is_tone(&output, 440.0, 8000, 0.3);
    }

    #[test]
    fn the_top_of_the_telephone_band_survives_16k_to_8k() {
        let input = sine(3400.0, 16000, 0.5, 0.5);
        let output = resample(&input, 16000, 8000).unwrap();
        assert_is_tone(&output, 3400.0, 8000, 0.5);
    }

    #[test]
    fn tones_above_the_new_nyquist_are_filtered_not_aliased() {
        // Without the anti-aliasing filter 6 kHz at 16 kHz folds to 2 kHz at 8 kHz, and
        // 4.3 kHz to 3.7 kHz.
        for freq in [4300.0, 6000.0] {
            let input = sine(freq, 16000, 0.5, 0.5);
            let output = resample(&input, 16000, 8000).unwrap();
            let attenuation = db(rms(middle(&output)) / rms(&input));
            assert!(
                attenuation < -40.0,
                "{freq} Hz only {attenuation:.1} dB down"
            );
        }
    }

    #[test]
    fn output_starts_without_the_filter_delay() {
        // 50 ms into the clip, at every rate: the filter's 128-sample start-up delay is trimmed,
        // the remaining error is under one output sample.
        for (from_hz, to_hz, at, expected) in [
            (8000, 16000, 400, 800),
            (16000, 8000, 800, 400),
            (48000, 8000, 2400, 400),
            (44100, 8000, 2205, 400),
        ] {
            let got = click_position(from_hz, to_hz, at);
            assert!(
                got.abs_diff(expected) <= 1,
                "{from_hz}->{to_hz}: click at {got}, expected {expected}"
            );
        }
    }

    #[test]
    fn equal_rates_and_empty_clips_pass_through() {
        let input = sine(1000.0, 8000, 0.01, 0.5);
        assert_eq!(resample(&input, 8000, 8000).unwrap(), input);
        assert!(resample(&[], 8000, 16000).unwrap().is_empty());
    }

    #[test]
    fn a_zero_rate_is_an_error_naming_both_rates() {
        let err = resample(&[0.0; 10], 0, 8000).unwrap_err();
        assert_eq!(
            err.to_string(),
            "cannot resample from 0 Hz to 8000 Hz: a sample rate must be above 0 Hz"
        );
    }

    #[test]
    fn a_clip_shorter_than_one_chunk_keeps_its_length_ratio() {
        let input = sine(1000.0, 16000, 0.01, 0.5);
        assert_eq!(resample(&input, 16000, 8000).unwrap().len(), 80);
    }
}
