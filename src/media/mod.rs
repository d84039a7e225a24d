//! Media: SDP offer/answer, RTP, G.711, DTMF, prompts.

pub mod dtmf;
pub mod g711;
pub mod prompt;
pub mod sdp;
