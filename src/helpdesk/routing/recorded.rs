//! Which bridged conversations are recorded, where the files go, and recording one: not under
//! the recordings disk's floor, and a disk filling up mid-conversation stops the recording,
//! not the conversation (what was written is kept).

use super::ring::Router;
use super::roster::Roster;
use crate::call::CallControl;
use crate::helpdesk::ticket_writer::TicketWrite;
use crate::media::{bridge, conversation, recording};
use crate::tickets::{CallEventKind, Ticket, TicketRef};
use std::path::{Path, PathBuf};

/// The teams whose conversations are recorded (`routing.record_teams`; `*` is every team) and
/// the directory they are written to, beside the voicemails.
#[derive(Debug, Clone, Default)]
pub struct ConversationPolicy {
    pub dir: PathBuf,
    pub teams: Vec<String>,
}

impl ConversationPolicy {
    /// Whether a conversation for `team` is recorded.
    pub fn records(&self, team: Option<&str>) -> bool {
        team.is_some_and(|team| self.teams.iter().any(|t| t == "*" || t == team))
    }

    /// The file of `reference`'s conversation.
    pub fn path_for(&self, reference: TicketRef) -> PathBuf {
        self.dir
            .join(reference.year.to_string())
            .join(format!("{reference}-conversation.wav"))
    }
}

impl<R: Roster> Router<'_, R> {
    /// Joins the legs, recording the conversation when the ticket's team records its calls.
    /// A recording that cannot start is logged on the ticket and the call goes on unrecorded.
    pub(super) async fn start_bridge(
        &self,
        caller: &CallControl,
        tech: &CallControl,
        ticket: &Ticket,
    ) -> Option<conversation::ConversationRecording> {
        let team = self.roster.team_of(ticket, None).await;
        if self.conversations.records(team.as_deref()) {
            let path = self.conversations.path_for(ticket.reference);
            let started = match self.disk.room_to_record() {
                Err(no_room) => Err(format!("disk full ({no_room})")),
                Ok(()) => {
                    conversation::join_recorded(caller.media(), tech.media(), &path).map_err(|e| {
                        self.disk.write_failed(&e, false);
                        e.to_string()
                    })
                }
            };
            match started {
                Ok(recording) => {
                    self.event(ticket, CallEventKind::RecordingStarted, "conversation")
                        .await;
                    return Some(recording);
                }
                Err(why) => {
                    let detail = format!("conversation not recorded: {why}");
                    self.event(ticket, CallEventKind::Error, &detail).await;
                }
            }
        }
        bridge::join(caller.media(), tech.media());
        None
    }

    /// Waits for the conversation's file to be complete and attaches it to the ticket.
    pub(super) async fn keep_recording(
        &self,
        ticket: &Ticket,
        recording: conversation::ConversationRecording,
    ) {
        let path = recording.path().to_string_lossy().into_owned();
        match recording.finish().await {
            Ok(duration) => {
                let detail = format!("conversation, {} s", duration.as_secs());
                self.event(ticket, CallEventKind::RecordingStopped, &detail)
                    .await;
                self.write(ticket, TicketWrite::Conversation { path, duration })
                    .await;
            }
            Err(e) => {
                // Stopped at the failed write (the disk filled up); the talk went on. What
                // reached the disk is kept, its header set from the file's length.
                self.disk.write_failed(&e, true);
                let kept = recording::repair(Path::new(&path))
                    .and_then(|_| recording::wav_duration(Path::new(&path)));
                let reason = if e.is_disk_full() {
                    "disk full"
                } else {
                    "write error"
                };
                match kept {
                    Ok(duration) if !duration.is_zero() => {
                        let secs = duration.as_secs();
                        let detail = format!(
                            "conversation recording stopped: {reason} after {secs} s ({e})"
                        );
                        self.event(ticket, CallEventKind::Error, &detail).await;
                        let detail = format!("conversation, {secs} s, cut short");
                        self.event(ticket, CallEventKind::RecordingStopped, &detail)
                            .await;
                        self.write(ticket, TicketWrite::Conversation { path, duration })
                            .await;
                    }
                    _ => {
                        let detail = format!("conversation not recorded: {reason} ({e})");
                        self.event(ticket, CallEventKind::Error, &detail).await;
                    }
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn listed_teams_or_every_team_are_recorded() {
        let some = ConversationPolicy {
            dir: "rec".into(),
            teams: vec!["network".into()],
        };
        assert!(some.records(Some("network")));
        assert!(!some.records(Some("accounts")));
        assert!(
            !some.records(None),
            "a call no team handles is not recorded"
        );
        let all = ConversationPolicy {
            teams: vec!["*".into()],
            ..some
        };
        assert!(all.records(Some("accounts")));
        assert!(!ConversationPolicy::default().records(Some("network")));
    }
}
