//! Real `rift-server` processes: start-up on a fresh data dir, bad configuration, graceful
//! shutdown, and two processes sharing one PostgreSQL delivering each other's events.

mod common;

use std::process::Command;
use std::time::{Duration, Instant};

use common::{GatewayClient, command, free_port, post, start, start_with};
use futures_util::StreamExt;
use serde_json::{Value, json};
use tokio_tungstenite::tungstenite::Message;

#[tokio::test]
async fn an_empty_database_url_means_the_default_sqlite_file() {
    let node = start(Some("")).await;
    let http = reqwest::Client::new();
    let health: Value =
        http.get(format!("{}/api/health", node.base)).send().await.unwrap().json().await.unwrap();
    assert_eq!(health["database"], "sqlite");
    let session = post(
        &http,
        format!("{}/api/auth/register", node.base),
        None,
        json!({"username": "ada", "password": "password123"}),
    )
    .await;
    let token = session["access_token"].as_str().unwrap();
    post(&http, format!("{}/api/servers", node.base), Some(token), json!({"name": "Engines"})).await;
    assert!(node.dir.path().join("rift.db").is_file(), "the default file was used");
}

#[tokio::test]
async fn metrics_are_served_only_when_switched_on() {
    let http = reqwest::Client::new();
    let off = start(None).await;
    let answer = http.get(format!("{}/metrics", off.base)).send().await.unwrap();
    assert_eq!(answer.status(), 404);
    let body: Value = answer.json().await.unwrap();
    assert_eq!(body["error"]["code"], "unknown_route");
    let on = start_with(None, &[("RIFT_METRICS", "on")]).await;
    let answer = http.get(format!("{}/metrics", on.base)).send().await.unwrap();
    assert_eq!(answer.status(), 200);
    let text = answer.text().await.unwrap();
    assert!(text.contains("# TYPE rift_messages_sent_total counter"), "{text}");
    assert!(text.contains("rift_gateway_sessions 0"), "{text}");
}

#[tokio::test]
async fn starts_on_a_fresh_data_dir_and_stops_gracefully() {
    let node = start(None).await;
    let http = reqwest::Client::new();
    let health: Value =
        http.get(format!("{}/api/health", node.base)).send().await.unwrap().json().await.unwrap();
    assert_eq!(health["database"], "sqlite");
    let page = http.get(format!("{}/", node.base)).send().await.unwrap().text().await.unwrap();
    assert!(page.contains("not built yet"), "{page}");
    // The soft open-file limit was raised to the hard one at start.
    let limits = std::fs::read_to_string(format!("/proc/{}/limits", node.child.id())).unwrap();
    let open_files: Vec<&str> =
        limits.lines().find(|l| l.starts_with("Max open files")).unwrap().split_whitespace().collect();
    assert_eq!(open_files[3], open_files[4], "soft and hard limit: {limits}");
    let mut node = node;
    let status = Command::new("kill").args(["-TERM", &node.child.id().to_string()]).status().unwrap();
    assert!(status.success());
    let started = Instant::now();
    let exit = loop {
        if let Some(exit) = node.child.try_wait().unwrap() {
            break exit;
        }
        assert!(started.elapsed() < Duration::from_secs(10), "no graceful exit after SIGTERM");
        tokio::time::sleep(Duration::from_millis(50)).await;
    };
    assert!(exit.success(), "{exit:?}");
}

#[test]
fn bad_configuration_is_one_line_naming_the_variable() {
    let dir = tempfile::tempdir().unwrap();
    for (var, value) in [("JWT_SECRET", "short"), ("DATABASE_URL", "postgres://[not a url")] {
        let mut cmd = command(dir.path(), free_port());
        cmd.env(var, value);
        let output = cmd.output().unwrap();
        assert_eq!(output.status.code(), Some(2), "{var}");
        let stderr = String::from_utf8_lossy(&output.stderr);
        let lines: Vec<&str> = stderr.lines().filter(|l| l.starts_with("error:")).collect();
        assert_eq!(lines.len(), 1, "{stderr}");
        assert!(lines[0].contains(var), "{stderr}");
    }
}

#[tokio::test]
async fn two_processes_on_one_postgres_deliver_each_others_events() {
    let Some((url, _)) = rift_testing::postgres_url().await else { return };
    let first = start(Some(&url)).await;
    let second = start(Some(&url)).await;
    let http = reqwest::Client::new();
    let session = post(
        &http,
        format!("{}/api/auth/register", first.base),
        None,
        json!({ "username": "ada", "password": "password123" }),
    )
    .await;
    let token = session["access_token"].as_str().unwrap().to_owned();
    let server =
        post(&http, format!("{}/api/servers", first.base), Some(&token), json!({ "name": "Shared" })).await;
    let channels: Value = http
        .get(format!("{}/api/servers/{}/channels", first.base, server["id"].as_str().unwrap()))
        .bearer_auth(&token)
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let channel = channels[0]["id"].as_str().unwrap().to_owned();

    // A gateway client on the second process; the message is sent to the first.
    let ws_url = second.base.replacen("http://", "ws://", 1) + "/ws";
    let (mut socket, _) = tokio_tungstenite::connect_async(ws_url).await.expect("ws");
    futures_util::SinkExt::send(
        &mut socket,
        Message::text(json!({ "type": "Identify", "token": token }).to_string()),
    )
    .await
    .unwrap();
    // Ready first: the session follows the channel from then on.
    loop {
        let frame = tokio::time::timeout(Duration::from_secs(10), socket.next()).await.expect("Ready");
        let Some(Ok(Message::Text(text))) = frame else { panic!("socket closed: {frame:?}") };
        if serde_json::from_str::<Value>(text.as_str()).unwrap()["type"] == "Ready" {
            break;
        }
    }
    let body = json!({ "content": "across processes" });
    post(&http, format!("{}/api/channels/{channel}/messages", first.base), Some(&token), body).await;
    let deadline = Instant::now() + Duration::from_secs(10);
    loop {
        let frame = tokio::time::timeout(Duration::from_secs(10), socket.next()).await.expect("a frame");
        let Some(Ok(Message::Text(text))) = frame else { panic!("socket closed: {frame:?}") };
        let value: Value = serde_json::from_str(text.as_str()).unwrap();
        if value["type"] == "MessageCreate" {
            assert_eq!(value["data"]["content"], "across processes");
            break;
        }
        assert!(Instant::now() < deadline, "no MessageCreate from the other process");
    }
}

