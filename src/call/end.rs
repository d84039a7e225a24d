//! Why a call ended: logged for every call and stored on its ticket.

use std::fmt;

/// The cause of a call's end.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum EndCause {
    /// The caller sent BYE.
    CallerHangup,
    /// The caller cancelled before we answered.
    Cancelled,
    /// The dialplan finished and we hung up.
    Completed,
    /// No RTP from the caller for the configured time.
    RtpTimeout,
    /// Our 200 OK was never acknowledged.
    AckTimeout,
    /// The server is shutting down.
    Shutdown,
}

impl EndCause {
    /// The stable text form stored on tickets and written in logs.
    pub fn as_str(self) -> &'static str {
        match self {
            EndCause::CallerHangup => "caller_hangup",
            EndCause::Cancelled => "cancelled",
            EndCause::Completed => "completed",
            EndCause::RtpTimeout => "rtp_timeout",
            EndCause::AckTimeout => "ack_timeout",
            EndCause::Shutdown => "shutdown",
        }
    }

    /// Whether we must send a BYE to end the dialog (the caller did not end it).
    pub fn needs_bye(self) -> bool {
        matches!(
            self,
            EndCause::Completed | EndCause::RtpTimeout | EndCause::AckTimeout | EndCause::Shutdown
        )
    }
}

impl fmt::Display for EndCause {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}
