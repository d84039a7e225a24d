//! Cutting a voicemail into chunks at the caller's pauses, so each chunk can be transcribed
//! while the caller goes on speaking and only a short last chunk is left at hang-up.
//!
//! Sans-IO: 8 kHz samples in, finished chunks out. A chunk ends at the first pause of
//! `pause` after `min` of audio; if nobody pauses it is cut at `max`, at the quietest 20 ms
//! frame of its last two seconds (a gap between words, not the middle of one). Whisper hears
//! whole sentences that way, and a short chunk is cheap to encode with a fitted audio window.

use std::time::Duration;

/// Where chunks are cut (`[transcription] part_secs`, `part_min_secs`, `part_pause_ms`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ChunkPolicy {
    /// No cut at a pause before this much audio: very short chunks give whisper little context
    /// and each costs an encoder run.
    pub min: Duration,
    /// A quiet stretch this long after speech ends a chunk (between sentences, not within a
    /// word: stop consonants are silent for under 0.1 s).
    pub pause: Duration,
    /// No chunk is longer, pause or not.
    pub max: Duration,
}

impl Default for ChunkPolicy {
    /// Cutting at every pause, as first measured (docs/performance.md, "Parts cut at
    /// pauses"); the server's own defaults are `TranscriptionConfig`'s (6–10 s parts).
    fn default() -> Self {
        ChunkPolicy {
            min: Duration::from_secs(3),
            pause: Duration::from_millis(500),
            max: Duration::from_secs(10),
        }
    }
}

/// One chunk of the recording.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Chunk {
    /// Its first sample's index in the whole recording.
    pub start: u64,
    pub samples: Vec<i16>,
    /// Whether the caller spoke in it: chunks of silence are not worth transcribing.
    pub has_speech: bool,
}

/// 20 ms at 8 kHz: the frame voice activity is judged on.
const FRAME: usize = 160;
/// A frame louder than this RMS (about -40 dBFS) is voice; the recorder's own threshold.
pub const VOICE_RMS: f64 = 330.0;
/// Voice must last this many frames (60 ms) to count: clicks and pops don't.
pub const VOICE_FRAMES: u32 = 3;
/// How far back from `max` the quietest frame is looked for.
const SEARCH_BACK: usize = 2 * 8000;

fn samples(d: Duration) -> usize {
    (d.as_millis() as usize * 8).max(FRAME)
}

/// Cuts a stream of 8 kHz audio into chunks.
#[derive(Debug)]
pub struct Chunker {
    min: usize,
    pause: usize,
    max: usize,
    /// The open chunk's samples; frames are judged from its start, whole frames only.
    buffer: Vec<i16>,
    /// Index in the recording of `buffer[0]`.
    start: u64,
    /// RMS of each whole frame of `buffer` judged so far.
    frame_rms: Vec<f64>,
    loud_run: u32,
    quiet_run: usize,
    has_speech: bool,
}

fn rms(frame: &[i16]) -> f64 {
    (frame.iter().map(|&s| f64::from(s).powi(2)).sum::<f64>() / frame.len() as f64).sqrt()
}

impl Chunker {
    pub fn new(policy: ChunkPolicy) -> Chunker {
        let max = samples(policy.max).max(2 * FRAME);
        Chunker {
            min: samples(policy.min).min(max),
            pause: samples(policy.pause),
            max,
            buffer: Vec::new(),
            start: 0,
            frame_rms: Vec::new(),
            loud_run: 0,
            quiet_run: 0,
            has_speech: false,
        }
    }

    /// Feeds audio (any length); returns the chunks it completed, in order.
    pub fn push(&mut self, pcm: &[i16]) -> Vec<Chunk> {
        let mut done = Vec::new();
        self.buffer.extend_from_slice(pcm);
        while (self.frame_rms.len() + 1) * FRAME <= self.buffer.len() {
            let f = self.frame_rms.len();
            let level = rms(&self.buffer[f * FRAME..(f + 1) * FRAME]);
            self.frame_rms.push(level);
            self.judge(level);
            let judged = self.frame_rms.len() * FRAME;
            if self.has_speech && judged >= self.min && self.quiet_run >= self.pause {
                done.push(self.cut(judged));
            } else if judged >= self.max {
                let at = self.quietest_cut();
                done.push(self.cut(at));
            }
        }
        done
    }

    /// The rest of the recording after the last cut, if anything is left.
    pub fn finish(mut self) -> Option<Chunk> {
        if self.buffer.is_empty() {
            return None;
        }
        // The last partial frame is judged too, so a final short word is not ignored.
        let f = self.frame_rms.len();
        if f * FRAME < self.buffer.len() {
            let level = rms(&self.buffer[f * FRAME..]);
            self.judge(level);
        }
        let end = self.buffer.len();
        Some(self.cut(end))
    }

    fn judge(&mut self, level: f64) {
        if level >= VOICE_RMS {
            self.loud_run += 1;
            if self.loud_run >= VOICE_FRAMES {
                self.has_speech = true;
                self.quiet_run = 0;
            }
        } else {
            self.loud_run = 0;
            self.quiet_run += FRAME;
        }
    }

    /// Where to cut a chunk nobody paused in: after the quietest frame of its last two
    /// seconds (the latest one on a tie, to keep the chunk long).
    fn quietest_cut(&self) -> usize {
        let frames = self.frame_rms.len();
        let first = frames.saturating_sub(SEARCH_BACK / FRAME).max(1);
        let quietest = (first..frames)
            .min_by(|&a, &b| {
                self.frame_rms[a]
                    .total_cmp(&self.frame_rms[b])
                    .then(b.cmp(&a))
            })
            .unwrap_or(frames - 1);
        (quietest + 1) * FRAME
    }

