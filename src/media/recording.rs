//! Voicemail recording: 8 kHz WAV written with `hound`, flushed as it grows so a crash leaves a
//! playable file, with energy-based voice activity to stop on silence, and cut into parts at the
//! caller's pauses (`media::chunker`) to be transcribed while the caller still speaks.

use super::chunker::{ChunkPolicy, Chunker, VOICE_FRAMES, VOICE_RMS};
use std::fs::File;
use std::io::BufWriter;
use std::path::{Path, PathBuf};
use std::time::Duration;

/// Why a recording could not be written or repaired.
#[derive(Debug, thiserror::Error)]
pub enum RecordingError {
    #[error("cannot create recording {path}: {source}")]
    Create {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error("writing recording {path}: {source}")]
    Write { path: PathBuf, source: hound::Error },
    #[error("recording {path} cannot be repaired: {reason}")]
    Repair { path: PathBuf, reason: String },
}

impl RecordingError {
    /// Whether the filesystem ran out of space (or of the user's quota): the condition that
    /// stops recordings while calls go on, as opposed to a fault of this one file.
    pub fn is_disk_full(&self) -> bool {
        let io = match self {
            RecordingError::Create { source, .. } => source,
            RecordingError::Write {
                source: hound::Error::IoError(io),
                ..
            } => io,
            _ => return false,
        };
        matches!(
            io.kind(),
            std::io::ErrorKind::StorageFull | std::io::ErrorKind::QuotaExceeded
        )
    }
}

/// Why recording stopped (besides the caller hanging up).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RecordStop {
    Digit,
    Silence,
    MaxLength,
}

/// Header and samples are flushed at least this often (samples): a crash loses at most this much.
const FLUSH_EVERY: u64 = 4000;
/// Tracks whether the caller is speaking.
#[derive(Debug, Default)]
pub struct VoiceActivity {
    loud_frames: u32,
    heard_speech: bool,
    silent_samples: u64,
}

impl VoiceActivity {
    /// Feeds one frame (any length) of 8 kHz audio.
    pub fn push(&mut self, frame: &[i16]) {
        if frame.is_empty() {
            return;
        }
        let rms =
            (frame.iter().map(|&s| (s as f64).powi(2)).sum::<f64>() / frame.len() as f64).sqrt();
        if rms >= VOICE_RMS {
            self.loud_frames += 1;
            if self.loud_frames >= VOICE_FRAMES {
                self.heard_speech = true;
                self.silent_samples = 0;
            }
        } else {
            self.loud_frames = 0;
            self.silent_samples += frame.len() as u64;
        }
    }

    pub fn heard_speech(&self) -> bool {
        self.heard_speech
    }

    /// How long it has been quiet (since the start, or since the caller last spoke).
    pub fn silence(&self) -> Duration {
        Duration::from_millis(self.silent_samples / 8)
    }
}

/// A voicemail being written.
pub struct Recorder {
    path: PathBuf,
    writer: hound::WavWriter<BufWriter<File>>,
    samples: u64,
    unflushed: u64,
    pub voice: VoiceActivity,
    /// Voicemails are also cut into parts at the caller's pauses, each its own WAV, so they
    /// can be transcribed while the caller is still speaking.
    chunker: Option<Chunker>,
    next_part: usize,
    finished_parts: Vec<(usize, PathBuf)>,
    /// The first write that failed: nothing more is written after it (the disk is full, or
    /// the file is broken), but the caller's voice is still followed so the call goes on.
    failure: Option<RecordingError>,
}

/// A finished recording.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RecordingInfo {
    pub path: PathBuf,
    pub duration: Duration,
    pub has_speech: bool,
    /// The last part (what followed the last cut), when parts are cut and it holds speech.
    pub last_part: Option<(usize, PathBuf)>,
    /// How many part files the recording was cut into (0 when parts are not cut).
    pub parts: usize,
}

/// The file of part `n` of the recording at `path`: `HD-…-000001.part3.wav`.
pub fn part_path(path: &Path, n: usize) -> PathBuf {
    let stem = path.file_stem().unwrap_or_default().to_string_lossy();
    path.with_file_name(format!("{stem}.part{n}.wav"))
}

/// Writes 8 kHz samples as a complete WAV file.
pub fn write_wav(path: &Path, samples: &[i16]) -> Result<(), RecordingError> {
    let err = |source| RecordingError::Write {
        path: path.to_path_buf(),
        source,
    };
    let mut w = hound::WavWriter::create(path, spec()).map_err(err)?;
    for &s in samples {
        w.write_sample(s).map_err(err)?;
    }
    w.finalize().map_err(err)
}

