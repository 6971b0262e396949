//! The bridge trait: how another chat network is connected to Rift.
//!
//! A bridge implements [`Bridge`]. The [`BridgeHost`] starts it with a [`BridgeContext`], which
//! gives it the service layer's mirroring operations (acting for puppet users; idempotent, so a
//! replayed remote event changes nothing), mapping lookups by remote id, a place to keep cursors,
//! and the connection's status. The host also delivers to [`Bridge::on_event`] every Rift event in
//! the channels the bridge links, so it can relay them to the remote side.

use std::collections::HashSet;
use std::sync::{Arc, Mutex};

use async_trait::async_trait;
use tokio::task::JoinHandle;
use uuid::Uuid;

use crate::error::{Error, Resource, Result};
use crate::event::{Envelope, Topic};
use crate::id::{ChannelId, UserId};
use crate::model::{BridgeConnection, BridgeRef, BridgeStatus};
use crate::router::{RecvError, Subscription, Topics};
use crate::service::Rift;
use crate::store::BridgedKind;

/// A connection from Rift to another network.
#[async_trait]
pub trait Bridge: Send + Sync + 'static {
    /// The bridge's name, stored as `bridge_source` on what it mirrors (e.g. `"discord"`).
    fn name(&self) -> &'static str;

    /// Connects and starts mirroring. Long-running work goes into tasks the bridge owns; this
    /// returns once the bridge is running.
    async fn start(&self, ctx: BridgeContext) -> Result<()>;

    /// A Rift event in a linked channel (see [`BridgeContext::link_channel`]). Events the bridge
    /// caused itself (mirrored messages carry a [`BridgeRef`]) arrive too: skip them to avoid echoes.
    async fn on_event(&self, ctx: &BridgeContext, event: &Envelope) -> Result<()>;

    /// Disconnects and stops every task.
    async fn stop(&self) -> Result<()>;
}

/// What a running bridge is given.
#[derive(Clone)]
pub struct BridgeContext {
    rift: Rift,
    connection: BridgeConnection,
    source: &'static str,
    links: Arc<Mutex<HashSet<ChannelId>>>,
    topics: Topics,
}

impl std::fmt::Debug for BridgeContext {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("BridgeContext").field("connection", &self.connection.id).finish_non_exhaustive()
    }
}

impl BridgeContext {
    /// The service layer; use its `mirror_*` operations to write remote objects into Rift.
    pub fn rift(&self) -> &Rift {
        &self.rift
    }

    /// The connection this bridge runs for.
    pub fn connection(&self) -> &BridgeConnection {
        &self.connection
    }

    /// The Rift user the bridge acts for (the owner of everything it mirrors).
    pub fn owner(&self) -> UserId {
        self.connection.owner_id
    }

    /// A reference to `remote_id` on this bridge's network.
    pub fn remote(&self, remote_id: impl Into<String>) -> BridgeRef {
        BridgeRef::new(self.source, remote_id)
    }

    /// The Rift id of a mirrored object.
    pub async fn find(&self, kind: BridgedKind, remote_id: &str) -> Result<Option<Uuid>> {
        Ok(self.rift.store().find_bridged(kind, &self.remote(remote_id)).await?)
    }

    /// A stored cursor (e.g. how far a channel's backfill got).
    pub async fn cursor(&self, key: &str) -> Result<Option<String>> {
        Ok(self.rift.store().bridge_cursor(self.connection.id, key).await?)
    }

    /// Stores a cursor; it survives restarts.
    pub async fn set_cursor(&self, key: &str, value: &str) -> Result<()> {
        Ok(self.rift.store().set_bridge_cursor(self.connection.id, key, value).await?)
    }

    /// Records what the bridge is doing (shown in the management API).
    pub async fn set_status(
        &self,
        status: BridgeStatus,
        reason: Option<&str>,
        remote_user_id: Option<&str>,
    ) -> Result<()> {
        self.rift.store().set_bridge_status(self.connection.id, status, reason, remote_user_id).await?;
        Ok(())
    }

    /// Starts delivering Rift events of `channel_id` to [`Bridge::on_event`].
    pub fn link_channel(&self, channel_id: ChannelId) {
        self.links.lock().unwrap_or_else(|p| p.into_inner()).insert(channel_id);
        self.topics.add(Topic::Channel(channel_id));
    }

    /// Stops delivering a channel's events.
    pub fn unlink_channel(&self, channel_id: ChannelId) {
        self.links.lock().unwrap_or_else(|p| p.into_inner()).remove(&channel_id);
        self.topics.remove(Topic::Channel(channel_id));
    }

    /// Whether a channel is linked.
    pub fn is_linked(&self, channel_id: ChannelId) -> bool {
        self.links.lock().unwrap_or_else(|p| p.into_inner()).contains(&channel_id)
    }
}

/// Runs one bridge for one connection: starts it, feeds it events, stops it.
pub struct BridgeHost {
    bridge: Arc<dyn Bridge>,
    ctx: BridgeContext,
    pump: JoinHandle<()>,
}

impl std::fmt::Debug for BridgeHost {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("BridgeHost").field("bridge", &self.bridge.name()).finish_non_exhaustive()
    }
}

/// Queue of Rift events waiting for a bridge; a bridge that falls this far behind is stopped.
const BRIDGE_QUEUE: usize = 4096;

impl BridgeHost {
    /// Starts `bridge` for the stored connection `connection_id`.
    ///
    /// # Errors
    /// 404 `unknown_bridge` for an unknown connection; whatever [`Bridge::start`] fails with.
    pub async fn start(
        rift: &Rift,
        bridge: Arc<dyn Bridge>,
        connection_id: crate::id::BridgeConnectionId,
    ) -> Result<Self> {
        let connection =
            rift.store().bridge_connection(connection_id).await?.ok_or(Error::NotFound(Resource::Bridge))?;
        let subscription = rift.router().subscribe(BRIDGE_QUEUE);
        let ctx = BridgeContext {
            rift: rift.clone(),
            connection,
            source: bridge.name(),
            links: Arc::default(),
            topics: subscription.topics().clone(),
        };
        // Channels linked during start are already subscribed: their events wait in the queue.
        bridge.start(ctx.clone()).await?;
        let pump = tokio::spawn(pump_events(Arc::clone(&bridge), ctx.clone(), subscription));
        Ok(Self { bridge, ctx, pump })
    }

    /// The context the bridge runs with.
    pub fn context(&self) -> &BridgeContext {
        &self.ctx
    }

    /// Stops the bridge and its event feed.
    pub async fn stop(self) -> Result<()> {
        self.pump.abort();
        let result = self.bridge.stop().await;
        self.ctx.set_status(BridgeStatus::Stopped, Some("stopped"), None).await?;
        result
    }
}

/// Feeds a bridge the events of its linked channels, in order, until it falls behind.
async fn pump_events(bridge: Arc<dyn Bridge>, ctx: BridgeContext, mut subscription: Subscription) {
    loop {
        match subscription.recv().await {
            Ok(delivery) => {
                if let Err(error) = bridge.on_event(&ctx, &delivery).await {
                    tracing::warn!(bridge = bridge.name(), %error, "bridge failed to relay an event");
                }
            }
            Err(RecvError::Lagged) => {
                tracing::error!(bridge = bridge.name(), "bridge fell behind Rift's events; stopping it");
                let _ = ctx.set_status(BridgeStatus::Stopped, Some("lagged behind events"), None).await;
                return;
            }
        }
    }
}
