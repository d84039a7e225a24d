//! One key press, two ways: counted once.

use super::Digit;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Source {
    Rfc4733,
    Inband,
}

/// Some phones send a key press both as an RFC 4733 event and as a tone in the audio. A digit
/// from one source is swallowed when the same digit came from the other source within the
/// window; presses from the same source always count.
#[derive(Debug)]
pub struct DigitMerger {
    window_ms: u64,
    last: Option<(Digit, u64, Source)>,
}

impl DigitMerger {
    pub fn new(window_ms: u64) -> Self {
        DigitMerger {
            window_ms,
            last: None,
        }
    }

    pub fn rfc4733(&mut self, digit: Digit, at_ms: u64) -> Option<Digit> {
        self.accept(digit, at_ms, Source::Rfc4733)
    }

    pub fn inband(&mut self, digit: Digit, at_ms: u64) -> Option<Digit> {
        self.accept(digit, at_ms, Source::Inband)
    }

    fn accept(&mut self, digit: Digit, at_ms: u64, source: Source) -> Option<Digit> {
        if let Some((d, t, s)) = self.last {
            if d == digit && s != source && at_ms.saturating_sub(t) <= self.window_ms {
                // The duplicate; forget the pair so a third report counts again.
                self.last = None;
                return None;
            }
        }
        self.last = Some((digit, at_ms, source));
        Some(digit)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_press_seen_both_ways_counts_once() {
        let five = Digit::from_char('5').unwrap();
        let mut m = DigitMerger::new(300);
        assert_eq!(m.rfc4733(five, 1000), Some(five));
        assert_eq!(m.inband(five, 1040), None);
        assert_eq!(m.inband(five, 1600), Some(five), "a later press counts");
    }

    #[test]
    fn repeated_presses_from_one_source_all_count() {
        let one = Digit::from_char('1').unwrap();
        let mut m = DigitMerger::new(300);
        assert_eq!(m.rfc4733(one, 0), Some(one));
        assert_eq!(m.rfc4733(one, 150), Some(one));
    }
}
