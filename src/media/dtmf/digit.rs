//! A DTMF key.

use serde::{Deserialize, Serialize};
use std::fmt;
use std::str::FromStr;

/// One of the sixteen DTMF keys.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub struct Digit(char);

/// Text that is not a DTMF key.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("`{0}` is not a DTMF key (0-9, *, #, A-D)")]
pub struct InvalidDigit(pub String);

/// Keys in RFC 4733 §3.2 event-code order: 0–9, *, #, A–D.
const KEYS: [char; 16] = [
    '0', '1', '2', '3', '4', '5', '6', '7', '8', '9', '*', '#', 'A', 'B', 'C', 'D',
];

impl Digit {
    pub fn from_char(c: char) -> Option<Digit> {
        let c = c.to_ascii_uppercase();
        KEYS.contains(&c).then_some(Digit(c))
    }

    pub fn as_char(self) -> char {
        self.0
    }

    /// The RFC 4733 event code.
    pub fn event_code(self) -> u8 {
        KEYS.iter().position(|k| *k == self.0).expect("valid key") as u8
    }

    pub fn from_event_code(code: u8) -> Option<Digit> {
        KEYS.get(code as usize).map(|c| Digit(*c))
    }

    /// The (row, column) frequencies of the key's tone pair, in Hz (ITU-T Q.23).
    pub fn frequencies(self) -> (f64, f64) {
        const ROWS: [f64; 4] = [697.0, 770.0, 852.0, 941.0];
        const COLS: [f64; 4] = [1209.0, 1336.0, 1477.0, 1633.0];
        let layout = ["123A", "456B", "789C", "*0#D"];
        for (r, line) in layout.iter().enumerate() {
            if let Some(c) = line.find(self.0) {
                return (ROWS[r], COLS[c]);
            }
        }
        unreachable!("every key is on the keypad")
    }

    /// The key at keypad position (row, column).
    pub(super) fn at(row: usize, col: usize) -> Digit {
        let layout = ["123A", "456B", "789C", "*0#D"];
        Digit(layout[row].as_bytes()[col] as char)
    }
}

impl fmt::Display for Digit {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}", self.0)
    }
}

impl FromStr for Digit {
    type Err = InvalidDigit;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let mut chars = s.chars();
        match (chars.next(), chars.next()) {
            (Some(c), None) => Digit::from_char(c).ok_or_else(|| InvalidDigit(s.into())),
            _ => Err(InvalidDigit(s.into())),
        }
    }
}

impl TryFrom<String> for Digit {
    type Error = InvalidDigit;
    fn try_from(s: String) -> Result<Self, Self::Error> {
        s.parse()
    }
}

impl From<Digit> for String {
    fn from(d: Digit) -> String {
        d.0.to_string()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn event_codes_follow_rfc_4733() {
        assert_eq!(Digit::from_char('*').unwrap().event_code(), 10);
        assert_eq!(Digit::from_char('#').unwrap().event_code(), 11);
        assert_eq!(Digit::from_event_code(15).unwrap().as_char(), 'D');
        assert_eq!(Digit::from_event_code(16), None);
    }

    #[test]
    fn keypad_frequencies() {
        assert_eq!(
            Digit::from_char('5').unwrap().frequencies(),
            (770.0, 1336.0)
        );
        assert_eq!(
            Digit::from_char('#').unwrap().frequencies(),
            (941.0, 1477.0)
        );
    }

    #[test]
    fn bad_text_is_named() {
        assert_eq!(
            "x".parse::<Digit>().unwrap_err().to_string(),
            "`x` is not a DTMF key (0-9, *, #, A-D)"
        );
    }
}
