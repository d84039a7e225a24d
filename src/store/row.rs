//! Decoding rows into domain types. A value the database should never hold (an unknown
//! priority, a bad timestamp, a NULL where the store always writes one) becomes a
//! `StoreError::Corrupt` naming the column, never a panic and never a silent default.

use super::StoreError;
use crate::tickets::{Ticket, TicketRef};
use chrono::{DateTime, TimeZone, Utc};
use sqlx::any::AnyRow;
use sqlx::Row;

/// The columns `ticket_from_row` reads, in one place so every ticket query selects the same.
pub(super) const TICKET_COLUMNS: &str = "id, reference, created_at, updated_at, call_id, caller_number, \
    caller_name, caller_identity, language, category, impact, urgency, priority, status, disposition, \
    disposition_detail, assignee, estimated_response_secs, collected, recording_path, recording_duration_ms, \
    recording_end_cause, transcript, transcript_language, transcript_segments, transcript_model, transcript_ms, \
    conversation_path, conversation_duration_ms";

fn corrupt(column: &'static str, reason: impl ToString) -> StoreError {
    StoreError::Corrupt {
        column,
        reason: reason.to_string(),
    }
}

/// One column, decoded as `T`.
pub(super) fn get<'r, T: sqlx::Decode<'r, sqlx::Any> + sqlx::Type<sqlx::Any>>(
    row: &'r AnyRow,
    column: &'static str,
) -> Result<T, StoreError> {
    row.try_get(column).map_err(|e| corrupt(column, e))
}

/// A column the store always fills.
pub(super) fn required<'r, T: sqlx::Decode<'r, sqlx::Any> + sqlx::Type<sqlx::Any>>(
    row: &'r AnyRow,
    column: &'static str,
) -> Result<T, StoreError> {
    get::<Option<T>>(row, column)?.ok_or_else(|| corrupt(column, "missing"))
}

/// A Unix-milliseconds column as a UTC time.
pub(super) fn time(row: &AnyRow, column: &'static str) -> Result<DateTime<Utc>, StoreError> {
    let ms: i64 = required(row, column)?;
    Utc.timestamp_millis_opt(ms)
        .single()
        .ok_or_else(|| corrupt(column, format!("{ms} is not a timestamp")))
}

/// An optional text column parsed into a domain type.
pub(super) fn parse_opt<T: std::str::FromStr>(
    row: &AnyRow,
    column: &'static str,
) -> Result<Option<T>, StoreError>
where
    T::Err: std::fmt::Display,
{
    get::<Option<String>>(row, column)?
        .map(|t| t.parse().map_err(|e: T::Err| corrupt(column, e)))
        .transpose()
}

/// A text column the store always fills, parsed into a domain type.
pub(super) fn parse<T: std::str::FromStr>(
    row: &AnyRow,
    column: &'static str,
) -> Result<T, StoreError>
where
    T::Err: std::fmt::Display,
{
    parse_opt(row, column)?.ok_or_else(|| corrupt(column, "missing"))
}

/// An optional text column holding JSON.
fn json_opt(row: &AnyRow, column: &'static str) -> Result<Option<serde_json::Value>, StoreError> {
    get::<Option<String>>(row, column)?
        .map(|t| serde_json::from_str(&t).map_err(|e| corrupt(column, e)))
        .transpose()
}

pub(super) fn ticket_from_row(row: &AnyRow) -> Result<Ticket, StoreError> {
    Ok(Ticket {
        id: required(row, "id")?,
        reference: parse::<TicketRef>(row, "reference")?,
        created_at: time(row, "created_at")?,
        updated_at: time(row, "updated_at")?,
        call_id: required(row, "call_id")?,
        caller_number: required(row, "caller_number")?,
        caller_name: get(row, "caller_name")?,
        caller_identity: get(row, "caller_identity")?,
        language: parse_opt(row, "language")?,
        category: parse_opt(row, "category")?,
        impact: parse_opt(row, "impact")?,
        urgency: parse_opt(row, "urgency")?,
        priority: parse_opt(row, "priority")?,
        status: parse(row, "status")?,
        disposition: parse(row, "disposition")?,
        disposition_detail: get(row, "disposition_detail")?,
        assignee: get(row, "assignee")?,
        estimated_response_secs: get(row, "estimated_response_secs")?,
        collected: json_opt(row, "collected")?,
        recording_path: get(row, "recording_path")?,
        recording_duration_ms: get(row, "recording_duration_ms")?,
        conversation_path: get(row, "conversation_path")?,
        conversation_duration_ms: get(row, "conversation_duration_ms")?,
        recording_end_cause: get(row, "recording_end_cause")?,
        transcript: get(row, "transcript")?,
        transcript_language: get(row, "transcript_language")?,
        transcript_segments: json_opt(row, "transcript_segments")?,
        transcript_model: get(row, "transcript_model")?,
        transcript_ms: get(row, "transcript_ms")?,
    })
}
