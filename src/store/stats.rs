//! The statistics' queries (see `tickets::stats` for what they mean).
//!
//! Counting is done by the database (portable `GROUP BY`s, the same SQL on SQLite and
//! PostgreSQL); judging — targets, similarity — is done in Rust on per-ticket rows, so it stays
//! testable and independent of the dialect. Presentation is the web layer's business.

use super::row::{get, parse, parse_opt, required, time};
use super::{query_error, Store, StoreError};
use crate::tickets::recurring::IncidentText;
use crate::tickets::stats::{
    response_outcome, routing_by_priority, AbandonedStep, Abandonment, CategoryCalls,
    ClusterTicket, DayCalls, PriorityRouting, PriorityShare, Recurring, RecurringCluster,
    ResponseCompliance, ResponseOutcome, RoutedCall, Stats, StatsWindow, DAY_MS,
};
use crate::tickets::{
    recurring_clusters, CallEventKind, Category, Disposition, Priority, RecurrenceRule, TicketRef,
    TicketStatus,
};
use chrono::{DateTime, Duration, TimeZone, Utc};
use std::collections::hash_map::Entry;
use std::collections::HashMap;

/// Characters of transcript shown per ticket of a cluster.
const EXCERPT_CHARS: usize = 140;

fn count(n: i64) -> u64 {
    u64::try_from(n).unwrap_or(0)
}

fn share(part: u64, whole: u64) -> f64 {
    if whole == 0 {
        0.0
    } else {
        part as f64 / whole as f64
    }
}

impl Store {
    /// The statistics of `window` as of `now`; recurring incidents follow `rule`.
    pub async fn stats(
        &self,
        window: &StatsWindow,
        rule: RecurrenceRule,
        now: DateTime<Utc>,
    ) -> Result<Stats, StoreError> {
        let per_day = self.calls_per_day(window).await?;
        let calls = per_day.iter().map(|d| d.calls).sum();
        let per_category = self.count_by(window, "category").await?;
        let per_priority = self.count_by(window, "priority").await?;
        let calls_per_category = Category::ALL
            .iter()
            .map(|&c| Some(c))
            .chain([None])
            .map(|category| CategoryCalls {
                category,
                calls: per_category
                    .get(&category.map(|c| c.as_str().to_string()))
                    .copied()
                    .unwrap_or(0),
            })
            .collect();
        let priorities = Priority::ALL
            .iter()
            .map(|&p| Some(p))
            .chain([None])
            .map(|priority| {
                let tickets = per_priority
                    .get(&priority.map(|p| p.to_string()))
                    .copied()
                    .unwrap_or(0);
                PriorityShare {
                    priority,
                    tickets,
                    share: share(tickets, calls),
                }
            })
            .collect();
        Ok(Stats {
            from: window.from(),
            to: window.to(),
            calls,
            calls_per_day: per_day,
            calls_per_category,
            priorities,
            abandonment: self.abandonment(window).await?,
            response: self.response_compliance(window, now).await?,
            routing: self.routing(window).await?,
            recurring: self.recurring(window, rule).await?,
        })
    }

    async fn calls_per_day(&self, window: &StatsWindow) -> Result<Vec<DayCalls>, StoreError> {
        let (from, before) = window.bounds_ms();
        // Integer division by a day's milliseconds is the UTC day number on both databases.
        let rows = sqlx::query(
            "SELECT created_at / 86400000 AS day, COUNT(*) AS calls FROM tickets \
             WHERE created_at >= $1 AND created_at < $2 GROUP BY created_at / 86400000",
        )
        .bind(from)
        .bind(before)
        .fetch_all(self.pool())
        .await
        .map_err(query_error("counting calls per day"))?;
        let mut by_day = HashMap::new();
        for r in &rows {
            by_day.insert(required::<i64>(r, "day")?, count(required(r, "calls")?));
        }
        Ok(window
            .days()
            .enumerate()
            .map(|(n, day)| DayCalls {
                day,
                calls: by_day
                    .get(&(from / DAY_MS + n as i64))
                    .copied()
                    .unwrap_or(0),
            })
            .collect())
    }

