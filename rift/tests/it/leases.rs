//! Bridge leases: two managers over one PostgreSQL database (as two processes would be) never run
//! the same connection at once, and one takes over when the other shuts down, dies or loses its
//! lease. A backfill asked for through any manager runs in the holder's, and one its holder
//! was running when it shut down runs again on the next.

use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use async_trait::async_trait;
use rift::bridge::{Bridge, BridgeContext, BridgeFactory, BridgeManager, LeaseTimings};
use rift::event::Envelope;
use rift::id::{BridgeConnectionId, ChannelId};
use rift::model::{BackfillState, BridgeConnection};
use rift::{Config, RegisterInput, Rift, Store, UserId};

const TIMINGS: LeaseTimings = LeaseTimings {
    ttl: Duration::from_millis(800),
    renew_every: Duration::from_millis(150),
    takeover_every: Duration::from_millis(150),
};

/// Starts and stops of every manager's hosts, and how many run at once.
#[derive(Default)]
struct Record {
    log: Vec<(&'static str, &'static str)>,
    running: usize,
    most: usize,
    /// Backfills never finish while set (one in progress when its host stops).
    hold_backfills: bool,
}

type Shared = Arc<Mutex<Record>>;

/// A bridge that records its starts and stops under its manager's name.
struct Recorder {
    node: &'static str,
    record: Shared,
}

#[async_trait]
impl Bridge for Recorder {
    fn name(&self) -> &'static str {
        "record"
    }
    async fn start(&self, _ctx: BridgeContext) -> rift::Result<()> {
        let mut record = self.record.lock().unwrap();
        record.log.push((self.node, "start"));
        record.running += 1;
        record.most = record.most.max(record.running);
        Ok(())
    }
    async fn on_event(&self, _ctx: &BridgeContext, _event: &Envelope) -> rift::Result<()> {
        Ok(())
    }
    async fn backfill(&self, _ctx: &BridgeContext, _channels: Option<Vec<ChannelId>>) -> rift::Result<()> {
        let hold = {
            let mut record = self.record.lock().unwrap();
            record.log.push((self.node, "backfill"));
            record.hold_backfills
        };
        if hold {
            std::future::pending::<()>().await;
        }
        Ok(())
    }
    async fn stop(&self) -> rift::Result<()> {
        let mut record = self.record.lock().unwrap();
        record.log.push((self.node, "stop"));
        record.running -= 1;
        Ok(())
    }
}

fn manager(store: &Arc<dyn Store>, node: &'static str, record: &Shared) -> BridgeManager {
    let mut config = Config::new(b"test secret, long enough to be a secret".to_vec());
    config.rate_limits = false;
    let rift = Rift::new(Arc::clone(store), config);
    let record = Arc::clone(record);
    let factory: BridgeFactory =
        Arc::new(move |_| Arc::new(Recorder { node, record: Arc::clone(&record) }) as Arc<dyn Bridge>);
    BridgeManager::new(rift).with_factory("record", factory).with_lease_timings(TIMINGS)
}

async fn connection(store: &Arc<dyn Store>) -> BridgeConnectionId {
    let rift = Rift::new(Arc::clone(store), Config::new(b"test secret, long enough to be a secret".to_vec()));
    let owner: UserId =
        rift.register(RegisterInput::new("owner", "password123")).await.expect("register").user.id;
    let connection = BridgeConnection::new("record", owner, "secret", "bot", "relay", chrono::Utc::now());
    store.create_bridge_connection(&connection).await.unwrap();
    connection.id
}

