//! The in-process event router: delivery by [`Topic`] into one bounded queue per subscriber.
//!
//! Anyone holding a [`Router`] may subscribe; only the service publishes into it, and a
//! [`FanOut`](crate::FanOut) delivers what other nodes published through the [`RemoteInbox`] made
//! with the router ([`Router::with_inbox`]). So no caller can inject an event as if the service had
//! committed it.
//!
//! Publishing is a plain synchronous function that never waits: it `try_send`s into each
//! subscriber's queue. A subscriber whose queue is full is marked *lagged* and gets nothing more; its
//! owner (a gateway session) then resyncs or closes. So a slow subscriber never blocks the publisher
//! or anyone else.

use std::collections::{HashMap, HashSet};
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex, RwLock};

use tokio::sync::{Notify, mpsc};

use crate::event::{Envelope, Event, Topic};

/// What subscribers receive: shared, so publishing to many costs one allocation.
pub type Delivery = Arc<Envelope>;

struct Subscriber {
    id: u64,
    tx: mpsc::Sender<Delivery>,
    lagged: AtomicBool,
    /// Wakes a receiver waiting on an empty queue when the subscriber is marked lagged from
    /// outside ([`RemoteInbox::lag_all`]).
    woken: Notify,
}

/// What became of one offered delivery.
enum Offer {
    Queued,
    /// Not queued: the subscriber is lagged; `newly` when this offer made it so.
    Dropped {
        newly: bool,
    },
    /// The subscription is being dropped; it unregisters itself.
    Closed,
}

impl Subscriber {
    /// Marks the subscriber lagged and wakes a receiver waiting on an empty queue (a stored permit
    /// if nobody waits yet, so the next `recv` sees it too); returns whether this made it so.
    fn mark_lagged(&self) -> bool {
        let newly = !self.lagged.swap(true, Ordering::Relaxed);
        self.woken.notify_one();
        newly
    }

    /// Queues one delivery.
    fn offer(&self, delivery: &Delivery) -> Offer {
        if self.lagged.load(Ordering::Relaxed) {
            return Offer::Dropped { newly: false };
        }
        match self.tx.try_send(Arc::clone(delivery)) {
            Ok(()) => Offer::Queued,
            Err(mpsc::error::TrySendError::Full(_)) => Offer::Dropped { newly: self.mark_lagged() },
            Err(mpsc::error::TrySendError::Closed(_)) => Offer::Closed,
        }
    }
}

/// Hears of every envelope a [`Router`] delivers, before any subscriber does, and of events lost
/// before they reached it: how state derived from events (the service's permission view) stays
/// current with changes made on this node and on others.
///
/// Called synchronously on the publisher's path, so an implementation must be quick and must
/// never wait.
pub(crate) trait Observer: Send + Sync {
    /// An envelope is about to be delivered (published here, or arriving from another node).
    fn before_delivery(&self, envelope: &Envelope);

    /// Events were lost before they reached this router ([`RemoteInbox::lag_all`],
    /// [`RemoteInbox::report_lost_event`]): whatever was derived from them may be out of date.
    fn events_lost(&self);
}

/// Counters of a [`Router`] since it was made (for metrics).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
#[non_exhaustive]
pub struct RouterStats {
    /// Deliveries queued for a subscriber.
    pub queued: u64,
    /// Deliveries not queued because the subscriber's queue was full (it is lagged).
    pub dropped: u64,
    /// Subscribers that fell behind (their queue overflowed).
    pub lagged: u64,
}

#[derive(Default)]
struct Inner {
    topics: RwLock<HashMap<Topic, Vec<Arc<Subscriber>>>>,
    /// Every live subscriber, subscribed to anything or not (for [`RemoteInbox::lag_all`]).
    all: Mutex<Vec<std::sync::Weak<Subscriber>>>,
    /// Told of every envelope before its subscribers ([`Router::observe`]).
    observers: RwLock<Vec<std::sync::Weak<dyn Observer>>>,
    next_id: AtomicU64,
    queued: AtomicU64,
    dropped: AtomicU64,
    lagged: AtomicU64,
}

