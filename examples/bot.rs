//! A bot for a running Rift server: signs in over REST, connects to the gateway (`/ws`,
//! Identify), and answers `!ping` with `pong` in every channel it can read. Uses only the public
//! API, as a bot in any language would: JSON over HTTP and a WebSocket.
//!
//! `cargo run -p rift-examples --example bot -- http://127.0.0.1:8080 USERNAME PASSWORD`
//! (the account must exist; invite it to the servers it should serve). Runs until the gateway
//! closes or Ctrl-C.

use std::time::Duration;

use futures_util::{SinkExt, StreamExt};
use serde_json::{Value, json};
use tokio_tungstenite::tungstenite::Message;

type BoxError = Box<dyn std::error::Error>;

/// The REST side: signs in, and sends as the bot.
struct Api {
    http: reqwest::Client,
    base: String,
    username: String,
    password: String,
    token: String,
}

impl Api {
    /// `POST /api/auth/login`: the answer carries the user and an access token.
    async fn login(&mut self) -> Result<Value, BoxError> {
        let body = json!({ "username": self.username, "password": self.password });
        let answer = self.http.post(format!("{}/api/auth/login", self.base)).json(&body).send().await?;
        let answer: Value = answer.error_for_status()?.json().await?;
        self.token = answer["access_token"].as_str().ok_or("no access_token in the login answer")?.to_owned();
        Ok(answer)
    }

    /// `POST /api/channels/{id}/messages`. An access token expires (the gateway session does
    /// not), so a 401 signs in again and retries once.
    async fn send(&mut self, channel_id: &str, content: &str) -> Result<(), BoxError> {
        for attempt in 0..2 {
            let url = format!("{}/api/channels/{channel_id}/messages", self.base);
            let answer = self
                .http
                .post(url)
                .bearer_auth(&self.token)
                .json(&json!({ "content": content }))
                .send()
                .await?;
            if answer.status() == reqwest::StatusCode::UNAUTHORIZED && attempt == 0 {
                self.login().await?;
                continue;
            }
            answer.error_for_status()?;
            break;
        }
        Ok(())
    }
}

#[tokio::main]
async fn main() -> Result<(), BoxError> {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let [base, username, password] = args.as_slice() else {
        return Err("usage: bot URL USERNAME PASSWORD".into());
    };
    let base = base.trim_end_matches('/').to_owned();
    let mut api = Api {
        http: reqwest::Client::new(),
        base,
        username: username.clone(),
        password: password.clone(),
        token: String::new(),
    };
    let me = api.login().await?;
    let my_id = me["user"]["id"].as_str().ok_or("no user id in the login answer")?.to_owned();

    // The gateway: Identify first; the server then subscribes the session to every channel the
    // bot may see (and keeps that true as it joins servers or channels appear).
    let ws_url = format!("{}/ws", api.base.replacen("http", "ws", 1));
    let (socket, _) = tokio_tungstenite::connect_async(ws_url).await?;
    let (mut sink, mut stream) = socket.split();
    sink.send(Message::text(json!({ "type": "Identify", "token": api.token }).to_string())).await?;

    // Until Ready says otherwise; a session silent for two intervals is closed by the server.
    let mut heartbeat = tokio::time::interval(Duration::from_secs(30));
    let mut last_seq = Value::Null;
    loop {
        tokio::select! {
            frame = stream.next() => {
                let text = match frame {
                    Some(Ok(Message::Text(text))) => text,
                    Some(Ok(Message::Close(close))) => return Err(format!("gateway closed: {close:?}").into()),
                    Some(Ok(_)) => continue,
                    Some(Err(error)) => return Err(error.into()),
                    None => return Err("gateway closed".into()),
                };
                let frame: Value = serde_json::from_str(text.as_str())?;
                if frame["seq"].is_u64() {
                    last_seq = frame["seq"].clone();
                }
                let data = &frame["data"];
                match frame["type"].as_str() {
                    Some("Ready") => {
                        let interval = data["heartbeat_interval_ms"].as_u64().unwrap_or(30_000);
                        heartbeat = tokio::time::interval(Duration::from_millis(interval));
                        println!("ready as {} in {} server(s)", data["username"], data["servers"].as_array().map_or(0, Vec::len));
                    }
                    // Never answer itself: its own `pong` comes back as an event too.
                    Some("MessageCreate") if data["content"] == "!ping" && data["author"]["id"] != my_id.as_str() => {
                        let channel_id = data["channel_id"].as_str().ok_or("a message without channel_id")?;
                        match api.send(channel_id, "pong").await {
                            Ok(()) => println!("pong in {channel_id}"),
                            // A channel where it may read but not write: say so and carry on.
                            Err(error) => eprintln!("cannot answer in {channel_id}: {error}"),
                        }
                    }
                    _ => {}
                }
            }
            _ = heartbeat.tick() => {
                sink.send(Message::text(json!({ "type": "Heartbeat", "seq": last_seq }).to_string())).await?;
            }
        }
    }
}
