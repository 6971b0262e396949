//! Multi-node fan-out over PostgreSQL: an `event_log` table plus LISTEN/NOTIFY.
//!
//! **Protocol.** A node's writer task takes envelopes from its outbox in batches and, in one
//! transaction, takes a cluster-wide advisory lock, INSERTs the batch into `event_log` (BIGSERIAL
//! `id`, the sender's `node_id`, the envelope's JSON as TEXT) and calls
//! `pg_notify('rift_events', '<highest id>')`. Listeners never trust the notification's payload: it
//! only says "there is something new"; each reads every row with `id >` the last id it has seen,
//! in id order, skipping its own node's rows. So the 8,000-byte NOTIFY limit never matters, and a
//! lost notification costs latency, not events.
//!
//! **Why the lock.** Ids are handed out at INSERT but become visible at COMMIT; without the lock, a
//! transaction holding id 10 could commit after one holding id 11, and a listener that had already
//! moved past 11 would never read 10. Under the lock, ids commit in id order, so "everything above
//! the last id seen" is exact. Batching keeps the lock to one short transaction per batch.
//!
//! **Gaps.** When the listening connection drops, the listener reconnects with exponential
//! back-off, LISTENs first and only then reads every row above its last id: rows committed before
//! the LISTEN are read by that query, rows committed after it are announced. Ids only grow and the
//! last id only moves forward, so nothing is delivered twice. A listener also re-reads every
//! `poll_interval` without a notification, a safety net for a connection that died silently.
//!
//! **Lost events.** When the outbox overflows (or a batch cannot be written), other nodes miss
//! envelopes. The writer announces it: the first row of its next batch carries the number lost
//! since its last written row (`gap`, from [`FanOutCounters::take_unreported`]). A listener that
//! reads a non-zero gap marks every local subscriber lagged ([`RemoteInbox::lag_all`]) before it
//! delivers that row, so gateway sessions end and resync instead of staying silently behind.
//!
//! **Restarts.** A node that stops gracefully can resume reading where it stopped
//! ([`FanOut::position`], [`PgFanOut::start_after`]): it delivers every other node's row after
//! that id first, skipping its previous incarnation's own, so gateway sessions saved at shutdown
//! miss nothing. When rows after that id were pruned, it says so instead.
//!
//! **Pruning.** Every node deletes rows older than `retention` every `prune_interval`. A node cut
//! off for longer than `retention` can miss events (its sessions must resume or resync anyway).
//!
//! Payloads are TEXT rather than JSONB: JSONB rejects `\u0000`, which message text may contain, and
//! nothing queries inside a payload.

use std::sync::atomic::{AtomicI64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use async_trait::async_trait;
use rift::StoreError;
use rift::event::Envelope;
use rift::fanout::{FanOut, FanOutCounters, FanOutStats, NodeId, Outbox, OutboxReceiver, Resume};
use rift::router::RemoteInbox;
use sqlx::PgPool;
use sqlx::postgres::PgListener;
use tokio::sync::watch;
use tokio::task::JoinHandle;

use crate::db::{Database, Pools};

/// The NOTIFY channel.
const CHANNEL: &str = "rift_events";

/// Tunables of [`PgFanOut`]. [`Default`] gives the documented defaults.
#[derive(Debug, Clone)]
#[non_exhaustive]
pub struct PgFanOutOptions {
    /// Envelopes the outbox holds before it drops (default 4,096).
    pub queue_capacity: usize,
    /// Most envelopes written in one transaction (default 256).
    pub batch_size: usize,
    /// How long rows are kept for listeners that were cut off (default 5 minutes).
    pub retention: Duration,
    /// How often old rows are deleted (default 1 minute).
    pub prune_interval: Duration,
    /// How long the listener waits without a notification before it reads anyway (default 5 s).
    pub poll_interval: Duration,
    /// First wait before reconnecting a lost listener; doubles up to `reconnect_max`
    /// (default 100 ms).
    pub reconnect_min: Duration,
    /// Longest wait between reconnection attempts (default 10 s).
    pub reconnect_max: Duration,
    /// Attempts to write one batch before its envelopes are counted as failed (default 5).
    pub write_attempts: u32,
    /// How long [`FanOut::shutdown`] waits for the outbox to be written (default 5 s).
    pub shutdown_timeout: Duration,
}

impl Default for PgFanOutOptions {
    fn default() -> Self {
        Self {
            queue_capacity: 4096,
            batch_size: 256,
            retention: Duration::from_secs(5 * 60),
            prune_interval: Duration::from_secs(60),
            poll_interval: Duration::from_secs(5),
            reconnect_min: Duration::from_millis(100),
            reconnect_max: Duration::from_secs(10),
            write_attempts: 5,
            shutdown_timeout: Duration::from_secs(5),
        }
    }
}

/// The PostgreSQL fan-out (see the module docs for the protocol). Made by [`PgFanOut::start`] or
/// [`Database::fanout`]; owns a writer, a listener and a pruner task, which end on
/// [`FanOut::shutdown`] or when this is dropped.
pub struct PgFanOut {
    node_id: NodeId,
    outbox: Outbox,
    pool: PgPool,
    retention: Duration,
    shutdown_timeout: Duration,
    stop: watch::Sender<bool>,
    /// The reader's `last_id`, for [`FanOut::position`].
    position: Arc<AtomicI64>,
    writer: Mutex<Option<JoinHandle<()>>>,
    others: Mutex<Vec<JoinHandle<()>>>,
}

impl std::fmt::Debug for PgFanOut {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("PgFanOut").field("node_id", &self.node_id).finish_non_exhaustive()
    }
}

