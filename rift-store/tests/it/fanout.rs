//! Multi-node fan-out: two service instances ("nodes"), each with its own pool and router, over
//! one PostgreSQL database. PostgreSQL only (SQLite's fan-out is local), except where named.

use std::sync::{Arc, Mutex};
use std::time::Duration;

use async_trait::async_trait;
use rift::event::{Envelope, Event, Topic};
use rift::fanout::{FanOut, FanOutStats, NodeId};
use rift::id::{ChannelId, MessageId, UserId};
use rift::model::OverwriteKind;
use rift::router::{Router, Subscription};
use rift::{Config, InviteInput, OverwriteInput, Permissions, RegisterInput, Rift, RoleInput, SendMessage};
use rift_store::{Database, PgFanOut, PgFanOutOptions};
use sqlx::{Connection, PgConnection};

/// Longest wait for anything that should happen promptly.
const PATIENCE: Duration = Duration::from_secs(10);

fn config() -> Config {
    let mut config = Config::new(b"a fan-out test secret of some length".to_vec());
    config.rate_limits = false;
    config
}

struct Node {
    rift: Rift,
    fanout: Arc<PgFanOut>,
    database: Database,
}

impl Node {
    async fn start(url: &str, options: PgFanOutOptions) -> Self {
        let database = Database::connect_postgres(url).await.unwrap();
        let (router, inbox) = Router::with_inbox();
        let fanout = Arc::new(PgFanOut::start(&database, NodeId::random(), inbox, options).await.unwrap());
        let rift =
            Rift::builder(Arc::new(database.clone()), config()).router(router).fanout(fanout.clone()).build();
        Self { rift, fanout, database }
    }

    fn subscribe(&self, channel: ChannelId) -> Subscription {
        let subscription = self.rift.router().subscribe(1024);
        subscription.add(Topic::Channel(channel));
        subscription
    }

    async fn send(&self, user: UserId, channel: ChannelId, content: &str) -> MessageId {
        self.rift.send_message(user, channel, SendMessage::text(content)).await.unwrap().message.id
    }

    fn stats(&self) -> FanOutStats {
        self.fanout.stats()
    }

    async fn stop(self) {
        self.fanout.shutdown().await;
        self.database.close().await;
    }
}

/// A user with a server on `node`; returns the user and the server's text channel.
async fn world(node: &Node) -> (UserId, ChannelId) {
    let session = node.rift.register(RegisterInput::new("ada", "correct horse battery")).await.unwrap();
    let user = session.user.id;
    let server = node.rift.create_server(user, "Analytical Engines").await.unwrap();
    let channels = node.rift.channels(user, server.id).await.unwrap();
    (user, channels[0].id)
}

/// The next delivery, within [`PATIENCE`].
async fn next(subscription: &mut Subscription) -> Arc<Envelope> {
    tokio::time::timeout(PATIENCE, subscription.recv())
        .await
        .expect("an event within the timeout")
        .expect("the subscriber never lags here")
}

/// The id of the message a delivery creates.
fn created(envelope: &Arc<Envelope>) -> MessageId {
    match &envelope.event {
        Event::MessageCreate(message) => message.id,
        other => panic!("expected MessageCreate, got {other:?}"),
    }
}