/// Registers `name` on `base`; returns its access token and id.
async fn register(http: &reqwest::Client, base: &str, name: &str) -> (String, String) {
    let body = json!({ "username": name, "password": "password123" });
    let session = post(http, format!("{base}/api/auth/register"), None, body).await;
    (session["access_token"].as_str().unwrap().to_owned(), session["user"]["id"].as_str().unwrap().to_owned())
}

/// The status `base` shows for `user` to the holder of `token`.
async fn status(http: &reqwest::Client, base: &str, token: &str, user: &str) -> String {
    let user: Value = http
        .get(format!("{base}/api/users/{user}"))
        .bearer_auth(token)
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    user["status"].as_str().unwrap().to_owned()
}

/// Whether `frame` is a PresenceUpdate of `user` to `status`.
fn presence_of(frame: &Value, user: &str, status: &str) -> bool {
    frame["type"] == "PresenceUpdate" && frame["data"]["user_id"] == user && frame["data"]["status"] == status
}

#[tokio::test]
async fn presence_is_cluster_wide_and_a_killed_nodes_users_expire() {
    let Some((url, _)) = rift_testing::postgres_url().await else { return };
    let timings = [("PRESENCE_HEARTBEAT_SECS", "1"), ("PRESENCE_EXPIRY_SECS", "3")];
    let mut first = start_with(Some(&url), &timings).await;
    let second = start_with(Some(&url), &timings).await;
    let http = reqwest::Client::new();
    let (ada, ada_id) = register(&http, &first.base, "ada").await;
    let (bob, _) = register(&http, &first.base, "bob").await;
    let server =
        post(&http, format!("{}/api/servers", first.base), Some(&ada), json!({ "name": "Shared" })).await;
    let server_id = server["id"].as_str().unwrap();
    let invite =
        post(&http, format!("{}/api/servers/{server_id}/invites", first.base), Some(&ada), json!({})).await;
    let join = json!({ "code": invite["code"] });
    post(&http, format!("{}/api/servers/{server_id}/join", first.base), Some(&bob), join).await;
    let channels: Value = http
        .get(format!("{}/api/servers/{server_id}/channels", first.base))
        .bearer_auth(&bob)
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let channel = channels[0]["id"].as_str().unwrap().to_owned();

    // Bob watches from both nodes; Ada connects to both.
    let (mut bob_first, _) = GatewayClient::identify(&first.base, &bob).await;
    let (mut bob_second, _) = GatewayClient::identify(&second.base, &bob).await;
    let (ada_first, _) = GatewayClient::identify(&first.base, &ada).await;
    bob_first.until(|f| presence_of(f, &ada_id, "online")).await;
    bob_second.until(|f| presence_of(f, &ada_id, "online")).await;
    let (ada_second, _) = GatewayClient::identify(&second.base, &ada).await;
    // The first node hears of her second session within a heartbeat.
    tokio::time::sleep(Duration::from_secs(2)).await;

    // One of Ada's sessions ends: no node says she is offline. Two heartbeats pass, then a
    // message through the first node marks where to stop reading.
    ada_first.close().await;
    tokio::time::sleep(Duration::from_secs(2)).await;
    let marker = json!({ "content": "still here" });
    post(&http, format!("{}/api/channels/{channel}/messages", first.base), Some(&ada), marker).await;
    for bob_socket in [&mut bob_first, &mut bob_second] {
        let frames = bob_socket.collect_until(|f| f["type"] == "MessageCreate").await;
        assert!(!frames.iter().any(|f| presence_of(f, &ada_id, "offline")), "a flicker: {frames:?}");
    }
    for base in [&first.base, &second.base] {
        assert_eq!(status(&http, base, &bob, &ada_id).await, "online", "{base}");
    }

    // Her last session ends: offline everywhere.
    ada_second.close().await;
    bob_first.until(|f| presence_of(f, &ada_id, "offline")).await;
    bob_second.until(|f| presence_of(f, &ada_id, "offline")).await;
    for base in [&first.base, &second.base] {
        assert_eq!(status(&http, base, &bob, &ada_id).await, "offline", "{base}");
    }

    // Connected to the first node only, which is then killed: the second node takes her offline
    // once the first has been silent for the expiry.
    let (_ada_again, _) = GatewayClient::identify(&first.base, &ada).await;
    bob_second.until(|f| presence_of(f, &ada_id, "online")).await;
    assert_eq!(status(&http, &second.base, &bob, &ada_id).await, "online");
    first.child.kill().unwrap();
    first.child.wait().unwrap();
    bob_second.until(|f| presence_of(f, &ada_id, "offline")).await;
    assert_eq!(status(&http, &second.base, &bob, &ada_id).await, "offline");
}
