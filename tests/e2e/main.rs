//! End-to-end tests: the real server on port 0 with its own database, a real
//! local receiver for callbacks, everything driven over HTTP. Each test runs
//! on SQLite and, when `TEST_POSTGRES_URL` is set, on PostgreSQL too.

pub mod support;

mod api;
mod backup;
mod batch;
mod callbacks;
mod crash;
mod fairness;
mod hostile;
mod keys;
mod listen;
mod observability;
mod outbound;
mod prefer_wait;
mod retention;
mod scale;
mod security;
mod signatures;
mod spec;
mod tools;
mod trace_context;
mod upgrade;
