//! The statistics leads read, as data: the window of UTC days they cover, what is counted, and
//! how a ticket's first response is judged against its priority's target. Filled by the store
//! (`store::stats`), shown by the web log (`web::stats`); nothing here knows SQL or HTML.

use super::{Category, Disposition, Priority, TicketRef};
use chrono::{DateTime, Duration, NaiveDate, TimeZone, Utc};
use serde::Serialize;

/// The longest window a statistics request may cover: a year and a leap day.
pub const MAX_WINDOW_DAYS: i64 = 366;

/// Days of the default window: the last week, today included.
pub const DEFAULT_WINDOW_DAYS: i64 = 7;

/// Milliseconds in a UTC day (no leap seconds in Unix time).
pub const DAY_MS: i64 = 86_400_000;

/// Why a window was refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum WindowError {
    #[error("is before `from`")]
    ToBeforeFrom,
    #[error("the window may cover at most {MAX_WINDOW_DAYS} days")]
    TooLong,
}

/// UTC days `from` to `to`, both included.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct StatsWindow {
    from: NaiveDate,
    to: NaiveDate,
}

impl StatsWindow {
    pub fn new(from: NaiveDate, to: NaiveDate) -> Result<StatsWindow, WindowError> {
        if to < from {
            return Err(WindowError::ToBeforeFrom);
        }
        if (to - from).num_days() >= MAX_WINDOW_DAYS {
            return Err(WindowError::TooLong);
        }
        Ok(StatsWindow { from, to })
    }

    /// The `days` days ending with `today`.
    pub fn ending(today: NaiveDate, days: i64) -> StatsWindow {
        let from = today
            .checked_sub_signed(Duration::days(days.clamp(1, MAX_WINDOW_DAYS) - 1))
            .unwrap_or(today);
        StatsWindow { from, to: today }
    }

    pub fn from(&self) -> NaiveDate {
        self.from
    }

    pub fn to(&self) -> NaiveDate {
        self.to
    }

    /// Every day of the window, in order.
    pub fn days(&self) -> impl Iterator<Item = NaiveDate> {
        let to = self.to;
        self.from.iter_days().take_while(move |d| *d <= to)
    }

    /// The window as Unix milliseconds, start included, end excluded.
    pub fn bounds_ms(&self) -> (i64, i64) {
        let start = |d: NaiveDate| Utc.from_utc_datetime(&d.and_time(Default::default()));
        let from = start(self.from).timestamp_millis();
        (from, start(self.to).timestamp_millis() + DAY_MS)
    }
}

/// Everything the statistics page and `/api/stats` show. Its JSON form is the API.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Stats {
    pub from: NaiveDate,
    pub to: NaiveDate,
    /// Calls (tickets) created in the window.
    pub calls: u64,
    /// Every day of the window, days without calls included.
    pub calls_per_day: Vec<DayCalls>,
    /// Every category in menu order, then the calls that never chose one (`category: null`).
    pub calls_per_category: Vec<CategoryCalls>,
    /// P1 to P5, then the calls without a priority; shares of all calls, summing to 1.
    pub priorities: Vec<PriorityShare>,
    pub abandonment: Abandonment,
    /// P1 to P5.
    pub response: Vec<ResponseCompliance>,
    /// P1 to P5.
    pub routing: Vec<PriorityRouting>,
    pub recurring: Recurring,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct DayCalls {
    pub day: NaiveDate,
    pub calls: u64,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct CategoryCalls {
    pub category: Option<Category>,
    pub calls: u64,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct PriorityShare {
    pub priority: Option<Priority>,
    pub tickets: u64,
    /// 0 to 1.
    pub share: f64,
}

/// Calls where the caller hung up before the menu's end, and at which step.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Abandonment {
    /// Calls that have ended (still-running calls are left out of the rate).
    pub ended_calls: u64,
    pub abandoned: u64,
    /// `abandoned / ended_calls`, 0 when no call ended.
    pub rate: f64,
    /// Most abandoned first. The step is the dialplan node (or `ringing`, before the answer).
    pub steps: Vec<AbandonedStep>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct AbandonedStep {
    pub step: String,
    pub calls: u64,
}

/// How tickets of one priority fared against its target time to first response. The first
/// response is the first status change recorded in the audit trail.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct ResponseCompliance {
    pub priority: Priority,
    pub target_minutes: u32,
    pub met: u64,
    pub missed: u64,
    /// Not answered yet, and the target has passed.
    pub open_overdue: u64,
    /// Not answered yet, still within the target.
    pub open_within_target: u64,
}

/// How the routed calls of one priority fared: how long their callers waited for a technician,
/// and how many gave up waiting in a team's queue.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct PriorityRouting {
    pub priority: Priority,
    /// Calls a technician answered (`technician_answered` on the timeline).
    pub answered: u64,
    /// From the call's start to the first technician's answer, in milliseconds: the median and
    /// the 90th percentile by nearest rank (a wait some caller had); null when none answered.
    pub answer_p50_ms: Option<u64>,
    pub answer_p90_ms: Option<u64>,
    /// Calls that waited in a queue (`queued` on the timeline) and have ended.
    pub queued: u64,
    /// Of those, the calls whose caller hung up in the queue (`abandoned_in_queue`).
    pub abandoned_in_queue: u64,
    /// `abandoned_in_queue / queued`, 0 when no queued call ended.
    pub queue_abandonment_rate: f64,
}

