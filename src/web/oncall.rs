//! Who is on call, as the `/oncall` page and `GET /api/oncall` show it: for each team the
//! on-call order at an instant with presence and phones, and the shifts of the days after it;
//! then every technician's phones. Gathered here once so the page and the API cannot disagree.
//!
//! The answers come from `oncall` (`Rota::on_call`, `Rota::timeline`), never from a second
//! implementation here: this module only loads, joins and labels.

use super::WebError;
use crate::oncall::{
    EscalationStep, OnCall, Override, Position, Presence, Rota, Rotation, Segment, Team,
};
use crate::store::{PhoneView, Store};
use crate::tickets::Category;
use chrono::{DateTime, FixedOffset, NaiveDate, Utc};
use chrono_tz::Tz;
use serde::{Deserialize, Serialize};
use std::collections::HashMap;

/// How far ahead the timeline looks unless asked otherwise, and at most.
pub const DEFAULT_DAYS: u32 = 14;
pub const MAX_DAYS: u32 = 62;

/// `?at=` (RFC 3339, default now) and `?days=` (1 to 62, default 14), for the page and the API.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct BoardQuery {
    pub at: Option<DateTime<FixedOffset>>,
    pub days: Option<u32>,
}

impl BoardQuery {
    /// The instant and the number of days asked for; a day count out of range is a 400 naming
    /// `days`.
    pub fn resolve(&self, now: DateTime<Utc>) -> Result<(DateTime<Utc>, u32), WebError> {
        let days = self.days.unwrap_or(DEFAULT_DAYS);
        if !(1..=MAX_DAYS).contains(&days) {
            return Err(WebError::BadRequest(format!(
                "days: {days} is out of range (1 to {MAX_DAYS})"
            )));
        }
        Ok((self.at.map_or(now, |t| t.with_timezone(&Utc)), days))
    }
}

/// The whole board.
#[derive(Debug, Serialize)]
pub struct Board {
    /// The instant `on_call` answers for.
    pub at: DateTime<Utc>,
    /// The end of the timeline.
    pub until: DateTime<Utc>,
    pub teams: Vec<TeamBoard>,
    /// Everyone the rota names or who has a phone, with their phones.
    pub technicians: Vec<TechnicianPhones>,
}

/// One team: its settings, who is on call at `at`, and the shifts up to `until`.
#[derive(Debug, Serialize)]
pub struct TeamBoard {
    pub name: String,
    /// Handovers and business hours are in it; shown and serialised as its IANA name.
    #[serde(serialize_with = "tz_name")]
    pub time_zone: Tz,
    pub lead: Option<String>,
    pub members: Vec<String>,
    pub categories: Vec<Category>,
    pub business_hours: String,
    pub escalation: Vec<EscalationStep>,
    pub rotations: Vec<RotationView>,
    /// In escalation order: primary, secondary, lead.
    pub on_call: Vec<OnCallNow>,
    pub timeline: Vec<Shift>,
    /// Overrides that have not ended by `at` (or by now, when that is earlier).
    pub overrides: Vec<Override>,
}

#[derive(Debug, Serialize)]
pub struct RotationView {
    pub name: String,
    pub coverage: crate::oncall::Coverage,
    pub handover: String,
    pub starts_on: NaiveDate,
    pub members: Vec<String>,
}

impl From<&Rotation> for RotationView {
    fn from(r: &Rotation) -> Self {
        RotationView {
            name: r.name.clone(),
            coverage: r.coverage,
            handover: r.handover.to_string(),
            starts_on: r.starts_on,
            members: r.members.clone(),
        }
    }
}

/// One person in the on-call order, with what routing would find now.
#[derive(Debug, Clone, Serialize)]
pub struct OnCallNow {
    pub user: String,
    pub position: Position,
    /// Presence now (not at `at`: presence has no future).
    pub presence: Presence,
    pub phones: usize,
    pub reachable_phones: usize,
    /// How long a call rings them before the next step; `None` when the team's policy has no
    /// step for their position.
    pub ring_secs: Option<u64>,
}

