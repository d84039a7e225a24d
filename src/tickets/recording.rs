//! Where a ticket's voicemail stands: still being recorded, ended (and why), or cut by a crash.
//!
//! The store keeps it as text in `recording_end_cause` (`digit`, `silence (no speech)`,
//! `interrupted`…); the helpdesk builds it from what happened, so no free-form string travels
//! from the recorder to the database.

use std::fmt;

/// Why a recording stopped while the call was up.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RecordingEnd {
    /// The caller pressed the finish key.
    Digit,
    /// The caller stopped speaking for the node's silence time.
    Silence,
    /// The node's maximum length was reached.
    MaxLength,
    /// The caller hung up while speaking (what was said is kept).
    Hangup,
    /// The recordings disk filled up: what was written before is kept, the call went on
    /// without recording.
    DiskFull,
}

impl RecordingEnd {
    pub fn as_str(self) -> &'static str {
        match self {
            RecordingEnd::Digit => "digit",
            RecordingEnd::Silence => "silence",
            RecordingEnd::MaxLength => "max_length",
            RecordingEnd::Hangup => "hangup",
            RecordingEnd::DiskFull => "disk_full",
        }
    }
}

impl fmt::Display for RecordingEnd {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// A voicemail's state as stored on its ticket.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RecordingState {
    /// The file is being written: a ticket left in this state after a restart was cut by a
    /// crash, and its file is repaired at start-up.
    Recording,
    /// The recording ended normally; `speech` is false when the caller never spoke.
    Ended { end: RecordingEnd, speech: bool },
    /// A crash cut the recording; the file was repaired at the next start.
    Interrupted,
    /// A crash cut the recording and the file could not be repaired.
    Lost,
}

impl fmt::Display for RecordingState {
    /// The stable text form stored in `recording_end_cause` and shown in the JSON API.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            RecordingState::Recording => f.write_str("recording"),
            RecordingState::Ended { end, speech: true } => write!(f, "{end}"),
            RecordingState::Ended { end, speech: false } => write!(f, "{end} (no speech)"),
            RecordingState::Interrupted => f.write_str("interrupted"),
            RecordingState::Lost => f.write_str("lost"),
        }
    }
}

impl RecordingState {
    /// Whether the file holds something the caller said: a crash-cut recording is assumed to
    /// (it is transcribed, and an empty transcript says otherwise).
    pub fn has_speech(self) -> bool {
        match self {
            RecordingState::Ended { speech, .. } => speech,
            RecordingState::Interrupted => true,
            RecordingState::Recording | RecordingState::Lost => false,
        }
    }
}

// Serialised as the stored text form (`silence (no speech)`), as in the database.
impl serde::Serialize for RecordingState {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.collect_str(self)
    }
}

impl<'de> serde::Deserialize<'de> for RecordingState {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let text = String::deserialize(d)?;
        text.parse().map_err(serde::de::Error::custom)
    }
}

impl std::str::FromStr for RecordingState {
    type Err = super::UnknownValue;

    /// Reads back the stored text form.
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let (end, speech) = match s.strip_suffix(" (no speech)") {
            Some(end) => (end, false),
            None => (s, true),
        };
        let end = match end {
            "recording" if speech => return Ok(RecordingState::Recording),
            "interrupted" if speech => return Ok(RecordingState::Interrupted),
            "lost" if speech => return Ok(RecordingState::Lost),
            "digit" => RecordingEnd::Digit,
            "silence" => RecordingEnd::Silence,
            "max_length" => RecordingEnd::MaxLength,
            "hangup" => RecordingEnd::Hangup,
            "disk_full" => RecordingEnd::DiskFull,
            _ => {
                return Err(super::UnknownValue {
                    field: "recording state",
                    value: s.to_string(),
                    expected:
                        "recording interrupted lost digit silence max_length hangup disk_full",
                })
            }
        };
        Ok(RecordingState::Ended { end, speech })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn stored_text_is_the_one_tickets_already_carry() {
        let ended = |end, speech| RecordingState::Ended { end, speech }.to_string();
        assert_eq!(ended(RecordingEnd::Digit, true), "digit");
        assert_eq!(ended(RecordingEnd::MaxLength, true), "max_length");
        assert_eq!(ended(RecordingEnd::Silence, false), "silence (no speech)");
        assert_eq!(RecordingState::Recording.to_string(), "recording");
        assert_eq!(RecordingState::Interrupted.to_string(), "interrupted");
        assert_eq!(RecordingState::Lost.to_string(), "lost");
    }

    #[test]
    fn every_state_reads_back_from_its_stored_text() {
        let mut all = vec![
            RecordingState::Recording,
            RecordingState::Interrupted,
            RecordingState::Lost,
        ];
        for end in [
            RecordingEnd::Digit,
            RecordingEnd::Silence,
            RecordingEnd::MaxLength,
            RecordingEnd::Hangup,
            RecordingEnd::DiskFull,
        ] {
            all.push(RecordingState::Ended { end, speech: true });
            all.push(RecordingState::Ended { end, speech: false });
        }
        for state in all {
            assert_eq!(state.to_string().parse::<RecordingState>(), Ok(state));
        }
        assert!("lost (no speech)".parse::<RecordingState>().is_err());
        assert!("".parse::<RecordingState>().is_err());
    }
}
