//! End-to-end tests of answering calls: the real server on ephemeral ports, driven by the test
//! UA over real UDP and TCP sockets. One binary, one module per behaviour group.

#[path = "../support/mod.rs"]
mod support;

mod answer;
mod call_back_claim;
mod features;
mod menu;
mod out_of_dialog;
mod queue_across_nodes;
mod reload;
mod routing;
mod teardown;
mod transfer;
mod voicemail;
