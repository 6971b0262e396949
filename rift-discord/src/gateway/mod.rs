//! The Discord Gateway v10 client: payload types, typed dispatch events and the [`Shard`].
//!
//! The protocol logic is a pure state machine (a state enum and one `process(input) -> actions`
//! step, see `machine.rs`); [`Shard`] only does the IO around it: the WebSocket, the zlib-stream
//! inflater, the heartbeat and identify timers.

mod config;
mod event;
mod machine;
mod payload;
mod shard;

pub use config::{Config, ConfigBuilder, DEFAULT_GATEWAY_URL, GATEWAY_VERSION, TokenKind};
pub use event::{Dispatch, Event};
pub use machine::{ShardEvent, ShardState};
pub use payload::{
    Encoding, FATAL_CLOSE_CODES, GatewayPayload, Hello, Identify, IdentifyProperties, Opcode, Resume,
    describe_close, is_fatal_close,
};
pub use shard::{COMMANDS_PER_MINUTE, Shard};
