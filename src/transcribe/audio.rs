//! Audio for the recogniser: any WAV file to 16 kHz mono f32.

use crate::media::resample::{resample, ResampleError};
use std::path::{Path, PathBuf};

/// Sample rate Whisper works at.
pub const WHISPER_RATE: u32 = 16000;

#[derive(Debug, thiserror::Error)]
pub enum AudioError {
    #[error("{path}: not a readable WAV file ({reason})")]
    Wav { path: PathBuf, reason: String },
    #[error(transparent)]
    Resample(#[from] ResampleError),
}

/// Reads a WAV (8 to 32-bit integer or float, any channel count and rate) as 16 kHz mono.
pub fn load_wav_16k(path: &Path) -> Result<Vec<f32>, AudioError> {
    let wav_err = |reason: String| AudioError::Wav {
        path: path.to_path_buf(),
        reason,
    };
    let reader = hound::WavReader::open(path).map_err(|e| wav_err(e.to_string()))?;
    let spec = reader.spec();
    let channels = spec.channels.max(1) as usize;
    let samples: Vec<f32> = match spec.sample_format {
        hound::SampleFormat::Int => {
            let scale = 1.0 / (1u64 << (spec.bits_per_sample - 1)) as f32;
            reader
                .into_samples::<i32>()
                .map(|s| s.map(|v| v as f32 * scale))
                .collect::<Result<_, _>>()
                .map_err(|e| wav_err(e.to_string()))?
        }
        hound::SampleFormat::Float => reader
            .into_samples::<f32>()
            .collect::<Result<_, _>>()
            .map_err(|e| wav_err(e.to_string()))?,
    };
    let mono: Vec<f32> = samples
        .chunks(channels)
        .map(|f| f.iter().sum::<f32>() / f.len() as f32)
        .collect();
    Ok(resample(&mono, spec.sample_rate, WHISPER_RATE)?)
}

/// 8 kHz linear PCM (as recorded from a call) to 16 kHz f32.
pub fn phone_to_16k(pcm: &[i16]) -> Result<Vec<f32>, ResampleError> {
    let x: Vec<f32> = pcm.iter().map(|&s| s as f32 / 32768.0).collect();
    resample(&x, 8000, WHISPER_RATE)
}

/// Where [`level_speech`] brings a recording's speech: its active level (below), in dBFS.
pub const SPEECH_TARGET_DBFS: f32 = -20.0;
/// The most [`level_speech`] raises a recording: a very quiet caller is brought up by 30 dB,
/// a line that only carries noise is not turned into loud noise.
pub const MAX_GAIN_DB: f32 = 30.0;
/// A recording whose loudest 20 ms stays below this holds no speech to level (a silent caller,
/// digital silence, line noise): it is left as it is.
pub const SILENCE_DBFS: f32 = -60.0;
/// Frames this far below the loudest one are pauses or breath, not speech, and do not count
/// towards the active level.
const ACTIVE_RANGE_DB: f32 = 25.0;
/// 20 ms at 16 kHz.
const FRAME: usize = 320;

fn dbfs(power: f64) -> f32 {
    (10.0 * power.max(1e-20).log10()) as f32
}

/// The active speech level of a 16 kHz clip, in dB of full scale (a full-scale square wave is
/// 0 dBFS, a full-scale sine −3): the mean power of its 20 ms frames within 25 dB of the loudest, so the
/// pauses of a voicemail, however long, do not pull it down (the idea of ITU-T P.56's active
/// speech level, simplified). `None` when no frame reaches [`SILENCE_DBFS`].
pub fn speech_level_dbfs(audio: &[f32]) -> Option<f32> {
    let powers: Vec<f64> = audio
        .chunks(FRAME)
        .map(|f| f.iter().map(|&s| f64::from(s) * f64::from(s)).sum::<f64>() / f.len() as f64)
        .collect();
    let loudest = powers.iter().copied().fold(0.0, f64::max);
    if dbfs(loudest) < SILENCE_DBFS {
        return None;
    }
    let floor = loudest * 10f64.powf(-f64::from(ACTIVE_RANGE_DB) / 10.0);
    let active: Vec<f64> = powers.into_iter().filter(|&p| p >= floor).collect();
    Some(dbfs(active.iter().sum::<f64>() / active.len() as f64))
}

/// Brings a 16 kHz clip's speech to [`SPEECH_TARGET_DBFS`], raising it by at most
/// [`MAX_GAIN_DB`]; returns the gain applied in dB (0 for a clip without speech).
///
/// Whisper's log-mel input is not level-free: a caller 20 dB quieter than the speech it was
/// trained on shifts every input value, and a phone line delivers callers anywhere from a
/// headset at the mouth to a mobile held away. Levelling removes that difference.
/// Samples above full scale after a gain stay as they are: the recogniser takes floats.
pub fn level_speech(audio: &mut [f32]) -> f32 {
    let Some(level) = speech_level_dbfs(audio) else {
        return 0.0;
    };
    let gain_db = (SPEECH_TARGET_DBFS - level).min(MAX_GAIN_DB);
    let gain = 10f32.powf(gain_db / 20.0);
    for s in audio.iter_mut() {
        *s *= gain;
    }
    gain_db
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A 16 kHz clip: `speech_s` of a 300 Hz tone at `dbfs`, then `pause_s` of silence.
    fn clip(dbfs: f32, speech_s: f32, pause_s: f32) -> Vec<f32> {
        // A sine's power is half its amplitude squared.
        let amplitude = 10f32.powf(dbfs / 20.0) * std::f32::consts::SQRT_2;
        let speech = (speech_s * 16000.0) as usize;
        let pause = (pause_s * 16000.0) as usize;
        (0..speech)
            .map(|i| amplitude * (2.0 * std::f32::consts::PI * 300.0 * i as f32 / 16000.0).sin())
            .chain(std::iter::repeat_n(0.0, pause))
            .collect()
    }

    #[test]
    fn the_level_is_the_speech_s_not_the_pauses() {
        let mostly_pause = speech_level_dbfs(&clip(-32.0, 1.0, 9.0)).unwrap();
        assert!((mostly_pause + 32.0).abs() < 0.1, "{mostly_pause}");
        let all_speech = speech_level_dbfs(&clip(-32.0, 5.0, 0.0)).unwrap();
        assert!((all_speech + 32.0).abs() < 0.1, "{all_speech}");
    }

    #[test]
    fn a_quiet_caller_is_raised_to_the_target() {
        let mut audio = clip(-40.0, 2.0, 3.0);
        let gain = level_speech(&mut audio);
        assert!((gain - 20.0).abs() < 0.1, "{gain}");
        let level = speech_level_dbfs(&audio).unwrap();
        assert!((level - SPEECH_TARGET_DBFS).abs() < 0.1, "{level}");
    }

    #[test]
    fn a_loud_caller_is_lowered_to_the_target() {
        let mut audio = clip(-6.0, 2.0, 1.0);
        let gain = level_speech(&mut audio);
        assert!((gain + 14.0).abs() < 0.1, "{gain}");
    }

    #[test]
    fn a_whisper_is_raised_by_at_most_the_cap() {
        let mut audio = clip(-58.0, 2.0, 1.0);
        assert_eq!(level_speech(&mut audio), MAX_GAIN_DB);
    }

    #[test]
    fn silence_and_line_noise_are_left_alone() {
        let mut silent = vec![0.0; 16000];
        assert_eq!(level_speech(&mut silent), 0.0);
        assert!(silent.iter().all(|&s| s == 0.0));
        let mut hiss = clip(-70.0, 1.0, 0.0);
        let before = hiss.clone();
        assert_eq!(level_speech(&mut hiss), 0.0);
        assert_eq!(hiss, before);
    }
}
