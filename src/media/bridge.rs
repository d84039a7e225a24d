//! Joining two calls' media: each leg hears the other.
//!
//! Each leg's receiver decodes what its phone sends (the audio tap) and the other leg's sender
//! plays it on its own 20 ms grid, encoded in its own codec. So PCMU↔PCMA transcoding is free
//! (G.711 decoding is a table lookup), the stream each phone receives keeps the pacing, SSRC
//! and sequence of the session it already knows (no jump when the bridge starts or a prompt
//! interrupts it), and prompts (music on hold, an announcement) simply take the line over the
//! live audio while they play. The cost is the sender's buffering: on average half a frame
//! (10 ms), at most one frame plus a cushion after an underrun (see `rtp_session::live`).
//! Keys are not relayed here: the call layer sees them as events and re-sends them as RFC 4733
//! on the other leg ([`MediaSession::send_digit`]), so a leg that negotiated no
//! telephone-event still gets them when the other phone sent them in-band.

use super::rtp_session::MediaSession;
use tokio::sync::mpsc;

/// Frames in flight from one leg to the other: 200 ms. The sender drains the queue every tick,
/// so it only fills when a sender is stalled, and then newer audio is worth more than older.
const QUEUE_FRAMES: usize = 10;

/// Each leg hears the other from now on.
pub fn join(a: &MediaSession, b: &MediaSession) {
    connect(a, b);
    connect(b, a);
}

/// Each leg hears silence (or its prompts) again.
pub fn separate(a: &MediaSession, b: &MediaSession) {
    for leg in [a, b] {
        leg.set_audio_tap(None);
        leg.set_live_source(None);
    }
}

/// `from`'s phone is heard on `to`.
fn connect(from: &MediaSession, to: &MediaSession) {
    let (tx, rx) = mpsc::channel(QUEUE_FRAMES);
    from.set_audio_tap(Some(tx));
    to.set_live_source(Some(rx));
}
