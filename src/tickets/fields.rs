//! The answers a caller gives in the menu, as types: a `String` never travels where one is meant.

use serde::{Deserialize, Serialize};
use std::fmt;
use std::str::FromStr;

/// Raised when text names no known value of a ticket field.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("unknown {field} `{value}` (expected one of: {expected})")]
pub struct UnknownValue {
    pub field: &'static str,
    pub value: String,
    pub expected: &'static str,
}

macro_rules! field_enum {
    ($(#[$doc:meta])* $name:ident, $field:literal, { $($(#[$vdoc:meta])* $variant:ident => $text:literal),+ $(,)? }) => {
        $(#[$doc])*
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
        pub enum $name { $($(#[$vdoc])* $variant),+ }

        // Serialised as the text form, so files, the database and JSON all say `fr`, `hardware`.
        impl Serialize for $name {
            fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
                s.serialize_str(self.as_str())
            }
        }

        impl<'de> Deserialize<'de> for $name {
            fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
                let text = String::deserialize(d)?;
                text.parse().map_err(serde::de::Error::custom)
            }
        }

        impl $name {
            /// Every value, in menu order.
            pub const ALL: &'static [$name] = &[$($name::$variant),+];

            /// The stable text form used in dialplans, the database and the JSON API.
            pub fn as_str(self) -> &'static str {
                match self { $($name::$variant => $text),+ }
            }
        }

        impl fmt::Display for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result { f.write_str(self.as_str()) }
        }

        impl FromStr for $name {
            type Err = UnknownValue;
            fn from_str(s: &str) -> Result<Self, Self::Err> {
                match s {
                    $($text => Ok($name::$variant),)+
                    _ => Err(UnknownValue {
                        field: $field,
                        value: s.to_string(),
                        expected: concat!($($text, " "),+).trim_ascii_end(),
                    }),
                }
            }
        }
    };
}

field_enum!(
    /// What the problem is about.
    Category, "category", {
        Hardware => "hardware",
        Software => "software",
        Network => "network",
        Account => "account",
        Other => "other",
    }
);

field_enum!(
    /// How many people are affected (ITIL impact).
    Impact, "impact", {
        /// The whole company or many users.
        Organisation => "organisation",
        /// The caller's team.
        Team => "team",
        /// Only the caller.
        Individual => "individual",
    }
);

field_enum!(
    /// How badly work is blocked (ITIL urgency).
    Urgency, "urgency", {
        /// The caller cannot work at all.
        Blocked => "blocked",
        /// The caller can work, degraded.
        Degraded => "degraded",
        /// A question or a request.
        Request => "request",
    }
);

field_enum!(
    /// The language the caller chose; prompts and transcription follow it.
    Language, "language", {
        English => "en",
        French => "fr",
    }
);

/// One answer from the menu, as stored on the ticket.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum TicketField {
    Language(Language),
    Category(Category),
    Impact(Impact),
    Urgency(Urgency),
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn text_forms_round_trip() {
        for c in Category::ALL {
            assert_eq!(c.as_str().parse::<Category>().unwrap(), *c);
        }
        assert_eq!("fr".parse::<Language>().unwrap(), Language::French);
    }

    #[test]
    fn unknown_value_names_field_and_choices() {
        let err = "printer".parse::<Category>().unwrap_err();
        assert_eq!(
            err.to_string(),
            "unknown category `printer` (expected one of: hardware software network account other)"
        );
    }
}
