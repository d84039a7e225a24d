//! How whisper decodes a part: the search (greedy or beam), the initial prompt, and how much
//! audio the encoder looks at. The defaults are the measured best (docs/performance.md).

use serde::Deserialize;
use std::fmt;
use std::str::FromStr;

/// The token search: greedy takes the likeliest token at each step; a beam search keeps the
/// `beam_size` likeliest sequences, which costs more time and corrects more words.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Search {
    Greedy,
    Beam { beam_size: u8 },
}

impl Search {
    /// The beam search measured in docs/performance.md.
    pub const BEAM5: Search = Search::Beam { beam_size: 5 };
}

impl FromStr for Search {
    type Err = String;
    /// `greedy`, `beam` (5 beams) or `beamN` with N from 2 to 16.
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let bad = || {
            format!("`{s}` is not a decoding: use `greedy`, `beam5` or `beamN` (N from 2 to 16)")
        };
        match s {
            "greedy" => Ok(Search::Greedy),
            "beam" => Ok(Search::BEAM5),
            _ => {
                let n: u8 = s
                    .strip_prefix("beam")
                    .and_then(|n| n.parse().ok())
                    .ok_or_else(bad)?;
                if (2..=16).contains(&n) {
                    Ok(Search::Beam { beam_size: n })
                } else {
                    Err(bad())
                }
            }
        }
    }
}

impl fmt::Display for Search {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Search::Greedy => f.write_str("greedy"),
            Search::Beam { beam_size } => write!(f, "beam{beam_size}"),
        }
    }
}

impl<'de> Deserialize<'de> for Search {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        String::deserialize(d)?
            .parse()
            .map_err(serde::de::Error::custom)
    }
}

/// How much audio whisper.cpp's encoder processes. Whisper was trained on 30 s windows, so the
/// encoder always runs over 30 s (1,500 positions) however short the part; `Fitted` sets
/// `audio_ctx` to the part's length plus a second, and at least `at_least_secs`: faster on short
/// parts, and it can cost accuracy (the model never saw shorter windows in training; a larger
/// floor costs less of it, measured in docs/performance.md).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum AudioWindow {
    Full,
    Fitted { at_least_secs: u8 },
}

/// Encoder positions per second of audio: 1,500 for 30 s.
const POSITIONS_PER_SECOND: usize = 50;
/// Room after the last sample, so a word at the very end is still inside the window.
const FITTED_MARGIN_POSITIONS: usize = POSITIONS_PER_SECOND;
/// whisper.cpp's full window.
const FULL_POSITIONS: usize = 1500;

impl AudioWindow {
    /// The part plus a second, nothing more.
    pub const FITTED: AudioWindow = AudioWindow::Fitted { at_least_secs: 0 };

    /// whisper.cpp's `audio_ctx` for this many 16 kHz samples: 0 means the full 30 s window.
    pub fn audio_ctx(self, samples_16k: usize) -> i32 {
        match self {
            AudioWindow::Full => 0,
            AudioWindow::Fitted { at_least_secs } => {
                // 16,000 samples a second, 50 positions a second: one position per 320 samples.
                let positions = (samples_16k.div_ceil(320) + FITTED_MARGIN_POSITIONS)
                    .max(usize::from(at_least_secs) * POSITIONS_PER_SECOND);
                // A multiple of 64 keeps the encoder's matrix sizes friendly to ggml.
                let rounded = positions.div_ceil(64) * 64;
                if rounded >= FULL_POSITIONS {
                    0
                } else {
                    rounded as i32
                }
            }
        }
    }
}

impl FromStr for AudioWindow {
    type Err = String;
    /// `full`, `fitted`, or `fittedN` with N from 1 to 30 seconds.
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let bad = || {
            format!("`{s}` is not an audio window: use `full`, `fitted` or `fittedN` (at least N seconds, 1 to 30)")
        };
        match s {
            "full" => Ok(AudioWindow::Full),
            "fitted" => Ok(AudioWindow::FITTED),
            _ => {
                let n: u8 = s
                    .strip_prefix("fitted")
                    .and_then(|n| n.parse().ok())
                    .ok_or_else(bad)?;
                if (1..=30).contains(&n) {
                    Ok(AudioWindow::Fitted { at_least_secs: n })
                } else {
                    Err(bad())
                }
            }
        }
    }
}

impl fmt::Display for AudioWindow {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            AudioWindow::Full => f.write_str("full"),
            AudioWindow::Fitted { at_least_secs: 0 } => f.write_str("fitted"),
            AudioWindow::Fitted { at_least_secs } => write!(f, "fitted{at_least_secs}"),
        }
    }
}

impl<'de> Deserialize<'de> for AudioWindow {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        String::deserialize(d)?
            .parse()
            .map_err(serde::de::Error::custom)
    }
}

