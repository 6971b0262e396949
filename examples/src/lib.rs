//! Runnable examples of using Rift as a library: see the `[[example]]` targets of this package
//! (`embed`, `service`, `custom_bridge`, `bot`) and `tests/it/`, which runs each of them.
//!
//! The library holds [`line_bridge::LineBridge`], the bridge the `custom_bridge` example runs: a
//! complete [`rift::bridge::Bridge`] that relays one channel to and from a line-based TCP socket.
//! `rift`'s own service tests use it too, so there is one example of the trait.

pub mod line_bridge;

pub use line_bridge::LineBridge;
