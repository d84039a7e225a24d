//! The typed fields of the rota edit forms. Each field is parsed into its domain value when the
//! form is read, so a bad value is refused (422) naming the field before any handler code runs
//! and before anything is stored.

use crate::oncall::RotaError;
use crate::tickets::Category;
use chrono::{NaiveDate, NaiveDateTime};
use chrono_tz::Tz;
use serde::{Deserialize, Deserializer};
use std::fmt;
use std::str::FromStr;

/// A form field parsed with `T`'s `FromStr` (surrounding spaces ignored); its error message is
/// what the 422 says after the field's name.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub(crate) struct Field<T>(pub T);

impl<'de, T> Deserialize<'de> for Field<T>
where
    T: FromStr,
    T::Err: fmt::Display,
{
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let text = String::deserialize(d)?;
        text.trim()
            .parse()
            .map(Field)
            .map_err(serde::de::Error::custom)
    }
}

fn is_name(text: &str) -> bool {
    !text.is_empty()
        && text.len() <= 64
        && text
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, '.' | '-' | '_'))
}

/// A team's or a rotation's name: it appears in URLs, so 1 to 64 letters, digits, `.`, `-`
/// or `_`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Name(pub String);

impl FromStr for Name {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        if is_name(s) {
            Ok(Name(s.to_string()))
        } else {
            Err(format!(
                "`{s}` is not a name (1 to 64 letters, digits, '.', '-' or '_')"
            ))
        }
    }
}

/// Account names separated by commas or spaces, in the order given (a rotation's turn order),
/// each once. Whether the accounts exist is checked against the store by the handler.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub(crate) struct UserList(pub Vec<String>);

impl FromStr for UserList {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let mut names: Vec<String> = Vec::new();
        for name in s.split(|c: char| c == ',' || c.is_whitespace()) {
            if name.is_empty() {
                continue;
            }
            if !is_name(name) {
                return Err(format!("`{name}` is not an account name"));
            }
            if !names.iter().any(|n| n == name) {
                names.push(name.to_string());
            }
        }
        Ok(UserList(names))
    }
}

/// One account name, or nobody when the field is left empty.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub(crate) struct OptionalUser(pub Option<String>);

impl FromStr for OptionalUser {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match s {
            "" => Ok(OptionalUser(None)),
            name if is_name(name) => Ok(OptionalUser(Some(name.to_string()))),
            name => Err(format!("`{name}` is not an account name")),
        }
    }
}

/// Ticket categories separated by commas or spaces (none is allowed: a team may handle none).
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub(crate) struct CategoryList(pub Vec<Category>);

impl FromStr for CategoryList {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let mut out: Vec<Category> = Vec::new();
        for word in s.split(|c: char| c == ',' || c.is_whitespace()) {
            if word.is_empty() {
                continue;
            }
            let category: Category = word.parse().map_err(|e| format!("{e}"))?;
            if !out.contains(&category) {
                out.push(category);
            }
        }
        Ok(CategoryList(out))
    }
}

/// An IANA time zone name.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct TimeZoneName(pub Tz);

impl FromStr for TimeZoneName {
    type Err = RotaError;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        crate::oncall::parse_time_zone(s).map(TimeZoneName)
    }
}

/// A calendar day, `YYYY-MM-DD` (what `<input type="date">` sends).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Day(pub NaiveDate);

impl FromStr for Day {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        NaiveDate::parse_from_str(s, "%Y-%m-%d")
            .map(Day)
            .map_err(|_| format!("`{s}` is not a day (YYYY-MM-DD)"))
    }
}

/// A wall-clock date and time in the team's time zone, `YYYY-MM-DDTHH:MM` with optional
/// seconds (what `<input type="datetime-local">` sends).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct LocalDateTime(pub NaiveDateTime);

impl FromStr for LocalDateTime {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        ["%Y-%m-%dT%H:%M", "%Y-%m-%dT%H:%M:%S", "%Y-%m-%d %H:%M"]
            .iter()
            .find_map(|f| NaiveDateTime::parse_from_str(s, f).ok())
            .map(LocalDateTime)
            .ok_or_else(|| format!("`{s}` is not a date and time (YYYY-MM-DDTHH:MM)"))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lists_keep_their_order_drop_repeats_and_refuse_bad_names() {
        assert_eq!(
            "ben, ana ben,,cid".parse::<UserList>().unwrap().0,
            ["ben", "ana", "cid"]
        );
        assert_eq!("".parse::<UserList>().unwrap().0, Vec::<String>::new());
        assert!("ana, b<b".parse::<UserList>().unwrap_err().contains("b<b"));
        assert_eq!(
            "network,account".parse::<CategoryList>().unwrap().0,
            [Category::Network, Category::Account]
        );
        assert!("printers"
            .parse::<CategoryList>()
            .unwrap_err()
            .contains("printers"));
    }

    #[test]
    fn names_times_and_zones_parse_or_say_what_was_expected() {
        assert!("night shift".parse::<Name>().is_err());
        assert_eq!("nights".parse::<Name>().unwrap().0, "nights");
        assert_eq!("".parse::<OptionalUser>().unwrap().0, None);
        assert!("Europe/Nowhere".parse::<TimeZoneName>().is_err());
        assert_eq!(
            "2026-12-24T18:00".parse::<LocalDateTime>().unwrap().0,
            NaiveDate::from_ymd_opt(2026, 12, 24)
                .unwrap()
                .and_hms_opt(18, 0, 0)
                .unwrap()
        );
        assert!("24/12/2026"
            .parse::<Day>()
            .unwrap_err()
            .contains("YYYY-MM-DD"));
    }
}
