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
//!
//! ```no_run
//! use rift_load::scenarios::{self, LatencyOptions, Via};
//! use rift_load::target::Target;
//!
//! # async fn demo() -> rift_load::Result<()> {
//! // A server already running on loopback (no pid: no memory figures).
//! let target = Target::new("http://127.0.0.1:3200", None, None)?;
//! let options = LatencyOptions { rate: 50.0, messages: 200, warmup: 10, via: Via::Rest };
//! let report = scenarios::latency(&target, &options).await?;
//! println!("{report}");
//! # Ok(())
//! # }
//! ```

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
