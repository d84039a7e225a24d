//! When the in-band detector listens at all.

use serde::Deserialize;

/// When a call's audio goes through the in-band (Goertzel) detector. Detection costs CPU on
/// every packet of every call; a phone that sends RFC 4733 events does not need it, but phones
/// that put the tones in the audio exist (old analogue adapters, some gateways), so detection
/// cannot simply be off. Configured by `media.inband_dtmf`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum InbandPolicy {
    /// Listen for tones for the whole call, even after RFC 4733 events arrived (for gateways
    /// that send some keys one way and some the other).
    Always,
    /// Listen until the phone has negotiated telephone-event and sent one well-formed event:
    /// from then on its keys arrive as events, and the audio is not searched for tones.
    #[default]
    UntilRfc4733,
    /// Never look for tones in the audio: only RFC 4733 events are keys.
    Never,
}
