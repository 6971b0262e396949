//! The bridge trait: how another chat network is connected to Rift.
//!
//! A bridge implements [`Bridge`]. The [`BridgeHost`] starts it with a [`BridgeContext`], which
//! gives it the service layer's mirroring operations (acting for puppet users; idempotent, so a
//! replayed remote event changes nothing), mapping lookups by remote id, a place to keep cursors,
//! and the connection's status. The host also delivers to [`Bridge::on_event`] every Rift event in
//! the channels the bridge links, so it can relay them to the remote side.

use std::collections::{HashMap, HashSet};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use async_trait::async_trait;
use tokio::sync::Notify;
use tokio::task::{JoinHandle, JoinSet};
use uuid::Uuid;

use crate::error::{Error, ErrorCode, Resource, Result};
use crate::event::{Envelope, Topic};
use crate::id::{BridgeConnectionId, ChannelId, UserId};
use crate::model::{BackfillRequest, BridgeConnection, BridgeRef, BridgeStatus};
use crate::router::{RecvError, Subscription, Topics};
use crate::service::{
    BackfillProgress, BridgeInput, BridgeView, BridgedServer, GUILDS_KEY, PROGRESS_KEY, Rift,
};
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

    /// Reads history again: of `channels` (Rift ids of mirrored channels), or of every channel,
    /// and returns once that reading is over (an error when the bridge stops first). The
    /// [`BridgeManager`] calls it for each recorded backfill request and marks the request `done`
    /// or `failed` by the answer. The default does nothing (a bridge without history).
    async fn backfill(&self, ctx: &BridgeContext, channels: Option<Vec<ChannelId>>) -> Result<()> {
        let _ = (ctx, channels);
        Ok(())
    }

    /// Disconnects and stops every task. The connection's stored status stays as it is, so a
    /// shutdown is not mistaken for a stop: the connection comes back after a restart.
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
        self.rift.find_mirrored(kind, &self.remote(remote_id)).await
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

    /// Records backfill progress (shown in the management API).
    pub async fn set_progress(&self, progress: &BackfillProgress) -> Result<()> {
        self.set_json(PROGRESS_KEY, progress).await
    }

    /// The backfill progress recorded so far.
    pub async fn progress(&self) -> Result<BackfillProgress> {
        let value = self.cursor(PROGRESS_KEY).await?;
        Ok(value.and_then(|v| serde_json::from_str(&v).ok()).unwrap_or_default())
    }

    /// Records the remote servers this connection mirrors (shown in the management API).
    pub async fn set_servers(&self, servers: &[BridgedServer]) -> Result<()> {
        self.set_json(GUILDS_KEY, servers).await
    }

    async fn set_json<T: serde::Serialize + ?Sized>(&self, key: &str, value: &T) -> Result<()> {
        let json = serde_json::to_string(value).map_err(|e| Error::Internal(e.to_string()))?;
        self.set_cursor(key, &json).await
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

    /// The bridge.
    pub fn bridge(&self) -> &Arc<dyn Bridge> {
        &self.bridge
    }

    /// Whether the event feed ended because the bridge fell behind (it should be restarted).
    pub fn is_finished(&self) -> bool {
        self.pump.is_finished()
    }

    /// Stops the bridge and its event feed. The stored status is left alone: a stop is not a
    /// verdict on the connection (SPEC: `stopped` is never transient).
    pub async fn stop(self) -> Result<()> {
        self.pump.abort();
        self.bridge.stop().await
    }
}

/// Feeds a bridge the events of its linked channels, in order, until it falls behind (then the
/// host is restarted by its [`BridgeManager`], which catches up from the remote side).
async fn pump_events(bridge: Arc<dyn Bridge>, ctx: BridgeContext, mut subscription: Subscription) {
    loop {
        match subscription.recv().await {
            Ok(delivery) => {
                if let Err(error) = bridge.on_event(&ctx, &delivery).await {
                    tracing::warn!(bridge = bridge.name(), %error, "bridge failed to relay an event");
                }
            }
            Err(RecvError::Lagged) => {
                tracing::warn!(bridge = bridge.name(), "bridge fell behind Rift's events; restarting it");
                return;
            }
        }
    }
}