/// Delivers events to subscribers by topic. Cheap to clone (shared).
///
/// A `Router` only subscribes: the service publishes into it, and a fan-out delivers other nodes'
/// envelopes through the [`RemoteInbox`] that [`Router::with_inbox`] hands to whoever wires it.
///
/// ```
/// use rift::{ChannelId, Router, Topic};
///
/// let router = Router::new();
/// let events = router.subscribe(16);
/// events.add(Topic::Channel(ChannelId::new()));
/// ```
///
/// Publishing is not for callers:
///
/// ```compile_fail,E0624
/// use rift::{ChannelId, Event, MessageId, Router, Topic};
///
/// let router = Router::new();
/// let channel_id = ChannelId::new();
/// router.publish(Topic::Channel(channel_id), Event::MessageDelete { id: MessageId::new(), channel_id, content: None });
/// ```
#[derive(Clone, Default)]
pub struct Router {
    inner: Arc<Inner>,
}

impl std::fmt::Debug for Router {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Router").finish_non_exhaustive()
    }
}

impl Router {
    /// A router with no subscribers.
    pub fn new() -> Self {
        Self::default()
    }

    /// A router and the only way in for envelopes other nodes published: give the router to
    /// [`RiftBuilder::router`](crate::service::RiftBuilder::router) and the inbox to the [`FanOut`](crate::FanOut)
    /// (as `rift_store::Database::fanout` takes it), like the two ends of a channel.
    pub fn with_inbox() -> (Self, RemoteInbox) {
        let router = Self::new();
        let inbox = RemoteInbox { router: router.clone() };
        (router, inbox)
    }

    /// A new subscriber with a queue of `capacity` deliveries, subscribed to nothing yet.
    ///
    /// # Panics
    /// If `capacity` is 0.
    pub fn subscribe(&self, capacity: usize) -> Subscription {
        let (tx, rx) = mpsc::channel(capacity);
        let id = self.inner.next_id.fetch_add(1, Ordering::Relaxed);
        let shared = Arc::new(Subscriber { id, tx, lagged: AtomicBool::new(false), woken: Notify::new() });
        let mut all = self.inner.all.lock().unwrap_or_else(|poisoned| poisoned.into_inner());
        all.retain(|subscriber| subscriber.strong_count() > 0);
        all.push(Arc::downgrade(&shared));
        drop(all);
        Subscription { rx, topics: Topics { router: self.clone(), shared, set: Arc::default() } }
    }

    /// Delivers `event` to every subscriber of `topic`; returns how many queued it.
    pub(crate) fn publish(&self, topic: Topic, event: Event) -> usize {
        self.publish_envelope(Arc::new(Envelope::new(topic, event)))
    }

    /// Delivers an already shared envelope to its topic's subscribers; returns how many queued it.
    pub(crate) fn publish_envelope(&self, delivery: Delivery) -> usize {
        self.each_observer(|observer| observer.before_delivery(&delivery));
        let topics = self.inner.topics.read().unwrap_or_else(|poisoned| poisoned.into_inner());
        let Some(subscribers) = topics.get(&delivery.topic) else {
            return 0;
        };
        let (mut queued, mut dropped, mut lagged) = (0, 0, 0);
        for subscriber in subscribers {
            match subscriber.offer(&delivery) {
                Offer::Queued => queued += 1,
                Offer::Dropped { newly } => {
                    dropped += 1;
                    lagged += u64::from(newly);
                }
                Offer::Closed => {}
            }
        }
        self.inner.queued.fetch_add(queued as u64, Ordering::Relaxed);
        if dropped > 0 {
            self.inner.dropped.fetch_add(dropped, Ordering::Relaxed);
            self.inner.lagged.fetch_add(lagged, Ordering::Relaxed);
        }
        queued
    }

    /// Deliveries queued and dropped, and subscribers that fell behind, since the router was made.
    pub fn stats(&self) -> RouterStats {
        RouterStats {
            queued: self.inner.queued.load(Ordering::Relaxed),
            dropped: self.inner.dropped.load(Ordering::Relaxed),
            lagged: self.inner.lagged.load(Ordering::Relaxed),
        }
    }

