//! Discord Gateway v10 client for Rift: the wire formats (ETF and JSON, over zlib-stream) and a
//! gateway shard that identifies, heartbeats, resumes and reconnects on its own.
//!
//! - [`etf`]: the External Term Format codec, into and out of [`serde_json::Value`].
//! - [`Inflater`]: the zlib-stream transport, one inflate context per connection.
//! - [`gateway`]: payloads, typed dispatch events and the [`gateway::Shard`].
//! - [`model`]: the Discord objects the events carry.
#![warn(missing_docs)]

mod compression;
mod error;
pub mod etf;
pub mod gateway;
pub mod model;

pub use compression::Inflater;
pub use error::Error;
