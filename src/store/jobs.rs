//! The durable transcription queue.
//!
//! A job is claimed with a lease: a worker that crashes leaves its job `running` with a lease in
//! the past, and the next claim picks it up again. Completion only counts for the claim that
//! still holds the lease (its attempt number), so a job is never completed twice.
//!
//! Claiming, completing and failing take the current time as `now`, so a test can expire a
//! lease or pass a back-off without sleeping; the workers pass the wall clock.

use super::changes::{ChangeKind, TicketChange};
use super::row::{get, parse, required};
use super::{now_ms, query_error, Store, StoreError};
use crate::tickets::TicketRef;
use chrono::{DateTime, Utc};
use std::time::Duration;

/// A claimed job.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TranscriptionJob {
    pub id: i64,
    pub ticket_id: i64,
    pub recording_path: String,
    pub language: Option<String>,
    /// Which attempt this claim is (1 for the first); completion must quote it.
    pub attempt: i64,
    /// For a part of a long voicemail transcribed while the caller still spoke: its index.
    pub part: Option<i64>,
}

/// What a finished job stores on its ticket.
#[derive(Debug, Clone, PartialEq)]
pub struct TranscriptRecord {
    /// None when nothing usable was heard (silence, hallucination).
    pub text: Option<String>,
    pub language: String,
    pub segments_json: String,
    pub model: String,
    pub processing: Duration,
}

/// Counts by status, for stats and tests.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct QueueCounts {
    pub queued: u32,
    pub running: u32,
    pub done: u32,
    pub failed: u32,
}

/// After this many failed attempts a job is marked failed for good (see `transcribe::job`).
pub const MAX_ATTEMPTS: i64 = 5;

/// Where a ticket's transcript stands (its page says whether the text may still change).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TranscriptStage {
    /// Parts of the voicemail are still queued or being transcribed: the text grows.
    PartsPending,
    /// Every part is done and the whole recording is queued for its final pass: the text on
    /// the ticket is a draft that will be replaced.
    FinalPending,
    /// Nothing more is queued: the text is the final one (or the draft, when the final pass
    /// is off or failed).
    Settled,
}

/// SQL: the whole recording's job (the final pass) of the ticket bound at `param` is done.
/// Once it is, its text is the ticket's and a part's text no longer replaces it.
fn final_pass_done(param: &str) -> String {
    format!(
        "EXISTS (SELECT 1 FROM transcription_jobs WHERE ticket_id = {param} AND part IS NULL AND status = 'done')"
    )
}

impl Store {
    /// Queues the transcription of a closed recording (once per recording).
    pub async fn enqueue_transcription(
        &self,
        ticket_id: i64,
        recording_path: &str,
        language: Option<&str>,
    ) -> Result<(), StoreError> {
        let now = now_ms();
        sqlx::query(
            "INSERT INTO transcription_jobs (ticket_id, recording_path, language, status, run_after, created_at) \
             VALUES ($1, $2, $3, 'queued', $4, $4) ON CONFLICT (recording_path) DO NOTHING",
        )
        .bind(ticket_id)
        .bind(recording_path)
        .bind(language)
        .bind(now)
        .execute(self.writer())
        .await
        .map_err(query_error("queueing a transcription"))?;
        Ok(())
    }

    /// Queues one part of a voicemail (see `transcribe::parts`), once per part file.
    pub async fn enqueue_transcription_part(
        &self,
        ticket_id: i64,
        part_path: &str,
        language: Option<&str>,
        part: i64,
    ) -> Result<(), StoreError> {
        let now = now_ms();
        sqlx::query(
            "INSERT INTO transcription_jobs (ticket_id, recording_path, language, status, run_after, created_at, part) \
             VALUES ($1, $2, $3, 'queued', $4, $4, $5) ON CONFLICT (recording_path) DO NOTHING",
        )
        .bind(ticket_id)
        .bind(part_path)
        .bind(language)
        .bind(now)
        .bind(part)
        .execute(self.writer())
        .await
        .map_err(query_error("queueing a transcription part"))?;
        Ok(())
    }