    /// Marks every subscriber lagged, waking those waiting: events were lost before they reached
    /// this router (another node's fan-out dropped some), and nobody can tell whose, so every
    /// subscriber resyncs or closes as if its own queue had overflowed. Returns how many.
    pub(crate) fn lag_all(&self) -> usize {
        self.each_observer(|observer| observer.events_lost());
        let all = self.inner.all.lock().unwrap_or_else(|poisoned| poisoned.into_inner());
        let live: Vec<Arc<Subscriber>> = all.iter().filter_map(std::sync::Weak::upgrade).collect();
        drop(all);
        for subscriber in &live {
            subscriber.mark_lagged();
        }
        live.len()
    }

    /// Tells the observers that an event was lost without marking subscribers lagged (another
    /// node's envelope that could not be read, say).
    pub(crate) fn report_lost_event(&self) {
        self.each_observer(|observer| observer.events_lost());
    }

    /// Adds an observer, told of every envelope from now on until it is dropped.
    pub(crate) fn observe(&self, observer: std::sync::Weak<dyn Observer>) {
        let mut observers = self.inner.observers.write().unwrap_or_else(|poisoned| poisoned.into_inner());
        observers.retain(|observer| observer.strong_count() > 0);
        observers.push(observer);
    }

    fn each_observer(&self, mut tell: impl FnMut(&dyn Observer)) {
        let observers = self.inner.observers.read().unwrap_or_else(|poisoned| poisoned.into_inner());
        for observer in observers.iter().filter_map(std::sync::Weak::upgrade) {
            tell(&*observer);
        }
    }

    /// How many subscribers a topic has.
    pub fn subscriber_count(&self, topic: Topic) -> usize {
        let topics = self.inner.topics.read().unwrap_or_else(|poisoned| poisoned.into_inner());
        topics.get(&topic).map_or(0, Vec::len)
    }

    fn attach(&self, topic: Topic, subscriber: &Arc<Subscriber>) {
        let mut topics = self.inner.topics.write().unwrap_or_else(|poisoned| poisoned.into_inner());
        topics.entry(topic).or_default().push(Arc::clone(subscriber));
    }

    fn detach(&self, topic: Topic, id: u64) {
        let mut topics = self.inner.topics.write().unwrap_or_else(|poisoned| poisoned.into_inner());
        if let Some(subscribers) = topics.get_mut(&topic) {
            subscribers.retain(|subscriber| subscriber.id != id);
            if subscribers.is_empty() {
                topics.remove(&topic);
            }
        }
    }
}

/// Where envelopes that other nodes published enter a [`Router`]: what a [`FanOut`](crate::FanOut)
/// implementation is given (from [`Router::with_inbox`]) and the only public way to deliver into a
/// router. Cheap to clone (shared).
///
/// Nothing delivered here goes back out to the other nodes: the service hands only its own
/// envelopes to the fan-out, so nothing loops.
#[derive(Clone)]
pub struct RemoteInbox {
    router: Router,
}

impl std::fmt::Debug for RemoteInbox {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("RemoteInbox").finish_non_exhaustive()
    }
}

impl RemoteInbox {
    /// Delivers an envelope another node published to its topic's subscribers (the service's
    /// permission view hears of it first); returns how many queued it. Never waits.
    pub fn deliver(&self, envelope: Delivery) -> usize {
        self.router.publish_envelope(envelope)
    }

    /// Marks every subscriber lagged, waking those waiting: events were lost before they reached
    /// this node (another node's fan-out dropped some), and nobody can tell whose, so every
    /// subscriber resyncs or closes as if its own queue had overflowed. Returns how many.
    pub fn lag_all(&self) -> usize {
        self.router.lag_all()
    }

    /// Tells the service that an event was lost without marking subscribers lagged (another
    /// node's envelope that could not be read, say): it forgets what it derived from events.
    pub fn report_lost_event(&self) {
        self.router.report_lost_event();
    }
}

/// Why [`Subscription::recv`] returned no event.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum RecvError {
    /// The queue overflowed and events were dropped: resync or close.
    #[error("subscriber lagged behind and missed events")]
    Lagged,
}