/// One routed call, as the statistics need it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RoutedCall {
    pub priority: Priority,
    pub disposition: Disposition,
    /// From the call's start to the first technician's answer, if one answered.
    pub answered_after: Option<Duration>,
    /// Whether the call waited in a queue.
    pub queued: bool,
}

/// The `p`-th percentile (0 < p ≤ 100) of `sorted` by nearest rank; None when empty.
pub fn percentile(sorted: &[u64], p: u32) -> Option<u64> {
    let n = sorted.len();
    if n == 0 {
        return None;
    }
    let rank = (p.clamp(1, 100) as usize * n).div_ceil(100);
    Some(sorted[rank.max(1) - 1])
}

/// The routing figures of P1 to P5 from the window's routed calls. A call still running is left
/// out of the queue abandonment rate (it may yet be answered), as in `Abandonment`.
pub fn routing_by_priority(calls: &[RoutedCall]) -> Vec<PriorityRouting> {
    Priority::ALL
        .iter()
        .map(|&priority| {
            let mine = calls.iter().filter(|c| c.priority == priority);
            let mut waits: Vec<u64> = mine
                .clone()
                .filter_map(|c| c.answered_after)
                // Two nodes' clocks may disagree by a little: a wait is never negative.
                .map(|d| u64::try_from(d.num_milliseconds()).unwrap_or(0))
                .collect();
            waits.sort_unstable();
            let queued: Vec<&RoutedCall> = mine
                .filter(|c| c.queued && c.disposition != Disposition::InProgress)
                .collect();
            let abandoned = queued
                .iter()
                .filter(|c| c.disposition == Disposition::AbandonedInQueue)
                .count() as u64;
            let queued = queued.len() as u64;
            PriorityRouting {
                priority,
                answered: waits.len() as u64,
                answer_p50_ms: percentile(&waits, 50),
                answer_p90_ms: percentile(&waits, 90),
                queued,
                abandoned_in_queue: abandoned,
                queue_abandonment_rate: if queued == 0 {
                    0.0
                } else {
                    abandoned as f64 / queued as f64
                },
            }
        })
        .collect()
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Recurring {
    pub within_hours: i64,
    pub min_similarity: f64,
    /// Oldest first.
    pub clusters: Vec<RecurringCluster>,
}

/// Tickets that look like one incident reported several times.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct RecurringCluster {
    pub category: Category,
    /// In creation order.
    pub tickets: Vec<ClusterTicket>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct ClusterTicket {
    pub reference: TicketRef,
    pub created_at: DateTime<Utc>,
    /// The start of the transcript.
    pub excerpt: String,
}

/// How one ticket fared against its response target.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ResponseOutcome {
    Met,
    Missed,
    OpenOverdue,
    OpenWithinTarget,
}

/// Judges one ticket: answered at `responded` (if at all) against `target`, as of `now`.
pub fn response_outcome(
    created: DateTime<Utc>,
    responded: Option<DateTime<Utc>>,
    target: Duration,
    now: DateTime<Utc>,
) -> ResponseOutcome {
    match responded {
        Some(at) if at - created <= target => ResponseOutcome::Met,
        Some(_) => ResponseOutcome::Missed,
        None if now - created > target => ResponseOutcome::OpenOverdue,
        None => ResponseOutcome::OpenWithinTarget,
    }
}
#[cfg(test)]
mod tests {
    use super::*;

