//! One prompt file: read with hound, converted to 8 kHz mono 16-bit, or refused with the reason.

use super::SAMPLE_RATE;
use crate::media::resample::{resample, ResampleError};
use hound::{SampleFormat, WavReader};
use std::io::{ErrorKind, Read};
use std::path::Path;

/// Longest prompt we accept: anything longer is a mistake (a recording, not a prompt).
pub const MAX_SECONDS: u32 = 600;

/// Samples reserved before decoding: a minute at 48 kHz (11 MB of f32); longer files grow.
const MAX_RESERVED_SAMPLES: usize = 60 * 48_000;

/// Peak below which a file counts as silent: -54 dBFS, inaudible on a phone line.
const SILENCE_PEAK: u16 = 64;

/// Why a file cannot be a prompt.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum PromptFault {
    #[error("cannot be read ({0})")]
    Unreadable(String),
    #[error("not a WAV file ({0})")]
    NotWav(String),
    #[error("truncated: {0}")]
    Truncated(&'static str),
    #[error("unsupported WAV encoding ({0}); use PCM 8/16/24/32-bit or 32-bit float, e.g. `sox IN.wav -r 8000 -c 1 -b 16 OUT.wav`")]
    Unsupported(String),
    #[error("no audio (zero length)")]
    Empty,
    #[error("{seconds} s long, prompts are at most {MAX_SECONDS} s")]
    TooLong { seconds: u64 },
    #[error("silent: every sample is below -54 dBFS")]
    Silent,
    #[error("{0}")]
    Resample(ResampleError),
    #[error("same name as {0}, which is already loaded")]
    Duplicate(String),
}

/// Reads a WAV file into 8 kHz mono 16-bit samples.
pub fn read(path: &Path) -> Result<Vec<i16>, PromptFault> {
    let file = std::fs::File::open(path).map_err(|e| PromptFault::Unreadable(e.to_string()))?;
    decode(std::io::BufReader::new(file))
}

/// Whether hound ran out of file: it reports a short read as `ErrorKind::Other` with this text
/// (hound 3.5 `read.rs`), std as `UnexpectedEof`.
fn is_short_read(error: &std::io::Error) -> bool {
    error.kind() == ErrorKind::UnexpectedEof || error.to_string() == "Failed to read enough bytes."
}

fn header_fault(error: hound::Error) -> PromptFault {
    match error {
        hound::Error::FormatError(what) => PromptFault::NotWav(what.into()),
        hound::Error::IoError(e) if is_short_read(&e) => {
            PromptFault::Truncated("the header ends early")
        }
        hound::Error::IoError(e) => PromptFault::Unreadable(e.to_string()),
        hound::Error::Unsupported => {
            PromptFault::Unsupported("compressed or unknown format".into())
        }
        other => PromptFault::Unsupported(other.to_string()),
    }
}

fn data_fault(error: hound::Error) -> PromptFault {
    match error {
        hound::Error::IoError(e) if is_short_read(&e) => {
            PromptFault::Truncated("the audio data ends before the length its header states")
        }
        other => header_fault(other),
    }
}

/// Decodes any WAV hound reads, averaging channels and resampling to 8 kHz.
pub fn decode<R: Read>(input: R) -> Result<Vec<i16>, PromptFault> {
    let reader = WavReader::new(input).map_err(header_fault)?;
    let spec = reader.spec();
    if spec.sample_rate == 0 || spec.channels == 0 {
        return Err(PromptFault::Unsupported(format!(
            "{} Hz, {} channel(s)",
            spec.sample_rate, spec.channels
        )));
    }
    // Checked from the header, before decoding ten minutes of audio for nothing.
    let seconds = u64::from(reader.duration()) / u64::from(spec.sample_rate);
    if seconds > u64::from(MAX_SECONDS) {
        return Err(PromptFault::TooLong { seconds });
    }
    let channels = usize::from(spec.channels);
    let mono = match (spec.sample_format, spec.bits_per_sample) {
        (SampleFormat::Int, bits @ 8..=32) => {
            let full_scale = (1u64 << (bits - 1)) as f32;
            mix_down(
                reader
                    .into_samples::<i32>()
                    .map(|s| s.map(|v| v as f32 / full_scale)),
                channels,
            )?
        }
        (SampleFormat::Float, 32) => mix_down(reader.into_samples::<f32>(), channels)?,
        (format, bits) => {
            return Err(PromptFault::Unsupported(format!(
                "{bits}-bit {}",
                match format {
                    SampleFormat::Int => "integer",
                    SampleFormat::Float => "float",
                }
            )))
        }
    };
    if mono.is_empty() {
        return Err(PromptFault::Empty);
    }
    let at_8k = resample(&mono, spec.sample_rate, SAMPLE_RATE).map_err(PromptFault::Resample)?;
    let samples: Vec<i16> = at_8k
        .iter()
        .map(|&s| (s * 32768.0).round().clamp(-32768.0, 32767.0) as i16)
        .collect();
    if samples.iter().all(|s| s.unsigned_abs() < SILENCE_PEAK) {
        return Err(PromptFault::Silent);
    }
    Ok(samples)
}

/// Averages interleaved frames into one channel, failing on the first unreadable sample.
fn mix_down(
    samples: impl Iterator<Item = Result<f32, hound::Error>>,
    channels: usize,
) -> Result<Vec<f32>, PromptFault> {
    // The size hint is the header's data length, which a truncated or forged file overstates:
    // cargo-fuzz found a 58-byte file that asked for 2.4 GB here. Reserve what a real prompt
    // needs at most up front and let the vector grow with the samples that actually arrive.
    let (lower, _) = samples.size_hint();
    let mut mono = Vec::with_capacity((lower / channels).min(MAX_RESERVED_SAMPLES));
    let mut sum = 0.0f32;
    let mut in_frame = 0;
    for sample in samples {
        sum += sample.map_err(data_fault)?;
        in_frame += 1;
        if in_frame == channels {
            mono.push(sum / channels as f32);
            sum = 0.0;
            in_frame = 0;
        }
    }
    Ok(mono)
}
