//! Every scenario at a tiny size against an in-process Rift (rift-http on 127.0.0.1), on SQLite
//! and on PostgreSQL: counts add up and nothing acknowledged is lost. No timing is asserted.

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use rift::{Config, Rift};
use rift_http::{AppState, HttpConfig};
use rift_load::scenarios::{self, Seed, Via};
use rift_load::target::Target;

/// Serves `store` on a free loopback port until the test ends.
async fn serve(store: rift_store::Database, database_url: String) -> (Target, tempfile::TempDir) {
    let uploads = tempfile::tempdir().expect("upload dir");
    let mut config = Config::new(b"rift-load smoke test secret, long enough".to_vec());
    config.rate_limits = false;
    let mut http = HttpConfig::new(uploads.path());
    http.rate_limits = false;
    let rift = Rift::new(Arc::new(store), config);
    let app = rift_http::router(AppState::new(rift, http));
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.expect("bind");
    let addr = listener.local_addr().expect("addr");
    tokio::spawn(async move {
        let _ = axum::serve(listener, app.into_make_service_with_connect_info::<SocketAddr>()).await;
    });
    let target =
        Target::new(&format!("http://{addr}"), Some(std::process::id()), Some(database_url)).expect("target");
    (target, uploads)
}

async fn every_scenario(target: Target) {
    for via in [Via::Rest, Via::Gateway] {
        let options = scenarios::LatencyOptions { rate: 200.0, messages: 40, warmup: 5, via };
        let report = scenarios::latency(&target, &options).await.expect("latency");
        assert_eq!(
            (report.acked, report.received, report.lost, report.errors.total()),
            (40, 40, 0, 0),
            "{report}"
        );
        assert_eq!(report.delivery.count, 35, "{report}");

        let options = scenarios::ThroughputOptions {
            senders: 2,
            in_flight: 3,
            messages: 60,
            duration: Duration::from_secs(60),
            via,
            verify: true,
        };
        let report = scenarios::throughput(&target, &options).await.expect("throughput");
        assert_eq!((report.acked, report.verified, report.missing), (60, Some(60), 0), "{report}");
        assert_eq!(report.errors.total(), 0, "{report}");
        assert!(report.per_s > 0.0, "{report}");
    }

    let options = scenarios::FanoutOptions { members: 6, accounts: 3, messages: 3 };
    let report = scenarios::fanout(&target, &options).await.expect("fanout");
    assert_eq!((report.expected, report.delivered, report.lost), (18, 18, 0), "{report}");
    assert_eq!(report.all_received.count, 3, "{report}");

    let options =
        scenarios::IdleOptions { connections: 12, accounts: 2, concurrency: 4, settle: Duration::ZERO };
    let report = scenarios::idle(&target, &options).await.expect("idle");
    assert_eq!((report.opened, report.failed, report.delivered), (12, 0, 12), "{report}");
    assert!(report.rss_before_kib.is_some() && report.bytes_per_connection.is_some(), "{report}");

    for seed in [Seed::Api, Seed::Store] {
        let report = scenarios::search(&target, &scenarios::SearchOptions { messages: 90, seed, runs: 2 })
            .await
            .expect("search");
        assert_eq!(report.errors.total(), 0, "{report}");
        let hits = |label: &str| report.queries.iter().find(|q| q.label == label).map(|q| q.hits);
        assert_eq!(hits("rare word, channel"), Some(1), "{report}");
        assert_eq!(hits("rare word, its author"), Some(1), "{report}");
        assert_eq!(hits("absent word, everywhere"), Some(0), "{report}");
        assert!(hits("common word, channel").is_some_and(|h| h > 0), "{report}");
        assert!(report.queries.iter().all(|q| q.latency.count == 2), "{report}");
    }

    let options =
        scenarios::SignupOptions { signups: 4, logins: 8, concurrency: 2, settle: Duration::from_millis(10) };
    let report = scenarios::signup(&target, &options).await.expect("signup");
    assert_eq!((report.signups, report.logins, report.errors.total()), (4, 8, 0), "{report}");
    assert!(report.rss_peak_kib.is_some() && report.rss_settled_kib.is_some(), "{report}");

    let options = scenarios::SoakOptions {
        duration: Duration::from_secs(3),
        rest_rate: 20.0,
        gateway_rate: 20.0,
        sample_every: Duration::from_millis(500),
    };
    let report = scenarios::soak(&target, &options).await.expect("soak");
    assert!(report.acked_rest > 0 && report.acked_gateway > 0, "{report}");
    assert_eq!((report.missing, report.errors.total()), (0, 0), "{report}");
    assert_eq!(report.verified, report.acked_rest + report.acked_gateway, "{report}");
    assert!(report.searches > 0 && report.history_reads > 0 && report.logins > 0, "{report}");
    assert!(!report.rss.is_empty(), "{report}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_scenario_on_sqlite() {
    let dir = tempfile::tempdir().expect("temp dir");
    let path = dir.path().join("rift.db");
    let store = rift_store::Database::open_sqlite(&path).await.expect("sqlite");
    let (target, _uploads) = serve(store, format!("sqlite://{}", path.display())).await;
    every_scenario(target).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_scenario_on_postgres() {
    let Some((url, _)) = rift_testing::postgres_url().await else { return };
    let store = rift_store::Database::connect_postgres(&url).await.expect("postgres");
    let (target, _uploads) = serve(store, url).await;
    every_scenario(target).await;
}

#[test]
fn refuses_targets_that_are_not_loopback() {
    for url in ["http://10.1.2.3:3200", "http://example.com"] {
        let output = std::process::Command::new(env!("CARGO_BIN_EXE_rift-load"))
            .args(["--url", url, "latency", "--messages", "1"])
            .output()
            .expect("run rift-load");
        assert_eq!(output.status.code(), Some(2), "{url}");
        let stderr = String::from_utf8_lossy(&output.stderr);
        assert!(stderr.contains("loopback"), "{stderr}");
    }
    let output = std::process::Command::new(env!("CARGO_BIN_EXE_rift-load"))
        .args(["--database-url", "postgres://u:p@db.example:5432/rift", "idle"])
        .args(["--server-bin", "/nonexistent/rift-server"])
        .output()
        .expect("run rift-load");
    assert_eq!(output.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&output.stderr).contains("loopback"));
}
