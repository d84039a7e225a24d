//! Reading a dialplan's TOML tables field by field, keeping every value's place in the file.
//!
//! serde's derive stops at the first error of a whole document and, for internally tagged
//! enums, forgets where values were written. The checker must report *every* mistake with its
//! line and column, so it walks toml's spanned document (`DeTable`) itself and deserialises one
//! field at a time: each bad field is one problem, and the others are still checked.

use serde::de::DeserializeOwned;
use std::borrow::Cow;
use std::ops::Range;
use toml::de::{DeTable, DeValue, ValueDeserializer};
use toml::Spanned;

/// A key of a table (with where it is written) and its value.
pub(super) type Entry<'a, 'i> = (&'a Spanned<Cow<'i, str>>, &'a Spanned<DeValue<'i>>);

/// One problem found while reading, by byte span (turned into line and column at the end).
#[derive(Debug)]
pub(super) struct Found {
    pub span: Option<Range<usize>>,
    pub message: String,
}

/// Collects problems; reading never stops at the first one.
#[derive(Debug, Default)]
pub(super) struct Sink {
    pub found: Vec<Found>,
}

impl Sink {
    pub fn at(&mut self, span: Range<usize>, message: String) {
        self.found.push(Found {
            span: Some(span),
            message,
        });
    }

    pub fn nowhere(&mut self, message: String) {
        self.found.push(Found {
            span: None,
            message,
        });
    }

    pub fn is_empty(&self) -> bool {
        self.found.is_empty()
    }
}

/// Deserialises one spanned TOML value; a bad value is reported as `{label}: {serde message}`,
/// at the innermost place toml knows (the bad item inside an array or inline table).
pub(super) fn value<T: DeserializeOwned>(
    value: &Spanned<DeValue<'_>>,
    label: &str,
    sink: &mut Sink,
) -> Option<Spanned<T>> {
    match T::deserialize(ValueDeserializer::from(value.clone())) {
        Ok(v) => Some(Spanned::new(value.span(), v)),
        Err(e) => {
            let span = e.span().unwrap_or_else(|| value.span());
            sink.at(span, format!("{label}: {}", e.message().trim()));
            None
        }
    }
}

/// A TOML table (`[dialplan]`, `[defaults]`, a node) read one field at a time.
pub(super) struct Fields<'a, 'i> {
    table: &'a DeTable<'i>,
    /// Put before every message: "node `welcome`: ", or nothing for the top-level tables.
    prefix: String,
    /// Where problems about the table as a whole (a missing field) are reported.
    pub at: Range<usize>,
}

impl<'a, 'i> Fields<'a, 'i> {
    pub fn new(table: &'a DeTable<'i>, prefix: String, at: Range<usize>) -> Self {
        Fields { table, prefix, at }
    }

    /// The table `value` holds, or a report that it is something else.
    pub fn of(
        value: &'a Spanned<DeValue<'i>>,
        prefix: String,
        at: Range<usize>,
        sink: &mut Sink,
    ) -> Option<Self> {
        match value.get_ref() {
            DeValue::Table(table) => Some(Fields::new(table, prefix, at)),
            other => {
                sink.at(
                    value.span(),
                    format!("{prefix}expected a table, found {}", kind_of(other)),
                );
                None
            }
        }
    }

    /// Reports every key not in `allowed`, at the key.
    pub fn only(&self, allowed: &[&str], sink: &mut Sink) {
        for (key, _) in self.table.iter() {
            if !allowed.contains(&key.get_ref().as_ref()) {
                let expected = allowed
                    .iter()
                    .map(|k| format!("`{k}`"))
                    .collect::<Vec<_>>()
                    .join(", ");
                sink.at(
                    key.span(),
                    format!(
                        "{}unknown field `{}`, expected one of {expected}",
                        self.prefix,
                        key.get_ref()
                    ),
                );
            }
        }
    }

    pub fn raw(&self, key: &str) -> Option<&'a Spanned<DeValue<'i>>> {
        self.table.get(key)
    }

    /// Whether `key` is written as `[]`.
    pub fn is_empty_array(&self, key: &str) -> bool {
        matches!(self.raw(key).map(|v| v.get_ref()), Some(DeValue::Array(a)) if a.is_empty())
    }

    /// An optional field; `None` when absent or invalid (then reported).
    pub fn get<T: DeserializeOwned>(&self, key: &str, sink: &mut Sink) -> Option<Spanned<T>> {
        let raw = self.raw(key)?;
        value(raw, &format!("{}field `{key}`", self.prefix), sink)
    }

    /// A field that must be there; its absence is reported where the table starts.
    pub fn required<T: DeserializeOwned>(&self, key: &str, sink: &mut Sink) -> Option<Spanned<T>> {
        if self.raw(key).is_none() {
            sink.at(
                self.at.clone(),
                format!("{}missing field `{key}`", self.prefix),
            );
            return None;
        }
        self.get(key, sink)
    }

    /// A field holding a table of entries (menu options, branch cases), each with its key.
    pub fn entries(&self, key: &str, sink: &mut Sink) -> Option<Vec<Entry<'a, 'i>>> {
        let raw = self.raw(key)?;
        match raw.get_ref() {
            DeValue::Table(t) => Some(t.iter().collect()),
            other => {
                sink.at(
                    raw.span(),
                    format!(
                        "{}field `{key}`: expected a table, found {}",
                        self.prefix,
                        kind_of(other)
                    ),
                );
                None
            }
        }
    }
}

fn kind_of(value: &DeValue<'_>) -> &'static str {
    match value {
        DeValue::String(_) => "a string",
        DeValue::Integer(_) => "an integer",
        DeValue::Float(_) => "a float",
        DeValue::Boolean(_) => "a boolean",
        DeValue::Datetime(_) => "a date",
        DeValue::Array(_) => "an array",
        DeValue::Table(_) => "a table",
    }
}
