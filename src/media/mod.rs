//! Media: SDP offer/answer, RTP, G.711, DTMF, prompts, resampling.

#[cfg(test)]
mod alloc_count;
pub mod bridge;
pub mod chunker;
pub mod conversation;
pub mod dtmf;
pub mod g711;
pub mod port_pool;
pub mod prompt;
pub mod recording;
pub mod resample;
pub mod rtp_session;
pub mod sdp;
pub mod srtp;