/// Everything one whisper run needs besides the audio.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct DecodeOptions<'a> {
    /// The language to transcribe in; None means detect it.
    pub language: Option<&'a str>,
    /// whisper.cpp threads.
    pub threads: usize,
    pub search: Search,
    /// Text whisper takes as what was said before the audio: the helpdesk's words
    /// (`transcribe::prompt`).
    pub prompt: Option<&'a str>,
    pub window: AudioWindow,
    /// Decode again at a higher temperature (whisper's fallback, +0.2 per try) when the text
    /// fails whisper's checks (compression ratio, average log-probability): it can rescue a
    /// garbled part, and costs a whole decoding per try when it triggers.
    pub temperature_fallback: bool,
    /// At most this many tokens per second of audio, decoded as one segment in one pass
    /// (`TokenBudget`); None leaves whisper's own limit (220 tokens per 30 s window, and a new
    /// encoder pass wherever a segment ends early).
    pub token_budget: Option<TokenBudget>,
}

/// A cap on what whisper decodes from a short part: a decoder stuck repeating a sentence
/// spends a step per repeated token (beam 5: five) up to whisper's limit of 220, seconds of
/// compute for text the cleaner then throws away. Speech is 3–6 tokens a second (French the
/// faster), so the cap leaves room for any real caller and ends a loop early.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct TokenBudget {
    pub per_second: u8,
}

/// Tokens whisper needs besides the words: the leading timestamp and a few for a short part.
const BUDGET_MARGIN_TOKENS: usize = 8;

impl TokenBudget {
    /// whisper.cpp's `max_tokens` for this many 16 kHz samples.
    pub fn max_tokens(self, samples_16k: usize) -> i32 {
        let tokens = (samples_16k * usize::from(self.per_second)).div_ceil(16_000);
        (tokens + BUDGET_MARGIN_TOKENS) as i32
    }
}

impl<'a> DecodeOptions<'a> {
    /// Greedy, no prompt, full window: whisper.cpp's plain behaviour.
    pub fn plain(language: Option<&'a str>, threads: usize) -> DecodeOptions<'a> {
        DecodeOptions {
            language,
            threads,
            search: Search::Greedy,
            prompt: None,
            window: AudioWindow::Full,
            temperature_fallback: true,
            token_budget: None,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_token_budget_scales_with_the_part_and_keeps_a_margin() {
        let budget = TokenBudget { per_second: 8 };
        assert_eq!(budget.max_tokens(0), 8);
        // 10 s: 80 tokens of speech at most, plus the margin.
        assert_eq!(budget.max_tokens(160_000), 88);
        // A part's last fraction of a second still counts.
        assert_eq!(budget.max_tokens(16_001), 17);
    }

    #[test]
    fn decodings_are_named_greedy_or_beam_with_a_size() {
        assert_eq!("greedy".parse::<Search>().unwrap(), Search::Greedy);
        assert_eq!("beam".parse::<Search>().unwrap(), Search::BEAM5);
        assert_eq!(
            "beam8".parse::<Search>().unwrap(),
            Search::Beam { beam_size: 8 }
        );
        for s in [Search::Greedy, Search::BEAM5] {
            assert_eq!(s.to_string().parse::<Search>().unwrap(), s);
        }
        for bad in ["beam1", "beam17", "beamy", "sampling", ""] {
            let err = bad.parse::<Search>().unwrap_err();
            assert!(err.contains("greedy") && err.contains("beam5"), "{err}");
        }
    }

    #[test]
    fn a_fitted_window_covers_the_part_with_a_margin_and_never_passes_30_s() {
        assert_eq!(AudioWindow::Full.audio_ctx(16000 * 5), 0);
        // 5 s = 250 positions, + 50 margin = 300, rounded up to 320.
        assert_eq!(AudioWindow::FITTED.audio_ctx(16000 * 5), 320);
        assert_eq!(AudioWindow::FITTED.audio_ctx(1), 64);
        let ten = AudioWindow::FITTED.audio_ctx(16000 * 10);
        assert!(ten >= 550 && ten % 64 == 0, "{ten}");
        assert_eq!(AudioWindow::FITTED.audio_ctx(16000 * 29), 0);
        assert_eq!(AudioWindow::FITTED.audio_ctx(16000 * 45), 0);
    }

    #[test]
    fn a_window_with_a_floor_is_never_shorter_than_the_floor() {
        let ten: AudioWindow = "fitted10".parse().unwrap();
        assert_eq!(ten, AudioWindow::Fitted { at_least_secs: 10 });
        assert_eq!(ten.to_string(), "fitted10");
        // 2 s of audio: 500 positions for the 10 s floor, rounded up to 512.
        assert_eq!(ten.audio_ctx(16000 * 2), 512);
        // 12 s: the part plus a second, 650, rounded up to 704.
        assert_eq!(ten.audio_ctx(16000 * 12), 704);
        assert_eq!("fitted30".parse::<AudioWindow>().unwrap().audio_ctx(1), 0);
        for bad in ["fitted0", "fitted31", "fittedx", "half"] {
            let err = bad.parse::<AudioWindow>().unwrap_err();
            assert!(err.contains("fittedN"), "{err}");
        }
    }
}