    /// Claims the oldest ready job as of `now`: queued and due, or running with an expired
    /// lease. The claim holds the job until `now + lease`. Parts go before whole recordings:
    /// a part is a caller's draft text, still missing; a whole recording's job (the final pass
    /// after hang-up, `transcribe::job`) only improves a text that is already there.
    pub async fn claim_transcription(
        &self,
        lease: Duration,
        now: DateTime<Utc>,
    ) -> Result<Option<TranscriptionJob>, StoreError> {
        let now = now.timestamp_millis();
        let row = sqlx::query(
            "UPDATE transcription_jobs SET status = 'running', attempts = attempts + 1, lease_until = $2 \
             WHERE id = (SELECT id FROM transcription_jobs \
                         WHERE (status = 'queued' AND run_after <= $1) OR (status = 'running' AND lease_until < $1) \
                         ORDER BY (part IS NULL), id LIMIT 1) \
               AND ((status = 'queued' AND run_after <= $1) OR (status = 'running' AND lease_until < $1)) \
             RETURNING id, ticket_id, recording_path, language, attempts, part",
        )
        .bind(now)
        .bind(now + lease.as_millis() as i64)
        .fetch_optional(self.writer())
        .await
        .map_err(query_error("claiming a transcription"))?;
        row.map(|r| {
            Ok(TranscriptionJob {
                id: required(&r, "id")?,
                ticket_id: required(&r, "ticket_id")?,
                recording_path: required(&r, "recording_path")?,
                language: get(&r, "language")?,
                attempt: required(&r, "attempts")?,
                part: get(&r, "part")?,
            })
        })
        .transpose()
    }

    /// Stores the transcript and closes the job, if this claim still holds it. Returns whether
    /// it did (false: the lease was lost and another claim owns the job).
    pub async fn complete_transcription(
        &self,
        job: &TranscriptionJob,
        record: &TranscriptRecord,
        now: DateTime<Utc>,
    ) -> Result<bool, StoreError> {
        let now = now.timestamp_millis();
        let mut tx = self.begin_write("starting a transaction").await?;
        let done = sqlx::query(
            "UPDATE transcription_jobs SET status = 'done', finished_at = $1, lease_until = NULL, last_error = NULL \
             WHERE id = $2 AND status = 'running' AND attempts = $3 RETURNING created_at",
        )
        .bind(now)
        .bind(job.id)
        .bind(job.attempt)
        .fetch_optional(&mut *tx)
        .await
        .map_err(query_error("completing a transcription"))?;
        let Some(done) = done else {
            tx.rollback().await.map_err(query_error("rolling back"))?;
            return Ok(false);
        };
        let queued_at: i64 = required(&done, "created_at")?;
        crate::metrics::TRANSCRIPTION_JOB_LATENCY.observe(Duration::from_millis(
            u64::try_from(now - queued_at).unwrap_or(0),
        ));
        if let Some(part) = job.part {
            let row = Self::store_part(&mut tx, job.ticket_id, part, record, now).await?;
            tx.commit()
                .await
                .map_err(query_error("committing a transcript part"))?;
            self.transcript_stored(row)?;
            return Ok(true);
        }
        if record.text.is_none() && Self::parts_heard(&mut tx, job.ticket_id).await? {
            // The final pass heard nothing usable where the parts heard words: the draft
            // stays rather than a blank.
            tx.commit()
                .await
                .map_err(query_error("committing a transcription"))?;
            return Ok(true);
        }
        let row = sqlx::query(
            "UPDATE tickets SET transcript = $1, transcript_language = $2, transcript_segments = $3, transcript_model = $4, \
             transcript_ms = $5, updated_at = $6 WHERE id = $7 RETURNING reference",
        )
        .bind(&record.text)
        .bind(&record.language)
        .bind(&record.segments_json)
        .bind(&record.model)
        .bind(record.processing.as_millis() as i64)
        .bind(now)
        .bind(job.ticket_id)
        .fetch_optional(&mut *tx)
        .await
        .map_err(query_error("storing a transcript"))?;
        tx.commit()
            .await
            .map_err(query_error("committing a transcript"))?;
        self.transcript_stored(row)?;
        Ok(true)
    }

