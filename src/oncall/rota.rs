//! The rota: teams, their rotations and overrides, and who is on call at an instant.

use crate::tickets::Category;
use chrono::{DateTime, Datelike, NaiveDate, NaiveDateTime, NaiveTime, TimeZone, Utc, Weekday};
use chrono_tz::Tz;
use serde::Serialize;
use std::fmt;
use std::str::FromStr;
use std::time::Duration;

/// Why a rota value given on the command line, the API or the database is not usable. Each
/// names the field at fault.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum RotaError {
    #[error("unknown time zone `{0}` (an IANA name such as Europe/Paris)")]
    TimeZone(String),
    #[error("invalid {field} `{value}`: {reason}")]
    Invalid {
        field: &'static str,
        value: String,
        reason: &'static str,
    },
}

fn invalid(field: &'static str, value: &str, reason: &'static str) -> RotaError {
    RotaError::Invalid {
        field,
        value: value.to_string(),
        reason,
    }
}

/// The part of the week a team works in its office; the rest is out of hours.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BusinessHours {
    pub days: Vec<Weekday>,
    pub start: NaiveTime,
    pub end: NaiveTime,
}

impl Default for BusinessHours {
    fn default() -> Self {
        BusinessHours {
            days: vec![
                Weekday::Mon,
                Weekday::Tue,
                Weekday::Wed,
                Weekday::Thu,
                Weekday::Fri,
            ],
            start: NaiveTime::from_hms_opt(8, 0, 0).expect("valid"),
            end: NaiveTime::from_hms_opt(18, 0, 0).expect("valid"),
        }
    }
}

impl BusinessHours {
    pub fn contains(&self, local: NaiveDateTime) -> bool {
        self.days.contains(&local.weekday())
            && local.time() >= self.start
            && local.time() < self.end
    }

    /// `mon-fri 08:00-18:00` (days as a range or a comma list: `mon,wed,fri`).
    pub fn parse(text: &str) -> Result<BusinessHours, RotaError> {
        let bad = |reason| invalid("business hours", text, reason);
        let (days, hours) = text
            .trim()
            .split_once(' ')
            .ok_or_else(|| bad("expected e.g. `mon-fri 08:00-18:00`"))?;
        let (start, end) = hours
            .trim()
            .split_once('-')
            .ok_or_else(|| bad("hours must be HH:MM-HH:MM"))?;
        let start = parse_time(start).ok_or_else(|| bad("hours must be HH:MM-HH:MM"))?;
        let end = parse_time(end).ok_or_else(|| bad("hours must be HH:MM-HH:MM"))?;
        if start >= end {
            return Err(bad("the day must end after it starts"));
        }
        let days = match days.split_once('-') {
            Some((a, b)) => {
                let (a, b) = (parse_weekday(a)?, parse_weekday(b)?);
                let mut out = vec![a];
                let mut d = a;
                while d != b {
                    d = d.succ();
                    out.push(d);
                }
                out
            }
            None => days
                .split(',')
                .map(parse_weekday)
                .collect::<Result<_, _>>()?,
        };
        Ok(BusinessHours { days, start, end })
    }
}

impl fmt::Display for BusinessHours {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let days: Vec<String> = self
            .days
            .iter()
            .map(|d| d.to_string().to_lowercase())
            .collect();
        write!(
            f,
            "{} {}-{}",
            days.join(","),
            self.start.format("%H:%M"),
            self.end.format("%H:%M")
        )
    }
}

pub(crate) fn parse_time(text: &str) -> Option<NaiveTime> {
    NaiveTime::parse_from_str(text.trim(), "%H:%M").ok()
}

pub(crate) fn parse_weekday(text: &str) -> Result<Weekday, RotaError> {
    text.trim()
        .parse::<Weekday>()
        .map_err(|_| invalid("day", text, "expected mon, tue, … sun"))
}

/// Which part of the week a rotation covers.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Coverage {
    Always,
    BusinessHours,
    OutOfHours,
}

impl Coverage {
    pub fn as_str(self) -> &'static str {
        match self {
            Coverage::Always => "always",
            Coverage::BusinessHours => "business_hours",
            Coverage::OutOfHours => "out_of_hours",
        }
    }
}

impl FromStr for Coverage {
    type Err = RotaError;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match s {
            "always" => Ok(Coverage::Always),
            "business_hours" => Ok(Coverage::BusinessHours),
            "out_of_hours" => Ok(Coverage::OutOfHours),
            _ => Err(invalid(
                "coverage",
                s,
                "expected always, business_hours or out_of_hours",
            )),
        }
    }
}

/// When the shift passes to the next member, in the team's local time.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Handover {
    Daily { at: NaiveTime },
    Weekly { day: Weekday, at: NaiveTime },
}

