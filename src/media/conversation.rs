//! Recording a bridged conversation: both directions in one stereo WAV (left: the first leg,
//! the caller; right: the second, the technician), flushed as it grows so a crash leaves a
//! playable file.
//!
//! [`join_recorded`] joins the legs like [`super::bridge::join`], with one task in between that
//! forwards each leg's decoded frames to the other leg and copies them to the file. Frames of
//! the two directions arrive independently; they are paired 20 ms by 20 ms, and a side that
//! has nothing while the other has piled up 200 ms (its phone stopped sending: hold, a lost
//! path) is written as silence, so the two channels stay aligned in time. The bridge without
//! recording keeps its direct path: only recorded calls pay for the task. A write that fails
//! (a full disk) stops the recording, never the conversation.

use super::recording::RecordingError;
use super::rtp_session::MediaSession;
use std::collections::VecDeque;
use std::path::{Path, PathBuf};
use std::time::Duration;
use tokio::sync::mpsc;

/// Frames in flight from one leg to the other: 200 ms, as the plain bridge.
const QUEUE_FRAMES: usize = 10;
/// One 20 ms frame at 8 kHz.
const FRAME: usize = 160;
/// A side this far ahead of a silent other side is written against silence.
const MAX_SKEW: usize = 10 * FRAME;
/// Header and samples are flushed about every second: a crash loses at most that.
const FLUSH_FRAMES: u32 = 50;

/// A conversation being recorded; [`ConversationRecording::finish`] once the legs are separated.
pub struct ConversationRecording {
    task: tokio::task::JoinHandle<Result<Duration, RecordingError>>,
    path: PathBuf,
}

/// The two channels, paired frame by frame into the WAV.
struct StereoWriter {
    writer: hound::WavWriter<std::io::BufWriter<std::fs::File>>,
    path: PathBuf,
    left: VecDeque<i16>,
    right: VecDeque<i16>,
    frames: u64,
    unflushed: u32,
}

impl StereoWriter {
    fn create(path: &Path) -> Result<StereoWriter, RecordingError> {
        let create_err = |source| RecordingError::Create {
            path: path.to_path_buf(),
            source,
        };
        if let Some(dir) = path.parent() {
            std::fs::create_dir_all(dir).map_err(create_err)?;
        }
        let spec = hound::WavSpec {
            channels: 2,
            sample_rate: 8000,
            bits_per_sample: 16,
            sample_format: hound::SampleFormat::Int,
        };
        let writer = hound::WavWriter::create(path, spec).map_err(|e| match e {
            hound::Error::IoError(io) => create_err(io),
            other => RecordingError::Write {
                path: path.to_path_buf(),
                source: other,
            },
        })?;
        Ok(StereoWriter {
            writer,
            path: path.to_path_buf(),
            left: VecDeque::new(),
            right: VecDeque::new(),
            frames: 0,
            unflushed: 0,
        })
    }

    /// Writes every frame both sides have, and a lagging silent side as silence.
    fn drain(&mut self, to_the_end: bool) -> Result<(), RecordingError> {
        loop {
            let (l, r) = (self.left.len(), self.right.len());
            let both = l >= FRAME && r >= FRAME;
            let skewed = l >= MAX_SKEW || r >= MAX_SKEW;
            let rest = to_the_end && (l > 0 || r > 0);
            if !(both || skewed || rest) {
                return Ok(());
            }
            for _ in 0..FRAME {
                let a = self.left.pop_front().unwrap_or(0);
                let b = self.right.pop_front().unwrap_or(0);
                self.write(a)?;
                self.write(b)?;
            }
            self.frames += 1;
            self.unflushed += 1;
            if self.unflushed >= FLUSH_FRAMES {
                self.unflushed = 0;
                let path = self.path.clone();
                self.writer
                    .flush()
                    .map_err(|source| RecordingError::Write { path, source })?;
            }
        }
    }

    fn write(&mut self, sample: i16) -> Result<(), RecordingError> {
        self.writer
            .write_sample(sample)
            .map_err(|source| RecordingError::Write {
                path: self.path.clone(),
                source,
            })
    }

    fn finish(mut self) -> Result<Duration, RecordingError> {
        self.drain(true)?;
        let duration = Duration::from_millis(self.frames * 20);
        self.writer
            .finalize()
            .map_err(|source| RecordingError::Write {
                path: self.path.clone(),
                source,
            })?;
        Ok(duration)
    }
}