fn backend(e: sqlx::Error) -> StoreError {
    StoreError::Backend(Box::new(e))
}

impl PgFanOut {
    /// Starts the fan-out of node `node_id` over `database`, feeding other nodes' envelopes into
    /// the local router through `inbox`. When this returns the node is listening: whatever another
    /// node publishes from then on reaches the router.
    ///
    /// # Errors
    /// [`StoreError::Backend`] when `database` is not PostgreSQL or cannot be reached.
    pub async fn start(
        database: &Database,
        node_id: NodeId,
        inbox: RemoteInbox,
        options: PgFanOutOptions,
    ) -> Result<Self, StoreError> {
        Ok(Self::start_after(database, node_id, inbox, options, None).await?.0)
    }

    /// Like [`start`](Self::start), for a node restarting where a previous incarnation stopped
    /// (`after`, its [`FanOut::position`]): the other nodes' envelopes published since then are
    /// delivered through `inbox` first. Returns whether that replay is complete; when rows after
    /// `after` were already pruned (or `after` is `None`), it reads from now on, like `start`, and
    /// answers `false`: whoever relied on the old position must not pretend nothing was missed.
    ///
    /// # Errors
    /// [`StoreError::Backend`] when `database` is not PostgreSQL or cannot be reached.
    pub async fn start_after(
        database: &Database,
        node_id: NodeId,
        inbox: RemoteInbox,
        options: PgFanOutOptions,
        after: Option<Resume>,
    ) -> Result<(Self, bool), StoreError> {
        let Pools::Postgres(pool) = &database.pools else {
            return Err(StoreError::Backend("the PostgreSQL fan-out needs a PostgreSQL database".into()));
        };
        let pool = pool.clone();
        // LISTEN before reading the starting point, so nothing committed in between is missed.
        let listener = listen(&pool).await.map_err(backend)?;
        let (oldest, newest): (i64, i64) =
            sqlx::query_as("SELECT COALESCE(MIN(id), 0), COALESCE(MAX(id), 0) FROM event_log")
                .fetch_one(&pool)
                .await
                .map_err(backend)?;
        // Every row after the old position is still there when nothing came after it, or the
        // oldest row kept is at most the one right after it (pruning takes the oldest first).
        let replay = after.and_then(|after| {
            let position = i64::try_from(after.position).ok()?;
            (newest <= position || oldest <= position + 1).then_some((position, after.node_id))
        });
        let replayed = replay.is_some();
        let (last_id, previous) = match replay {
            Some((position, previous)) => (position, previous),
            None => (newest, node_id),
        };
        let position = Arc::new(AtomicI64::new(last_id));

        let counters = Arc::new(FanOutCounters::default());
        let (outbox, rx) = Outbox::new(options.queue_capacity.max(1), Arc::clone(&counters));
        let (stop, stopped) = watch::channel(false);
        let writer = tokio::spawn(
            Writer { pool: pool.clone(), node_id, counters: Arc::clone(&counters), options: options.clone() }
                .run(rx, stopped.clone()),
        );
        let reader = tokio::spawn(
            Reader {
                pool: pool.clone(),
                node_id,
                previous,
                inbox,
                counters,
                options: options.clone(),
                last_id,
                position: Arc::clone(&position),
            }
            .run(listener, stopped.clone()),
        );
        let pruner =
            tokio::spawn(prune_loop(pool.clone(), options.retention, options.prune_interval, stopped));
        let fanout = Self {
            node_id,
            outbox,
            pool,
            retention: options.retention,
            shutdown_timeout: options.shutdown_timeout,
            stop,
            position,
            writer: Mutex::new(Some(writer)),
            others: Mutex::new(vec![reader, pruner]),
        };
        Ok((fanout, replayed))
    }