async fn eventually(what: &str, within: Duration, mut check: impl AsyncFnMut() -> bool) {
    let started = Instant::now();
    while !check().await {
        assert!(started.elapsed() < within, "{what} did not happen within {within:?}");
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

fn log(record: &Shared) -> Vec<(&'static str, &'static str)> {
    record.lock().unwrap().log.clone()
}

#[tokio::test]
async fn two_managers_run_a_connection_once_and_the_second_takes_over_after_a_shutdown() {
    let Some(db) = rift_testing::postgres().await else { return };
    let id = connection(&db.store).await;
    let record = Shared::default();
    let a = manager(&db.store, "a", &record);
    let b = manager(&db.store, "b", &record);
    assert_ne!(a.holder(), b.holder());

    a.start_all().await.unwrap();
    eventually("a runs it", Duration::from_secs(5), async || a.is_running(id).await).await;
    b.start_all().await.unwrap();
    // Several renewals and takeover attempts later, b still has not started it.
    tokio::time::sleep(TIMINGS.ttl * 2).await;
    assert!(!b.is_running(id).await);
    assert_eq!(log(&record), [("a", "start")]);

    // A shutdown releases the lease: b takes over at its next attempt, well within the ttl.
    let stopped = Instant::now();
    a.shutdown().await;
    eventually("b takes over", Duration::from_secs(5), async || b.is_running(id).await).await;
    assert!(stopped.elapsed() < TIMINGS.ttl, "took {:?}", stopped.elapsed());
    assert_eq!(log(&record), [("a", "start"), ("a", "stop"), ("b", "start")]);
    // a, shut down, never starts it again.
    tokio::time::sleep(TIMINGS.ttl).await;
    assert!(!a.is_running(id).await);

    // Pausing releases it too; resuming starts it again (here, on b).
    let owner = db.store.bridge_connection(id).await.unwrap().unwrap().owner_id;
    b.pause(owner, id).await.unwrap();
    assert!(
        db.store
            .acquire_bridge_lease(id, uuid::Uuid::now_v7(), chrono::Utc::now(), TIMINGS.ttl)
            .await
            .unwrap()
    );
    b.shutdown().await;
    assert_eq!(record.lock().unwrap().most, 1);
    assert_eq!(record.lock().unwrap().running, 0);
}

#[tokio::test]
async fn a_manager_whose_lease_is_taken_stops_its_host() {
    let Some(db) = rift_testing::postgres().await else { return };
    let id = connection(&db.store).await;
    let record = Shared::default();
    let a = manager(&db.store, "a", &record);
    a.start_all().await.unwrap();
    eventually("a runs it", Duration::from_secs(5), async || a.is_running(id).await).await;

    // Another holder took the lease over (as after a stall longer than the ttl, when a's lease
    // expired): a's next renewal is refused and it stops the host.
    let later = chrono::Utc::now() + chrono::Duration::hours(1);
    let other = uuid::Uuid::now_v7();
    assert!(db.store.acquire_bridge_lease(id, other, later, TIMINGS.ttl).await.unwrap());
    eventually("a stops", Duration::from_secs(5), async || !a.is_running(id).await).await;
    assert_eq!(log(&record), [("a", "start"), ("a", "stop")]);
    // And does not start it again while the other holder keeps it.
    tokio::time::sleep(TIMINGS.ttl).await;
    assert_eq!(log(&record), [("a", "start"), ("a", "stop")]);
    a.shutdown().await;
}

#[test]
fn a_dead_managers_connection_is_taken_over_after_its_lease_expires() {
    let runtime = tokio::runtime::Runtime::new().unwrap();
    let Some((url, _)) = runtime.block_on(rift_testing::postgres_url()) else { return };
    let store: Arc<dyn Store> =
        Arc::new(runtime.block_on(rift_store::Database::connect_postgres(&url)).unwrap());
    let id = runtime.block_on(connection(&store));
    let record = Shared::default();

    // a runs in its own runtime (with its own connections), which is then dropped: its tasks
    // vanish mid-lease, as a killed process's would, without stopping or releasing anything.
    let doomed = tokio::runtime::Runtime::new().unwrap();
    doomed.block_on(async {
        let own: Arc<dyn Store> = Arc::new(rift_store::Database::connect_postgres(&url).await.unwrap());
        let a = manager(&own, "a", &record);
        a.start_all().await.unwrap();
        eventually("a runs it", Duration::from_secs(5), async || a.is_running(id).await).await;
    });

    runtime.block_on(async {
        let b = manager(&store, "b", &record);
        b.start_all().await.unwrap();
        tokio::time::sleep(TIMINGS.renew_every * 2).await;
        assert!(!b.is_running(id).await, "b must wait while a renews");
        doomed.shutdown_background();
        let died = Instant::now();
        eventually("b takes over", TIMINGS.ttl * 4, async || b.is_running(id).await).await;
        let took = died.elapsed();
        // Not before a's last renewal could have expired (a renewed about renew_every ago; slack for
        // a renewal delayed by a busy machine).
        assert!(took + TIMINGS.renew_every * 3 >= TIMINGS.ttl, "took over too early: {took:?}");
        assert_eq!(log(&record), [("a", "start"), ("b", "start")]);
        b.shutdown().await;
    });
}

#[tokio::test]
async fn a_backfill_asked_anywhere_runs_in_the_lease_holder_and_survives_its_shutdown() {
    let Some(db) = rift_testing::postgres().await else { return };
    let id = connection(&db.store).await;
    let owner = db.store.bridge_connection(id).await.unwrap().unwrap().owner_id;
    let record = Shared::default();
    let poll = Duration::from_millis(100);
    let a = manager(&db.store, "a", &record).with_backfill_poll(poll);
    let b = manager(&db.store, "b", &record).with_backfill_poll(poll);
    a.start_all().await.unwrap();
    eventually("a runs it", Duration::from_secs(5), async || a.is_running(id).await).await;
    b.start_all().await.unwrap();

    // Asked through b, which does not run the connection: a takes it at its next poll.
    let state = async |request| b.rift().bridge_backfill_request(owner, request).await.unwrap().state;
    let first = b.backfill(owner, id, None).await.unwrap();
    assert_eq!(first.state, BackfillState::Pending);
    eventually("a runs the backfill", Duration::from_secs(5), async || {
        state(first.id).await == BackfillState::Done
    })
    .await;
    assert_eq!(log(&record), [("a", "start"), ("a", "backfill")]);

    // One a is still running when it shuts down goes back to pending, and b, taking the
    // connection over, runs it.
    record.lock().unwrap().hold_backfills = true;
    let second = b.backfill(owner, id, None).await.unwrap();
    eventually("a starts the second", Duration::from_secs(5), async || {
        state(second.id).await == BackfillState::Running
    })
    .await;
    record.lock().unwrap().hold_backfills = false;
    a.shutdown().await;
    eventually("b runs it again", Duration::from_secs(5), async || {
        state(second.id).await == BackfillState::Done
    })
    .await;
    assert_eq!(
        log(&record),
        [
            ("a", "start"),
            ("a", "backfill"),
            ("a", "backfill"),
            ("a", "stop"),
            ("b", "start"),
            ("b", "backfill")
        ]
    );
    let done = b.rift().bridge_backfill_request(owner, second.id).await.unwrap();
    assert!(done.finished_at.is_some() && done.error.is_none(), "{done:?}");
    b.shutdown().await;
}