/// The topic set of a subscriber: a cloneable handle, so one task can change what a subscriber
/// receives while another receives.
#[derive(Clone)]
pub struct Topics {
    router: Router,
    shared: Arc<Subscriber>,
    set: Arc<Mutex<HashSet<Topic>>>,
}

impl std::fmt::Debug for Topics {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Topics").field("subscriber", &self.shared.id).finish_non_exhaustive()
    }
}

impl Topics {
    /// Starts receiving `topic`'s events (no-op if already subscribed or the subscription is gone).
    pub fn add(&self, topic: Topic) {
        let mut set = self.set.lock().unwrap_or_else(|poisoned| poisoned.into_inner());
        if !self.shared.tx.is_closed() && set.insert(topic) {
            self.router.attach(topic, &self.shared);
        }
    }

    /// Stops receiving `topic`'s events (no-op if not subscribed).
    pub fn remove(&self, topic: Topic) {
        let mut set = self.set.lock().unwrap_or_else(|poisoned| poisoned.into_inner());
        if set.remove(&topic) {
            self.router.detach(topic, self.shared.id);
        }
    }

    /// Whether `topic` is subscribed.
    pub fn has(&self, topic: Topic) -> bool {
        self.set.lock().unwrap_or_else(|poisoned| poisoned.into_inner()).contains(&topic)
    }

    fn clear(&self) {
        let set = std::mem::take(&mut *self.set.lock().unwrap_or_else(|poisoned| poisoned.into_inner()));
        for topic in set {
            self.router.detach(topic, self.shared.id);
        }
    }
}

/// One subscriber: its queue and its topics. Dropping it unsubscribes from everything.
pub struct Subscription {
    rx: mpsc::Receiver<Delivery>,
    topics: Topics,
}

impl std::fmt::Debug for Subscription {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Subscription").field("id", &self.topics.shared.id).finish_non_exhaustive()
    }
}

impl Subscription {
    /// The handle to this subscriber's topics.
    pub fn topics(&self) -> &Topics {
        &self.topics
    }

    /// Starts receiving `topic`'s events (no-op if already subscribed).
    pub fn add(&self, topic: Topic) {
        self.topics.add(topic);
    }

    /// Stops receiving `topic`'s events (no-op if not subscribed).
    pub fn remove(&self, topic: Topic) {
        self.topics.remove(topic);
    }

    /// Whether `topic` is subscribed.
    pub fn has(&self, topic: Topic) -> bool {
        self.topics.has(topic)
    }

    /// The next delivery, in publication order; `Err(Lagged)` once the queue has overflowed.
    pub async fn recv(&mut self) -> Result<Delivery, RecvError> {
        if self.is_lagged() {
            return Err(RecvError::Lagged);
        }
        // The router holds a sender as long as this subscription lives, so `None` cannot happen
        // while `self` exists; treat it as lagged to be safe.
        tokio::select! {
            biased;
            _ = self.topics.shared.woken.notified(), if !self.is_lagged() => {}
            delivery = self.rx.recv() => if !self.is_lagged() {
                return delivery.ok_or(RecvError::Lagged);
            },
        }
        Err(RecvError::Lagged)
    }

    /// A queued delivery if there is one, without waiting.
    pub fn try_recv(&mut self) -> Option<Result<Delivery, RecvError>> {
        if self.is_lagged() {
            return Some(Err(RecvError::Lagged));
        }
        self.rx.try_recv().ok().map(Ok)
    }

    /// Whether events were dropped because the queue was full.
    pub fn is_lagged(&self) -> bool {
        self.topics.shared.lagged.load(Ordering::Relaxed)
    }
}

