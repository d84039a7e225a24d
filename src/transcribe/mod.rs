//! Voicemail transcription: importing a Whisper model for whisper.cpp, and (with the model)
//! turning recordings into text.

pub mod audio;
pub mod clean;
pub mod ct2;
pub mod decoding;
pub mod fetch;
pub mod import;
pub mod job;
pub mod mel;
pub mod model;
pub mod prompt;
pub mod worker;

pub use import::{import_ct2, ImportError, ImportSummary};
pub use model::{ModelError, Segment, Transcript, WhisperModel};

/// Worker threads for transcription: all cores but one (the call media needs one), at least one.
pub fn default_threads() -> usize {
    std::thread::available_parallelism()
        .map(|n| n.get())
        .unwrap_or(2)
        .saturating_sub(1)
        .max(1)
}
