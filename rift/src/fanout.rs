//! Multi-node fan-out: several Rift processes ("nodes") sharing one database deliver each other's
//! events.
//!
//! The service layer publishes every committed change to its node's [`Router`] and hands the same
//! [`Envelope`] to a [`FanOut`], which forwards it to the other nodes; envelopes arriving from other
//! nodes are fed into the local router through its [`RemoteInbox`] (never back into the fan-out,
//! so nothing loops). Each node has a [`NodeId`]; a node ignores its own envelopes when the broker
//! echoes them back, because its local subscribers already had them.
//!
//! [`FanOut::publish`] is on the publisher's path, so, like the router's own delivery, it never waits: an
//! implementation puts the envelope into a bounded [`Outbox`] and a background task it owns talks
//! to the broker. **When the outbox is full** (the broker is down or slower than the publishers),
//! the envelope is dropped for the other nodes, counted in [`FanOutStats::dropped`] and logged
//! (at the 1st, 2nd, 4th, 8th, … drop, so a long outage does not flood the log). Local subscribers
//! are unaffected. The other nodes must not stay silently behind: the drop is also counted as
//! *unreported* ([`FanOutCounters::take_unreported`]), and the implementation marks its next
//! forwarded envelope with that count (a *gap*). A node that receives a gap cannot tell which of
//! its subscribers missed something, so it marks them all lagged ([`RemoteInbox::lag_all`]): gateway
//! sessions end (resume refused, the client identifies afresh and gets a new Ready) and bridge
//! feeds restart, exactly as when their own queue overflows. Envelopes the implementation fails
//! to hand to the broker count as unreported too.
//!
//! Implementations: [`LocalFanOut`] (a single node: forwards nothing) here, and the PostgreSQL
//! LISTEN/NOTIFY one in `rift-store` (`Database::fanout`).
//!
//! [`Router`]: crate::router::Router
//! [`RemoteInbox`]: crate::router::RemoteInbox
//! [`RemoteInbox::lag_all`]: crate::router::RemoteInbox::lag_all

use std::fmt;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};

use async_trait::async_trait;
use serde::{Deserialize, Serialize};
use tokio::sync::mpsc;
use uuid::Uuid;

use crate::event::Envelope;

/// Identifies one node (one process) among those sharing a database. Pick a new one at every
/// start: a restarted node must not skip envelopes it never delivered.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(transparent)]
pub struct NodeId(Uuid);

impl NodeId {
    /// A new, unique node id.
    pub fn random() -> Self {
        Self(Uuid::now_v7())
    }

    /// A node id from its UUID.
    pub const fn from_uuid(uuid: Uuid) -> Self {
        Self(uuid)
    }

    /// The UUID.
    pub const fn uuid(self) -> Uuid {
        self.0
    }
}

impl fmt::Display for NodeId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        self.0.fmt(f)
    }
}

/// Forwards locally published envelopes to the other nodes and feeds theirs into the local router.
///
/// Used as `Arc<dyn FanOut>`; the implementation receives the local router's
/// [`RemoteInbox`](crate::router::RemoteInbox) when it is made (see
/// [`Router::with_inbox`](crate::router::Router::with_inbox)) and owns its background tasks.
#[async_trait]
pub trait FanOut: Send + Sync {
    /// This node's id.
    fn node_id(&self) -> NodeId;

    /// Hands a locally published envelope over for delivery to the other nodes. Never waits: when
    /// the implementation's queue is full the envelope is dropped and counted (see the module
    /// docs). Called after the local router has delivered it.
    fn publish(&self, envelope: Arc<Envelope>);

    /// Counters since the fan-out started.
    fn stats(&self) -> FanOutStats;

    /// How far this node has read the other nodes' envelopes, for a node that restarts and must
    /// replay what it missed ([`Resume`]); `None` for a fan-out that has no such position (a single
    /// node). Final once [`shutdown`](Self::shutdown) has returned.
    fn position(&self) -> Option<Resume> {
        None
    }

    /// Sends what is still queued (best effort, bounded in time), stops receiving and ends the
    /// background tasks. Later [`publish`](Self::publish) calls drop their envelopes.
    async fn shutdown(&self);
}

/// Where a node stopped reading the other nodes' envelopes: a restarted node that starts reading
/// after `position` (skipping its previous incarnation `node_id`'s own) delivers exactly what it
/// missed while it was down.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct Resume {
    /// The node that read them.
    pub node_id: NodeId,
    /// The broker's position of the last envelope read (PostgreSQL: the `event_log` id).
    pub position: u64,
}

