//! A Whisper model loaded in whisper.cpp (through whisper-rs), transcribing 16 kHz audio.

use super::decoding::{DecodeOptions, Search};
use std::path::{Path, PathBuf};
use std::sync::Once;
use whisper_rs::{FullParams, SamplingStrategy, WhisperContext, WhisperContextParameters};

/// Why a model cannot be loaded or used.
#[derive(Debug, thiserror::Error)]
pub enum ModelError {
    #[error("speech model {path} not found: run `hotline model fetch base` (or set the model path in the configuration)")]
    Missing { path: PathBuf },
    #[error("speech model {path} cannot be loaded ({reason}): run `hotline model fetch base` to rebuild it")]
    Load { path: PathBuf, reason: String },
    #[error("transcription failed: {0}")]
    Transcribe(String),
}

/// One timed piece of a transcript.
#[derive(Debug, Clone, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct Segment {
    pub start_ms: u64,
    pub end_ms: u64,
    pub text: String,
}

/// What the model heard.
#[derive(Debug, Clone, PartialEq)]
pub struct Transcript {
    /// The language used or detected (ISO 639-1).
    pub language: String,
    pub text: String,
    pub segments: Vec<Segment>,
}

/// A loaded model; `transcribe` may be called from several threads, each gets its own state.
pub struct WhisperModel {
    context: WhisperContext,
    path: PathBuf,
    multilingual: bool,
}

static LOGGING: Once = Once::new();

/// Audio longer than this (10 s at 16 kHz, longer than any part) is split into segments of at
/// most [`SEGMENT_CHARS`] characters.
const LONG_AUDIO_SAMPLES: usize = 10 * 16_000;
/// About a sentence, 5–8 s of speech.
const SEGMENT_CHARS: i32 = 120;

impl WhisperModel {
    pub fn load(path: &Path) -> Result<WhisperModel, ModelError> {
        if !path.is_file() {
            return Err(ModelError::Missing {
                path: path.to_path_buf(),
            });
        }
        // whisper.cpp logs through `tracing` (quiet at info level) instead of raw stderr.
        LOGGING.call_once(whisper_rs::install_logging_hooks);
        let context = WhisperContext::new_with_params(path, WhisperContextParameters::default())
            .map_err(|e| ModelError::Load {
                path: path.to_path_buf(),
                reason: e.to_string(),
            })?;
        let multilingual = context.is_multilingual();
        Ok(WhisperModel {
            context,
            path: path.to_path_buf(),
            multilingual,
        })
    }

    pub fn path(&self) -> &Path {
        &self.path
    }

    /// Whether the model knows languages other than English.
    pub fn is_multilingual(&self) -> bool {
        self.multilingual
    }

    /// Transcribes 16 kHz mono audio the plain way (greedy, no prompt, full window);
    /// `language` None means detect it.
    pub fn transcribe(
        &self,
        audio_16k: &[f32],
        language: Option<&str>,
        threads: usize,
    ) -> Result<Transcript, ModelError> {
        self.transcribe_with(audio_16k, &DecodeOptions::plain(language, threads))
    }

    /// Transcribes 16 kHz mono audio with the given search, prompt and window.
    pub fn transcribe_with(
        &self,
        audio_16k: &[f32],
        options: &DecodeOptions,
    ) -> Result<Transcript, ModelError> {
        let err = |e: whisper_rs::WhisperError| ModelError::Transcribe(e.to_string());
        let mut state = self.context.create_state().map_err(err)?;
        // Tokens rather than `set_initial_prompt`, which leaks its C string: one per job.
        let prompt_tokens = match options.prompt {
            Some(prompt) => self.context.tokenize(prompt, 1024).map_err(err)?,
            None => Vec::new(),
        };
        let mut params = FullParams::new(match options.search {
            Search::Greedy => SamplingStrategy::Greedy { best_of: 1 },
            Search::Beam { beam_size } => SamplingStrategy::BeamSearch {
                beam_size: beam_size.into(),
                patience: -1.0,
            },
        });
        params.set_n_threads(options.threads.max(1) as i32);
        // whisper.cpp's own step (0.2); zero turns the fallback off.
        params.set_temperature_inc(if options.temperature_fallback {
            0.2
        } else {
            0.0
        });
        params.set_print_progress(false);
        params.set_print_realtime(false);
        params.set_print_special(false);
        params.set_print_timestamps(false);
        params.set_suppress_blank(true);
        // Each voicemail is independent; carrying context between windows feeds repetition loops.
        params.set_no_context(true);
        if !prompt_tokens.is_empty() {
            params.set_tokens(&prompt_tokens);
        }
        params.set_audio_ctx(options.window.audio_ctx(audio_16k.len()));
        if let Some(budget) = options.token_budget {
            // One segment: `max_tokens` then bounds the whole decoding, not each segment,
            // and whisper does not seek and encode again after a segment that ends early.
            params.set_single_segment(true);
            params.set_max_tokens(budget.max_tokens(audio_16k.len()));
        }
        if audio_16k.len() > LONG_AUDIO_SAMPLES {
            // A whole voicemail (the final pass) may come back as one segment for 30 s of
            // speech; split at words, with each token's time, so the ticket page can still
            // play it from near each sentence. Text is decoded the same either way.
            params.set_token_timestamps(true);
            params.set_max_len(SEGMENT_CHARS);
            params.set_split_on_word(true);
        }
        let language = options.language;
        let lang = if self.multilingual {
            language
        } else {
            Some("en")
        };
        params.set_language(Some(lang.unwrap_or("auto")));
        state.full(params, audio_16k).map_err(err)?;
        let mut segments = Vec::new();
        for segment in state.as_iter() {
            let text = segment.to_str_lossy().map_err(err)?.trim().to_string();
            if text.is_empty() {
                continue;
            }
            segments.push(Segment {
                start_ms: segment.start_timestamp().max(0) as u64 * 10,
                end_ms: segment.end_timestamp().max(0) as u64 * 10,
                text,
            });
        }
        let language = whisper_rs::get_lang_str(state.full_lang_id_from_state())
            .unwrap_or(lang.unwrap_or("en"))
            .to_string();
        let text = segments
            .iter()
            .map(|s| s.text.as_str())
            .collect::<Vec<_>>()
            .join(" ");
        Ok(Transcript {
            language,
            text,
            segments,
        })
    }
}
