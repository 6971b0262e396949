//! # rift-load
//!
//! Rift's load generator. Each scenario of [`scenarios`] drives a running Rift over loopback —
//! REST through `reqwest`, the gateway through `tokio-tungstenite` — and returns a report that
//! prints as a table ([`std::fmt::Display`]) or serialises to JSON. The `rift-load` binary wraps them
//! in a command line and can start its own `rift-server` ([`target::SpawnedServer`]) so that it
//! knows the server's pid and can read its resident memory from `/proc`.
//!
//! Only loopback addresses are accepted ([`target::ensure_loopback`]), and every scenario is
//! bounded in count and in time.

pub mod client;
pub mod scenarios;
pub mod stats;
pub mod svg;
pub mod target;

/// Why a run failed.
#[derive(Debug, thiserror::Error)]
pub enum LoadError {
    /// The target is not a loopback address, or a setting is out of range.
    #[error("{0}")]
    Config(String),
    /// A request answered with an unexpected status.
    #[error("{method} {path} answered {status}: {body}")]
    Http {
        /// The method.
        method: String,
        /// The path.
        path: String,
        /// The status code.
        status: u16,
        /// The answer's body.
        body: String,
    },
    /// A connection, socket or protocol failure.
    #[error("{0}")]
    Io(String),
    /// The run exceeded its time bound.
    #[error("timed out: {0}")]
    Timeout(String),
}

impl From<reqwest::Error> for LoadError {
    fn from(error: reqwest::Error) -> Self {
        Self::Io(format!("http: {error}"))
    }
}

impl From<tokio_tungstenite::tungstenite::Error> for LoadError {
    fn from(error: tokio_tungstenite::tungstenite::Error) -> Self {
        Self::Io(format!("websocket: {error}"))
    }
}

/// Results of this crate.
pub type Result<T, E = LoadError> = std::result::Result<T, E>;