/// Makes the bridge for a stored connection (one factory per `source`).
pub type BridgeFactory = Arc<dyn Fn(&BridgeConnection) -> Arc<dyn Bridge> + Send + Sync>;

/// How long a lease on running a connection lasts, how often its holder renews it, and how often
/// a manager looks for connections nobody live runs (see [`BridgeManager::with_lease_timings`]).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct LeaseTimings {
    /// How long a lease lasts unless renewed: a node that dies is replaced after about this long.
    pub ttl: Duration,
    /// How often the holder renews it (well under `ttl`).
    pub renew_every: Duration,
    /// How often a manager tries to take over runnable connections nobody holds.
    pub takeover_every: Duration,
}

impl Default for LeaseTimings {
    fn default() -> Self {
        Self {
            ttl: Duration::from_secs(30),
            renew_every: Duration::from_secs(10),
            takeover_every: Duration::from_secs(10),
        }
    }
}

/// Runs every stored bridge connection: starts them at boot, starts one when it is created or
/// resumed, stops it when it is paused or deleted, restarts one whose event feed fell behind.
/// Cheap to clone.
///
/// Several processes may share one PostgreSQL database, each with its manager: a connection runs
/// only in the process holding its lease (see [`Store::acquire_bridge_lease`](crate::Store)).
/// A manager takes the lease before starting a host, renews it every
/// [`LeaseTimings::renew_every`], stops the host when a renewal is refused (another process took
/// over after this one stalled past the ttl), and releases it on stop, pause, delete and
/// shutdown. After [`start_all`](Self::start_all) it also tries every
/// [`LeaseTimings::takeover_every`] to start the runnable connections nobody live holds, so when a
/// process dies another takes its connections over within about the ttl.
///
/// Backfills are asked for through the database ([`Rift::request_bridge_backfill`], from any
/// process): the lease holder takes the connection's open requests when its host starts, every
/// [`with_backfill_poll`](Self::with_backfill_poll) interval, and at once when the request was
/// made through this manager ([`backfill`](Self::backfill)). It runs each with
/// [`Bridge::backfill`] and records `done` or `failed`; requests it was running when its host
/// stopped go back to `pending` for the next host, and a dead holder's are taken again.
#[derive(Clone)]
pub struct BridgeManager {
    rift: Rift,
    factories: Arc<HashMap<String, BridgeFactory>>,
    running: Arc<tokio::sync::Mutex<HashMap<BridgeConnectionId, Running>>>,
    holder: Uuid,
    timings: LeaseTimings,
    backfill_poll: Duration,
    takeover: Arc<Mutex<Option<JoinHandle<()>>>>,
    closed: Arc<AtomicBool>,
}

struct Running {
    stop: tokio::sync::oneshot::Sender<()>,
    /// Tells the supervisor to look for backfill requests now.
    wake: Arc<Notify>,
    task: JoinHandle<()>,
    host: Arc<Mutex<Option<BridgeContext>>>,
}

impl std::fmt::Debug for BridgeManager {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let sources: Vec<&String> = self.factories.keys().collect();
        f.debug_struct("BridgeManager").field("sources", &sources).finish_non_exhaustive()
    }
}

impl BridgeManager {
    /// A manager with no bridge kinds: creating a connection answers 400 `unknown_bridge_kind`.
    /// Its lease holder id is random: one per manager (per process).
    pub fn new(rift: Rift) -> Self {
        Self {
            rift,
            factories: Arc::default(),
            running: Arc::default(),
            holder: Uuid::from_bytes(rand::random()),
            timings: LeaseTimings::default(),
            backfill_poll: DEFAULT_BACKFILL_POLL,
            takeover: Arc::default(),
            closed: Arc::default(),
        }
    }