    /// Deletes rows older than the retention now (the pruner task does this periodically);
    /// returns how many.
    ///
    /// # Errors
    /// [`StoreError::Backend`] when the database fails.
    pub async fn prune(&self) -> Result<u64, StoreError> {
        prune(&self.pool, self.retention).await.map_err(backend)
    }
}

#[async_trait]
impl FanOut for PgFanOut {
    fn node_id(&self) -> NodeId {
        self.node_id
    }

    fn publish(&self, envelope: Arc<Envelope>) {
        self.outbox.push(envelope);
    }

    fn stats(&self) -> FanOutStats {
        self.outbox.counters().snapshot()
    }

    fn position(&self) -> Option<Resume> {
        let position = u64::try_from(self.position.load(Ordering::Acquire)).ok()?;
        Some(Resume { node_id: self.node_id, position })
    }

    async fn shutdown(&self) {
        self.stop.send_replace(true);
        let writer = self.writer.lock().unwrap_or_else(|poisoned| poisoned.into_inner()).take();
        if let Some(mut writer) = writer
            && tokio::time::timeout(self.shutdown_timeout, &mut writer).await.is_err()
        {
            tracing::warn!(node = %self.node_id, "fan-out writer did not finish in time; queued events dropped");
            writer.abort();
        }
        let others =
            std::mem::take(&mut *self.others.lock().unwrap_or_else(|poisoned| poisoned.into_inner()));
        for mut task in others {
            // They end at the stop signal, unless stuck in a database call (a reconnection to a
            // server that is gone, say): waiting makes sure the listener has let go.
            if tokio::time::timeout(self.shutdown_timeout, &mut task).await.is_err() {
                task.abort();
            }
        }
    }
}

impl Drop for PgFanOut {
    fn drop(&mut self) {
        // Without a shutdown: stop listening now; the writer ends once the outbox is empty.
        self.stop.send_replace(true);
    }
}

impl Database {
    /// The fan-out of node `node_id` for this database, feeding other nodes' events into the
    /// router whose `inbox` it is ([`Router::with_inbox`](rift::router::Router::with_inbox)):
    /// a [`PgFanOut`] with default options on PostgreSQL; on SQLite, whose file belongs to one
    /// process, a [`LocalFanOut`](rift::fanout::LocalFanOut).
    ///
    /// # Errors
    /// [`StoreError::Backend`] when PostgreSQL cannot be reached.
    pub async fn fanout(&self, node_id: NodeId, inbox: RemoteInbox) -> Result<Arc<dyn FanOut>, StoreError> {
        Ok(self.fanout_after(node_id, inbox, None).await?.0)
    }

    /// Like [`fanout`](Self::fanout), for a node restarting where a previous incarnation stopped
    /// reading (see [`PgFanOut::start_after`]); returns whether everything since `after` is
    /// replayed. On SQLite nobody else writes while the node is down: always complete.
    ///
    /// # Errors
    /// [`StoreError::Backend`] when PostgreSQL cannot be reached.
    pub async fn fanout_after(
        &self,
        node_id: NodeId,
        inbox: RemoteInbox,
        after: Option<Resume>,
    ) -> Result<(Arc<dyn FanOut>, bool), StoreError> {
        match self.pools {
            Pools::Sqlite { .. } => Ok((Arc::new(rift::fanout::LocalFanOut::with_node_id(node_id)), true)),
            Pools::Postgres(_) => {
                let (fanout, replayed) =
                    PgFanOut::start_after(self, node_id, inbox, PgFanOutOptions::default(), after).await?;
                Ok((Arc::new(fanout), replayed))
            }
        }
    }
}

/// A listening connection (out of `pool`, kept for the listener's lifetime).
async fn listen(pool: &PgPool) -> Result<PgListener, sqlx::Error> {
    let mut listener = PgListener::connect_with(pool).await?;
    // We reconnect ourselves, to recover the gap between LISTEN and the next read.
    listener.eager_reconnect(false);
    listener.listen(CHANNEL).await?;
    Ok(listener)
}

/// Takes envelopes from the outbox and writes them in batches.
struct Writer {
    pool: PgPool,
    node_id: NodeId,
    counters: Arc<FanOutCounters>,
    options: PgFanOutOptions,
}

