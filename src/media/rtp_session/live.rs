//! Live audio from another call leg, fed to the sender one 20 ms frame per tick. Sans-IO.
//!
//! The other leg's packets arrive on its own clock (its phone's), not on our sender's 20 ms grid,
//! so a small FIFO sits between them. It starts playing as soon as one frame is there (lowest
//! added delay on a clean network); after an underrun it waits for two frames, so a jittery leg
//! costs one frame of delay instead of a click every few packets; it never holds more than
//! [`MAX_BACKLOG`] samples; and audio that stays queued is dropped: when even the emptiest
//! moment of the last [`TRIM_WINDOW_FRAMES`] ticks held more than one frame of cushion, that
//! excess is a standing delay (left by a burst — a peer that sent several packets at once after
//! a stall — or by a phone whose clock runs faster than ours) that would otherwise stay for the
//! rest of the call, since one frame arrives and one leaves per tick.

use super::FRAME_SAMPLES;
use std::collections::VecDeque;

/// Most audio kept waiting: 100 ms. Beyond it the oldest samples go; talk stays interactive.
pub const MAX_BACKLOG: usize = 5 * FRAME_SAMPLES;
/// How long the backlog must stay above the cushion before its excess is dropped: 500 ms, so a
/// jittery leg keeps what it needs and a burst's delay is gone within half a second.
pub const TRIM_WINDOW_FRAMES: u32 = 25;
/// What may stay queued after a frame is taken: one frame, the cushion an underrun asks for.
const CUSHION: usize = FRAME_SAMPLES;

/// The FIFO between the other leg's decoded audio and our sender.
#[derive(Debug, Default)]
pub struct LiveAudio {
    samples: VecDeque<i16>,
    /// Samples needed before playing again: one frame at first, two after an underrun.
    prime: usize,
    playing: bool,
    /// Samples dropped to keep the backlog bounded (a figure for the bridge's stats).
    pub dropped: u64,
    /// Frames filled with silence because nothing had arrived.
    pub underruns: u64,
    /// The fewest samples left after a frame in the current window, and the window's frames.
    low_water: usize,
    window_frames: u32,
}

impl LiveAudio {
    pub fn new() -> Self {
        LiveAudio {
            prime: FRAME_SAMPLES,
            low_water: usize::MAX,
            ..Default::default()
        }
    }

    /// Adds decoded audio of any length (the other phone's ptime may differ from ours).
    pub fn push(&mut self, audio: &[i16]) {
        self.samples.extend(audio.iter().copied());
        let excess = self.samples.len().saturating_sub(MAX_BACKLOG);
        if excess > 0 {
            self.samples.drain(..excess);
            self.dropped += excess as u64;
        }
    }

    /// Fills `frame` with the next 20 ms; false (and silence) when there is nothing to play.
    pub fn next_frame(&mut self, frame: &mut [i16; FRAME_SAMPLES]) -> bool {
        if !self.playing && self.samples.len() < self.prime {
            frame.fill(0);
            return false;
        }
        self.playing = true;
        if self.samples.len() < FRAME_SAMPLES {
            // Underrun: play what there is now, then wait for a cushion of two frames.
            let n = self.samples.len();
            for (slot, s) in frame.iter_mut().zip(self.samples.drain(..)) {
                *slot = s;
            }
            frame[n..].fill(0);
            self.playing = false;
            self.prime = 2 * FRAME_SAMPLES;
            self.underruns += 1;
            self.restart_window();
            return n > 0;
        }
        for (slot, s) in frame.iter_mut().zip(self.samples.drain(..FRAME_SAMPLES)) {
            *slot = s;
        }
        self.trim_standing_delay();
        true
    }

    /// Drops, oldest first, what stayed queued beyond the cushion for a whole window.
    fn trim_standing_delay(&mut self) {
        self.low_water = self.low_water.min(self.samples.len());
        self.window_frames += 1;
        if self.window_frames < TRIM_WINDOW_FRAMES {
            return;
        }
        let excess = self.low_water.saturating_sub(CUSHION);
        if excess > 0 {
            self.samples.drain(..excess);
            self.dropped += excess as u64;
        }
        self.restart_window();
    }

    fn restart_window(&mut self) {
        self.low_water = usize::MAX;
        self.window_frames = 0;
    }

    /// Forgets what is buffered (the legs were separated, or a prompt took over the line).
    pub fn clear(&mut self) {
        self.samples.clear();
        self.playing = false;
        self.prime = FRAME_SAMPLES;
        self.restart_window();
    }