    /// Sets how long leases last and how often they are renewed and taken over (short in tests).
    #[must_use]
    pub fn with_lease_timings(mut self, timings: LeaseTimings) -> Self {
        self.timings = timings;
        self
    }

    /// Sets how often a running connection looks for backfill requests made by other processes
    /// (default 2 s; requests made through this manager are taken at once).
    #[must_use]
    pub fn with_backfill_poll(mut self, every: Duration) -> Self {
        self.backfill_poll = every;
        self
    }

    /// The id this manager holds leases under.
    pub fn holder(&self) -> Uuid {
        self.holder
    }

    /// Whether a host for `id` runs in this manager now (its lease held, its bridge started).
    pub async fn is_running(&self, id: BridgeConnectionId) -> bool {
        let running = self.running.lock().await;
        running.get(&id).is_some_and(|entry| {
            !entry.task.is_finished() && entry.host.lock().unwrap_or_else(|p| p.into_inner()).is_some()
        })
    }

    /// Adds a bridge kind: connections whose `source` is `source` run bridges made by `factory`.
    #[must_use]
    pub fn with_factory(mut self, source: impl Into<String>, factory: BridgeFactory) -> Self {
        Arc::make_mut(&mut self.factories).insert(source.into(), factory);
        self
    }

    /// Whether connections to `source` can run here.
    pub fn supports(&self, source: &str) -> bool {
        self.factories.contains_key(source)
    }

    /// The service layer it runs bridges with.
    pub fn rift(&self) -> &Rift {
        &self.rift
    }

    /// Starts every stored connection that is neither paused nor stopped (and not run by another
    /// process), then keeps looking for such connections every [`LeaseTimings::takeover_every`].
    pub async fn start_all(&self) -> Result<()> {
        self.take_over().await?;
        let mut slot = self.takeover.lock().unwrap_or_else(|p| p.into_inner());
        if slot.is_none() && !self.closed.load(Ordering::SeqCst) {
            let manager = self.clone();
            *slot = Some(tokio::spawn(async move {
                let mut tick = tokio::time::interval(manager.timings.takeover_every);
                tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
                tick.tick().await;
                loop {
                    tick.tick().await;
                    if let Err(error) = manager.take_over().await {
                        tracing::warn!(%error, "cannot look for bridge connections to take over");
                    }
                }
            }));
        }
        Ok(())
    }

    /// Starts the runnable connections that do not run here (each starts only if its lease is free).
    async fn take_over(&self) -> Result<()> {
        for connection in self.rift.runnable_bridge_connections().await? {
            self.start(connection.id, &connection.source).await;
        }
        Ok(())
    }

    /// Creates a connection for `owner` and starts it.
    ///
    /// # Errors
    /// 400 `unknown_bridge_kind` when no factory serves `input.source`; the validation of
    /// [`Rift::create_bridge_connection`].
    pub async fn create(&self, owner: UserId, input: BridgeInput) -> Result<BridgeView> {
        if !self.supports(&input.source) {
            return Err(Error::invalid(
                ErrorCode::UnknownBridgeKind,
                "this server does not run that kind of bridge",
            ));
        }
        let source = input.source.clone();
        let view = self.rift.create_bridge_connection(owner, input).await?;
        self.start(view.id, &source).await;
        self.rift.bridge_connection(owner, view.id).await
    }

    /// Creates or updates `owner`'s connection from configuration (the environment's front door)
    /// and makes sure it runs.
    pub async fn ensure(&self, owner: UserId, input: BridgeInput) -> Result<BridgeConnectionId> {
        let source = input.source.clone();
        let id = self.rift.upsert_bridge_connection(owner, input).await?;
        let running = self.running.lock().await.get(&id).is_some_and(|entry| !entry.task.is_finished());
        if !running {
            self.start(id, &source).await;
        }
        Ok(id)
    }