/// Cuts a recording into its part files as the recorder would have (the same cuts, so parts
/// written before a crash are the same files), for recordings whose parts were not all written.
/// Returns (index, path) of the parts worth transcribing: those with speech.
pub fn split_into_parts(
    path: &Path,
    policy: ChunkPolicy,
) -> Result<Vec<(usize, PathBuf)>, RecordingError> {
    let fail = |reason: String| RecordingError::Repair {
        path: path.to_path_buf(),
        reason,
    };
    let reader = hound::WavReader::open(path).map_err(|e| fail(e.to_string()))?;
    let samples: Vec<i16> = reader
        .into_samples::<i16>()
        .collect::<Result<_, _>>()
        .map_err(|e| fail(e.to_string()))?;
    let mut chunker = Chunker::new(policy);
    let mut chunks = chunker.push(&samples);
    chunks.extend(chunker.finish());
    let mut parts = Vec::new();
    for (n, chunk) in chunks.into_iter().enumerate() {
        let p = part_path(path, n);
        write_wav(&p, &chunk.samples)?;
        if chunk.has_speech {
            parts.push((n, p));
        }
    }
    Ok(parts)
}

/// Where part `n` of the recording at `path` starts: the length of the part files before it
/// (every chunk is written, with speech or not, so none is missing unless deleted by hand).
pub fn part_start(path: &Path, n: usize) -> Duration {
    let samples: u64 = (0..n)
        .map(|k| {
            hound::WavReader::open(part_path(path, k))
                .map(|r| u64::from(r.duration()))
                .unwrap_or(0)
        })
        .sum();
    Duration::from_millis(samples / 8)
}

/// The recording and part number a part file belongs to: `HD-…-000001.part3.wav` gives
/// `HD-…-000001.wav` and 3; None for a file that is not a part.
pub fn part_of(part: &Path) -> Option<(PathBuf, usize)> {
    let stem = part.file_stem()?.to_str()?;
    let (base, n) = stem.rsplit_once(".part")?;
    let n = n.parse().ok()?;
    Some((part.with_file_name(format!("{base}.wav")), n))
}

fn spec() -> hound::WavSpec {
    hound::WavSpec {
        channels: 1,
        sample_rate: 8000,
        bits_per_sample: 16,
        sample_format: hound::SampleFormat::Int,
    }
}

impl Recorder {
    pub fn create(path: &Path) -> Result<Recorder, RecordingError> {
        let create_err = |source| RecordingError::Create {
            path: path.to_path_buf(),
            source,
        };
        if let Some(dir) = path.parent() {
            std::fs::create_dir_all(dir).map_err(create_err)?;
        }
        let writer = hound::WavWriter::create(path, spec()).map_err(|e| match e {
            hound::Error::IoError(io) => create_err(io),
            other => RecordingError::Write {
                path: path.to_path_buf(),
                source: other,
            },
        })?;
        Ok(Recorder {
            path: path.to_path_buf(),
            writer,
            samples: 0,
            unflushed: 0,
            voice: VoiceActivity::default(),
            chunker: None,
            next_part: 0,
            finished_parts: Vec::new(),
            failure: None,
        })
    }

    /// Also cuts the recording into parts at pauses as `policy` says (see [`part_path`]).
    pub fn with_parts(mut self, policy: ChunkPolicy) -> Self {
        self.chunker = Some(Chunker::new(policy));
        self
    }

    /// Parts with speech completed since the last call.
    pub fn take_finished_parts(&mut self) -> Vec<(usize, PathBuf)> {
        std::mem::take(&mut self.finished_parts)
    }

    /// Writes a chunk as the next part file; only a part with speech is handed on to be
    /// transcribed, but every part is written so part files cover the recording (offsets).
    fn write_part(
        &mut self,
        chunk: super::chunker::Chunk,
    ) -> Result<Option<(usize, PathBuf)>, RecordingError> {
        let p = part_path(&self.path, self.next_part);
        write_wav(&p, &chunk.samples)?;
        let n = self.next_part;
        self.next_part += 1;
        Ok(chunk.has_speech.then_some((n, p)))
    }

    /// Appends caller audio; flushes samples and header every half second. After the first
    /// error (returned once), audio only feeds the voice activity: one error per recording,
    /// not one per packet, and the file keeps what was written before it.
    pub fn write(&mut self, pcm: &[i16]) -> Result<(), &RecordingError> {
        if self.failure.is_none() {
            if let Err(e) = self.write_audio(pcm) {
                return Err(self.failure.insert(e));
            }
        } else {
            self.voice.push(pcm);
        }
        Ok(())
    }

    /// Why writing stopped, if it did.
    pub fn failure(&self) -> Option<&RecordingError> {
        self.failure.as_ref()
    }

