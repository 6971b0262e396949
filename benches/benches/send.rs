//! The send path, measured end to end on each backend: `Rift::send_message` (validation, the
//! permission check, persistence, the publish), `Store::create_message` alone (persistence), and
//! `POST /api/channels/:id/messages` over a loopback socket (SQLite). Each is run one at a time
//! and as 32 concurrent sends, so group commit shows up as the difference between the two.
//!
//! `cargo bench -p rift-benches --bench send` (PostgreSQL through the `rift-testing` cluster;
//! skipped when PostgreSQL is not installed).

// `criterion_group!` makes a public function we cannot document.
#![allow(missing_docs)]

use std::sync::Arc;

use criterion::{BenchmarkId, Criterion, Throughput, criterion_group, criterion_main};
use futures_util::future::join_all;
use rift::store::NewMessage;
use rift::{ChannelId, Config, MessageId, RegisterInput, Rift, SendMessage, UserId};
use rift_testing::TestDb;

/// Concurrent sends in the batched variants.
const CONCURRENT: usize = 32;

struct Fixture {
    rift: Rift,
    user: UserId,
    channel: ChannelId,
    token: String,
    db: TestDb,
}

async fn fixture(db: TestDb) -> Fixture {
    let mut config = Config::new(b"a bench secret, long enough for signing".to_vec());
    config.rate_limits = false;
    let rift = Rift::new(Arc::clone(&db.store), config);
    let session = rift.register(RegisterInput::new("bench", "a bench password")).await.expect("register");
    let server = rift.create_server(session.user.id, "Bench").await.expect("server");
    let channel = rift.channels(session.user.id, server.id).await.expect("channels").remove(0);
    Fixture {
        rift,
        user: session.user.id,
        channel: channel.id,
        token: session.access_token.expose().to_owned(),
        db,
    }
}

fn new_message(fixture: &Fixture) -> NewMessage {
    NewMessage::new(
        MessageId::new(),
        fixture.channel,
        fixture.user,
        "a message of ordinary length, about as long as people write",
        chrono::Utc::now(),
    )
}

fn backends(rt: &tokio::runtime::Runtime) -> Vec<(&'static str, Fixture)> {
    let mut out = vec![("sqlite", rt.block_on(async { fixture(rift_testing::sqlite().await).await }))];
    if let Some(db) = rt.block_on(rift_testing::postgres()) {
        out.push(("postgres", rt.block_on(fixture(db))));
    }
    out
}

fn runtime() -> tokio::runtime::Runtime {
    tokio::runtime::Builder::new_multi_thread().enable_all().build().expect("tokio runtime")
}

fn send_message(c: &mut Criterion) {
    let rt = runtime();
    let fixtures = backends(&rt);
    let mut group = c.benchmark_group("send_message");
    for (backend, fixture) in &fixtures {
        group.throughput(Throughput::Elements(1));
        group.bench_function(BenchmarkId::new(*backend, "one"), |b| {
            b.to_async(&rt).iter(|| async {
                fixture
                    .rift
                    .send_message(fixture.user, fixture.channel, SendMessage::text("hello"))
                    .await
                    .unwrap()
            });
        });
        group.throughput(Throughput::Elements(CONCURRENT as u64));
        group.bench_function(BenchmarkId::new(*backend, format!("{CONCURRENT}_concurrent")), |b| {
            b.to_async(&rt).iter(|| async {
                let sends = (0..CONCURRENT).map(|_| {
                    let rift = fixture.rift.clone();
                    let (user, channel) = (fixture.user, fixture.channel);
                    tokio::spawn(
                        async move { rift.send_message(user, channel, SendMessage::text("hello")).await },
                    )
                });
                for sent in join_all(sends).await {
                    sent.expect("task").expect("send");
                }
            });
        });
    }
    group.finish();
}

fn persist(c: &mut Criterion) {
    let rt = runtime();
    let fixtures = backends(&rt);
    let mut group = c.benchmark_group("persist_message");
    for (backend, fixture) in &fixtures {
        let since = chrono::Utc::now();
        group.throughput(Throughput::Elements(1));
        group.bench_function(BenchmarkId::new(*backend, "one"), |b| {
            b.to_async(&rt).iter(|| async {
                fixture.db.store.create_message(&new_message(fixture), since).await.unwrap()
            });
        });
        group.throughput(Throughput::Elements(CONCURRENT as u64));
        group.bench_function(BenchmarkId::new(*backend, format!("{CONCURRENT}_concurrent")), |b| {
            b.to_async(&rt).iter(|| async {
                let writes = (0..CONCURRENT).map(|_| {
                    let store = Arc::clone(&fixture.db.store);
                    let message = new_message(fixture);
                    tokio::spawn(async move { store.create_message(&message, since).await })
                });
                for stored in join_all(writes).await {
                    stored.expect("task").expect("store");
                }
            });
        });
    }
    group.finish();
}

fn rest_send(c: &mut Criterion) {
    let rt = runtime();
    let fixture = rt.block_on(async { fixture(rift_testing::sqlite().await).await });
    let dir = tempfile::tempdir().expect("temp dir");
    let mut config = rift_http::HttpConfig::new(dir.path().join("uploads"));
    config.rate_limits = false;
    let app = rift_http::router(rift_http::AppState::new(fixture.rift.clone(), config));
    let listener = rt.block_on(tokio::net::TcpListener::bind("127.0.0.1:0")).expect("bind");
    let url =
        format!("http://{}/api/channels/{}/messages", listener.local_addr().expect("addr"), fixture.channel);
    rt.spawn(async move { axum::serve(listener, app).await });
    let http = reqwest::Client::new();
    let body = serde_json::json!({ "content": "hello" });
    let mut group = c.benchmark_group("rest_send");
    group.throughput(Throughput::Elements(1));
    group.bench_function(BenchmarkId::new("sqlite", "one"), |b| {
        b.to_async(&rt).iter(|| async {
            let answer = http.post(&url).bearer_auth(&fixture.token).json(&body).send().await.unwrap();
            assert_eq!(answer.status(), 201);
        });
    });
    group.throughput(Throughput::Elements(CONCURRENT as u64));
    group.bench_function(BenchmarkId::new("sqlite", format!("{CONCURRENT}_concurrent")), |b| {
        b.to_async(&rt).iter(|| async {
            let sends = (0..CONCURRENT).map(|_| {
                let request = http.post(&url).bearer_auth(&fixture.token).json(&body);
                tokio::spawn(async move { request.send().await })
            });
            for answer in join_all(sends).await {
                assert_eq!(answer.expect("task").expect("request").status(), 201);
            }
        });
    });
    group.finish();
}

criterion_group!(benches, send_message, persist, rest_send);
criterion_main!(benches);
