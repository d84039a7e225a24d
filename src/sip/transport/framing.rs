//! Framing SIP messages on a byte stream (RFC 3261 §18.3): a message ends Content-Length bytes
//! after the blank line that closes its headers. Sans-IO: feed bytes, take complete messages.

/// Why a stream can no longer be framed; the connection must be closed.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum FramingError {
    #[error("message headers exceed {0} bytes without a blank line")]
    HeadersTooLong(usize),
    #[error("missing or invalid Content-Length on a stream transport")]
    ContentLength,
    #[error("message of {0} bytes exceeds the limit of {1}")]
    MessageTooLong(usize, usize),
}

/// Default largest message (head and body): far above any real INVITE, low enough that a peer
/// cannot make us buffer without bound.
pub const DEFAULT_MAX_MESSAGE: usize = 64 * 1024;

/// Accumulates stream bytes and cuts them into messages.
#[derive(Debug)]
pub struct StreamFramer {
    buffer: Vec<u8>,
    max_message: usize,
}

impl Default for StreamFramer {
    fn default() -> Self {
        Self::with_limit(DEFAULT_MAX_MESSAGE)
    }
}

impl StreamFramer {
    pub fn new() -> Self {
        Self::default()
    }

    /// A framer refusing messages (head and body) longer than `max_message` bytes.
    pub fn with_limit(max_message: usize) -> Self {
        StreamFramer {
            buffer: Vec::new(),
            max_message,
        }
    }

    /// Whether part of a message is waiting for more bytes.
    pub fn has_partial(&self) -> bool {
        !self.buffer.is_empty()
    }

    /// Appends bytes read from the stream.
    pub fn push(&mut self, bytes: &[u8]) {
        self.buffer.extend_from_slice(bytes);
    }

    /// The next complete message, if the buffer holds one. CRLF keep-alives between messages
    /// (RFC 5626 §3.5.1) are skipped.
    pub fn next_message(&mut self) -> Result<Option<Vec<u8>>, FramingError> {
        let leading = self
            .buffer
            .iter()
            .take_while(|b| **b == b'\r' || **b == b'\n')
            .count();
        self.buffer.drain(..leading);
        let Some(end) = self.buffer.windows(4).position(|w| w == b"\r\n\r\n") else {
            if self.buffer.len() > self.max_message {
                return Err(FramingError::HeadersTooLong(self.max_message));
            }
            self.release_idle_capacity();
            return Ok(None);
        };
        let head_len = end + 4;
        let head = String::from_utf8_lossy(&self.buffer[..end]);
        let body_len = content_length(&head).ok_or(FramingError::ContentLength)?;
        // Refused from the declared length, before the body is buffered.
        if head_len.saturating_add(body_len) > self.max_message {
            return Err(FramingError::MessageTooLong(
                head_len.saturating_add(body_len),
                self.max_message,
            ));
        }
        if self.buffer.len() < head_len + body_len {
            return Ok(None);
        }
        let message: Vec<u8> = self.buffer.drain(..head_len + body_len).collect();
        self.release_idle_capacity();
        Ok(Some(message))
    }

    /// An idle connection keeps no large buffer: a burst of big messages must not pin memory
    /// for as long as the connection lives.
    fn release_idle_capacity(&mut self) {
        if self.buffer.is_empty() && self.buffer.capacity() > 16 * 1024 {
            self.buffer = Vec::new();
        }
    }
}

fn content_length(head: &str) -> Option<usize> {
    head.split("\r\n").skip(1).find_map(|line| {
        let (name, value) = line.split_once(':')?;
        let name = name.trim();
        (name.eq_ignore_ascii_case("Content-Length") || name.eq_ignore_ascii_case("l"))
            .then(|| value.trim().parse().ok())?
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    const MSG: &[u8] = b"OPTIONS sip:x SIP/2.0\r\nContent-Length: 5\r\n\r\nhello";

    #[test]
    fn two_messages_in_one_read_are_both_framed() {
        let mut f = StreamFramer::new();
        f.push(&[MSG, MSG].concat());
        assert_eq!(f.next_message().unwrap().unwrap(), MSG);
        assert_eq!(f.next_message().unwrap().unwrap(), MSG);
        assert_eq!(f.next_message().unwrap(), None);
    }

    #[test]
    fn message_split_across_reads_waits_for_its_body() {
        let mut f = StreamFramer::new();
        for chunk in MSG.chunks(7) {
            assert_eq!(f.next_message().unwrap(), None);
            f.push(chunk);
        }
        assert_eq!(f.next_message().unwrap().unwrap(), MSG);
    }

    #[test]
    fn keepalive_crlf_is_skipped() {
        let mut f = StreamFramer::new();
        f.push(b"\r\n\r\n");
        f.push(MSG);
        assert_eq!(f.next_message().unwrap().unwrap(), MSG);
    }

    #[test]
    fn missing_content_length_is_an_error_on_streams() {
        let mut f = StreamFramer::new();
        f.push(b"OPTIONS sip:x SIP/2.0\r\nVia: x\r\n\r\n");
        assert_eq!(f.next_message(), Err(FramingError::ContentLength));
    }

    #[test]
    fn endless_headers_are_refused() {
        let mut f = StreamFramer::new();
        f.push(&vec![b'a'; DEFAULT_MAX_MESSAGE + 1]);
        assert_eq!(
            f.next_message(),
            Err(FramingError::HeadersTooLong(DEFAULT_MAX_MESSAGE))
        );
    }

    #[test]
    fn a_declared_body_over_the_limit_is_refused_before_it_arrives() {
        let mut f = StreamFramer::with_limit(1000);
        f.push(b"INVITE sip:x SIP/2.0\r\nContent-Length: 262143\r\n\r\n");
        assert!(matches!(
            f.next_message(),
            Err(FramingError::MessageTooLong(_, 1000))
        ));
    }

    #[test]
    fn a_partial_message_is_reported_until_complete() {
        let mut f = StreamFramer::new();
        assert!(!f.has_partial());
        f.push(&MSG[..10]);
        assert_eq!(f.next_message().unwrap(), None);
        assert!(f.has_partial());
        f.push(&MSG[10..]);
        assert!(f.next_message().unwrap().is_some());
        assert!(!f.has_partial());
    }
}
