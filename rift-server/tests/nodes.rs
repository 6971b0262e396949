//! Real `rift-server` processes: start-up on a fresh data dir, bad configuration, graceful
//! shutdown, and two processes sharing one PostgreSQL delivering each other's events.

mod common;

use std::process::Command;
use std::time::{Duration, Instant};

use common::{command, free_port, post, start, start_with};
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