    fn write_audio(&mut self, pcm: &[i16]) -> Result<(), RecordingError> {
        let path = self.path.clone();
        let err = |source| RecordingError::Write {
            path: path.clone(),
            source,
        };
        for &s in pcm {
            self.writer.write_sample(s).map_err(err)?;
        }
        self.voice.push(pcm);
        if let Some(chunker) = self.chunker.as_mut() {
            for chunk in chunker.push(pcm) {
                if let Some(part) = self.write_part(chunk)? {
                    self.finished_parts.push(part);
                }
            }
        }
        self.samples += pcm.len() as u64;
        self.unflushed += pcm.len() as u64;
        if self.unflushed >= FLUSH_EVERY {
            self.writer.flush().map_err(err)?;
            self.unflushed = 0;
        }
        Ok(())
    }

    pub fn duration(&self) -> Duration {
        Duration::from_millis(self.samples / 8)
    }

    pub fn finish(mut self) -> Result<RecordingInfo, RecordingError> {
        let last = match self.chunker.take().and_then(Chunker::finish) {
            Some(chunk) => self.write_part(chunk)?,
            None => None,
        };
        // Parts not taken yet (none in a call, which takes them as they come) go first.
        self.finished_parts.extend(last);
        let info = RecordingInfo {
            path: self.path.clone(),
            duration: self.duration(),
            has_speech: self.voice.heard_speech(),
            last_part: self.finished_parts.pop(),
            parts: self.next_part,
        };
        self.writer
            .finalize()
            .map_err(|source| RecordingError::Write {
                path: info.path.clone(),
                source,
            })?;
        Ok(info)
    }
}

/// How long the WAV at `path` plays (8 kHz), read from its header.
pub fn wav_duration(path: &Path) -> Result<Duration, RecordingError> {
    let reader = hound::WavReader::open(path).map_err(|e| RecordingError::Repair {
        path: path.to_path_buf(),
        reason: e.to_string(),
    })?;
    Ok(Duration::from_millis(u64::from(reader.duration()) / 8))
}

