//! # Rift core
//!
//! The domain of Rift, a self-hosted Discord-like chat platform: typed ids, models, the permission
//! engine, the storage contract, events and the in-process router, the service layer that holds every
//! domain rule, and the bridge trait. This crate does no I/O of its own: no SQL, no HTTP, no sockets.
//! Storage backends live in `rift-store`, the HTTP API and gateway in `rift-http`, and the Discord
//! bridge in `rift-discord`.

pub mod bridge;
pub mod error;
pub mod event;
pub mod fanout;
pub mod files;
pub mod id;
pub mod import;
pub mod model;
pub mod permissions;
pub mod ratelimit;
pub mod router;
pub mod search_text;
pub mod secret;
pub mod service;
pub mod store;

pub use error::{Error, ErrorKind, Resource, Result, StoreError};
pub use fanout::{FanOut, NodeId};
pub use id::{
    AuditEntryId, BackfillRequestId, BridgeConnectionId, ChannelId, HistoryEntryId, ImportJobId, MessageId,
    RoleId, ServerId, SessionId, Timestamp, TokenFamilyId, UploadId, UserId,
};
pub use permissions::Permissions;
pub use secret::Secret;
pub use store::Store;