    /// Samples waiting.
    #[cfg(test)]
    pub fn backlog(&self) -> usize {
        self.samples.len()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn frame_of(v: i16) -> Vec<i16> {
        vec![v; FRAME_SAMPLES]
    }

    #[test]
    fn one_frame_in_one_frame_out_with_no_added_delay() {
        let mut live = LiveAudio::new();
        let mut out = [0i16; FRAME_SAMPLES];
        for v in 1..=5 {
            live.push(&frame_of(v));
            assert!(live.next_frame(&mut out));
            assert!(out.iter().all(|&s| s == v), "frame {v} played in its tick");
        }
        assert_eq!(live.underruns, 0);
    }

    #[test]
    fn after_an_underrun_it_waits_for_two_frames_of_cushion() {
        let mut live = LiveAudio::new();
        let mut out = [0i16; FRAME_SAMPLES];
        live.push(&frame_of(1));
        assert!(live.next_frame(&mut out));
        assert!(!live.next_frame(&mut out), "nothing arrived: silence");
        assert_eq!(live.underruns, 1);
        live.push(&frame_of(2));
        assert!(
            !live.next_frame(&mut out),
            "one frame is not enough after an underrun"
        );
        live.push(&frame_of(3));
        assert!(live.next_frame(&mut out));
        assert!(out.iter().all(|&s| s == 2));
        assert!(live.next_frame(&mut out));
        assert!(out.iter().all(|&s| s == 3));
    }

    #[test]
    fn a_burst_is_trimmed_to_the_backlog_limit_oldest_first() {
        let mut live = LiveAudio::new();
        for v in 0..20 {
            live.push(&frame_of(v));
        }
        assert_eq!(live.backlog(), MAX_BACKLOG);
        assert_eq!(live.dropped, (20 * FRAME_SAMPLES - MAX_BACKLOG) as u64);
        let mut out = [0i16; FRAME_SAMPLES];
        live.next_frame(&mut out);
        assert!(out.iter().all(|&s| s == 15), "the newest 100 ms are kept");
    }

    #[test]
    fn a_burst_s_standing_delay_is_dropped_within_half_a_second() {
        let mut live = LiveAudio::new();
        let mut out = [0i16; FRAME_SAMPLES];
        // A peer stalls, then sends four frames at once, then one per tick as before.
        for v in 0..4 {
            live.push(&frame_of(v));
        }
        let mut delay_frames = Vec::new();
        for v in 4..4 + 2 * TRIM_WINDOW_FRAMES as i16 {
            live.push(&frame_of(v));
            assert!(live.next_frame(&mut out));
            // The frame played was pushed this many ticks ago.
            delay_frames.push(v - out[0]);
        }
        assert_eq!(
            delay_frames[0], 4,
            "the burst queued behind the frames already there"
        );
        assert!(
            delay_frames[TRIM_WINDOW_FRAMES as usize..]
                .iter()
                .all(|&d| d <= 1),
            "after one window at most the one-frame cushion is left: {delay_frames:?}"
        );
        assert_eq!(live.dropped, 3 * FRAME_SAMPLES as u64);
    }

    #[test]
    fn the_cushion_after_an_underrun_and_a_30_ms_phone_are_not_trimmed() {
        // One frame late once: the cushion of two frames is what a jittery leg needs.
        let mut live = LiveAudio::new();
        let mut out = [0i16; FRAME_SAMPLES];
        live.push(&frame_of(1));
        live.next_frame(&mut out);
        live.next_frame(&mut out);
        for v in 2..200 {
            live.push(&frame_of(v));
            live.next_frame(&mut out);
        }
        assert_eq!(live.dropped, 0);
        assert_eq!(live.underruns, 1, "the late frame");
        // 30 ms packets on a 20 ms grid: the backlog swings between 0 and 240 samples.
        let mut live = LiveAudio::new();
        for tick in 0..300 {
            if tick % 3 != 2 {
                live.push(&[7; 240]);
            }
            live.next_frame(&mut out);
        }
        assert_eq!(live.dropped, 0);
    }

    #[test]
    fn packets_of_another_length_are_reframed() {
        let mut live = LiveAudio::new();
        let mut out = [0i16; FRAME_SAMPLES];
        live.push(&[7; 240]); // a 30 ms phone
        assert!(live.next_frame(&mut out));
        assert_eq!(live.backlog(), 80);
    }
}
