//! Graceful shutdown and restart of a real `rift-server`: gateway clients are told to resume
//! (1012), their sessions are saved, and after a restart on the same data and port a Resume gets
//! every event it missed (on PostgreSQL also what another node published meanwhile) — or, after
//! a SIGKILL, InvalidSession: never a silent gap.

mod common;

use std::sync::Arc;

use common::{GatewayClient, Node, post, start_on, start_with};
use serde_json::{Value, json};

/// A user with a server; returns the token and the server's text channel.
async fn world(http: &reqwest::Client, base: &str) -> (String, String) {
    let body = json!({ "username": "ada", "password": "password123" });
    let session = post(http, format!("{base}/api/auth/register"), None, body).await;
    let token = session["access_token"].as_str().unwrap().to_owned();
    let server = post(http, format!("{base}/api/servers"), Some(&token), json!({ "name": "Restarts" })).await;
    let channels: Value = http
        .get(format!("{base}/api/servers/{}/channels", server["id"].as_str().unwrap()))
        .bearer_auth(&token)
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    (token, channels[0]["id"].as_str().unwrap().to_owned())
}

async fn send(http: &reqwest::Client, base: &str, token: &str, channel: &str, content: &str) {
    post(http, format!("{base}/api/channels/{channel}/messages"), Some(token), json!({ "content": content }))
        .await;
}

fn created(frame: &Value) -> Option<(u64, String)> {
    (frame["type"] == "MessageCreate")
        .then(|| (frame["seq"].as_u64().unwrap(), frame["data"]["content"].as_str().unwrap().to_owned()))
}

/// The same node again: same data dir, same port.
async fn restart(node: &Node, database_url: Option<&str>) -> Node {
    start_on(Arc::clone(&node.dir), node.port(), database_url, &[]).await
}

/// Resumes `session` at `seq` on `base`; returns the contents of the MessageCreates replayed
/// before `Resumed`, after checking that the replayed sequence numbers follow `seq` with no gap.
async fn resume(base: &str, token: &str, session: &str, seq: u64) -> Vec<String> {
    let frame = json!({ "type": "Resume", "token": token, "session_id": session, "seq": seq });
    let mut client = GatewayClient::open(base, frame).await;
    let frames = client.collect_until(|f| f["type"] == "Resumed" || f["type"] == "InvalidSession").await;
    let last = frames.last().unwrap();
    assert_eq!(last["type"], "Resumed", "{frames:?}");
    let seqs: Vec<u64> = frames.iter().filter_map(|f| f["seq"].as_u64()).collect();
    let expected: Vec<u64> = (seq + 1..=seq + seqs.len() as u64).collect();
    assert_eq!(seqs, expected, "contiguous from the resume point: {frames:?}");
    frames.iter().filter_map(created).map(|(_, content)| content).collect()
}

#[tokio::test]
async fn sqlite_sessions_resume_after_a_graceful_restart() {
    let mut node = start_with(None, &[]).await;
    let http = reqwest::Client::new();
    let (token, channel) = world(&http, &node.base).await;
    let (mut client, ready) = GatewayClient::identify(&node.base, &token).await;
    let session = ready["data"]["session_id"].as_str().unwrap().to_owned();
    send(&http, &node.base, &token, &channel, "before").await;
    let (seen, _) = created(&client.until(|f| f["type"] == "MessageCreate").await).unwrap();

    // SIGTERM: the client is told to resume elsewhere in time, and the server exits cleanly.
    let (close, ()) = tokio::join!(client.next(), node.terminate());
    assert_eq!(close["close"], 1012, "{close}");

    let node = restart(&node, None).await;
    send(&http, &node.base, &token, &channel, "after").await;
    // From where the client stood: what it missed; from the start: the saved replay buffer too.
    assert_eq!(resume(&node.base, &token, &session, seen).await, ["after"]);
    assert_eq!(resume(&node.base, &token, &session, 0).await, ["before", "after"]);
}

#[tokio::test]
async fn postgres_sessions_resume_with_what_other_nodes_published_meanwhile() {
    let Some((url, _)) = rift_testing::postgres_url().await else { return };
    let mut node = start_with(Some(&url), &[]).await;
    let other = start_with(Some(&url), &[]).await;
    let http = reqwest::Client::new();
    let (token, channel) = world(&http, &node.base).await;
    let (mut client, ready) = GatewayClient::identify(&node.base, &token).await;
    let session = ready["data"]["session_id"].as_str().unwrap().to_owned();
    send(&http, &other.base, &token, &channel, "from the other node").await;
    let (seen, _) = created(&client.until(|f| f["type"] == "MessageCreate").await).unwrap();

    let (close, ()) = tokio::join!(client.next(), node.terminate());
    assert_eq!(close["close"], 1012, "{close}");
    // Published while the node is down: only the event log has it.
    send(&http, &other.base, &token, &channel, "while it was down").await;

    let node = restart(&node, Some(&url)).await;
    send(&http, &node.base, &token, &channel, "after the restart").await;
    assert_eq!(resume(&node.base, &token, &session, seen).await, ["while it was down", "after the restart"]);
}

#[tokio::test]
async fn a_killed_servers_sessions_are_refused_after_restart() {
    for database_url in [None, rift_testing::postgres_url().await.map(|(url, _)| url)] {
        let mut node = start_with(database_url.as_deref(), &[]).await;
        let http = reqwest::Client::new();
        let (token, channel) = world(&http, &node.base).await;
        let (mut client, ready) = GatewayClient::identify(&node.base, &token).await;
        let session = ready["data"]["session_id"].as_str().unwrap().to_owned();
        send(&http, &node.base, &token, &channel, "before").await;
        client.until(|f| f["type"] == "MessageCreate").await;
        node.kill();

        let node = restart(&node, database_url.as_deref()).await;
        let frame = json!({ "type": "Resume", "token": token, "session_id": session, "seq": 1 });
        let mut client = GatewayClient::open(&node.base, frame).await;
        let answer = client.next().await;
        assert_eq!(answer, json!({ "type": "InvalidSession", "data": { "resumable": false } }));
    }
}

#[tokio::test]
async fn a_request_in_flight_at_sigterm_is_answered() {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let mut node = start_with(None, &[]).await;
    let body = json!({ "username": "late", "password": "password123" }).to_string();
    let (head, tail) = body.split_at(body.len() / 2);
    let mut socket = tokio::net::TcpStream::connect(("127.0.0.1", node.port())).await.unwrap();
    let request = format!(
        "POST /api/auth/register HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\n\
         Content-Length: {}\r\nConnection: close\r\n\r\n{head}",
        body.len()
    );
    socket.write_all(request.as_bytes()).await.unwrap();
    // The server has the request's head (it answers nothing until the body is complete).
    tokio::time::sleep(std::time::Duration::from_millis(500)).await;
    let pid = node.child.id().to_string();
    assert!(std::process::Command::new("kill").args(["-TERM", &pid]).status().unwrap().success());
    tokio::time::sleep(std::time::Duration::from_millis(200)).await;
    socket.write_all(tail.as_bytes()).await.unwrap();
    let mut answer = String::new();
    socket.read_to_string(&mut answer).await.unwrap();
    assert!(answer.starts_with("HTTP/1.1 201"), "{answer}");
    assert!(answer.contains("\"username\":\"late\""), "{answer}");
    node.terminate().await;
}