/// What a fan-out has done since it started.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
#[non_exhaustive]
pub struct FanOutStats {
    /// Envelopes taken into the outbox.
    pub queued: u64,
    /// Envelopes dropped for the other nodes: the outbox was full or shut.
    pub dropped: u64,
    /// Envelopes handed to the broker.
    pub sent: u64,
    /// Envelopes from other nodes delivered to the local router.
    pub received: u64,
    /// Envelopes lost to errors: a batch the broker kept refusing, or one that could not be
    /// encoded or decoded (a newer node's event type, say).
    pub failed: u64,
    /// Times the connection to the broker was re-established after it was lost.
    pub reconnects: u64,
    /// Gaps announced by other nodes (they dropped envelopes for us): each time, every local
    /// subscriber was marked lagged.
    pub gaps: u64,
}

/// The shared counters behind [`FanOutStats`], for implementations (their handle and their tasks
/// hold the same `Arc`).
#[derive(Debug, Default)]
pub struct FanOutCounters {
    queued: AtomicU64,
    dropped: AtomicU64,
    sent: AtomicU64,
    received: AtomicU64,
    failed: AtomicU64,
    reconnects: AtomicU64,
    gaps: AtomicU64,
    /// Envelopes lost for the other nodes and not yet announced to them as a gap.
    unreported: AtomicU64,
}

impl FanOutCounters {
    /// Counts `n` envelopes handed to the broker.
    pub fn add_sent(&self, n: u64) {
        self.sent.fetch_add(n, Ordering::Relaxed);
    }

    /// Counts `n` envelopes from other nodes delivered locally.
    pub fn add_received(&self, n: u64) {
        self.received.fetch_add(n, Ordering::Relaxed);
    }

    /// Counts `n` envelopes lost to errors.
    pub fn add_failed(&self, n: u64) {
        self.failed.fetch_add(n, Ordering::Relaxed);
    }

    /// Counts a re-established broker connection.
    pub fn add_reconnect(&self) {
        self.reconnects.fetch_add(1, Ordering::Relaxed);
    }

    /// Counts a gap announced by another node.
    pub fn add_gap(&self) {
        self.gaps.fetch_add(1, Ordering::Relaxed);
    }

    /// Counts `n` envelopes lost for the other nodes after they left the outbox (a batch the
    /// broker refused): the next forwarded envelope announces them, like outbox drops.
    pub fn add_unreported(&self, n: u64) {
        self.unreported.fetch_add(n, Ordering::Relaxed);
    }

    /// How many envelopes were lost for the other nodes since the last call: the gap to announce
    /// with the next forwarded envelope (0 when nothing was lost). An implementation that takes a
    /// non-zero gap and then fails to forward must give it back with
    /// [`add_unreported`](Self::add_unreported).
    pub fn take_unreported(&self) -> u64 {
        self.unreported.swap(0, Ordering::Relaxed)
    }

    /// The current values.
    pub fn snapshot(&self) -> FanOutStats {
        FanOutStats {
            queued: self.queued.load(Ordering::Relaxed),
            dropped: self.dropped.load(Ordering::Relaxed),
            sent: self.sent.load(Ordering::Relaxed),
            received: self.received.load(Ordering::Relaxed),
            failed: self.failed.load(Ordering::Relaxed),
            reconnects: self.reconnects.load(Ordering::Relaxed),
            gaps: self.gaps.load(Ordering::Relaxed),
        }
    }
}

/// The bounded queue between [`FanOut::publish`] and an implementation's sending task: `push`
/// never waits; a full or shut queue drops the envelope, counts it and logs (sparsely).
#[derive(Debug)]
pub struct Outbox {
    tx: mpsc::Sender<Arc<Envelope>>,
    counters: Arc<FanOutCounters>,
}

/// The sending task's end of an [`Outbox`].
#[derive(Debug)]
pub struct OutboxReceiver {
    rx: mpsc::Receiver<Arc<Envelope>>,
}

impl Outbox {
    /// An outbox holding up to `capacity` envelopes, counting into `counters`.
    ///
    /// # Panics
    /// If `capacity` is 0.
    pub fn new(capacity: usize, counters: Arc<FanOutCounters>) -> (Self, OutboxReceiver) {
        let (tx, rx) = mpsc::channel(capacity);
        (Self { tx, counters }, OutboxReceiver { rx })
    }

    /// Queues `envelope`; returns whether it was queued. Never waits.
    pub fn push(&self, envelope: Arc<Envelope>) -> bool {
        match self.tx.try_send(envelope) {
            Ok(()) => {
                self.counters.queued.fetch_add(1, Ordering::Relaxed);
                true
            }
            Err(e) => {
                self.counters.unreported.fetch_add(1, Ordering::Relaxed);
                let dropped = self.counters.dropped.fetch_add(1, Ordering::Relaxed) + 1;
                // Powers of two only: an outage drops thousands, the log needs a handful of lines.
                if dropped.is_power_of_two() {
                    let why = match e {
                        mpsc::error::TrySendError::Full(_) => "the fan-out queue is full",
                        mpsc::error::TrySendError::Closed(_) => "the fan-out is shut down",
                    };
                    tracing::warn!(dropped, "event not forwarded to other nodes: {why}");
                }
                false
            }
        }
    }