    /// Closes the chunk at `at` samples. What follows starts the next chunk: `push` judges
    /// it again from its first frame (at most two seconds carried over a `max` cut).
    fn cut(&mut self, at: usize) -> Chunk {
        let rest = self.buffer.split_off(at);
        let chunk = Chunk {
            start: self.start,
            samples: std::mem::replace(&mut self.buffer, rest),
            has_speech: self.has_speech,
        };
        self.start += at as u64;
        self.frame_rms.clear();
        self.loud_run = 0;
        self.quiet_run = 0;
        self.has_speech = false;
        chunk
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A voiced 8 kHz signal (300 Hz, well above the voice threshold).
    fn speech(ms: usize) -> Vec<i16> {
        (0..ms * 8)
            .map(|i| {
                (6000.0 * (i as f64 * 2.0 * std::f64::consts::PI * 300.0 / 8000.0).sin()) as i16
            })
            .collect()
    }

    fn quiet(ms: usize) -> Vec<i16> {
        vec![20; ms * 8]
    }

    fn run(policy: ChunkPolicy, audio: &[i16], piece: usize) -> Vec<Chunk> {
        let mut c = Chunker::new(policy);
        let mut chunks = Vec::new();
        for p in audio.chunks(piece) {
            chunks.extend(c.push(p));
        }
        chunks.extend(c.finish());
        chunks
    }

    fn secs(chunks: &[Chunk]) -> Vec<f64> {
        chunks
            .iter()
            .map(|c| c.samples.len() as f64 / 8000.0)
            .collect()
    }

    #[test]
    fn a_chunk_ends_at_the_first_long_pause_after_the_minimum() {
        // 2 s of speech, a 0.6 s pause (too early to cut), 2 s, a 0.6 s pause (cut), 1 s.
        let audio = [
            speech(2000),
            quiet(600),
            speech(2000),
            quiet(600),
            speech(1000),
        ]
        .concat();
        let chunks = run(ChunkPolicy::default(), &audio, 160);
        assert_eq!(chunks.len(), 2, "{:?}", secs(&chunks));
        // Cut once the pause has lasted 0.5 s: 2 + 0.6 + 2 + 0.5 s.
        assert_eq!(chunks[0].samples.len(), 8 * 5100);
        assert!(chunks.iter().all(|c| c.has_speech));
        assert_eq!(chunks[1].start, 8 * 5100);
    }

    #[test]
    fn short_pauses_inside_a_sentence_do_not_cut() {
        let mut audio = Vec::new();
        for _ in 0..8 {
            audio.extend(speech(700));
            audio.extend(quiet(300)); // word gaps, shorter than the pause
        }
        let chunks = run(ChunkPolicy::default(), &audio, 160);
        assert_eq!(chunks.len(), 1, "{:?}", secs(&chunks));
    }

    #[test]
    fn without_pauses_a_chunk_is_cut_at_the_quietest_point_before_the_limit() {
        // Speech with brief 60 ms dips between "words"; one deeper dip at 8.5 s.
        let mut audio = Vec::new();
        for i in 0..30 {
            audio.extend(speech(440));
            audio.extend(if i == 18 { quiet(60) } else { vec![900; 480] });
        }
        let chunks = run(ChunkPolicy::default(), &audio, 333);
        assert!(chunks.len() >= 2, "{:?}", secs(&chunks));
        assert!(chunks.iter().all(|c| c.samples.len() <= 8 * 10_000));
        // The cut falls in the quiet dip (after word 19: 19 × 0.5 s − 0.06 s … 9.5 s).
        let cut = chunks[0].samples.len();
        assert!((8 * 9_440..=8 * 9_500).contains(&cut), "cut at {cut}");
    }

    #[test]
    fn chunks_cover_the_recording_in_order_whatever_the_frame_size() {
        let audio = [
            quiet(400),
            speech(3500),
            quiet(700),
            speech(12_000),
            quiet(900),
            speech(2500),
            quiet(200),
        ]
        .concat();
        let a = run(ChunkPolicy::default(), &audio, 160);
        let b = run(ChunkPolicy::default(), &audio, 997);
        assert_eq!(a, b, "cuts do not depend on how audio arrives");
        let joined: Vec<i16> = a.iter().flat_map(|c| c.samples.clone()).collect();
        assert_eq!(joined, audio);
        let mut next = 0;
        for c in &a {
            assert_eq!(c.start, next);
            next += c.samples.len() as u64;
        }
        assert!(a.len() >= 3, "{:?}", secs(&a));
    }

    #[test]
    fn silence_alone_is_not_cut_at_a_pause_and_is_marked_as_such() {
        let chunks = run(ChunkPolicy::default(), &quiet(4000), 160);
        assert_eq!(chunks.len(), 1);
        assert!(!chunks[0].has_speech);
        // Silence after the last cut (the caller stopped, then hung up) is a chunk without speech.
        let audio = [speech(3000), quiet(2000)].concat();
        let chunks = run(ChunkPolicy::default(), &audio, 160);
        assert_eq!(chunks.len(), 2, "{:?}", secs(&chunks));
        assert!(chunks[0].has_speech && !chunks[1].has_speech);
    }
}
