//! # Rift core
//!
//! The domain of Rift, a self-hosted Discord-like chat platform: typed ids, models, the permission
//! engine, the storage contract, events and the in-process router, the service layer that holds every
//! domain rule, and the bridge trait. This crate does no I/O of its own: no SQL, no HTTP, no sockets.
//! Storage backends live in `rift-store`, the HTTP API and gateway in `rift-http`, and the Discord
//! bridge in `rift-discord`.
//!
//! Everything goes through [`service::Rift`]: give it a [`Store`] (from `rift-store`, or your
//! own) and call it as a user. It checks permissions, stores, and then publishes events on its
//! [`router::Router`], where gateway sessions and bridges ([`bridge::Bridge`]) subscribe.
//!
//! ```
//! use std::sync::Arc;
//!
//! use rift::event::{Event, Topic};
//! use rift::service::{Config, RegisterInput, Rift, SendMessage};
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

pub mod bridge;
pub mod clock;
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

pub use error::{Conflict, Error, ErrorCode, ErrorKind, Resource, Result, StoreError};
pub use fanout::{FanOut, NodeId};
pub use id::{
    AuditEntryId, BackfillRequestId, BridgeConnectionId, ChannelId, HistoryEntryId, ImportJobId, MessageId,
    RoleId, ServerId, SessionId, Timestamp, TokenFamilyId, UploadId, UserId,
};
pub use permissions::Permissions;
pub use secret::Secret;
pub use store::Store;