    /// The counters this outbox counts into.
    pub fn counters(&self) -> &Arc<FanOutCounters> {
        &self.counters
    }
}

impl OutboxReceiver {
    /// Waits for at least one envelope and appends up to `limit` queued ones to `buffer`, in
    /// publication order; returns how many (0 once the outbox is gone or closed and empty).
    pub async fn recv_many(&mut self, buffer: &mut Vec<Arc<Envelope>>, limit: usize) -> usize {
        self.rx.recv_many(buffer, limit).await
    }

    /// Refuses further envelopes (they count as dropped); those already queued can still be read.
    pub fn close(&mut self) {
        self.rx.close();
    }
}

/// The fan-out of a single node: forwards nothing, receives nothing. The default of
/// [`Rift`](crate::service::Rift), and what a SQLite database gives (one process owns the file).
#[derive(Debug, Clone, Copy)]
pub struct LocalFanOut {
    node_id: NodeId,
}

impl LocalFanOut {
    /// A single-node fan-out with a random node id.
    pub fn new() -> Self {
        Self { node_id: NodeId::random() }
    }

    /// A single-node fan-out with the given id.
    pub fn with_node_id(node_id: NodeId) -> Self {
        Self { node_id }
    }
}

impl Default for LocalFanOut {
    fn default() -> Self {
        Self::new()
    }
}

#[async_trait]
impl FanOut for LocalFanOut {
    fn node_id(&self) -> NodeId {
        self.node_id
    }

    fn publish(&self, _envelope: Arc<Envelope>) {
        // No other node: the local router has already delivered it.
    }

    fn stats(&self) -> FanOutStats {
        FanOutStats::default()
    }

    async fn shutdown(&self) {}
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::event::{Event, Topic};
    use crate::id::{ChannelId, MessageId};

    fn envelope() -> Arc<Envelope> {
        let channel_id = ChannelId::new();
        Arc::new(Envelope::new(
            Topic::Channel(channel_id),
            Event::MessageDelete { id: MessageId::new(), channel_id, content: None },
        ))
    }

    fn assert_shareable<T: Send + Sync + ?Sized>() {}

    #[test]
    fn fan_out_is_object_safe_and_shareable() {
        assert_shareable::<dyn FanOut>();
        let fanout: Arc<dyn FanOut> = Arc::new(LocalFanOut::new());
        assert_ne!(fanout.node_id(), LocalFanOut::new().node_id());
    }

    #[tokio::test]
    async fn local_fan_out_forwards_nothing_and_counts_nothing() {
        let node = NodeId::random();
        let fanout = LocalFanOut::with_node_id(node);
        fanout.publish(envelope());
        assert_eq!(fanout.node_id(), node);
        assert_eq!(fanout.stats(), FanOutStats::default());
        fanout.shutdown().await;
    }

    #[tokio::test]
    async fn a_full_outbox_drops_and_counts_without_waiting() {
        let counters = Arc::new(FanOutCounters::default());
        let (outbox, mut rx) = Outbox::new(2, Arc::clone(&counters));
        let sent: Vec<Arc<Envelope>> = (0..5).map(|_| envelope()).collect();
        let queued: Vec<bool> = sent.iter().map(|e| outbox.push(Arc::clone(e))).collect();
        assert_eq!(queued, [true, true, false, false, false]);
        let stats = counters.snapshot();
        assert_eq!((stats.queued, stats.dropped), (2, 3));
        assert_eq!(counters.take_unreported(), 3, "the drops are to be announced");
        assert_eq!(counters.take_unreported(), 0, "once");

        let mut got = Vec::new();
        assert_eq!(rx.recv_many(&mut got, 10).await, 2);
        assert!(Arc::ptr_eq(&got[0], &sent[0]) && Arc::ptr_eq(&got[1], &sent[1]), "in order");
        // Room again.
        assert!(outbox.push(envelope()));
    }

    #[tokio::test]
    async fn a_closed_outbox_drops_and_counts() {
        let counters = Arc::new(FanOutCounters::default());
        let (outbox, mut rx) = Outbox::new(8, Arc::clone(&counters));
        assert!(outbox.push(envelope()));
        rx.close();
        assert!(!outbox.push(envelope()));
        let mut got = Vec::new();
        assert_eq!(rx.recv_many(&mut got, 8).await, 1, "what was queued before is still read");
        assert_eq!(rx.recv_many(&mut got, 8).await, 0);
        assert_eq!(counters.snapshot().dropped, 1);
    }
}
