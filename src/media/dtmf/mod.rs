//! DTMF: RFC 4733 telephone-events and in-band tones (Goertzel), both sans-IO.
//!
//! A caller's key press reaches us either as RTP telephone-event packets or as the dual tone in
//! the audio itself (older phones, some gateways). Both detectors take packets or samples and
//! return digits; [`DigitMerger`] makes a press sent both ways count once.

mod digit;
mod inband;
mod merge;
mod policy;
mod telephone_event;
mod tone;

pub use digit::{Digit, InvalidDigit};
pub use inband::InbandDetector;
pub use merge::DigitMerger;
pub use policy::InbandPolicy;
pub use telephone_event::{encode_telephone_event, TelephoneEventError, TelephoneEventReceiver};
pub use tone::synthesize_tone;