    /// Pauses one of `owner`'s connections and stops it.
    pub async fn pause(&self, owner: UserId, id: BridgeConnectionId) -> Result<BridgeView> {
        let view = self.rift.set_bridge_paused(owner, id, true).await?;
        self.stop(id).await;
        Ok(view)
    }

    /// Resumes one of `owner`'s connections (paused, or stopped for a reason that may have gone
    /// away) and starts it afresh.
    pub async fn resume(&self, owner: UserId, id: BridgeConnectionId) -> Result<BridgeView> {
        self.rift.bridge_connection(owner, id).await?;
        // A stopped connection's host may still be registered: start from scratch.
        self.stop(id).await;
        self.rift.set_bridge_paused(owner, id, false).await?;
        let source = self.rift.store().bridge_connection(id).await?.map(|c| c.source).unwrap_or_default();
        self.start(id, &source).await;
        self.rift.bridge_connection(owner, id).await
    }

    /// Stops and deletes one of `owner`'s connections (its mirrored data stays).
    pub async fn delete(&self, owner: UserId, id: BridgeConnectionId) -> Result<()> {
        self.rift.bridge_connection(owner, id).await?;
        self.stop(id).await;
        self.rift.delete_bridge_connection(owner, id).await
    }

    /// Asks one of `owner`'s connections to read history again: records the request
    /// ([`Rift::request_bridge_backfill`], the same path as from any other process) and, when the
    /// connection runs here, has it taken at once; otherwise the process holding its lease takes
    /// it at its next poll.
    ///
    /// # Errors
    /// As [`Rift::request_bridge_backfill`].
    pub async fn backfill(
        &self,
        owner: UserId,
        id: BridgeConnectionId,
        channels: Option<Vec<ChannelId>>,
    ) -> Result<BackfillRequest> {
        let request = self.rift.request_bridge_backfill(owner, id, channels).await?;
        if let Some(entry) = self.running.lock().await.get(&id) {
            entry.wake.notify_one();
        }
        Ok(request)
    }

    /// Stops every running connection without changing its stored status (a shutdown), and
    /// releases their leases so another process may take them over at once.
    pub async fn shutdown(&self) {
        self.closed.store(true, Ordering::SeqCst);
        let takeover = self.takeover.lock().unwrap_or_else(|p| p.into_inner()).take();
        if let Some(takeover) = takeover {
            takeover.abort();
            let _ = takeover.await;
        }
        let ids: Vec<BridgeConnectionId> = self.running.lock().await.keys().copied().collect();
        for id in ids {
            self.stop(id).await;
        }
    }

    async fn start(&self, id: BridgeConnectionId, source: &str) {
        let Some(factory) = self.factories.get(source).cloned() else {
            tracing::warn!(connection = %id, source, "no bridge of this kind runs here");
            return;
        };
        let mut running = self.running.lock().await;
        if self.closed.load(Ordering::SeqCst) {
            return;
        }
        // An entry whose task ended (its lease was elsewhere, or lost) is replaced.
        if running.get(&id).is_some_and(|entry| !entry.task.is_finished()) {
            return;
        }
        let (stop, stopped) = tokio::sync::oneshot::channel();
        let wake = Arc::new(Notify::new());
        let host_ctx = Arc::new(Mutex::new(None));
        let task = tokio::spawn(supervise(
            Lease { rift: self.rift.clone(), id, holder: self.holder, timings: self.timings },
            factory,
            Signals { stop: stopped, wake: Arc::clone(&wake), backfill_poll: self.backfill_poll },
            Arc::clone(&host_ctx),
        ));
        running.insert(id, Running { stop, wake, task, host: host_ctx });
    }

    async fn stop(&self, id: BridgeConnectionId) {
        let entry = self.running.lock().await.remove(&id);
        if let Some(entry) = entry {
            let _ = entry.stop.send(());
            let _ = entry.task.await;
        }
    }
}

/// How often a running connection looks for backfill requests made elsewhere, by default.
const DEFAULT_BACKFILL_POLL: Duration = Duration::from_secs(2);