impl Writer {
    async fn run(self, mut rx: OutboxReceiver, mut stop: watch::Receiver<bool>) {
        let limit = self.options.batch_size.max(1);
        let mut batch = Vec::with_capacity(limit);
        let mut stopping = false;
        loop {
            batch.clear();
            let n = if stopping {
                rx.recv_many(&mut batch, limit).await
            } else {
                tokio::select! {
                    n = rx.recv_many(&mut batch, limit) => n,
                    // A shutdown (or the handle dropped): refuse more, write what is queued, end.
                    _ = stop.wait_for(|stop| *stop) => {
                        stopping = true;
                        rx.close();
                        continue;
                    }
                }
            };
            if n == 0 {
                return;
            }
            self.write(&batch, stopping).await;
        }
    }

    /// Writes one batch, retrying with back-off; counts it as sent or failed.
    async fn write(&self, batch: &[Arc<Envelope>], stopping: bool) {
        let mut payloads = Vec::with_capacity(batch.len());
        for envelope in batch {
            match envelope.to_json() {
                Ok(json) => payloads.push(json),
                Err(e) => {
                    self.counters.add_failed(1);
                    tracing::error!(error = %e, "fan-out could not encode an event");
                }
            }
        }
        if payloads.is_empty() {
            return;
        }
        let count = payloads.len() as u64;
        // Envelopes lost since the last written row: announced with this batch.
        let gap = self.counters.take_unreported();
        let attempts = if stopping { 1 } else { self.options.write_attempts.max(1) };
        let mut delay = self.options.reconnect_min;
        for attempt in 1..=attempts {
            match insert(&self.pool, self.node_id, &payloads, gap).await {
                Ok(()) => {
                    self.counters.add_sent(count);
                    if gap > 0 {
                        tracing::warn!(node = %self.node_id, lost = gap, "told the other nodes that events were lost");
                    }
                    return;
                }
                Err(e) if attempt < attempts => {
                    tracing::warn!(error = %e, attempt, "fan-out write failed; retrying");
                    tokio::time::sleep(delay).await;
                    delay = (delay * 2).min(self.options.reconnect_max);
                }
                Err(e) => {
                    self.counters.add_failed(count);
                    // The next batch announces these and the gap it carried.
                    self.counters.add_unreported(count + gap);
                    tracing::error!(error = %e, events = count, "fan-out write failed; events not forwarded");
                }
            }
        }
    }
}

/// One batch, in order, in one transaction that also notifies (delivered at commit); its first
/// row carries `gap`.
async fn insert(pool: &PgPool, node_id: NodeId, payloads: &[String], gap: u64) -> Result<(), sqlx::Error> {
    let mut tx = pool.begin().await?;
    // Ids must commit in id order (see the module docs). The two-key form has its own key space,
    // apart from the one-key locks used for nonces.
    sqlx::query("SELECT pg_advisory_xact_lock(hashtext('rift.event_log'), 0)").execute(&mut *tx).await?;
    sqlx::query(
        "WITH inserted AS ( \
             INSERT INTO event_log (node_id, payload, gap) \
             SELECT $1, payload, CASE WHEN n = 1 THEN $4 ELSE 0 END \
             FROM unnest($2::text[]) WITH ORDINALITY AS batch(payload, n) ORDER BY n \
             RETURNING id \
         ) \
         SELECT pg_notify($3, MAX(id)::text) FROM inserted",
    )
    .bind(node_id.uuid())
    .bind(payloads)
    .bind(CHANNEL)
    .bind(i64::try_from(gap).unwrap_or(i64::MAX))
    .execute(&mut *tx)
    .await?;
    tx.commit().await
}

/// Reads other nodes' rows and delivers them to the local router.
struct Reader {
    pool: PgPool,
    node_id: NodeId,
    /// This node's previous incarnation, whose rows it replays past (its own events, delivered
    /// before it stopped); `node_id` when there is none.
    previous: NodeId,
    inbox: RemoteInbox,
    counters: Arc<FanOutCounters>,
    options: PgFanOutOptions,
    /// The highest id read; only moves forward.
    last_id: i64,
    /// `last_id`, shared with the handle.
    position: Arc<AtomicI64>,
}

/// Rows read per query while catching up.
const PAGE: i64 = 500;

