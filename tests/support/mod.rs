//! Support for the integration tests in `tests/`: they run against real parts, started by
//! `deploy/local/test.sh` (MariaDB with a ROW binlog, the tansu broker, the HubSpot simulator),
//! and each test says which part it needs by the helper it calls.
//!
//! Layout:
//! - [`stack`]: the running test stack, read from the `CDC_TEST_*` variables that test.sh
//!   exports; scratch databases so parallel tests never share tables; unique names.
//! - [`kafka`]: topic creation, consumers in a group, draining a topic.
//! - [`mariadb`]: a private, throw-away MariaDB server with the settings a test chooses, for
//!   preconditions the shared server must not have (binlog off, STATEMENT format, …).
//! - [`sim`]: a private HubSpot simulator per test, and `eventually`.
//! - [`pipeline`]: a test's own config file (source, topics, sinks) and processes.
//! - [`converge`]: the convergence check (source vs contacts vs crm rows).
//! - [`streamer`]: the real `cdc-streamer` binary as a child process (test.sh builds it).
//! - [`workload`]: writes to the source tables: fixed rows (`insert_users`), a seeded random
//!   workload of mixed transactions for the fault tests, and copying the tables elsewhere.
//!
//! Helpers panic with a message instead of returning errors: a failed set-up is a failed test,
//! and the message says what to fix.

pub mod converge;
pub mod kafka;
pub mod mariadb;
pub mod pipeline;
pub mod sim;
pub mod stack;
pub mod streamer;
pub mod workload;

pub use mariadb::PrivateMariaDb;
pub use stack::{unique, Schema, Stack};
