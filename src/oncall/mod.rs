//! Who is on call: teams, rotations, overrides, the escalation policy and presence.
//!
//! Everything here is a pure function of a [`Rota`] (loaded by `store`) and an instant: "who is
//! on call for category C at instant T, in which order" is [`Rota::on_call_for`], and the
//! routing layer rings them following [`Rota::escalation_for`]. Shifts are handed over at a
//! wall-clock time in the team's time zone, so a handover stays at 09:00 local across a
//! daylight-saving change.

mod presence;
mod rota;
mod timeline;

pub use presence::{Presence, PresenceChoice};
pub use rota::{
    default_escalation, local_instant, parse_time_zone, BusinessHours, Coverage, EscalationStep,
    Handover, OnCall, Override, Position, Rota, RotaError, Rotation, Team,
};
pub use timeline::Segment;