impl Handover {
    /// `daily 09:00` or `weekly mon 09:00`.
    pub fn parse(text: &str) -> Result<Handover, RotaError> {
        let bad = |reason| invalid("handover", text, reason);
        let words: Vec<&str> = text.split_whitespace().collect();
        match words.as_slice() {
            ["daily", at] => Ok(Handover::Daily {
                at: parse_time(at).ok_or_else(|| bad("time must be HH:MM"))?,
            }),
            ["weekly", day, at] => Ok(Handover::Weekly {
                day: parse_weekday(day)?,
                at: parse_time(at).ok_or_else(|| bad("time must be HH:MM"))?,
            }),
            _ => Err(bad("expected `daily HH:MM` or `weekly DAY HH:MM`")),
        }
    }

    pub fn at(self) -> NaiveTime {
        match self {
            Handover::Daily { at } | Handover::Weekly { at, .. } => at,
        }
    }

    /// The number of the shift running at local time `local`, counting the first shift (which
    /// starts at the first handover on or after `starts_on`) as 0; `None` before it.
    fn shift_index(self, starts_on: NaiveDate, local: NaiveDateTime) -> Option<i64> {
        // Local dates and times only: a handover at 09:00 stays at 09:00 whatever the UTC
        // offset did in between (DST), and a day of 23 or 25 hours is still one shift.
        match self {
            Handover::Daily { at } => {
                let mut date = local.date();
                if local.time() < at {
                    date = date.pred_opt()?;
                }
                let index = (date - starts_on).num_days();
                (index >= 0).then_some(index)
            }
            Handover::Weekly { day, at } => {
                let back = (i64::from(local.weekday().num_days_from_monday())
                    - i64::from(day.num_days_from_monday()))
                .rem_euclid(7);
                let mut date = local.date() - chrono::Duration::days(back);
                if back == 0 && local.time() < at {
                    date -= chrono::Duration::days(7);
                }
                let ahead = (i64::from(day.num_days_from_monday())
                    - i64::from(starts_on.weekday().num_days_from_monday()))
                .rem_euclid(7);
                let first = starts_on + chrono::Duration::days(ahead);
                let days = (date - first).num_days();
                (days >= 0).then_some(days / 7)
            }
        }
    }
}

impl FromStr for Handover {
    type Err = RotaError;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Handover::parse(s)
    }
}

impl FromStr for BusinessHours {
    type Err = RotaError;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        BusinessHours::parse(s)
    }
}

impl fmt::Display for Handover {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Handover::Daily { at } => write!(f, "daily {}", at.format("%H:%M")),
            Handover::Weekly { day, at } => write!(
                f,
                "weekly {} {}",
                day.to_string().to_lowercase(),
                at.format("%H:%M")
            ),
        }
    }
}

/// Members taking turns: member 0 has the first shift, then 1, …, then 0 again. The member
/// after the one on shift is the secondary.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Rotation {
    pub team: String,
    pub name: String,
    pub coverage: Coverage,
    pub handover: Handover,
    pub starts_on: NaiveDate,
    pub members: Vec<String>,
}

/// Someone covering a colleague (or the whole shift, when `covered` is `None`) from one instant
/// to another.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Override {
    pub id: i64,
    pub team: String,
    pub covering: String,
    pub covered: Option<String>,
    pub from: DateTime<Utc>,
    pub until: DateTime<Utc>,
}

/// Where someone stands in the order a call rings in.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Position {
    Primary,
    Secondary,
    Lead,
}

impl Position {
    pub fn as_str(self) -> &'static str {
        match self {
            Position::Primary => "primary",
            Position::Secondary => "secondary",
            Position::Lead => "lead",
        }
    }
}

impl FromStr for Position {
    type Err = RotaError;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match s {
            "primary" => Ok(Position::Primary),
            "secondary" => Ok(Position::Secondary),
            "lead" => Ok(Position::Lead),
            _ => Err(invalid(
                "position",
                s,
                "expected primary, secondary or lead",
            )),
        }
    }
}

/// One person in the on-call order.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize)]
pub struct OnCall {
    pub user: String,
    pub position: Position,
}

/// One step of an escalation policy: ring whoever holds `position` for `ring`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub struct EscalationStep {
    pub position: Position,
    #[serde(rename = "ring_secs", serialize_with = "as_secs")]
    pub ring: Duration,
}

fn as_secs<S: serde::Serializer>(d: &Duration, s: S) -> Result<S::Ok, S::Error> {
    s.serialize_u64(d.as_secs())
}

/// The order a team's calls ring in unless configured otherwise: primary 30 s, secondary 30 s,
/// then the lead for a minute.
pub fn default_escalation() -> Vec<EscalationStep> {
    vec![
        EscalationStep {
            position: Position::Primary,
            ring: Duration::from_secs(30),
        },
        EscalationStep {
            position: Position::Secondary,
            ring: Duration::from_secs(30),
        },
        EscalationStep {
            position: Position::Lead,
            ring: Duration::from_secs(60),
        },
    ]
}

