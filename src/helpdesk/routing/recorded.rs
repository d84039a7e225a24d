//! Which bridged conversations are recorded, and where the files go.

use crate::tickets::TicketRef;
use std::path::PathBuf;

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
