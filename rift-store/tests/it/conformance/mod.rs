//! The contract tests: each an `async fn(&dyn Store)` body that `main.rs` runs on both backends.

pub(crate) mod channels;
pub(crate) mod dms;
pub(crate) mod messages;
pub(crate) mod misc;
pub(crate) mod roles;
pub(crate) mod search;
pub(crate) mod servers;
pub(crate) mod users;
