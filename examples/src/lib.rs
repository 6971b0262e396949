//! Runnable examples of using Rift as a library: see the `[[example]]` targets of this package
//! (`embed`, `service`, `custom_bridge`, `bot`) and `tests/it/`, which runs each of them and
//! checks what it did.
//!
//! The library holds [`LineBridge`], the bridge the `custom_bridge` example runs: a complete
//! [`rift::bridge::Bridge`] that relays one channel to and from a line-based TCP socket.
//! `rift`'s own service tests of the bridge trait use it too, so there is one example of the trait.
//!
//! ```
//! use std::sync::Arc;
//!
//! use rift::bridge::BridgeHost;
//! use rift::{BridgeInput, Config, RegisterInput, Rift};
//! use rift_examples::LineBridge;
//! use tokio::io::AsyncBufReadExt;
//!
//! # #[tokio::main(flavor = "current_thread")]
//! # async fn main() -> Result<(), Box<dyn std::error::Error>> {
//! let dir = tempfile::tempdir()?;
//! let store = rift_store::connect(&format!("sqlite://{}", dir.path().join("rift.db").display())).await?;
//! let rift = Rift::new(Arc::new(store), Config::new(b"a long random secret for tokens".to_vec()));
//! let ada = rift.register(RegisterInput::new("ada", "correct horse battery")).await?.user;
//!
//! // A bridge runs for a stored connection; the host starts it and feeds it events.
//! let input = BridgeInput::new("lines", "none", "bot", "relay");
//! let connection = rift.create_bridge_connection(ada.id, input).await?;
//! let bridge = Arc::new(LineBridge::new(([127, 0, 0, 1], 0).into()));
//! let host = BridgeHost::start(&rift, bridge.clone(), connection.id).await?;
//!
//! let socket = tokio::net::TcpStream::connect(bridge.local_addr().unwrap()).await?;
//! let mut lines = tokio::io::BufReader::new(socket).lines();
//! assert_eq!(lines.next_line().await?.as_deref(), Some("connected to #general"));
//! host.stop().await?;
//! # Ok(())
//! # }
//! ```

pub mod line_bridge;

pub use line_bridge::LineBridge;
