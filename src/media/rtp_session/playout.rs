//! The prompt queue, cut into 20 ms frames. Sans-IO: the sender asks for one frame per tick.
//!
//! Frames are G.711 bytes copied from the prompts' encodings made at load: nothing is encoded
//! or allocated per packet.

use super::{PlaybackId, FRAME_SAMPLES};
use crate::media::g711::G711;
use crate::media::prompt::Prompt;
use std::collections::VecDeque;
use std::sync::Arc;

/// What one frame carries besides its samples.
#[derive(Debug, Default, PartialEq, Eq)]
pub struct FrameInfo {
    /// The first frame of a playback: the start of a talkspurt, so the RTP marker bit is set
    /// (RFC 3551 §4.1) and the phone's jitter buffer may resynchronise there.
    pub talkspurt_start: bool,
    /// Playbacks whose last sample is in this frame (or that had no samples at all).
    pub finished: Vec<PlaybackId>,
}

#[derive(Debug)]
struct Playback {
    id: PlaybackId,
    prompts: VecDeque<Arc<Prompt>>,
    /// Position in the front prompt.
    offset: usize,
    started: bool,
}

/// Queued playbacks, played one after the other.
#[derive(Debug, Default)]
pub struct Playout {
    queue: VecDeque<Playback>,
}

impl Playout {
    pub fn play(&mut self, id: PlaybackId, prompts: Vec<Arc<Prompt>>) {
        self.queue.push_back(Playback {
            id,
            prompts: prompts.into(),
            offset: 0,
            started: false,
        });
    }

    /// Whether a playback is queued: prompts take the line over live audio.
    pub fn is_active(&self) -> bool {
        !self.queue.is_empty()
    }

    /// Drops everything queued: the next frame is silence.
    pub fn stop(&mut self) {
        self.queue.clear();
    }

    /// Fills `frame` with the next 20 ms in `codec`: queued audio, then silence.
    ///
    /// A playback that ends inside a frame is padded with silence, and the next one starts on
    /// a frame of its own so that its first packet can carry the marker bit.
    pub fn next_frame(&mut self, codec: G711, frame: &mut [u8; FRAME_SAMPLES]) -> FrameInfo {
        frame.fill(codec.silence());
        let mut info = FrameInfo::default();
        let mut filled = 0;
        while let Some(playback) = self.queue.front_mut() {
            if filled > 0 && !playback.started {
                break;
            }
            let before = filled;
            while filled < FRAME_SAMPLES {
                let Some(prompt) = playback.prompts.front() else {
                    break;
                };
                let rest = &prompt.encoded(codec)[playback.offset..];
                let take = rest.len().min(FRAME_SAMPLES - filled);
                frame[filled..filled + take].copy_from_slice(&rest[..take]);
                filled += take;
                playback.offset += take;
                if playback.offset == prompt.encoded(codec).len() {
                    playback.prompts.pop_front();
                    playback.offset = 0;
                }
            }
            if !playback.started && filled > before {
                info.talkspurt_start = true;
            }
            playback.started = true;
            if !playback.prompts.is_empty() {
                break;
            }
            info.finished.push(playback.id);
            self.queue.pop_front();
        }
        info
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A prompt of `samples` samples all worth `value`.
    fn prompt(samples: usize, value: i16) -> Arc<Prompt> {
        Arc::new(Prompt::new(
            format!("{samples}x{value}"),
            vec![value; samples],
        ))
    }

    /// `value` after µ-law and back: what the frames carry.
    fn q(value: i16) -> i16 {
        crate::media::g711::ulaw_decode(crate::media::g711::ulaw_encode(value))
    }

    /// Frames decoded back to linear, so the tests read in sample values.
    fn frames(playout: &mut Playout, n: usize) -> Vec<([i16; FRAME_SAMPLES], FrameInfo)> {
        (0..n)
            .map(|_| {
                let mut frame = [0; FRAME_SAMPLES];
                let info = playout.next_frame(G711::Ulaw, &mut frame);
                let mut pcm = Vec::new();
                G711::Ulaw.decode(&frame, &mut pcm);
                (pcm.try_into().unwrap(), info)
            })
            .collect()
    }

    #[test]
    fn a_prompt_is_cut_into_frames_padded_with_silence_and_finished_on_its_last_frame() {
        let mut playout = Playout::default();
        playout.play(PlaybackId(1), vec![prompt(400, 700)]);
        let out = frames(&mut playout, 4);
        assert!(out[0].0.iter().all(|&s| s == q(700)) && out[1].0.iter().all(|&s| s == q(700)));
        assert!(
            out[2].0[..80].iter().all(|&s| s == q(700)) && out[2].0[80..].iter().all(|&s| s == 0)
        );
        assert!(out[3].0.iter().all(|&s| s == 0), "idle frames are silence");
        let markers: Vec<bool> = out.iter().map(|(_, i)| i.talkspurt_start).collect();
        assert_eq!(markers, [true, false, false, false]);
        let finished: Vec<_> = out.iter().map(|(_, i)| i.finished.clone()).collect();
        assert_eq!(finished, [vec![], vec![], vec![PlaybackId(1)], vec![]]);
    }

    #[test]
    fn prompts_of_one_playback_run_together_and_the_next_playback_starts_a_new_talkspurt() {
        let mut playout = Playout::default();
        playout.play(PlaybackId(1), vec![prompt(100, 100), prompt(100, 200)]);
        playout.play(PlaybackId(2), vec![prompt(160, 300)]);
        let out = frames(&mut playout, 3);
        assert!(
            out[0].0[..100].iter().all(|&s| s == q(100))
                && out[0].0[100..].iter().all(|&s| s == q(200))
        );
        assert!(
            out[1].0[..40].iter().all(|&s| s == q(200)) && out[1].0[40..].iter().all(|&s| s == 0)
        );
        assert_eq!(out[1].1.finished, [PlaybackId(1)]);
        assert!(out[2].0.iter().all(|&s| s == q(300)));
        assert_eq!(
            out[2].1,
            FrameInfo {
                talkspurt_start: true,
                finished: vec![PlaybackId(2)]
            }
        );
    }

    #[test]
    fn stop_silences_the_next_frame_and_reports_nothing() {
        let mut playout = Playout::default();
        playout.play(PlaybackId(1), vec![prompt(8000, 500)]);
        frames(&mut playout, 2);
        playout.stop();
        let out = frames(&mut playout, 1);
        assert!(out[0].0.iter().all(|&s| s == 0));
        assert_eq!(out[0].1, FrameInfo::default());
    }

    #[test]
    fn an_empty_playback_finishes_on_the_next_frame_without_a_marker() {
        let mut playout = Playout::default();
        playout.play(PlaybackId(4), vec![]);
        playout.play(PlaybackId(5), vec![prompt(0, 0)]);
        let out = frames(&mut playout, 1);
        assert_eq!(
            out[0].1,
            FrameInfo {
                talkspurt_start: false,
                finished: vec![PlaybackId(4), PlaybackId(5)]
            }
        );
    }
}