    /// Announces a committed transcript (the row `RETURNING reference`; None: the ticket was
    /// deleted meanwhile, nobody to tell).
    fn transcript_stored(&self, row: Option<sqlx::any::AnyRow>) -> Result<(), StoreError> {
        if let Some(row) = row {
            self.publish(TicketChange {
                reference: parse::<TicketRef>(&row, "reference")?,
                kind: ChangeKind::Transcript,
            });
        }
        Ok(())
    }

    /// Keeps one part's text and rebuilds the ticket's transcript from every part done so far,
    /// in order, so the ticket shows the voicemail's text as it is transcribed. Once the whole
    /// recording's job is done its text stays: a part finished later (a retry, a second
    /// worker) is kept but does not overwrite it. Returns the ticket's `reference` row (None if
    /// the ticket was deleted meanwhile, or its final text is already there).
    async fn store_part(
        tx: &mut sqlx::Transaction<'_, sqlx::Any>,
        ticket_id: i64,
        part: i64,
        record: &TranscriptRecord,
        now: i64,
    ) -> Result<Option<sqlx::any::AnyRow>, StoreError> {
        sqlx::query(
            "INSERT INTO transcript_parts (ticket_id, part, text, language, segments, model, processing_ms) \
             VALUES ($1, $2, $3, $4, $5, $6, $7) ON CONFLICT (ticket_id, part) DO UPDATE \
             SET text = $3, language = $4, segments = $5, model = $6, processing_ms = $7",
        )
        .bind(ticket_id)
        .bind(part)
        .bind(&record.text)
        .bind(&record.language)
        .bind(&record.segments_json)
        .bind(&record.model)
        .bind(record.processing.as_millis() as i64)
        .execute(&mut **tx)
        .await
        .map_err(query_error("storing a transcript part"))?;
        let rows = sqlx::query(
            "SELECT text, language, segments, processing_ms FROM transcript_parts WHERE ticket_id = $1 ORDER BY part",
        )
        .bind(ticket_id)
        .fetch_all(&mut **tx)
        .await
        .map_err(query_error("reading transcript parts"))?;
        let mut texts = Vec::new();
        let mut segments: Vec<serde_json::Value> = Vec::new();
        let mut languages = Vec::new();
        let mut processing = 0i64;
        for r in &rows {
            if let Some(t) = get::<Option<String>>(r, "text")? {
                texts.push(t);
            }
            let segs: String = required(r, "segments")?;
            if let Ok(serde_json::Value::Array(list)) = serde_json::from_str(&segs) {
                segments.extend(list);
            }
            languages.push(required::<String>(r, "language")?);
            processing += required::<i64>(r, "processing_ms")?;
        }
        // The language most parts were heard in (the first one on a tie).
        let language = languages
            .iter()
            .max_by_key(|l| {
                (
                    languages.iter().filter(|x| x == l).count(),
                    std::cmp::Reverse(languages.iter().position(|x| x == *l)),
                )
            })
            .cloned()
            .unwrap_or_else(|| record.language.clone());
        let text = (!texts.is_empty()).then(|| texts.join(" "));
        let assemble = format!(
            "UPDATE tickets SET transcript = $1, transcript_language = $2, transcript_segments = $3, transcript_model = $4, \
             transcript_ms = $5, updated_at = $6 WHERE id = $7 AND NOT {} RETURNING reference",
            final_pass_done("$7")
        );
        sqlx::query(&assemble)
            .bind(text)
            .bind(language)
            .bind(serde_json::Value::Array(segments).to_string())
            .bind(&record.model)
            .bind(processing)
            .bind(now)
            .bind(ticket_id)
            .fetch_optional(&mut **tx)
            .await
            .map_err(query_error("assembling the transcript"))
    }

