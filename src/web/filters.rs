//! The call log's query string: filters and pagination, shared by the HTML page and the JSON
//! API. Every bad value is a `FilterError` naming the parameter, answered with 400.

use crate::store::{SearchQuery, TicketFilter};
use chrono::{NaiveDate, TimeZone, Utc};
use std::collections::HashMap;

/// Tickets per page unless `per_page` says otherwise.
pub const DEFAULT_PER_PAGE: u32 = 50;
pub const MAX_PER_PAGE: u32 = 200;
/// Longest search text accepted (characters): a search box, not a document.
pub const MAX_SEARCH_CHARS: usize = 200;

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("query parameter `{name}`: {reason}")]
pub struct FilterError {
    pub name: String,
    pub reason: String,
}

/// A parsed call-log query.
#[derive(Debug, Clone, Default)]
pub struct LogQuery {
    pub filter: TicketFilter,
    pub page: u32,
    pub per_page: u32,
    /// The parameters as given (non-empty ones), to rebuild links to other pages.
    pub params: Vec<(String, String)>,
}

fn parse<T: std::str::FromStr>(name: &str, value: &str) -> Result<T, FilterError>
where
    T::Err: std::fmt::Display,
{
    value.parse().map_err(|e: T::Err| FilterError {
        name: name.into(),
        reason: e.to_string(),
    })
}

/// A UTC day, `YYYY-MM-DD`.
pub fn date(name: &str, value: &str) -> Result<NaiveDate, FilterError> {
    NaiveDate::parse_from_str(value, "%Y-%m-%d").map_err(|_| FilterError {
        name: name.into(),
        reason: format!("`{value}` is not a date (expected YYYY-MM-DD)"),
    })
}

fn number(name: &str, value: &str, max: u32) -> Result<u32, FilterError> {
    match value.parse::<u32>() {
        Ok(n) if (1..=max).contains(&n) => Ok(n),
        _ => Err(FilterError {
            name: name.into(),
            reason: format!("`{value}` is not a whole number from 1 to {max}"),
        }),
    }
}

/// A search text: refused (rather than silently matching nothing) when too long or when it has
/// no letter or digit to search for, so the technician knows the box was not understood.
fn search(name: &str, value: &str) -> Result<String, FilterError> {
    let error = |reason: &str| FilterError {
        name: name.into(),
        reason: reason.into(),
    };
    if value.chars().count() > MAX_SEARCH_CHARS {
        return Err(error(&format!("at most {MAX_SEARCH_CHARS} characters")));
    }
    if SearchQuery::parse(value).is_none() {
        return Err(error("nothing to search for (give a word or number)"));
    }
    Ok(value.to_string())
}

/// Parses the query string's parameters. Empty values (an HTML form's "any") are ignored;
/// unknown parameters are refused so a typo does not silently show everything.
pub fn parse_query(params: &HashMap<String, String>) -> Result<LogQuery, FilterError> {
    let mut q = LogQuery {
        page: 1,
        per_page: DEFAULT_PER_PAGE,
        ..LogQuery::default()
    };
    let mut names: Vec<&String> = params.keys().collect();
    names.sort();
    for name in names {
        let value = params[name].trim();
        if value.is_empty() {
            continue;
        }
        match name.as_str() {
            "status" => q.filter.status = Some(parse(name, value)?),
            "priority" => q.filter.priority = Some(parse(name, value)?),
            "category" => q.filter.category = Some(parse(name, value)?),
            "disposition" => q.filter.disposition = Some(parse(name, value)?),
            "from" => {
                let d = date(name, value)?;
                q.filter.created_from = Some(Utc.from_utc_datetime(&d.and_time(Default::default())));
            }
            "to" => {
                // Inclusive: the whole of the `to` day.
                let d = date(name, value)?.succ_opt().ok_or(FilterError {
                    name: name.clone(),
                    reason: "date out of range".into(),
                })?;
                q.filter.created_before =
                    Some(Utc.from_utc_datetime(&d.and_time(Default::default())));
            }
            "q" => q.filter.q = Some(search(name, value)?),
            "page" => q.page = number(name, value, u32::MAX)?,
            "per_page" => q.per_page = number(name, value, MAX_PER_PAGE)?,
            other => {
                return Err(FilterError {
                    name: other.into(),
                    reason: "unknown parameter (expected status, priority, category, disposition, from, to, q, page, per_page)".into(),
                })
            }
        }
        if name != "page" {
            q.params.push((name.clone(), value.to_string()));
        }
    }
    if let (Some(from), Some(before)) = (q.filter.created_from, q.filter.created_before) {
        if from >= before {
            return Err(FilterError {
                name: "to".into(),
                reason: "is before `from`".into(),
            });
        }
    }
    q.filter.limit = q.per_page;
    // A page far past the end is simply empty; the offset saturates instead of overflowing.
    q.filter.offset = u32::try_from((q.page as u64 - 1) * q.per_page as u64).unwrap_or(u32::MAX);
    Ok(q)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn query(pairs: &[(&str, &str)]) -> Result<LogQuery, FilterError> {
        parse_query(
            &pairs
                .iter()
                .map(|(k, v)| (k.to_string(), v.to_string()))
                .collect(),
        )
    }

    #[test]
    fn filters_and_page_become_a_ticket_filter() {
        let q = query(&[
            ("status", "new"),
            ("priority", "P2"),
            ("from", "2026-01-01"),
            ("to", "2026-01-31"),
            ("page", "3"),
            ("per_page", "10"),
            ("category", ""),
        ])
        .unwrap();
        assert_eq!(q.filter.status, Some(crate::tickets::TicketStatus::New));
        assert_eq!(q.filter.priority.map(|p| p.level()), Some(2));
        assert_eq!(q.filter.category, None);
        assert_eq!(q.filter.offset, 20);
        assert_eq!(q.filter.limit, 10);
        assert_eq!(
            q.filter.created_before.unwrap().to_rfc3339(),
            "2026-02-01T00:00:00+00:00"
        );
    }

    #[test]
    fn bad_values_name_the_parameter() {
        for (name, value) in [
            ("status", "sleeping"),
            ("priority", "P9"),
            ("from", "yesterday"),
            ("page", "0"),
            ("page", "-1"),
            ("per_page", "100000"),
            ("colour", "red"),
            ("q", "\"*-"),
        ] {
            let e = query(&[(name, value)]).unwrap_err();
            assert_eq!(e.name, name);
        }
        assert_eq!(
            query(&[("from", "2026-02-01"), ("to", "2026-01-01")])
                .unwrap_err()
                .name,
            "to"
        );
    }

    #[test]
    fn huge_page_saturates_the_offset() {
        let q = query(&[("page", "4294967295")]).unwrap();
        assert_eq!(q.filter.offset, u32::MAX);
    }
}
