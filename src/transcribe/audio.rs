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