    /// Whether any part of a ticket's voicemail was heard as words.
    async fn parts_heard(
        tx: &mut sqlx::Transaction<'_, sqlx::Any>,
        ticket_id: i64,
    ) -> Result<bool, StoreError> {
        let row = sqlx::query(
            "SELECT COUNT(*) AS n FROM transcript_parts WHERE ticket_id = $1 AND text IS NOT NULL",
        )
        .bind(ticket_id)
        .fetch_one(&mut **tx)
        .await
        .map_err(query_error("reading transcript parts"))?;
        Ok(required::<i64>(&row, "n")? > 0)
    }

    /// Whether a ticket's transcript is final: the whole recording's job (the final pass after
    /// hang-up) is done. False while only the parts' draft is there.
    pub async fn transcript_final(&self, ticket_id: i64) -> Result<bool, StoreError> {
        let query = format!(
            "SELECT CASE WHEN {} THEN 1 ELSE 0 END AS done",
            final_pass_done("$1")
        );
        let row = sqlx::query(&query)
            .bind(ticket_id)
            .fetch_one(self.pool())
            .await
            .map_err(query_error("reading the transcription queue"))?;
        Ok(required::<i64>(&row, "done")? == 1)
    }

    /// Where a ticket's transcript stands, for its page: more parts to come, a draft that the
    /// final pass will replace, or nothing more queued.
    pub async fn transcript_stage(&self, ticket_id: i64) -> Result<TranscriptStage, StoreError> {
        let row = sqlx::query(
            "SELECT \
             COALESCE(SUM(CASE WHEN part IS NOT NULL AND status IN ('queued', 'running') THEN 1 ELSE 0 END), 0) AS parts, \
             COALESCE(SUM(CASE WHEN part IS NULL AND status IN ('queued', 'running') THEN 1 ELSE 0 END), 0) AS whole \
             FROM transcription_jobs WHERE ticket_id = $1",
        )
        .bind(ticket_id)
        .fetch_one(self.pool())
        .await
        .map_err(query_error("reading the transcription queue"))?;
        Ok(if required::<i64>(&row, "parts")? > 0 {
            TranscriptStage::PartsPending
        } else if required::<i64>(&row, "whole")? > 0 {
            TranscriptStage::FinalPending
        } else {
            TranscriptStage::Settled
        })
    }

    /// How many parts of a ticket's voicemail have been transcribed.
    pub async fn transcript_parts_done(&self, ticket_id: i64) -> Result<u32, StoreError> {
        let row = sqlx::query("SELECT COUNT(*) AS n FROM transcript_parts WHERE ticket_id = $1")
            .bind(ticket_id)
            .fetch_one(self.pool())
            .await
            .map_err(query_error("counting transcript parts"))?;
        Ok(required::<i64>(&row, "n")? as u32)
    }

    /// The text of the latest part before `part` of a ticket's voicemail that has been
    /// transcribed (None: none yet, or nothing was heard in it). The next part's job gives it
    /// to whisper as what was said just before, so sentences join across the cut.
    pub async fn previous_part_text(
        &self,
        ticket_id: i64,
        part: i64,
    ) -> Result<Option<String>, StoreError> {
        let row = sqlx::query(
            "SELECT text FROM transcript_parts WHERE ticket_id = $1 AND part < $2 ORDER BY part DESC LIMIT 1",
        )
        .bind(ticket_id)
        .bind(part)
        .fetch_optional(self.pool())
        .await
        .map_err(query_error("reading the previous transcript part"))?;
        Ok(match row {
            Some(r) => get::<Option<String>>(&r, "text")?,
            None => None,
        })
    }