/// Polls `done` every few milliseconds until it holds, for at most [`PATIENCE`].
async fn until(what: &str, mut done: impl FnMut() -> bool) {
    let deadline = tokio::time::Instant::now() + PATIENCE;
    while !done() {
        assert!(tokio::time::Instant::now() < deadline, "timed out waiting for {what}");
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
}

#[tokio::test]
async fn events_from_one_node_reach_the_other_once_in_order_and_never_echo() {
    let Some((url, _)) = rift_testing::postgres_url().await else { return };
    let a = Node::start(&url, PgFanOutOptions::default()).await;
    let b = Node::start(&url, PgFanOutOptions::default()).await;
    assert_ne!(a.fanout.node_id(), b.fanout.node_id());
    let (ada, channel) = world(&a).await;
    let mut on_a = a.subscribe(channel);
    let mut on_b = b.subscribe(channel);

    let mut sent = Vec::new();
    for i in 0..20 {
        sent.push(a.send(ada, channel, &format!("message {i}")).await);
    }
    for &id in &sent {
        assert_eq!(created(&next(&mut on_b).await), id, "B gets A's events in order");
        assert_eq!(created(&next(&mut on_a).await), id, "A's own subscribers get them locally");
    }

    // A marker from B: A reads rows in id order, so had it taken its own 20 back, they would
    // come before the marker.
    let marker = b.send(ada, channel, "marker").await;
    assert_eq!(created(&next(&mut on_a).await), marker);
    assert_eq!(created(&next(&mut on_b).await), marker);
    assert!(on_a.try_recv().is_none(), "nothing twice on A");
    assert!(on_b.try_recv().is_none(), "nothing twice on B");

    for node in [&a, &b] {
        let stats = node.stats();
        assert_eq!((stats.dropped, stats.failed, stats.reconnects), (0, 0, 0), "{stats:?}");
    }
    a.stop().await;
    b.stop().await;
}

#[tokio::test]
async fn an_event_larger_than_a_notify_payload_crosses() {
    let Some((url, _)) = rift_testing::postgres_url().await else { return };
    let a = Node::start(&url, PgFanOutOptions::default()).await;
    let b = Node::start(&url, PgFanOutOptions::default()).await;
    let (ada, channel) = world(&a).await;
    let mut on_b = b.subscribe(channel);

    // 10,000 characters, 20,000 bytes of UTF-8: far beyond NOTIFY's 8,000-byte payload.
    let content = "é".repeat(10_000);
    let id = a.send(ada, channel, &content).await;
    let got = next(&mut on_b).await;
    assert_eq!(created(&got), id);
    let Event::MessageCreate(message) = &got.event else { unreachable!() };
    assert_eq!(message.content, content);
    assert!(serde_json::to_string(&*got).unwrap().len() > 8_000);
    a.stop().await;
    b.stop().await;
}

#[tokio::test]
async fn events_published_while_the_listener_is_down_arrive_once_after_it_reconnects() {
    let Some((url, _)) = rift_testing::postgres_url().await else { return };
    let a = Node::start(&url, PgFanOutOptions::default()).await;
    // B waits 2 s before reconnecting, so the events below are certainly committed in the gap.
    let mut slow = PgFanOutOptions::default();
    slow.reconnect_min = Duration::from_secs(2);
    let b = Node::start(&url, slow).await;
    let (ada, channel) = world(&a).await;
    let mut on_b = b.subscribe(channel);
    let before = a.send(ada, channel, "before").await;
    assert_eq!(created(&next(&mut on_b).await), before);

    let mut admin = PgConnection::connect(&url).await.unwrap();
    let killed: Vec<bool> = sqlx::query_scalar(
        "SELECT pg_terminate_backend(pid) FROM pg_stat_activity \
         WHERE datname = current_database() AND query LIKE 'LISTEN%' AND pid <> pg_backend_pid()",
    )
    .fetch_all(&mut admin)
    .await
    .unwrap();
    assert_eq!(killed, [true, true], "both nodes' listeners");

    let sent_before = a.stats().sent;
    let mut gap = Vec::new();
    for i in 0..10 {
        gap.push(a.send(ada, channel, &format!("during the gap {i}")).await);
    }
    until("A to write the gap's events", || a.stats().sent >= sent_before + 10).await;
    assert_eq!(b.stats().reconnects, 0, "the events were committed while B was not listening");

    for &id in &gap {
        assert_eq!(created(&next(&mut on_b).await), id, "recovered in order");
    }
    assert!(b.stats().reconnects >= 1);
    let after = a.send(ada, channel, "after").await;
    assert_eq!(created(&next(&mut on_b).await), after, "no duplicate before the next event");
    assert!(on_b.try_recv().is_none());
    admin.close().await.unwrap();
    a.stop().await;
    b.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn concurrent_publishers_on_two_nodes_reach_a_third_exactly_once_in_their_order() {
    let Some((url, _)) = rift_testing::postgres_url().await else { return };
    let mut small_batches = PgFanOutOptions::default();
    // Many small transactions from both writers, so their commits interleave.
    small_batches.batch_size = 3;
    let a = Node::start(&url, small_batches.clone()).await;
    let b = Node::start(&url, small_batches).await;
    let c = Node::start(&url, PgFanOutOptions::default()).await;
    let channel = ChannelId::new();
    let mut on_c = c.subscribe(channel);

    let burst = |node: &Node| {
        let fanout = node.fanout.clone();
        tokio::spawn(async move {
            let mut ids = Vec::new();
            for _ in 0..150 {
                let id = MessageId::new();
                ids.push(id);
                let event = Event::MessageDelete { id, channel_id: channel, content: None };
                fanout.publish(Arc::new(Envelope::new(Topic::Channel(channel), event)));
                tokio::task::yield_now().await;
            }
            ids
        })
    };
    let (from_a, from_b) = (burst(&a), burst(&b));
    let (from_a, from_b) = (from_a.await.unwrap(), from_b.await.unwrap());

    let mut got = Vec::new();
    for _ in 0..300 {
        match next(&mut on_c).await.event {
            Event::MessageDelete { id, .. } => got.push(id),
            ref other => panic!("unexpected {other:?}"),
        }
    }
    let of = |ids: &[MessageId]| got.iter().copied().filter(|id| ids.contains(id)).collect::<Vec<_>>();
    assert_eq!(of(&from_a), from_a, "A's events once each, in A's order");
    assert_eq!(of(&from_b), from_b, "B's events once each, in B's order");
    assert!(on_c.try_recv().is_none());
    for node in [&a, &b] {
        assert_eq!(node.stats().dropped, 0);
    }
    for node in [a, b, c] {
        node.stop().await;
    }
}

#[tokio::test]
async fn a_row_no_node_can_read_is_skipped_and_counted() {
    let Some((url, _)) = rift_testing::postgres_url().await else { return };
    let a = Node::start(&url, PgFanOutOptions::default()).await;
    let b = Node::start(&url, PgFanOutOptions::default()).await;
    let (ada, channel) = world(&a).await;
    let mut on_b = b.subscribe(channel);

    // What a newer node might write: an event type this one does not know.
    let mut admin = PgConnection::connect(&url).await.unwrap();
    sqlx::query("INSERT INTO event_log (node_id, payload) VALUES ($1, $2)")
        .bind(NodeId::random().uuid())
        .bind(r#"{"topic":{"kind":"channel","id":"00000000-0000-0000-0000-000000000000"},"event":{"type":"FromTheFuture","data":{}}}"#)
        .execute(&mut admin)
        .await
        .unwrap();
    let id = a.send(ada, channel, "still flowing").await;
    assert_eq!(created(&next(&mut on_b).await), id);
    assert_eq!(b.stats().failed, 1);
    admin.close().await.unwrap();
    a.stop().await;
    b.stop().await;
}

#[tokio::test]
async fn shutdown_writes_what_is_queued_then_drops_and_counts() {
    let Some((url, _)) = rift_testing::postgres_url().await else { return };
    let a = Node::start(&url, PgFanOutOptions::default()).await;
    let b = Node::start(&url, PgFanOutOptions::default()).await;
    let (_, channel) = world(&a).await;
    let mut on_b = b.subscribe(channel);

    let events: Vec<Event> = (0..50)
        .map(|_| Event::MessageDelete { id: MessageId::new(), channel_id: channel, content: None })
        .collect();
    for event in &events {
        a.fanout.publish(Arc::new(Envelope::new(Topic::Channel(channel), event.clone())));
    }
    a.fanout.shutdown().await;
    assert_eq!(a.stats().sent, a.stats().queued, "everything queued was written");
    for event in &events {
        assert_eq!(&next(&mut on_b).await.event, event);
    }
    let dropped = a.stats().dropped;
    a.fanout.publish(Arc::new(Envelope::new(Topic::Channel(channel), events[0].clone())));
    assert_eq!(a.stats().dropped, dropped + 1, "after shutdown nothing is forwarded");
    a.stop().await;
    b.stop().await;
}

#[tokio::test]
async fn old_rows_are_pruned() {
    let Some((url, _)) = rift_testing::postgres_url().await else { return };
    let mut options = PgFanOutOptions::default();
    options.retention = Duration::ZERO;
    let a = Node::start(&url, options).await;
    let (ada, channel) = world(&a).await;
    for i in 0..5 {
        a.send(ada, channel, &format!("soon gone {i}")).await;
    }
    until("everything queued to be written", || a.stats().sent == a.stats().queued).await;
    assert!(a.fanout.prune().await.unwrap() >= 5);
    let mut admin = PgConnection::connect(&url).await.unwrap();
    let left: i64 = sqlx::query_scalar("SELECT COUNT(*) FROM event_log").fetch_one(&mut admin).await.unwrap();
    assert_eq!(left, 0);
    admin.close().await.unwrap();
    a.stop().await;
}

#[tokio::test]
async fn sqlite_gives_a_local_fan_out() {
    let db = rift_testing::sqlite().await;
    let node = NodeId::random();
    let fanout = db.database.fanout(node, Router::with_inbox().1).await.unwrap();
    assert_eq!(fanout.node_id(), node);
    fanout.shutdown().await;
}

/// Remembers what it is given.
struct Recording {
    node: NodeId,
    envelopes: Mutex<Vec<Arc<Envelope>>>,
}

#[async_trait]
impl FanOut for Recording {
    fn node_id(&self) -> NodeId {
        self.node
    }

    fn publish(&self, envelope: Arc<Envelope>) {
        self.envelopes.lock().unwrap().push(envelope);
    }

    fn stats(&self) -> FanOutStats {
        FanOutStats::default()
    }

    async fn shutdown(&self) {}
}

#[tokio::test]
async fn the_service_hands_every_published_envelope_to_its_fan_out_after_local_delivery() {
    let db = rift_testing::sqlite().await;
    let router = Router::new();
    let recording = Arc::new(Recording { node: NodeId::random(), envelopes: Mutex::default() });
    let rift =
        Rift::builder(db.store.clone(), config()).router(router.clone()).fanout(recording.clone()).build();
    let session = rift.register(RegisterInput::new("ada", "correct horse battery")).await.unwrap();
    let server = rift.create_server(session.user.id, "Analytical Engines").await.unwrap();
    let channel = rift.channels(session.user.id, server.id).await.unwrap()[0].id;
    let mut local = router.subscribe(16);
    local.add(Topic::Channel(channel));
    let before = recording.envelopes.lock().unwrap().len();

    let sent = rift.send_message(session.user.id, channel, SendMessage::text("hi")).await.unwrap();
    let delivered = next(&mut local).await;
    assert_eq!(created(&delivered), sent.message.id);
    let handed = recording.envelopes.lock().unwrap()[before..].to_vec();
    assert_eq!(handed.len(), 1);
    assert!(Arc::ptr_eq(&handed[0], &delivered), "one shared envelope, not a copy");
}

#[tokio::test]
async fn an_overflowing_outbox_makes_the_other_nodes_resync_once() {
    let Some((url, _)) = rift_testing::postgres_url().await else { return };
    let mut tiny = PgFanOutOptions::default();
    tiny.queue_capacity = 2;
    let a = Node::start(&url, tiny).await;
    let b = Node::start(&url, PgFanOutOptions::default()).await;
    // The setup's events go through B, so A's small outbox holds only what the test publishes.
    let (_, channel) = world(&b).await;
    let mut on_b = b.subscribe(channel);
    // A subscriber of nothing in particular (a bridge feed, say) must hear of the loss too.
    let mut elsewhere_on_b = b.rift.router().subscribe(8);
    let before = a.stats();

    // Publishing never waits and the writer cannot run in between: two fit, eight are dropped.
    for _ in 0..10 {
        let event = Event::MessageDelete { id: MessageId::new(), channel_id: channel, content: None };
        a.fanout.publish(Arc::new(Envelope::new(Topic::Channel(channel), event)));
    }
    assert_eq!(a.stats().dropped - before.dropped, 8);

    let lagged = tokio::time::timeout(PATIENCE, on_b.recv()).await.expect("B hears of the loss");
    assert!(lagged.is_err(), "B's subscriber is told it missed events, not fed what is left");
    assert!(tokio::time::timeout(PATIENCE, elsewhere_on_b.recv()).await.expect("woken").is_err());
    assert_eq!(b.stats().gaps, 1);

    // Once announced, the gap is not announced again: a new subscriber follows normally.
    let mut resynced = b.subscribe(channel);
    let event = Event::MessageDelete { id: MessageId::new(), channel_id: channel, content: None };
    a.fanout.publish(Arc::new(Envelope::new(Topic::Channel(channel), event.clone())));
    assert_eq!(next(&mut resynced).await.event, event);
    assert_eq!(b.stats().gaps, 1);
    a.stop().await;
    b.stop().await;
}

#[tokio::test]
async fn a_restarted_node_replays_what_it_missed_or_says_it_cannot() {
    let Some((url, _)) = rift_testing::postgres_url().await else { return };
    let a = Node::start(&url, PgFanOutOptions::default()).await;
    let b = Node::start(&url, PgFanOutOptions::default()).await;
    let (ada, channel) = world(&b).await;
    let mut on_a = a.subscribe(channel);
    let seen = b.send(ada, channel, "seen before the restart").await;
    assert_eq!(created(&next(&mut on_a).await), seen);
    // A's own event after its last read: it must not come back to its next incarnation.
    let own = a.send(ada, channel, "a's own").await;
    assert_eq!(created(&next(&mut on_a).await), own);
    until("A wrote its own", || a.stats().sent == a.stats().queued).await;
    a.fanout.shutdown().await;
    let position = a.fanout.position().expect("a position");
    let missed = b.send(ada, channel, "while A was down").await;
    until("B wrote it", || b.stats().sent == b.stats().queued).await;

    // Restarted from the position: exactly what B published meanwhile, then live events.
    let (router, inbox) = Router::with_inbox();
    let mut again = router.subscribe(64);
    again.add(Topic::Channel(channel));
    let (restarted, replayed) = PgFanOut::start_after(
        &a.database,
        NodeId::random(),
        inbox,
        PgFanOutOptions::default(),
        Some(position),
    )
    .await
    .unwrap();
    assert!(replayed);
    assert_eq!(created(&next(&mut again).await), missed);
    let live = b.send(ada, channel, "after the restart").await;
    assert_eq!(created(&next(&mut again).await), live);
    assert!(again.try_recv().is_none(), "nothing twice, nothing of A's own");
    restarted.shutdown().await;

    // Rows after the position pruned: it reads from now on and says the replay is incomplete.
    let mut pruning = PgFanOutOptions::default();
    pruning.retention = Duration::ZERO;
    let pruner =
        PgFanOut::start(&b.database, NodeId::random(), Router::with_inbox().1, pruning).await.unwrap();
    pruner.prune().await.unwrap();
    pruner.shutdown().await;
    b.send(ada, channel, "the newest row").await;
    until("B wrote it", || b.stats().sent == b.stats().queued).await;
    let (late, replayed) = PgFanOut::start_after(
        &a.database,
        NodeId::random(),
        Router::with_inbox().1,
        PgFanOutOptions::default(),
        Some(position),
    )
    .await
    .unwrap();
    assert!(!replayed, "the rows it missed are gone");
    late.shutdown().await;
    a.database.close().await;
}

/// The permission view on one node follows changes made on another: a role taken away on A is
/// enforced on B once A's event has reached B (and not before it could have).
#[tokio::test]
async fn a_role_revoked_on_one_node_is_enforced_on_the_other_once_its_event_arrives() {
    let Some((url, _)) = rift_testing::postgres_url().await else { return };
    let a = Node::start(&url, PgFanOutOptions::default()).await;
    let b = Node::start(&url, PgFanOutOptions::default()).await;
    let (ada, channel) = world(&a).await;
    let server = a.rift.visible_channel(ada, channel).await.unwrap().unwrap().server_id.unwrap();
    let bob = a.rift.register(RegisterInput::new("bob", "correct horse battery")).await.unwrap().user.id;
    let invite = a.rift.create_invite(ada, server, InviteInput::default()).await.unwrap();
    a.rift.join_server(bob, server, &invite.code).await.unwrap();
    // Only speakers may send in the channel; bob is one.
    let speakers =
        a.rift.create_role(ada, server, RoleInput::new("speakers", Permissions::NONE)).await.unwrap();
    let deny = OverwriteInput::new(OverwriteKind::Role, Permissions::NONE, Permissions::SEND_MESSAGES);
    a.rift.put_overwrite(ada, channel, server.uuid(), deny).await.unwrap();
    let allow = OverwriteInput::new(OverwriteKind::Role, Permissions::SEND_MESSAGES, Permissions::NONE);
    a.rift.put_overwrite(ada, channel, speakers.id.uuid(), allow).await.unwrap();
    let mut on_b = b.rift.router().subscribe(1024);
    on_b.add(Topic::Server(server));
    a.rift.set_member_role(ada, speakers.id, bob, true).await.unwrap();
    // A's setup has reached B (events arrive in order), so no late one forgets B's view below.
    loop {
        if let Event::MemberUpdate(member) = &next(&mut on_b).await.event
            && member.user.id == bob
            && member.roles.contains(&speakers.id)
        {
            break;
        }
    }

    // B learns bob's standing and then answers from its view.
    b.send(bob, channel, "from B").await;
    let before = b.rift.access_cache_stats();
    b.send(bob, channel, "from B again").await;
    assert!(b.rift.access_cache_stats().hits > before.hits, "B answered from its view");

    a.rift.set_member_role(ada, speakers.id, bob, false).await.unwrap();
    // Refused on A at once.
    let refused = a.rift.send_message(bob, channel, SendMessage::text("from A")).await;
    assert_eq!(refused.map(|_| ()).unwrap_err().code(), "missing_permissions");
    // On B, once A's MemberUpdate has arrived.
    loop {
        if let Event::MemberUpdate(member) = &next(&mut on_b).await.event
            && member.user.id == bob
        {
            break;
        }
    }
    let refused = b.rift.send_message(bob, channel, SendMessage::text("from B, revoked")).await;
    assert_eq!(refused.map(|_| ()).unwrap_err().code(), "missing_permissions");

    // And given back on A: allowed on B once that event has arrived.
    a.rift.set_member_role(ada, speakers.id, bob, true).await.unwrap();
    loop {
        if let Event::MemberUpdate(member) = &next(&mut on_b).await.event
            && member.user.id == bob
        {
            break;
        }
    }
    b.send(bob, channel, "from B, restored").await;
    a.stop().await;
    b.stop().await;
}