/// What a supervisor is told: stop, or look for backfill requests now / every `backfill_poll`.
struct Signals {
    stop: tokio::sync::oneshot::Receiver<()>,
    wake: Arc<Notify>,
    backfill_poll: Duration,
}

/// Backfill requests a host runs, each in its own task.
struct Backfills {
    tasks: JoinSet<()>,
}

impl Backfills {
    /// Takes the connection's open requests and starts each with [`Bridge::backfill`].
    async fn take(&mut self, lease: &Lease, ctx: &BridgeContext, bridge: &Arc<dyn Bridge>) {
        let now = chrono::Utc::now();
        let requests = match lease.rift.store().take_backfill_requests(lease.id, lease.holder, now).await {
            Ok(requests) => requests,
            Err(error) => {
                tracing::warn!(connection = %lease.id, %error, "cannot read backfill requests; retrying");
                return;
            }
        };
        for request in requests {
            let (rift, holder, ctx, bridge) =
                (lease.rift.clone(), lease.holder, ctx.clone(), Arc::clone(bridge));
            self.tasks.spawn(async move {
                tracing::info!(connection = %ctx.connection().id, request = %request.id, "backfill request started");
                let outcome = bridge.backfill(&ctx, request.channel_ids.clone()).await;
                let error = outcome.err().map(|e| e.to_string());
                let now = chrono::Utc::now();
                match rift.store().finish_backfill_request(request.id, holder, error.as_deref(), now).await {
                    Ok(_) => tracing::info!(request = %request.id, failed = error.is_some(), "backfill request finished"),
                    Err(e) => tracing::warn!(request = %request.id, error = %e, "cannot record a backfill's end"),
                }
            });
        }
    }

    /// Abandons the running requests (their host stops) and puts them back to `pending`, for
    /// the next host here or elsewhere.
    async fn abandon(&mut self, lease: &Lease) {
        self.tasks.abort_all();
        while self.tasks.join_next().await.is_some() {}
        if let Err(error) = lease.rift.store().release_backfill_requests(lease.id, lease.holder).await {
            tracing::warn!(connection = %lease.id, %error, "cannot hand back backfill requests; they are taken again");
        }
    }
}

/// One connection's lease, as held by one manager.
struct Lease {
    rift: Rift,
    id: BridgeConnectionId,
    holder: Uuid,
    timings: LeaseTimings,
}

impl Lease {
    /// Takes or renews the lease; `Err` when the store could not say.
    async fn acquire(&self) -> Result<bool> {
        let now = chrono::Utc::now();
        Ok(self.rift.store().acquire_bridge_lease(self.id, self.holder, now, self.timings.ttl).await?)
    }

    async fn release(&self) {
        if let Err(error) = self.rift.store().release_bridge_lease(self.id, self.holder).await {
            tracing::warn!(connection = %self.id, %error, "cannot release the bridge lease; it expires");
        }
    }
}

/// What a renewal found.
enum Renewal {
    /// Still ours: keep running.
    Held,
    /// Lost (taken over, or the connection was deleted), or the connection was paused: stop.
    Gone,
}

/// Renews the lease and checks the connection is still meant to run. A store error keeps the host
/// running until the lease would have expired (`held_until`), since nobody else can take it sooner.
async fn renew(lease: &Lease, held_until: &mut tokio::time::Instant) -> Renewal {
    let asked = tokio::time::Instant::now();
    match lease.rift.store().bridge_connection(lease.id).await {
        Ok(None) => return Renewal::Gone,
        Ok(Some(c)) if c.status == BridgeStatus::Paused => return Renewal::Gone,
        _ => {}
    }
    match lease.acquire().await {
        Ok(true) => {
            *held_until = asked + lease.timings.ttl;
            Renewal::Held
        }
        Ok(false) => {
            tracing::warn!(connection = %lease.id, "bridge lease was taken over elsewhere; stopping here");
            Renewal::Gone
        }
        Err(error) if tokio::time::Instant::now() < *held_until => {
            tracing::warn!(connection = %lease.id, %error, "cannot renew the bridge lease; retrying");
            Renewal::Held
        }
        Err(error) => {
            tracing::warn!(connection = %lease.id, %error, "bridge lease expired unrenewed; stopping here");
            Renewal::Gone
        }
    }
}

