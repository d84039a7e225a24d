//! The RTP media session over real loopback sockets, seen from a test phone.
//!
//! - `sending`: prompt audio, pacing, silence, barge-in, PCMA;
//! - `digits`: RFC 4733, in-band, both at once;
//! - `peer`: symmetric RTP, re-INVITE changes, hold, inactivity, garbage, the audio tap.

mod bridge;
mod digits;
mod peer;
mod phone;
mod sending;