impl Reader {
    async fn run(mut self, listener: PgListener, mut stop: watch::Receiver<bool>) {
        let mut listener = Some(listener);
        let mut delay = self.options.reconnect_min;
        loop {
            let Some(connected) = listener.as_mut() else {
                tokio::select! {
                    _ = tokio::time::sleep(delay) => {}
                    _ = stop.wait_for(|stop| *stop) => return,
                }
                match listen(&self.pool).await {
                    Ok(connected) => {
                        listener = Some(connected);
                        delay = self.options.reconnect_min;
                        self.counters.add_reconnect();
                        tracing::info!(node = %self.node_id, "fan-out listener reconnected");
                        // LISTEN is on again: now read what was committed while it was off.
                        self.catch_up().await;
                    }
                    Err(e) => {
                        if self.pool.is_closed() {
                            return;
                        }
                        tracing::warn!(error = %e, retry_in = ?delay, "fan-out listener cannot reconnect");
                        delay = (delay * 2).min(self.options.reconnect_max);
                    }
                }
                continue;
            };
            // `try_recv` keeps partial reads in the connection's buffer, so dropping it at a
            // timeout or a stop loses nothing; a broken stream would only mean a reconnect.
            let next = tokio::select! {
                biased;
                _ = stop.wait_for(|stop| *stop) => return,
                next = tokio::time::timeout(self.options.poll_interval, connected.try_recv()) => next,
            };
            match next {
                // A notification or a quiet interval: read whatever is new. Notifications queued
                // meanwhile are covered by the same read.
                Ok(Ok(Some(_))) | Err(_) => {
                    while connected.next_buffered().is_some() {}
                    self.catch_up().await;
                }
                Ok(Ok(None)) | Ok(Err(_)) => {
                    if self.pool.is_closed() {
                        return;
                    }
                    tracing::warn!(node = %self.node_id, "fan-out listener lost its connection; reconnecting");
                    listener = None;
                }
            }
        }
    }

    /// Delivers every other node's row above `last_id`, in id order. On a database error it
    /// stops; the next notification, poll or reconnection reads from the same point.
    async fn catch_up(&mut self) {
        loop {
            let rows: Vec<(i64, String, i64)> = match sqlx::query_as(
                "SELECT id, payload, gap FROM event_log \
                 WHERE id > $1 AND node_id <> $2 AND node_id <> $4 ORDER BY id LIMIT $3",
            )
            .bind(self.last_id)
            .bind(self.node_id.uuid())
            .bind(PAGE)
            .bind(self.previous.uuid())
            .fetch_all(&self.pool)
            .await
            {
                Ok(rows) => rows,
                Err(e) => {
                    tracing::warn!(error = %e, "fan-out could not read new events; will retry");
                    return;
                }
            };
            let full = rows.len() as i64 == PAGE;
            for (id, payload, gap) in rows {
                self.last_id = self.last_id.max(id);
                if gap > 0 {
                    // Which topics the lost envelopes had is unknown: everyone resyncs.
                    let lagged = self.inbox.lag_all();
                    self.counters.add_gap();
                    tracing::warn!(
                        id,
                        lost = gap,
                        lagged,
                        "another node lost events for this one; local subscribers resync"
                    );
                }
                match serde_json::from_str::<Envelope>(&payload) {
                    Ok(envelope) => {
                        self.inbox.deliver(Arc::new(envelope));
                        self.counters.add_received(1);
                    }
                    Err(e) => {
                        // A newer node's event type, say: skip it, keep the rest flowing, but
                        // let what was derived from events (the permission view) start afresh.
                        self.inbox.report_lost_event();
                        self.counters.add_failed(1);
                        tracing::warn!(id, error = %e, "fan-out skipped an event it cannot read");
                    }
                }
                self.position.store(self.last_id, Ordering::Release);
            }
            if !full {
                return;
            }
        }
    }
}

async fn prune(pool: &PgPool, retention: Duration) -> Result<u64, sqlx::Error> {
    let done = sqlx::query("DELETE FROM event_log WHERE created_at < now() - make_interval(secs => $1)")
        .bind(retention.as_secs_f64())
        .execute(pool)
        .await?;
    Ok(done.rows_affected())
}

async fn prune_loop(pool: PgPool, retention: Duration, every: Duration, mut stop: watch::Receiver<bool>) {
    loop {
        tokio::select! {
            _ = tokio::time::sleep(every) => {}
            _ = stop.wait_for(|stop| *stop) => return,
        }
        // Every node prunes; the deletes are idempotent, so no coordination is needed.
        if let Err(e) = prune(&pool, retention).await {
            if pool.is_closed() {
                return;
            }
            tracing::warn!(error = %e, "fan-out could not prune old events");
        }
    }
}