    /// Calls per value of a text column (NULL as `None`).
    async fn count_by(
        &self,
        window: &StatsWindow,
        column: &'static str,
    ) -> Result<HashMap<Option<String>, u64>, StoreError> {
        let (from, before) = window.bounds_ms();
        // `column` is one of our own names, never user input.
        let rows = sqlx::query(&format!(
            "SELECT {column} AS value, COUNT(*) AS calls FROM tickets \
             WHERE created_at >= $1 AND created_at < $2 GROUP BY {column}"
        ))
        .bind(from)
        .bind(before)
        .fetch_all(self.pool())
        .await
        .map_err(query_error("counting calls by a ticket field"))?;
        rows.iter()
            .map(|r| Ok((get(r, "value")?, count(required(r, "calls")?))))
            .collect()
    }

    async fn abandonment(&self, window: &StatsWindow) -> Result<Abandonment, StoreError> {
        let (from, before) = window.bounds_ms();
        let rows = sqlx::query(
            "SELECT disposition, disposition_detail, COUNT(*) AS calls FROM tickets \
             WHERE created_at >= $1 AND created_at < $2 GROUP BY disposition, disposition_detail",
        )
        .bind(from)
        .bind(before)
        .fetch_all(self.pool())
        .await
        .map_err(query_error("counting abandoned calls"))?;
        let mut ended = 0;
        let mut steps: HashMap<String, u64> = HashMap::new();
        for r in &rows {
            let disposition: Disposition = parse(r, "disposition")?;
            let calls = count(required(r, "calls")?);
            if disposition != Disposition::InProgress {
                ended += calls;
            }
            if disposition == Disposition::Abandoned {
                let step: Option<String> = get(r, "disposition_detail")?;
                *steps
                    .entry(step.unwrap_or_else(|| "unknown".into()))
                    .or_default() += calls;
            }
        }
        let mut steps: Vec<AbandonedStep> = steps
            .into_iter()
            .map(|(step, calls)| AbandonedStep { step, calls })
            .collect();
        steps.sort_by(|a, b| b.calls.cmp(&a.calls).then_with(|| a.step.cmp(&b.step)));
        let abandoned = steps.iter().map(|s| s.calls).sum();
        Ok(Abandonment {
            ended_calls: ended,
            abandoned,
            rate: share(abandoned, ended),
            steps,
        })
    }

    async fn response_compliance(
        &self,
        window: &StatsWindow,
        now: DateTime<Utc>,
    ) -> Result<Vec<ResponseCompliance>, StoreError> {
        let (from, before) = window.bounds_ms();
        let rows = sqlx::query(
            "SELECT t.priority, t.status, t.created_at, t.updated_at, a.first_at FROM tickets t \
             LEFT JOIN (SELECT ticket_id, MIN(at) AS first_at FROM ticket_activity \
                        WHERE kind = 'status' GROUP BY ticket_id) a ON a.ticket_id = t.id \
             WHERE t.priority IS NOT NULL AND t.created_at >= $1 AND t.created_at < $2",
        )
        .bind(from)
        .bind(before)
        .fetch_all(self.pool())
        .await
        .map_err(query_error("reading response times"))?;
        let matrix = self.matrix();
        let mut table: Vec<ResponseCompliance> = Priority::ALL
            .iter()
            .map(|&priority| ResponseCompliance {
                priority,
                target_minutes: matrix.target_minutes[priority.level() as usize - 1],
                met: 0,
                missed: 0,
                open_overdue: 0,
                open_within_target: 0,
            })
            .collect();
        for r in &rows {
            let priority: Priority = parse(r, "priority")?;
            let status: TicketStatus = parse(r, "status")?;
            let created = time(r, "created_at")?;
            let first: Option<i64> = get(r, "first_at")?;
            let responded = match first {
                Some(ms) => Utc.timestamp_millis_opt(ms).single(),
                // Moved on without a recorded change (not through the web log): the last update
                // is the latest it can have happened, so judge by that.
                None if status != TicketStatus::New => Some(time(r, "updated_at")?),
                None => None,
            };
            let target = Duration::from_std(matrix.target(priority)).unwrap_or(Duration::MAX);
            let row = &mut table[priority.level() as usize - 1];
            match response_outcome(created, responded, target, now) {
                ResponseOutcome::Met => row.met += 1,
                ResponseOutcome::Missed => row.missed += 1,
                ResponseOutcome::OpenOverdue => row.open_overdue += 1,
                ResponseOutcome::OpenWithinTarget => row.open_within_target += 1,
            }
        }
        Ok(table)
    }

