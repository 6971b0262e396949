//! # Rift core
//!
//! The domain of Rift, a self-hosted Discord-like chat platform: typed ids, models, the permission
//! engine, the storage contract, events and the in-process router, the service layer that holds every
//! domain rule, and the bridge trait. This crate does no I/O of its own: no SQL, no HTTP, no sockets.
//! Storage backends live in `rift-store`, the HTTP API and gateway in `rift-http`, and the Discord
//! bridge in `rift-discord`.
//!
//! Everything goes through [`Rift`]: give it a [`Store`] (from `rift-store`, or your
//! own) and call it as a user. It checks permissions, stores, and then publishes events on its
//! [`Router`], where gateway sessions and bridges ([`Bridge`]) subscribe.
//!
//! ## What is where
//!
//! - At the root: the service ([`Rift`], [`RiftBuilder`], [`Config`]) with its inputs and outputs
//!   ([`RegisterInput`], [`SendMessage`], [`SearchParams`], [`ReadyState`], …), the typed ids
//!   ([`UserId`], [`ChannelId`], …), errors ([`Error`], [`ErrorCode`], [`ErrorKind`],
//!   [`StoreError`], [`Conflict`]), events ([`Event`], [`Topic`], [`Envelope`]) and the handles
//!   that receive them ([`Router`], [`Subscription`]), [`Permissions`], [`Secret`], and the traits
//!   you implement ([`Store`], [`Bridge`], [`FanOut`]).
//! - [`model`]: the domain objects, whose serde form is the wire form.
//! - [`store`]: the storage contract and its input and outcome types, for backend implementers.
//! - [`bridge`], [`fanout`], [`import`]: what a bridge, a multi-node fan-out or an importer
//!   implements, and what runs them.
//! - [`event`], [`router`], [`id`], [`clock`], [`files`]: the rest of their namespaces.
//!
//! ```
//! use std::sync::Arc;
//!
//! use rift::{Config, Event, RegisterInput, Rift, SendMessage, Topic};
//!
//! # #[tokio::main(flavor = "current_thread")]
//! # async fn main() -> Result<(), Box<dyn std::error::Error>> {
//! let dir = tempfile::tempdir()?;
//! let store = rift_store::connect(&format!("sqlite://{}", dir.path().join("rift.db").display())).await?;
//! let rift = Rift::new(Arc::new(store), Config::new(b"a long random secret for tokens".to_vec()));
//!
//! let ada = rift.register(RegisterInput::new("ada", "correct horse battery")).await?.user;
//! let server = rift.create_server(ada.id, "Engines").await?;
//! let general = rift.channels(ada.id, server.id).await?.remove(0);
//!
//! let mut events = rift.router().subscribe(16);
//! events.add(Topic::Channel(general.id));
//! rift.send_message(ada.id, general.id, SendMessage::text("hello")).await?;
//! match &events.recv().await?.event {
//!     Event::MessageCreate(message) => assert_eq!(message.content, "hello"),
//!     other => panic!("unexpected event {other:?}"),
//! }
//! # Ok(())
//! # }
//! ```
//!
//! The `rift-examples` package of the repository has complete programs: `embed`, `service`,
//! `custom_bridge` and `bot`.

// Namespaces a reader benefits from: the models, ids, events and their router, the storage
// contract (what a backend implements), bridges, fan-outs, importers, files and the clock.
pub mod bridge;
pub mod clock;
pub mod event;
pub mod fanout;
pub mod files;
pub mod id;
pub mod import;
pub mod model;
pub mod router;
pub mod store;

// Implementation modules: what callers need is re-exported below, the rest stays inside.
mod error;
mod permissions;
mod ratelimit;
mod search_text;
mod secret;
mod service;

pub use bridge::Bridge;
pub use error::{Conflict, Error, ErrorCode, ErrorKind, Resource, Result, StoreError};
pub use event::{Envelope, Event, Topic};
pub use fanout::{FanOut, NodeId};
pub use id::{
    AuditEntryId, BackfillRequestId, BridgeConnectionId, ChannelId, HistoryEntryId, ImportJobId, MessageId,
    ParseIdError, RoleId, ServerId, SessionId, Timestamp, TokenFamilyId, UploadId, UserId,
};
pub use model::Permissions;
pub use permissions::{MemberContext, Rank};
pub use ratelimit::{RateLimiter, retry_after_secs};
pub use router::{Router, Subscription};
pub use search_text::MatchRange;
pub use secret::Secret;
pub use service::{
    AccessCacheStats, AuthSession, BackfillProgress, BridgeInput, BridgeView, BridgedServer, ChannelInput,
    ChannelUpdate, Config, Created, HashingStats, HistorySettingsUpdate, InviteInput, MAX_BACKFILL_CHANNELS,
    MAX_PINS, MAX_RETENTION_DAYS, MENTION_SCAN, MessageQuery, NewUpload, OverwriteInput, ProfileUpdate,
    ReadyChannel, ReadyServer, ReadyState, RegisterInput, RemoteChannel, RemoteMember, RemoteMessage,
    RemoteRole, RemoteUser, Rift, RiftBuilder, RoleInput, RoleUpdate, SearchHit, SearchParams, SendMessage,
    Sent, ServerUpdate, TokenPair,
};
pub use store::Store;