/// Makes a WAV left by a crash readable: the data chunk size in the header is set from the file
/// size. Returns whether anything was changed.
pub fn repair(path: &Path) -> Result<bool, RecordingError> {
    use std::io::{Read, Seek, SeekFrom, Write};
    let fail = |reason: String| RecordingError::Repair {
        path: path.to_path_buf(),
        reason,
    };
    let mut file = std::fs::OpenOptions::new()
        .read(true)
        .write(true)
        .open(path)
        .map_err(|e| fail(e.to_string()))?;
    let mut header = [0u8; 44];
    file.read_exact(&mut header)
        .map_err(|_| fail("shorter than a WAV header".into()))?;
    if &header[0..4] != b"RIFF" || &header[8..12] != b"WAVE" || &header[36..40] != b"data" {
        return Err(fail("not a WAV file written by Hotline".into()));
    }
    let len = file.metadata().map_err(|e| fail(e.to_string()))?.len();
    // Drop a torn final sample (or stereo frame) so the data is whole frames.
    let align = u64::from(u16::from_le_bytes(header[32..34].try_into().expect("2 bytes")).max(2));
    let data = (len - 44) / align * align;
    let riff = (data + 36) as u32;
    let (old_riff, old_data) = (
        u32::from_le_bytes(header[4..8].try_into().expect("4 bytes")),
        u32::from_le_bytes(header[40..44].try_into().expect("4 bytes")),
    );
    if old_riff == riff && old_data as u64 == data && len == data + 44 {
        return Ok(false);
    }
    file.set_len(44 + data).map_err(|e| fail(e.to_string()))?;
    file.seek(SeekFrom::Start(4))
        .map_err(|e| fail(e.to_string()))?;
    file.write_all(&riff.to_le_bytes())
        .map_err(|e| fail(e.to_string()))?;
    file.seek(SeekFrom::Start(40))
        .map_err(|e| fail(e.to_string()))?;
    file.write_all(&(data as u32).to_le_bytes())
        .map_err(|e| fail(e.to_string()))?;
    file.sync_all().map_err(|e| fail(e.to_string()))?;
    Ok(true)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn tone(n: usize, amp: f64) -> Vec<i16> {
        (0..n)
            .map(|i| (amp * (i as f64 * 0.2).sin()) as i16)
            .collect()
    }

    #[test]
    fn a_recording_is_readable_while_still_being_written() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("v.wav");
        let mut r = Recorder::create(&path).unwrap();
        r.write(&tone(8000, 5000.0)).unwrap();
        // Without finishing (as after a crash), the flushed part is a valid WAV already.
        let reader = hound::WavReader::open(&path).unwrap();
        assert!(reader.duration() >= 4000, "{}", reader.duration());
        drop(r);
    }

    #[test]
    fn a_full_disk_stops_the_writing_once_and_the_voice_is_still_followed() {
        // /dev/full answers every write with ENOSPC, as a full filesystem does.
        let mut r = Recorder::create(Path::new("/dev/full")).unwrap();
        let err = (0..50)
            .find_map(|_| r.write(&tone(160, 5000.0)).err().map(|e| e.to_string()))
            .expect("the buffered samples reach the disk within a second");
        assert!(r.failure().unwrap().is_disk_full(), "{err}");
        // Later audio is not written (no error per packet) but still tells speech from silence.
        for _ in 0..60 {
            assert!(r.write(&[0; 160]).is_ok());
        }
        assert!(r.voice.silence() >= Duration::from_secs(1));
        let other = RecordingError::Repair {
            path: "x".into(),
            reason: "not a WAV".into(),
        };
        assert!(!other.is_disk_full());
    }

    #[test]
    fn torn_header_is_repaired() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("v.wav");
        let mut r = Recorder::create(&path).unwrap();
        r.write(&tone(6000, 5000.0)).unwrap();
        std::mem::forget(r); // a crash: nothing finalised, the BufWriter never flushed its tail
        let mut bytes = std::fs::read(&path).unwrap();
        bytes.extend_from_slice(&[1, 2, 3]); // a torn half-sample at the end
        std::fs::write(&path, &bytes).unwrap();
        assert!(repair(&path).unwrap());
        let reader = hound::WavReader::open(&path).unwrap();
        assert_eq!(reader.len() as usize, (bytes.len() - 44) / 2);
        assert!(!repair(&path).unwrap(), "a sound file is left alone");
        std::fs::write(&path, b"garbage").unwrap();
        assert!(repair(&path)
            .unwrap_err()
            .to_string()
            .contains("shorter than a WAV header"));
    }

    #[test]
    fn parts_cover_the_recording_in_order_without_gaps() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("HD-2026-000007.wav");
        let policy = ChunkPolicy {
            min: Duration::from_millis(500),
            pause: Duration::from_millis(300),
            max: Duration::from_secs(2),
        };
        let mut r = Recorder::create(&path).unwrap().with_parts(policy);
        // Two sentences, each followed by a 0.4 s pause, then a short word as the caller hangs up.
        let quiet = vec![0i16; 3200];
        let audio = [
            tone(6400, 5000.0),
            quiet.clone(),
            tone(6400, 5000.0),
            quiet,
            tone(3000, 5000.0),
        ]
        .concat();
        let mut seen = Vec::new();
        for chunk in audio.chunks(160) {
            r.write(chunk).unwrap();
            seen.extend(r.take_finished_parts());
        }
        assert_eq!(
            seen.iter().map(|(n, _)| *n).collect::<Vec<_>>(),
            vec![0, 1],
            "a part at each pause while recording"
        );
        let info = r.finish().unwrap();
        let (n, last) = info.last_part.clone().unwrap();
        assert_eq!(n, 2);
        assert!(last.ends_with("HD-2026-000007.part2.wav"));
        let mut joined: Vec<i16> = Vec::new();
        for p in seen.iter().map(|(_, p)| p.clone()).chain([last]) {
            joined.extend(
                hound::WavReader::open(p)
                    .unwrap()
                    .samples::<i16>()
                    .map(Result::unwrap),
            );
        }
        assert_eq!(joined, audio);
        let again = split_into_parts(&path, policy).unwrap();
        assert_eq!(again, [seen, vec![(2, info.last_part.unwrap().1)]].concat());
        // Cut 0.3 s into each pause: 1.1 s, then 1.2 s (the pause's rest and the sentence).
        assert_eq!(part_start(&path, 2), Duration::from_millis(2300));
        assert_eq!(
            part_of(&path.with_file_name("HD-2026-000007.part2.wav")),
            Some((path.clone(), 2))
        );
        assert_eq!(part_of(&path), None);
    }

    #[test]
    fn voice_activity_needs_sustained_voice_and_measures_silence_after_it() {
        let mut v = VoiceActivity::default();
        v.push(&tone(160, 3000.0)); // one loud frame: a click
        for _ in 0..10 {
            v.push(&[0; 160]);
        }
        assert!(!v.heard_speech());
        for _ in 0..5 {
            v.push(&tone(160, 3000.0));
        }
        assert!(v.heard_speech());
        for _ in 0..50 {
            v.push(&[10; 160]);
        }
        assert_eq!(v.silence(), Duration::from_secs(1));
    }
}