    /// Time to a technician's answer and queue abandonment, from the routing events of the
    /// window's calls (a call's start is its ticket's creation).
    async fn routing(&self, window: &StatsWindow) -> Result<Vec<PriorityRouting>, StoreError> {
        let (from, before) = window.bounds_ms();
        // Joined through the events' ticket index, so only the window's calls' events are read.
        let rows = sqlx::query(
            "SELECT t.id, t.priority, t.disposition, t.created_at, e.kind, e.at \
             FROM tickets t JOIN ticket_events e ON e.ticket_id = t.id \
             WHERE t.priority IS NOT NULL AND t.created_at >= $1 AND t.created_at < $2 \
             AND e.kind IN ($3, $4)",
        )
        .bind(from)
        .bind(before)
        .bind(CallEventKind::TechnicianAnswered.as_str())
        .bind(CallEventKind::Queued.as_str())
        .fetch_all(self.pool())
        .await
        .map_err(query_error("reading routing events"))?;
        let mut calls: HashMap<i64, RoutedCall> = HashMap::new();
        for r in &rows {
            let id: i64 = required(r, "id")?;
            let kind: CallEventKind = parse(r, "kind")?;
            let waited = time(r, "at")? - time(r, "created_at")?;
            let call = match calls.entry(id) {
                Entry::Occupied(e) => e.into_mut(),
                Entry::Vacant(e) => e.insert(RoutedCall {
                    priority: parse(r, "priority")?,
                    disposition: parse(r, "disposition")?,
                    answered_after: None,
                    queued: false,
                }),
            };
            match kind {
                // The earliest answer ends the caller's wait.
                CallEventKind::TechnicianAnswered => {
                    call.answered_after =
                        Some(call.answered_after.map_or(waited, |w| w.min(waited)))
                }
                _ => call.queued = true,
            }
        }
        Ok(routing_by_priority(
            &calls.into_values().collect::<Vec<_>>(),
        ))
    }

    async fn recurring(
        &self,
        window: &StatsWindow,
        rule: RecurrenceRule,
    ) -> Result<Recurring, StoreError> {
        let (from, before) = window.bounds_ms();
        let rows = sqlx::query(
            "SELECT reference, created_at, category, transcript FROM tickets \
             WHERE category IS NOT NULL AND transcript IS NOT NULL \
             AND created_at >= $1 AND created_at < $2 ORDER BY created_at, id",
        )
        .bind(from)
        .bind(before)
        .fetch_all(self.pool())
        .await
        .map_err(query_error("reading transcripts for recurring incidents"))?;
        let mut tickets = Vec::with_capacity(rows.len());
        for r in &rows {
            let category: Option<Category> = parse_opt(r, "category")?;
            tickets.push((
                parse::<TicketRef>(r, "reference")?,
                time(r, "created_at")?,
                category.ok_or(StoreError::Corrupt {
                    column: "category",
                    reason: "missing".into(),
                })?,
                required::<String>(r, "transcript")?,
            ));
        }
        let texts: Vec<IncidentText<'_>> = tickets
            .iter()
            .map(|(_, created_at, category, transcript)| IncidentText {
                category: *category,
                created_at: *created_at,
                transcript,
            })
            .collect();
        let clusters = recurring_clusters(&texts, rule)
            .into_iter()
            .map(|members| RecurringCluster {
                category: tickets[members[0]].2,
                tickets: members
                    .into_iter()
                    .map(|i| {
                        let (reference, created_at, _, transcript) = &tickets[i];
                        ClusterTicket {
                            reference: *reference,
                            created_at: *created_at,
                            excerpt: excerpt(transcript),
                        }
                    })
                    .collect(),
            })
            .collect();
        Ok(Recurring {
            within_hours: rule.within.num_hours(),
            min_similarity: rule.min_similarity,
            clusters,
        })
    }
}

fn excerpt(text: &str) -> String {
    let text = text.trim();
    match text.char_indices().nth(EXCERPT_CHARS) {
        Some((cut, _)) => format!("{}…", text[..cut].trim_end()),
        None => text.to_string(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn excerpts_cut_on_a_character_boundary() {
        let long = "é".repeat(200);
        let e = excerpt(&long);
        assert_eq!(e.chars().count(), EXCERPT_CHARS + 1);
        assert!(e.ends_with('…'));
        assert_eq!(excerpt("  short "), "short");
    }
}
