//! Hotline: an IT-helpdesk phone line.
//!
//! Layers, lowest first (a lower layer never imports a higher one):
//! `sip` and `media` (protocols) → `call` (one task per call) → `ivr` (dialplans) →
//! `tickets` and `accounts` (domain) / `store` (the only SQL) → `transcribe` → `server` (wires everything from `config`).

pub mod accounts;
pub mod call;
pub mod config;
pub mod helpdesk;
pub mod ivr;
pub mod media;
pub mod oncall;
pub mod server;
pub mod sip;
pub mod store;
pub mod tickets;
pub mod transcribe;
pub mod web;