/// Runs one connection's host while this manager holds its lease, until told to stop, restarting
/// it when its event feed falls behind. Ends without starting anything when another process holds
/// the lease, and stops the host when a renewal fails.
async fn supervise(
    lease: Lease,
    factory: BridgeFactory,
    signals: Signals,
    ctx_slot: Arc<Mutex<Option<BridgeContext>>>,
) {
    let (rift, id) = (lease.rift.clone(), lease.id);
    let Signals { mut stop, wake, backfill_poll } = signals;
    let retry = Duration::from_secs(5).min(lease.timings.renew_every);
    loop {
        // Taken (or renewed, on a restart) before anything runs.
        let asked = tokio::time::Instant::now();
        match lease.acquire().await {
            Ok(true) => {}
            Ok(false) => {
                tracing::debug!(connection = %id, "bridge connection runs elsewhere");
                return;
            }
            Err(error) => {
                tracing::warn!(connection = %id, %error, "cannot take the bridge lease; retrying");
                tokio::select! {
                    _ = &mut stop => return,
                    () = tokio::time::sleep(retry) => continue,
                }
            }
        }
        let mut held_until = asked + lease.timings.ttl;
        let connection = match rift.store().bridge_connection(id).await {
            Ok(Some(connection)) => connection,
            Ok(None) => return,
            Err(error) => {
                tracing::warn!(connection = %id, %error, "cannot read the bridge connection; retrying");
                tokio::select! {
                    _ = &mut stop => { lease.release().await; return }
                    () = tokio::time::sleep(retry) => continue,
                }
            }
        };
        let bridge = factory(&connection);
        let host = tokio::select! {
            _ = &mut stop => { lease.release().await; return }
            host = BridgeHost::start(&rift, Arc::clone(&bridge), id) => host,
        };
        let host = match host {
            Ok(host) => host,
            Err(error) => {
                tracing::warn!(connection = %id, %error, "bridge failed to start; retrying");
                tokio::select! {
                    _ = &mut stop => { lease.release().await; return }
                    () = tokio::time::sleep(retry) => continue,
                }
            }
        };
        *ctx_slot.lock().unwrap_or_else(|p| p.into_inner()) = Some(host.context().clone());
        let mut backfills = Backfills { tasks: JoinSet::new() };
        backfills.take(&lease, host.context(), &bridge).await;
        let mut polls = tokio::time::interval(backfill_poll);
        polls.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        polls.tick().await;
        let mut renewals = tokio::time::interval(lease.timings.renew_every);
        renewals.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        renewals.tick().await;
        let lost = loop {
            tokio::select! {
                _ = &mut stop => {
                    backfills.abandon(&lease).await;
                    if let Err(error) = host.stop().await {
                        tracing::warn!(connection = %id, %error, "bridge did not stop cleanly");
                    }
                    lease.release().await;
                    return;
                }
                () = wake.notified() => backfills.take(&lease, host.context(), &bridge).await,
                _ = polls.tick() => backfills.take(&lease, host.context(), &bridge).await,
                Some(_) = backfills.tasks.join_next(), if !backfills.tasks.is_empty() => {}
                _ = renewals.tick() => {
                    if let Renewal::Gone = renew(&lease, &mut held_until).await {
                        break true;
                    }
                }
                () = tokio::time::sleep(Duration::from_millis(500)) => {
                    if host.is_finished() {
                        break false;
                    }
                }
            }
        };
        *ctx_slot.lock().unwrap_or_else(|p| p.into_inner()) = None;
        backfills.abandon(&lease).await;
        let _ = host.stop().await;
        if lost {
            // Released in case it is still ours (paused): harmless when another holder has it.
            lease.release().await;
            return;
        }
    }
}
