//! The storage suite, run against SQLite always and against PostgreSQL when
//! HOTLINE_TEST_POSTGRES_URL is set (`make test` sets it when the local server runs). One test
//! binary, one file per behaviour.

#[macro_use]
mod support;

mod busy;
mod call_queue;
mod callback_requests;
mod connect;
mod directory;
mod estimate;
mod json;
mod nodes;
mod oncall;
mod other_nodes;
mod phones;
mod queue;
mod references;
mod search;
mod tickets;
