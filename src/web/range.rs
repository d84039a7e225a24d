//! HTTP Range requests (RFC 9110 §14) for the voicemail player: browsers seek in `<audio>` by
//! asking for byte ranges. Sans-IO: parses the header against a known file length.

/// What to send for a `Range` header.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum RangeAnswer {
    /// No (usable) Range header: the whole file, 200.
    Full,
    /// One satisfiable range, inclusive bounds: 206.
    Partial { start: u64, end: u64 },
    /// The range lies outside the file: 416.
    Unsatisfiable,
}

/// Interprets a `Range` header for a file of `len` bytes. Multi-range requests and unknown units
/// are answered with the whole file, which the RFC allows.
pub fn interpret(header: Option<&str>, len: u64) -> RangeAnswer {
    let Some(spec) = header.and_then(|h| h.trim().strip_prefix("bytes=")) else {
        return RangeAnswer::Full;
    };
    if spec.contains(',') {
        return RangeAnswer::Full;
    }
    let Some((first, last)) = spec.trim().split_once('-') else {
        return RangeAnswer::Full;
    };
    let (first, last) = (first.trim(), last.trim());
    let parse = |s: &str| s.parse::<u64>().ok();
    match (first.is_empty(), last.is_empty()) {
        // bytes=-N: the last N bytes.
        (true, false) => match parse(last) {
            Some(0) => RangeAnswer::Unsatisfiable,
            Some(n) if len > 0 => RangeAnswer::Partial {
                start: len.saturating_sub(n),
                end: len - 1,
            },
            Some(_) => RangeAnswer::Unsatisfiable,
            None => RangeAnswer::Full,
        },
        (false, _) => {
            let Some(start) = parse(first) else {
                return RangeAnswer::Full;
            };
            let end = if last.is_empty() {
                len.saturating_sub(1)
            } else {
                match parse(last) {
                    Some(end) if end >= start => end.min(len.saturating_sub(1)),
                    _ => return RangeAnswer::Full,
                }
            };
            if start >= len {
                RangeAnswer::Unsatisfiable
            } else {
                RangeAnswer::Partial { start, end }
            }
        }
        (true, true) => RangeAnswer::Full,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bounded_range_is_inclusive_and_clamped_to_the_file() {
        assert_eq!(
            interpret(Some("bytes=10-19"), 100),
            RangeAnswer::Partial { start: 10, end: 19 }
        );
        assert_eq!(
            interpret(Some("bytes=90-500"), 100),
            RangeAnswer::Partial { start: 90, end: 99 }
        );
    }

    #[test]
    fn open_and_suffix_ranges() {
        assert_eq!(
            interpret(Some("bytes=95-"), 100),
            RangeAnswer::Partial { start: 95, end: 99 }
        );
        assert_eq!(
            interpret(Some("bytes=-10"), 100),
            RangeAnswer::Partial { start: 90, end: 99 }
        );
        assert_eq!(
            interpret(Some("bytes=-500"), 100),
            RangeAnswer::Partial { start: 0, end: 99 }
        );
    }

    #[test]
    fn range_past_the_end_is_unsatisfiable() {
        assert_eq!(
            interpret(Some("bytes=100-"), 100),
            RangeAnswer::Unsatisfiable
        );
        assert_eq!(interpret(Some("bytes=-0"), 100), RangeAnswer::Unsatisfiable);
    }

    #[test]
    fn garbage_or_multiple_ranges_get_the_whole_file() {
        for h in [
            "items=0-1",
            "bytes=a-b",
            "bytes=5-2",
            "bytes=0-1,5-6",
            "bytes=-",
        ] {
            assert_eq!(interpret(Some(h), 100), RangeAnswer::Full, "{h}");
        }
        assert_eq!(interpret(None, 100), RangeAnswer::Full);
    }
}
