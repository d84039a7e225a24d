//! The ticket record and its call timeline: what the store returns, the CLI prints and the JSON
//! API publishes. Plain data: the store fills it, nothing here knows about SQL.

use super::{
    CallEventKind, Category, Disposition, Impact, Language, Priority, PriorityMatrix, TicketField,
    TicketRef, TicketStatus, Urgency,
};
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use std::time::Duration;

/// A ticket as stored. Its JSON form is the stable API documented field by field in
/// `docs/tickets.md` (a test checks that every serialised field is documented there).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Ticket {
    /// The database row id: internal (foreign keys, the call task), never shown to people —
    /// `reference` is what callers hear and technicians type.
    #[serde(skip)]
    pub id: i64,
    pub reference: TicketRef,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
    /// The SIP Call-ID of the call that opened the ticket.
    pub call_id: String,
    /// The user part of the caller's From URI, as received.
    pub caller_number: String,
    /// The From header's display name, when the phone sent one.
    pub caller_name: Option<String>,
    /// Who the directory says the caller is ("Name (Department)"), when the number is known.
    pub caller_identity: Option<String>,
    pub language: Option<Language>,
    pub category: Option<Category>,
    pub impact: Option<Impact>,
    pub urgency: Option<Urgency>,
    /// Set by the store from the priority matrix as soon as impact and urgency are both known.
    pub priority: Option<Priority>,
    pub status: TicketStatus,
    pub disposition: Disposition,
    /// The step of an abandoned call, the reason of a failed one.
    pub disposition_detail: Option<String>,
    pub assignee: Option<String>,
    /// The estimated response time the caller heard, in seconds (already rounded for speech).
    pub estimated_response_secs: Option<i64>,
    /// Digits the caller entered in `collect` nodes, as a JSON object (name → digits).
    pub collected: Option<serde_json::Value>,
    pub recording_path: Option<String>,
    pub recording_duration_ms: Option<i64>,
    /// The recorded conversation with a technician (stereo: caller left, technician right),
    /// when the team's calls are recorded.
    pub conversation_path: Option<String>,
    pub conversation_duration_ms: Option<i64>,
    pub recording_end_cause: Option<String>,
    pub transcript: Option<String>,
    /// The language the transcript is in (ISO 639-1).
    pub transcript_language: Option<String>,
    /// The transcript's timed segments: `[{start_ms, end_ms, text}]`.
    pub transcript_segments: Option<serde_json::Value>,
    /// The model that made the transcript.
    pub transcript_model: Option<String>,
    /// How long the transcription took, in milliseconds.
    pub transcript_ms: Option<i64>,
}

impl Ticket {
    /// The estimate the caller heard, if the call got that far.
    pub fn estimated_response(&self) -> Option<Duration> {
        self.estimated_response_secs
            .and_then(|s| u64::try_from(s).ok())
            .map(Duration::from_secs)
    }

    /// Sets `field` as the store does: the priority follows from `matrix` once impact and
    /// urgency are both known. A call keeps its ticket so, for when the store cannot be read.
    pub fn set_field(&mut self, field: TicketField, matrix: &PriorityMatrix) {
        match field {
            TicketField::Language(l) => self.language = Some(l),
            TicketField::Category(c) => self.category = Some(c),
            TicketField::Impact(i) => self.impact = Some(i),
            TicketField::Urgency(u) => self.urgency = Some(u),
        }
        if matches!(field, TicketField::Impact(_) | TicketField::Urgency(_)) {
            self.priority = self
                .impact
                .zip(self.urgency)
                .map(|(i, u)| matrix.priority(i, u));
        }
    }

    /// How to name the caller to a person: the directory's identity, else the display name,
    /// else the number.
    pub fn caller_label(&self) -> &str {
        self.caller_identity
            .as_deref()
            .or(self.caller_name.as_deref())
            .unwrap_or(&self.caller_number)
    }
}

/// One entry of a ticket's call timeline.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct CallEvent {
    pub at: DateTime<Utc>,
    pub kind: CallEventKind,
    /// A short free text: the digit, the prompt's name, the field and value, who hung up…
    pub detail: String,
}

#[cfg(test)]
mod tests {
    use super::*;

    fn new_ticket() -> Ticket {
        serde_json::from_value(serde_json::json!({
            "reference": "HD-2026-000001",
            "created_at": "2026-11-30T20:00:00Z",
            "updated_at": "2026-11-30T20:00:00Z",
            "call_id": "a@b",
            "caller_number": "100",
            "status": "new",
            "disposition": "in_progress",
        }))
        .unwrap()
    }

    #[test]
    fn the_priority_follows_from_impact_and_urgency_once_both_are_set() {
        let matrix = PriorityMatrix::default();
        let mut t = new_ticket();
        t.set_field(TicketField::Category(Category::Network), &matrix);
        t.set_field(TicketField::Impact(Impact::Organisation), &matrix);
        assert_eq!((t.category, t.priority), (Some(Category::Network), None));
        t.set_field(TicketField::Urgency(Urgency::Blocked), &matrix);
        assert_eq!(
            t.priority,
            Some(matrix.priority(Impact::Organisation, Urgency::Blocked))
        );
        assert_eq!(t.priority.unwrap().to_string(), "P1");
    }
}