/// Each leg hears the other, and both are recorded to `path` (left `caller`, right `technician`)
/// until [`super::bridge::separate`] ends the bridge.
pub fn join_recorded(
    caller: &MediaSession,
    technician: &MediaSession,
    path: &Path,
) -> Result<ConversationRecording, RecordingError> {
    let file = StereoWriter::create(path)?;
    let (from_caller_tx, mut from_caller) = mpsc::channel::<Vec<i16>>(QUEUE_FRAMES);
    let (from_tech_tx, mut from_tech) = mpsc::channel::<Vec<i16>>(QUEUE_FRAMES);
    let (to_tech, to_tech_rx) = mpsc::channel(QUEUE_FRAMES);
    let (to_caller, to_caller_rx) = mpsc::channel(QUEUE_FRAMES);
    caller.set_audio_tap(Some(from_caller_tx));
    technician.set_live_source(Some(to_tech_rx));
    technician.set_audio_tap(Some(from_tech_tx));
    caller.set_live_source(Some(to_caller_rx));
    let task = tokio::spawn(async move {
        let (mut caller_open, mut tech_open) = (true, true);
        // Set by the first failed write (the disk filled up): the file is dropped there, what
        // reached the disk stays, and the legs keep hearing each other.
        let mut failure: Option<RecordingError> = None;
        let mut file = Some(file);
        while caller_open || tech_open {
            tokio::select! {
                frame = from_caller.recv(), if caller_open => match frame {
                    Some(frame) => {
                        if let Some(file) = &mut file {
                            file.left.extend(frame.iter().copied());
                        }
                        // A stalled sender loses the oldest audio, as in the plain bridge.
                        let _ = to_tech.try_send(frame);
                    }
                    None => caller_open = false,
                },
                frame = from_tech.recv(), if tech_open => match frame {
                    Some(frame) => {
                        if let Some(file) = &mut file {
                            file.right.extend(frame.iter().copied());
                        }
                        let _ = to_caller.try_send(frame);
                    }
                    None => tech_open = false,
                },
            }
            if let Some(Err(e)) = file.as_mut().map(|f| f.drain(false)) {
                failure = Some(e);
                file = None;
            }
        }
        match (file, failure) {
            (Some(file), _) => file.finish(),
            (None, Some(e)) => Err(e),
            (None, None) => unreachable!("the file is only dropped on a failure"),
        }
    });
    Ok(ConversationRecording {
        task,
        path: path.to_path_buf(),
    })
}

impl ConversationRecording {
    /// Where the conversation is being written.
    pub fn path(&self) -> &Path {
        &self.path
    }

    /// Waits for the file to be complete (call after separating the legs); its length. A
    /// write that failed stopped the recording there (the conversation went on): its error,
    /// the file holding what reached the disk, its header not yet updated.
    pub async fn finish(self) -> Result<Duration, RecordingError> {
        match self.task.await {
            Ok(result) => result,
            Err(e) => Err(RecordingError::Repair {
                path: self.path,
                reason: format!("the recording task failed: {e}"),
            }),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn both_sides_are_paired_and_a_silent_side_is_padded_to_stay_aligned() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("talk.wav");
        let mut w = StereoWriter::create(&path).unwrap();
        // Two frames from both sides, then 12 frames from the caller only.
        w.left.extend(std::iter::repeat_n(1000, 2 * FRAME));
        w.right.extend(std::iter::repeat_n(-1000, 2 * FRAME));
        w.drain(false).unwrap();
        assert_eq!(w.frames, 2);
        w.left.extend(std::iter::repeat_n(500, 12 * FRAME));
        w.drain(false).unwrap();
        // Up to the skew limit the caller's frames wait for the other side; past it they are
        // written against silence.
        assert_eq!(w.frames, 2 + 3);
        assert_eq!(w.finish().unwrap(), Duration::from_millis(14 * 20));
        let mut reader = hound::WavReader::open(&path).unwrap();
        assert_eq!(reader.spec().channels, 2);
        let samples: Vec<i16> = reader.samples::<i16>().map(Result::unwrap).collect();
        assert_eq!(samples.len(), 14 * FRAME * 2);
        assert_eq!(&samples[..2], &[1000, -1000]);
        assert_eq!(&samples[2 * FRAME * 2..2 * FRAME * 2 + 2], &[500, 0]);
    }
}