    fn day(s: &str) -> NaiveDate {
        s.parse().unwrap()
    }

    #[test]
    fn window_covers_whole_utc_days_both_included() {
        let w = StatsWindow::new(day("2026-03-01"), day("2026-03-03")).unwrap();
        assert_eq!(w.days().count(), 3);
        let (from, before) = w.bounds_ms();
        assert_eq!(
            Utc.timestamp_millis_opt(from).unwrap().to_rfc3339(),
            "2026-03-01T00:00:00+00:00"
        );
        assert_eq!(
            Utc.timestamp_millis_opt(before).unwrap().to_rfc3339(),
            "2026-03-04T00:00:00+00:00"
        );
        let week = StatsWindow::ending(day("2026-03-07"), DEFAULT_WINDOW_DAYS);
        assert_eq!(
            (week.from(), week.to()),
            (day("2026-03-01"), day("2026-03-07"))
        );
    }

    #[test]
    fn bad_windows_are_refused() {
        assert_eq!(
            StatsWindow::new(day("2026-03-02"), day("2026-03-01")),
            Err(WindowError::ToBeforeFrom)
        );
        assert_eq!(
            StatsWindow::new(day("2025-01-01"), day("2026-01-02")),
            Err(WindowError::TooLong)
        );
        assert!(StatsWindow::new(day("2024-01-01"), day("2024-12-31")).is_ok());
    }

    #[test]
    fn response_outcomes_against_the_target() {
        let t0 = Utc.timestamp_opt(1_767_225_600, 0).unwrap();
        let target = Duration::minutes(15);
        let outcome = |responded: Option<i64>, now: i64| {
            response_outcome(
                t0,
                responded.map(|m| t0 + Duration::minutes(m)),
                target,
                t0 + Duration::minutes(now),
            )
        };
        assert_eq!(outcome(Some(15), 60), ResponseOutcome::Met);
        assert_eq!(outcome(Some(16), 60), ResponseOutcome::Missed);
        assert_eq!(outcome(None, 16), ResponseOutcome::OpenOverdue);
        assert_eq!(outcome(None, 15), ResponseOutcome::OpenWithinTarget);
    }

    #[test]
    fn percentiles_are_waits_someone_had() {
        assert_eq!(percentile(&[], 50), None);
        assert_eq!(percentile(&[7], 90), Some(7));
        assert_eq!(percentile(&[10, 20, 90], 50), Some(20));
        assert_eq!(percentile(&[10, 20, 90], 90), Some(90));
        let hundred: Vec<u64> = (1..=100).collect();
        assert_eq!(percentile(&hundred, 50), Some(50));
        assert_eq!(percentile(&hundred, 90), Some(90));
        assert_eq!(percentile(&[1, 2], 50), Some(1));
    }

    #[test]
    fn routing_counts_waits_and_queue_abandonment_per_priority() {
        let call = |priority, disposition, answered_after: Option<i64>, queued| RoutedCall {
            priority,
            disposition,
            answered_after: answered_after.map(Duration::seconds),
            queued,
        };
        let [p1, _, p3, _, _] = Priority::ALL;
        let calls = [
            call(p1, Disposition::Answered, Some(30), false),
            call(p1, Disposition::Answered, Some(10), false),
            call(p1, Disposition::Answered, Some(-1), false),
            call(p3, Disposition::Answered, Some(120), true),
            call(p3, Disposition::AbandonedInQueue, None, true),
            call(p3, Disposition::CallbackRequested, None, true),
            call(p3, Disposition::InProgress, None, true),
        ];
        let table = routing_by_priority(&calls);
        assert_eq!(
            table.iter().map(|r| r.priority).collect::<Vec<_>>(),
            Priority::ALL
        );
        let p1 = &table[0];
        assert_eq!(
            (p1.answered, p1.answer_p50_ms, p1.answer_p90_ms),
            (3, Some(10_000), Some(30_000))
        );
        assert_eq!((p1.queued, p1.queue_abandonment_rate), (0, 0.0));
        let p3 = &table[2];
        assert_eq!((p3.answered, p3.answer_p50_ms), (1, Some(120_000)));
        assert_eq!((p3.queued, p3.abandoned_in_queue), (3, 1));
        assert!((p3.queue_abandonment_rate - 1.0 / 3.0).abs() < 1e-12);
        assert_eq!(table[4].answer_p50_ms, None);
    }
}
