//! `rift bridge backfill` against a running bridge: the Discord bridge runs in this process (a
//! `BridgeManager`, as in rift-server or rift-bridge) over the fake Discord, the `rift` process
//! records a request in the shared database, the bridge takes and runs it, and the history that
//! nobody was told about appears. On SQLite (two processes on one file) and PostgreSQL.

use std::time::Duration;

use rift::bridge::BridgeManager;
use rift::id::BridgeConnectionId;
use rift::model::BridgeRef;
use rift::store::BridgedKind;
use rift::{RegisterInput, Rift};
use rift_discord::bridge::BridgeConfig;
use rift_testing::discord::{Account, FakeDiscord, NewMessage, channel_type};
use serde_json::Value;

use crate::{Place, one_line_failure};

/// 2023-11-14T22:13:20Z.
const BASE_MS: u64 = 1_700_000_000_000;

/// Runs `rift` off the async workers, so the bridge in this process keeps running meanwhile.
async fn rift_cli(place: &std::sync::Arc<Place>, args: &[&str]) -> std::process::Output {
    let place = std::sync::Arc::clone(place);
    let args: Vec<String> = args.iter().map(|a| (*a).to_owned()).collect();
    tokio::task::spawn_blocking(move || {
        let args: Vec<&str> = args.iter().map(String::as_str).collect();
        place.rift(&args)
    })
    .await
    .expect("rift ran")
}

#[track_caller]
fn json_of(out: &std::process::Output) -> Value {
    assert!(out.status.success(), "rift failed: {}", String::from_utf8_lossy(&out.stderr));
    serde_json::from_slice(&out.stdout).expect("JSON output")
}

/// The Rift id of what the bridge mirrored from `remote`.
async fn mirrored(rift: &Rift, kind: BridgedKind, remote: u64) -> Option<String> {
    let found = rift.find_mirrored(kind, &BridgeRef::new("discord", remote.to_string())).await;
    found.expect("lookup").map(|id| id.to_string())
}

