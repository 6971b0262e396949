//! Crash safety: a real `rift-server` is killed with SIGKILL while clients send concurrently
//! (on SQLite the sends share group-committed transactions), started again on the same data,
//! and every message it acknowledged is there, intact and exactly once. On SQLite and PostgreSQL.

mod common;

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use common::{Node, post, start, start_in};
use serde_json::{Value, json};

/// Concurrent clients, each with a few requests in flight.
const CLIENTS: usize = 8;
const IN_FLIGHT: usize = 4;
/// Acknowledged messages to wait for before the kill.
const BEFORE_KILL: usize = 300;

#[tokio::test]
async fn sqlite_keeps_every_acknowledged_message_through_sigkill() {
    killed_while_sending_keeps_every_acknowledged_message(None).await;
}

#[tokio::test]
async fn postgres_keeps_every_acknowledged_message_through_sigkill() {
    let Some((url, _)) = rift_testing::postgres_url().await else { return };
    killed_while_sending_keeps_every_acknowledged_message(Some(&url)).await;
}

async fn killed_while_sending_keeps_every_acknowledged_message(database_url: Option<&str>) {
    let mut node = start(database_url).await;
    let http = reqwest::Client::new();
    let session = post(
        &http,
        format!("{}/api/auth/register", node.base),
        None,
        json!({ "username": "ada", "password": "password123" }),
    )
    .await;
    let token = session["access_token"].as_str().unwrap().to_owned();
    let server =
        post(&http, format!("{}/api/servers", node.base), Some(&token), json!({ "name": "Crash" })).await;
    let channels =
        get(&http, format!("{}/api/servers/{}/channels", node.base, server["id"].as_str().unwrap()), &token)
            .await;
    let channel = channels[0]["id"].as_str().unwrap().to_owned();

    // Acknowledged id → content, as the clients saw them.
    let acknowledged: Arc<Mutex<HashMap<String, String>>> = Arc::default();
    let url = format!("{}/api/channels/{channel}/messages", node.base);
    let mut senders = Vec::new();
    for client in 0..CLIENTS {
        for lane in 0..IN_FLIGHT {
            let (http, url, token, acknowledged) =
                (http.clone(), url.clone(), token.clone(), Arc::clone(&acknowledged));
            senders.push(tokio::spawn(async move {
                for i in 0.. {
                    let content = format!("client {client} lane {lane} message {i}: {}", "ü".repeat(i % 7));
                    let body = json!({ "content": content, "nonce": format!("{client}-{lane}-{i}") });
                    // Any failure (the process is gone) ends this lane; only 2xx answers count.
                    let Ok(response) = http.post(&url).bearer_auth(&token).json(&body).send().await else {
                        return;
                    };
                    if !response.status().is_success() {
                        return;
                    }
                    let Ok(message) = response.json::<Value>().await else { return };
                    assert_eq!(message["content"], content.as_str(), "the answer is the message sent");
                    let id = message["id"].as_str().unwrap().to_owned();
                    acknowledged.lock().unwrap().insert(id, content);
                }
            }));
        }
    }
    let started = Instant::now();
    while acknowledged.lock().unwrap().len() < BEFORE_KILL {
        assert!(started.elapsed() < Duration::from_secs(120), "the clients got too few answers");
        tokio::time::sleep(Duration::from_millis(5)).await;
    }
    node.child.kill().expect("SIGKILL");
    node.child.wait().expect("reaped");
    for sender in senders {
        sender.await.expect("a sender panicked");
    }
    let acknowledged = std::mem::take(&mut *acknowledged.lock().unwrap());
    assert!(acknowledged.len() >= BEFORE_KILL);

    // Started again on the same data, with no repair step.
    let dir = Arc::clone(&node.dir);
    drop(node);
    let node: Node = start_in(dir, database_url).await;
    let mut stored: HashMap<String, String> = HashMap::new();
    let mut before: Option<String> = None;
    loop {
        let mut page_url = format!("{}/api/channels/{channel}/messages?limit=100", node.base);
        if let Some(before) = &before {
            page_url.push_str(&format!("&before={before}"));
        }
        let page = get(&http, page_url, &token).await;
        let page = page.as_array().unwrap();
        for message in page {
            let id = message["id"].as_str().unwrap().to_owned();
            let content = message["content"].as_str().unwrap().to_owned();
            assert!(stored.insert(id.clone(), content).is_none(), "message {id} listed twice");
        }
        match page.last() {
            Some(last) if page.len() == 100 => before = Some(last["id"].as_str().unwrap().to_owned()),
            _ => break,
        }
    }
    for (id, content) in &acknowledged {
        assert_eq!(stored.get(id), Some(content), "acknowledged message {id} is missing or changed");
    }
    // Each content was sent once (unique nonce and text), so a duplicate row would show here.
    let mut contents: Vec<&String> = stored.values().collect();
    contents.sort();
    contents.dedup();
    assert_eq!(contents.len(), stored.len(), "a message was stored twice");
}

async fn get(http: &reqwest::Client, url: String, token: &str) -> Value {
    let response = http.get(url).bearer_auth(token).send().await.expect("request");
    assert!(response.status().is_success(), "{}", response.status());
    response.json().await.expect("json")
}