/// A team: who is in it, which ticket categories it handles, where it lives.
#[derive(Debug, Clone, PartialEq)]
pub struct Team {
    pub name: String,
    pub time_zone: Tz,
    pub lead: Option<String>,
    pub members: Vec<String>,
    pub categories: Vec<Category>,
    pub business_hours: BusinessHours,
    pub escalation: Vec<EscalationStep>,
}

/// Parses an IANA time zone name.
pub fn parse_time_zone(name: &str) -> Result<Tz, RotaError> {
    name.parse::<Tz>()
        .map_err(|_| RotaError::TimeZone(name.to_string()))
}

/// Everything needed to answer "who is on call": loaded from the store in one go.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Rota {
    pub teams: Vec<Team>,
    pub rotations: Vec<Rotation>,
    pub overrides: Vec<Override>,
}

impl Rota {
    pub fn team(&self, name: &str) -> Option<&Team> {
        self.teams.iter().find(|t| t.name == name)
    }

    /// The team handling `category` (the first one that lists it).
    pub fn team_for(&self, category: Category) -> Option<&Team> {
        self.teams.iter().find(|t| t.categories.contains(&category))
    }

    /// Who is on call for `category` at `at`, in ringing order: primary, secondary, then the
    /// team lead. Empty when no team handles the category.
    pub fn on_call_for(&self, category: Category, at: DateTime<Utc>) -> Vec<OnCall> {
        self.team_for(category)
            .map(|team| self.on_call(team, at))
            .unwrap_or_default()
    }

    /// Who is on call in `team` at `at`, in ringing order, each person once.
    pub fn on_call(&self, team: &Team, at: DateTime<Utc>) -> Vec<OnCall> {
        let local = at.with_timezone(&team.time_zone).naive_local();
        let in_hours = team.business_hours.contains(local);
        let mut order: Vec<String> = self
            .rotations
            .iter()
            .filter(|r| r.team == team.name && !r.members.is_empty())
            .filter(|r| match r.coverage {
                Coverage::Always => true,
                Coverage::BusinessHours => in_hours,
                Coverage::OutOfHours => !in_hours,
            })
            .find_map(|r| {
                let index = r.handover.shift_index(r.starts_on, local)?;
                let n = r.members.len() as i64;
                let mut people = vec![r.members[index.rem_euclid(n) as usize].clone()];
                if n > 1 {
                    people.push(r.members[(index + 1).rem_euclid(n) as usize].clone());
                }
                Some(people)
            })
            .unwrap_or_default();
        for o in self
            .overrides
            .iter()
            .filter(|o| o.team == team.name && o.from <= at && at < o.until)
        {
            match &o.covered {
                Some(covered) => {
                    for person in order.iter_mut().filter(|p| *p == covered) {
                        *person = o.covering.clone();
                    }
                }
                None => order.insert(0, o.covering.clone()),
            }
        }
        let mut seen = std::collections::HashSet::new();
        order.retain(|p| seen.insert(p.clone()));
        order.truncate(2);
        let mut out: Vec<OnCall> = order
            .into_iter()
            .zip([Position::Primary, Position::Secondary])
            .map(|(user, position)| OnCall { user, position })
            .collect();
        if let Some(lead) = &team.lead {
            if !out.iter().any(|o| &o.user == lead) {
                out.push(OnCall {
                    user: lead.clone(),
                    position: Position::Lead,
                });
            }
        }
        out
    }

    /// The escalation for `category` at `at`: each step of the team's policy with the person
    /// holding that position and how long to ring them. Steps with nobody in the position are
    /// skipped.
    pub fn escalation_for(&self, category: Category, at: DateTime<Utc>) -> Vec<(OnCall, Duration)> {
        let Some(team) = self.team_for(category) else {
            return Vec::new();
        };
        let order = self.on_call(team, at);
        team.escalation
            .iter()
            .filter_map(|step| {
                order
                    .iter()
                    .find(|o| o.position == step.position)
                    .map(|o| (o.clone(), step.ring))
            })
            .collect()
    }
}

/// The UTC instant of a local wall-clock time. A time skipped by a DST change is reached at the
/// change itself (a 02:30 handover on the spring-forward night happens when the clocks jump from
/// 02:00 to 03:00, the first instant the local time is past 02:30, as `on_call` sees it); an
/// ambiguous time is taken at its first occurrence.
pub fn local_instant(tz: Tz, local: NaiveDateTime) -> DateTime<Utc> {
    (0..=180)
        .find_map(|minutes| {
            tz.from_local_datetime(&(local + chrono::Duration::minutes(minutes)))
                .earliest()
        })
        .map(|t| t.with_timezone(&Utc))
        .unwrap_or_else(|| Utc.from_utc_datetime(&local))
}

#[cfg(test)]
mod tests;