/// A stretch of time with one on-call order, and the overrides that shape it.
#[derive(Debug, Serialize)]
pub struct Shift {
    pub from: DateTime<Utc>,
    pub until: DateTime<Utc>,
    pub on_call: Vec<OnCall>,
    /// Ids of the overrides in force during the shift.
    pub overrides: Vec<i64>,
}

impl Shift {
    fn from_segment(segment: Segment, team: &str, overrides: &[Override]) -> Shift {
        Shift {
            overrides: overrides
                .iter()
                .filter(|o| o.team == team && o.from < segment.until && segment.from < o.until)
                .map(|o| o.id)
                .collect(),
            from: segment.from,
            until: segment.until,
            on_call: segment.on_call,
        }
    }
}

#[derive(Debug, Serialize)]
pub struct TechnicianPhones {
    pub name: String,
    pub presence: Presence,
    pub teams: Vec<String>,
    pub phones: Vec<PhoneView>,
}

fn tz_name<S: serde::Serializer>(tz: &Tz, s: S) -> Result<S::Ok, S::Error> {
    s.serialize_str(tz.name())
}

impl TeamBoard {
    fn build(
        rota: &Rota,
        team: &Team,
        at: DateTime<Utc>,
        until: DateTime<Utc>,
        people: &HashMap<String, (Presence, usize, usize)>,
    ) -> TeamBoard {
        let on_call = rota
            .on_call(team, at)
            .into_iter()
            .map(|o| {
                let (presence, phones, reachable) =
                    people
                        .get(&o.user)
                        .copied()
                        .unwrap_or((Presence::Offline, 0, 0));
                OnCallNow {
                    ring_secs: team
                        .escalation
                        .iter()
                        .find(|s| s.position == o.position)
                        .map(|s| s.ring.as_secs()),
                    user: o.user,
                    position: o.position,
                    presence,
                    phones,
                    reachable_phones: reachable,
                }
            })
            .collect();
        let timeline = rota
            .timeline(team, at, until)
            .into_iter()
            .map(|s| Shift::from_segment(s, &team.name, &rota.overrides))
            .collect();
        TeamBoard {
            name: team.name.clone(),
            time_zone: team.time_zone,
            lead: team.lead.clone(),
            members: team.members.clone(),
            categories: team.categories.clone(),
            business_hours: team.business_hours.to_string(),
            escalation: team.escalation.clone(),
            rotations: rota
                .rotations
                .iter()
                .filter(|r| r.team == team.name)
                .map(RotationView::from)
                .collect(),
            on_call,
            timeline,
            overrides: rota
                .overrides
                .iter()
                .filter(|o| o.team == team.name)
                .cloned()
                .collect(),
        }
    }
}

/// Loads the rota and phones and builds the board for `at` and the `days` after it; presence
/// and phones are as of `now`.
pub async fn board(
    store: &Store,
    at: DateTime<Utc>,
    days: u32,
    now: DateTime<Utc>,
) -> Result<Board, WebError> {
    let until = at + chrono::Duration::days(i64::from(days));
    // Overrides still running at `at` or later; `now` may be later than `at`.
    let rota = store.rota(at.min(now)).await?;
    let technicians = store.technicians(now).await?;
    let phones = store.all_bindings(now).await?;
    let people: HashMap<String, (Presence, usize, usize)> = technicians
        .iter()
        .map(|t| (t.name.clone(), (t.presence, t.phones, t.reachable_phones)))
        .collect();
    let teams = rota
        .teams
        .iter()
        .map(|team| TeamBoard::build(&rota, team, at, until, &people))
        .collect();
    let technicians = technicians
        .into_iter()
        .map(|t| TechnicianPhones {
            phones: phones
                .iter()
                .filter(|p| p.user == t.name)
                .map(PhoneView::from)
                .collect(),
            name: t.name,
            presence: t.presence,
            teams: t.teams,
        })
        .collect();
    Ok(Board {
        at,
        until,
        teams,
        technicians,
    })
}
