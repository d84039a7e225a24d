//! The rota as a timeline: who is on call in a team over a span, for the web page and the CLI.

use super::rota::{local_instant, Coverage, OnCall, Rota, Team};
use chrono::{DateTime, Duration, Utc};
use serde::Serialize;

/// A stretch of time in which the on-call order does not change.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Segment {
    pub from: DateTime<Utc>,
    pub until: DateTime<Utc>,
    pub on_call: Vec<OnCall>,
}

impl Rota {
    /// Who is on call in `team` from `from` to `until`, as consecutive segments (adjacent ones
    /// with the same order merged).
    pub fn timeline(&self, team: &Team, from: DateTime<Utc>, until: DateTime<Utc>) -> Vec<Segment> {
        let mut edges = vec![from, until];
        // The order can only change at a handover, a business-hours edge or an override edge:
        // evaluate it once per stretch between them.
        let tz = team.time_zone;
        let first_day = from.with_timezone(&tz).date_naive() - Duration::days(1);
        let last_day = until.with_timezone(&tz).date_naive() + Duration::days(1);
        let mut day = first_day;
        while day <= last_day {
            for rotation in self.rotations.iter().filter(|r| r.team == team.name) {
                edges.push(local_instant(tz, day.and_time(rotation.handover.at())));
                if rotation.coverage != Coverage::Always {
                    edges.push(local_instant(tz, day.and_time(team.business_hours.start)));
                    edges.push(local_instant(tz, day.and_time(team.business_hours.end)));
                }
            }
            day += Duration::days(1);
        }
        for o in self.overrides.iter().filter(|o| o.team == team.name) {
            edges.push(o.from);
            edges.push(o.until);
        }
        edges.retain(|t| *t >= from && *t <= until);
        edges.sort();
        edges.dedup();
        let mut segments: Vec<Segment> = Vec::new();
        for pair in edges.windows(2) {
            let on_call = self.on_call(team, pair[0]);
            match segments.last_mut() {
                Some(last) if last.on_call == on_call => last.until = pair[1],
                _ => segments.push(Segment {
                    from: pair[0],
                    until: pair[1],
                    on_call,
                }),
            }
        }
        segments
    }
}