    /// Records a failed attempt of the claim `job`: queued again, due `retry_after` from `now`,
    /// or (None) failed for good. The caller decides which (`transcribe::job`). Returns whether
    /// it was recorded (false: the lease was lost, the job is another claim's now).
    pub async fn fail_transcription(
        &self,
        job: &TranscriptionJob,
        error: &str,
        retry_after: Option<Duration>,
        now: DateTime<Utc>,
    ) -> Result<bool, StoreError> {
        let (status, run_after) = match retry_after {
            Some(delay) => ("queued", now.timestamp_millis() + delay.as_millis() as i64),
            None => ("failed", now.timestamp_millis()),
        };
        let r = sqlx::query(
            "UPDATE transcription_jobs SET status = $1, run_after = $2, lease_until = NULL, last_error = $3 \
             WHERE id = $4 AND status = 'running' AND attempts = $5",
        )
        .bind(status)
        .bind(run_after)
        .bind(error)
        .bind(job.id)
        .bind(job.attempt)
        .execute(self.writer())
        .await
        .map_err(query_error("recording a transcription failure"))?;
        Ok(r.rows_affected() == 1)
    }

    /// After a restart of a single-node (SQLite) Hotline, jobs still marked running were cut by
    /// the stop: they are queued again at once rather than after their lease.
    pub async fn requeue_running_transcriptions(&self) -> Result<u64, StoreError> {
        let r = sqlx::query("UPDATE transcription_jobs SET status = 'queued', lease_until = NULL, run_after = $1 WHERE status = 'running'")
            .bind(now_ms())
            .execute(self.writer())
            .await
            .map_err(query_error("requeueing interrupted transcriptions"))?;
        Ok(r.rows_affected())
    }

    /// Recordings a crash of this node interrupted (their ticket still says `recording`):
    /// ticket id, path, language. On PostgreSQL only this node's calls (see
    /// [`Store::own_rows`]): another node's may be recording right now, into its own disk.
    pub async fn interrupted_recordings(
        &self,
    ) -> Result<Vec<(i64, String, Option<String>)>, StoreError> {
        let mut sql =
            "SELECT id, recording_path, language FROM tickets WHERE recording_end_cause = 'recording'"
                .to_string();
        if self.own_rows().is_some() {
            sql.push_str(" AND node = $1");
        }
        let mut query = sqlx::query(&sql);
        if let Some(node) = self.own_rows() {
            query = query.bind(node.as_str());
        }
        let rows = query
            .fetch_all(self.pool())
            .await
            .map_err(query_error("finding interrupted recordings"))?;
        rows.iter()
            .map(|r| {
                Ok((
                    required(r, "id")?,
                    required(r, "recording_path")?,
                    get(r, "language")?,
                ))
            })
            .collect()
    }

    pub async fn transcription_counts(&self) -> Result<QueueCounts, StoreError> {
        let rows =
            sqlx::query("SELECT status, COUNT(*) AS n FROM transcription_jobs GROUP BY status")
                .fetch_all(self.pool())
                .await
                .map_err(query_error("counting transcriptions"))?;
        let mut c = QueueCounts::default();
        for r in rows {
            let status: String = required(&r, "status")?;
            let n: i64 = required(&r, "n")?;
            match status.as_str() {
                "queued" => c.queued = n as u32,
                "running" => c.running = n as u32,
                "done" => c.done = n as u32,
                "failed" => c.failed = n as u32,
                _ => {}
            }
        }
        Ok(c)
    }

    /// The last error of a ticket's transcription job, if it failed.
    pub async fn transcription_error(&self, ticket_id: i64) -> Result<Option<String>, StoreError> {
        let row = sqlx::query("SELECT last_error FROM transcription_jobs WHERE ticket_id = $1 ORDER BY id DESC LIMIT 1")
            .bind(ticket_id)
            .fetch_optional(self.pool())
            .await
            .map_err(query_error("reading a transcription error"))?;
        Ok(row
            .map(|r| get::<Option<String>>(&r, "last_error"))
            .transpose()?
            .flatten())
    }
}
