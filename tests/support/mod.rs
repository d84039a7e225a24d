//! Shared by the integration tests: the real server on ephemeral ports, and a test user agent.
#![allow(dead_code)]

pub mod audio;
pub mod digest;
pub mod disk;
pub mod events;
pub mod http;
pub mod nodes;
pub mod oncall;
pub mod phones;
pub mod postgres;
pub mod private_postgres;
pub mod server;
pub mod tickets;
pub mod tls;
pub mod ua;