/// Waits until the connection's first backfill is over (the bridge works in the background).
async fn first_backfill(rift: &Rift, owner: rift::UserId, id: BridgeConnectionId) {
    for _ in 0..600 {
        let view = rift.bridge_connection(owner, id).await.expect("the connection");
        let b = &view.backfill;
        if view.status == rift::model::BridgeStatus::Ready
            && b.channels_total == 1
            && b.channels_done == 1
            && b.current_channel_id.is_none()
        {
            return;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    panic!("the first backfill never finished");
}

async fn backfill_through_the_cli(place: Place) {
    let place = std::sync::Arc::new(place);
    let discord = FakeDiscord::start(Account::user("user-token", 0, "ada")).await;
    let guild = discord.add_guild("Rift Fans");
    let bob = discord.add_user("bob", None);
    discord.add_member(guild, bob);
    let general = discord.add_channel(guild, channel_type::TEXT, "general");
    let first = discord.add_message(general, NewMessage::new(bob, "before the bridge").at(BASE_MS));

    let rift = place.service().await;
    let owner = rift.register(RegisterInput::new("alice", "password123")).await.expect("register").user.id;
    let added = json_of(
        &rift_cli(
            &place,
            &["bridge", "add", "--owner", "alice", "--token", "user-token", "--mode", "archive", "--json"],
        )
        .await,
    );
    let id: BridgeConnectionId = added["id"].as_str().expect("id").parse().expect("a connection id");
    // What rift-server runs, polling for requests often so the test is quick.
    let bridges: BridgeManager =
        BridgeConfig::with_urls(&discord.api_base(), &discord.cdn_base(), Some(&discord.gateway_url()))
            .manager(&rift)
            .with_backfill_poll(Duration::from_millis(100));
    bridges.start_all().await.expect("start the stored connection");
    first_backfill(&rift, owner, id).await;
    assert!(mirrored(&rift, BridgedKind::Message, first).await.is_some(), "the first backfill read it");

    // Said on Discord with nobody told (no gateway event): only reading history again finds it.
    let unheard = discord.add_message(general, NewMessage::new(bob, "nobody was told").at(BASE_MS - 1000));
    tokio::time::sleep(Duration::from_millis(300)).await;
    assert!(mirrored(&rift, BridgedKind::Message, unheard).await.is_none());

    let answer = json_of(
        &rift_cli(&place, &["bridge", "backfill", &id.to_string(), "--json", "--timeout", "60"]).await,
    );
    assert_eq!(answer["request"]["state"], "done", "{answer}");
    assert!(answer["request"]["channel_ids"].is_null(), "every channel: {answer}");
    assert!(answer["request"]["finished_at"].is_string(), "{answer}");
    let progress = &answer["connection"]["backfill"];
    assert_eq!(
        (progress["channels_done"].as_u64(), progress["channels_total"].as_u64()),
        (Some(1), Some(1)),
        "{answer}"
    );
    assert!(progress["current_channel_id"].is_null(), "{answer}");
    assert!(mirrored(&rift, BridgedKind::Message, unheard).await.is_some(), "the backfill stored it");

    // `bridge status` shows the request done and the progress complete.
    let status = json_of(&rift_cli(&place, &["bridge", "status", &id.to_string(), "--json"]).await);
    assert_eq!(status["backfill_request"]["id"], answer["request"]["id"], "{status}");
    assert_eq!(status["backfill_request"]["state"], "done", "{status}");
    assert_eq!(status["backfill"]["channels_done"], 1, "{status}");
    let text = place.ok(&["bridge", "status", &id.to_string()]);
    assert!(text.contains("last backfill request") && text.contains("done"), "{text}");

    // One channel by its Rift id, in text form.
    let channel = mirrored(&rift, BridgedKind::Channel, general).await.expect("general is mirrored");
    let again = discord.add_message(general, NewMessage::new(bob, "another unheard one").at(BASE_MS - 2000));
    let out = rift_cli(&place, &["bridge", "backfill", &id.to_string(), "--channels", &channel]).await;
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let line = String::from_utf8(out.stdout).expect("utf-8");
    assert!(line.contains(" done: 1/1 channels complete"), "{line}");
    assert!(mirrored(&rift, BridgedKind::Message, again).await.is_some());

    // Refusals: one line each, nothing recorded.
    let before = rift.bridge_connection(owner, id).await.expect("view").backfill_request;
    let refused = one_line_failure(
        &rift_cli(&place, &["bridge", "backfill", &id.to_string(), "--channels", "nope"]).await,
    );
    assert!(refused.contains("channel"), "{refused}");
    let stranger = rift::ChannelId::new().to_string();
    let refused = one_line_failure(
        &rift_cli(&place, &["bridge", "backfill", &id.to_string(), "--channels", &stranger]).await,
    );
    assert!(refused.contains("not mirrored"), "{refused}");
    one_line_failure(&rift_cli(&place, &["bridge", "backfill", &rift::ChannelId::new().to_string()]).await);
    assert_eq!(rift.bridge_connection(owner, id).await.expect("view").backfill_request, before);

    // A paused connection runs nothing: refused at once.
    place.ok(&["bridge", "pause", &id.to_string()]);
    let refused = one_line_failure(&rift_cli(&place, &["bridge", "backfill", &id.to_string()]).await);
    assert!(refused.contains("not running"), "{refused}");

    bridges.shutdown().await;
    assert_eq!(discord.rate_limit_violations(), Vec::<String>::new());
    assert_eq!(discord.gateway_violations(), Vec::<String>::new());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sqlite_backfill_requested_by_the_cli_runs_in_the_bridge_process() {
    backfill_through_the_cli(Place::sqlite()).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn postgres_backfill_requested_by_the_cli_runs_in_the_bridge_process() {
    let Some(place) = Place::postgres().await else { return };
    backfill_through_the_cli(place).await;
}