impl Drop for Subscription {
    fn drop(&mut self) {
        self.rx.close();
        self.topics.clear();
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::id::{ChannelId, MessageId, ServerId};

    fn delete(channel_id: ChannelId) -> Event {
        Event::MessageDelete { id: MessageId::new(), channel_id, content: None }
    }

    #[tokio::test]
    async fn delivers_only_to_subscribers_of_the_topic() {
        let router = Router::new();
        let (a, b) = (ChannelId::new(), ChannelId::new());
        let mut sub_a = router.subscribe(8);
        sub_a.add(Topic::Channel(a));
        let mut sub_b = router.subscribe(8);
        sub_b.add(Topic::Channel(b));

        assert_eq!(router.publish(Topic::Channel(a), delete(a)), 1);
        let got = sub_a.recv().await.unwrap();
        assert_eq!(got.topic, Topic::Channel(a));
        assert!(sub_b.try_recv().is_none());
    }

    #[tokio::test]
    async fn preserves_publication_order() {
        let router = Router::new();
        let channel = ChannelId::new();
        let mut sub = router.subscribe(64);
        sub.add(Topic::Channel(channel));
        let events: Vec<Event> = (0..50).map(|_| delete(channel)).collect();
        for event in &events {
            router.publish(Topic::Channel(channel), event.clone());
        }
        for event in events {
            assert_eq!(sub.recv().await.unwrap().event, event);
        }
    }

    #[tokio::test]
    async fn lag_all_wakes_waiting_subscribers_and_marks_idle_ones() {
        let router = Router::new();
        let channel = ChannelId::new();
        let mut waiting = router.subscribe(8);
        waiting.add(Topic::Channel(channel));
        let mut idle = router.subscribe(8);
        let gone = router.subscribe(8);
        drop(gone);
        let waiter = tokio::spawn(async move { waiting.recv().await.map(|_| ()) });
        tokio::task::yield_now().await;
        assert_eq!(router.lag_all(), 2, "the dropped subscriber is not counted");
        assert_eq!(waiter.await.unwrap(), Err(RecvError::Lagged));
        assert!(idle.is_lagged());
        assert_eq!(idle.recv().await.map(|_| ()), Err(RecvError::Lagged));
        assert_eq!(router.publish(Topic::Channel(channel), delete(channel)), 0, "nothing after a lag");
        let fresh = router.subscribe(8);
        assert!(!fresh.is_lagged(), "only those alive at the time");
    }

    #[tokio::test]
    async fn a_slow_subscriber_is_marked_lagged_and_never_blocks_others() {
        let router = Router::new();
        let channel = ChannelId::new();
        let slow = router.subscribe(2);
        slow.add(Topic::Channel(channel));
        let mut fast = router.subscribe(100);
        fast.add(Topic::Channel(channel));

        for _ in 0..10 {
            router.publish(Topic::Channel(channel), delete(channel));
            fast.recv().await.unwrap();
        }
        assert!(slow.is_lagged());
        assert!(!fast.is_lagged());
        // 10 to the fast one, 2 to the slow one before it filled; 8 dropped; one subscriber lagged.
        assert_eq!(router.stats(), RouterStats { queued: 12, dropped: 8, lagged: 1 });
        let mut slow = slow;
        assert_eq!(slow.recv().await, Err(RecvError::Lagged));
    }

    #[test]
    fn dropping_a_subscription_unsubscribes_it() {
        let router = Router::new();
        let server = ServerId::new();
        let sub = router.subscribe(4);
        sub.add(Topic::Server(server));
        sub.add(Topic::Server(server));
        assert_eq!(router.subscriber_count(Topic::Server(server)), 1);
        drop(sub);
        assert_eq!(router.subscriber_count(Topic::Server(server)), 0);
    }

    #[test]
    fn a_topics_handle_outliving_its_subscription_adds_nothing() {
        let router = Router::new();
        let channel = ChannelId::new();
        let sub = router.subscribe(4);
        let topics = sub.topics().clone();
        drop(sub);
        topics.add(Topic::Channel(channel));
        assert_eq!(router.subscriber_count(Topic::Channel(channel)), 0);
    }

    #[test]
    fn removing_a_topic_stops_delivery() {
        let router = Router::new();
        let channel = ChannelId::new();
        let mut sub = router.subscribe(4);
        sub.add(Topic::Channel(channel));
        assert!(sub.has(Topic::Channel(channel)));
        sub.remove(Topic::Channel(channel));
        assert_eq!(router.publish(Topic::Channel(channel), delete(channel)), 0);
        assert!(sub.try_recv().is_none());
    }
}
