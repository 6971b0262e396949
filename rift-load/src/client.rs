//! A small Rift client: the REST calls the scenarios need, and a gateway connection.

use std::collections::HashSet;
use std::time::Duration;

use futures_util::stream::{SplitSink, SplitStream};
use futures_util::{SinkExt, StreamExt};
use reqwest::Method;
use serde_json::{Value, json};
use tokio::net::TcpStream;
use tokio_tungstenite::tungstenite::Message;
use tokio_tungstenite::tungstenite::protocol::WebSocketConfig;
use tokio_tungstenite::{MaybeTlsStream, WebSocketStream};

use crate::target::ensure_loopback;
use crate::{LoadError, Result};

/// The password every account made by the load generator uses.
pub const PASSWORD: &str = "load-generator password";

/// A signed-in user.
#[derive(Debug, Clone)]
pub struct Account {
    /// User id.
    pub id: String,
    /// Username.
    pub username: String,
    /// Access token.
    pub token: String,
}

/// The REST API of one server.
#[derive(Debug, Clone)]
pub struct Api {
    base: String,
    http: reqwest::Client,
}

impl Api {
    /// A client for the server at `base` (`http://127.0.0.1:PORT`), which must be loopback.
    ///
    /// # Errors
    /// [`LoadError::Config`] when `base` is not a loopback `http://` URL.
    pub fn new(base: &str) -> Result<Self> {
        ensure_loopback(base)?;
        let http = reqwest::Client::builder()
            .pool_max_idle_per_host(1024)
            .timeout(Duration::from_secs(60))
            .build()
            .map_err(|e| LoadError::Io(format!("http client: {e}")))?;
        Ok(Self { base: base.trim_end_matches('/').to_owned(), http })
    }

    /// The base URL.
    pub fn base(&self) -> &str {
        &self.base
    }

    /// One call; a status outside 2xx is [`LoadError::Http`].
    ///
    /// # Errors
    /// A transport failure or an unexpected status.
    pub async fn call(
        &self,
        method: Method,
        path: &str,
        token: Option<&str>,
        body: Option<Value>,
    ) -> Result<Value> {
        let mut request = self.http.request(method.clone(), format!("{}{path}", self.base));
        if let Some(token) = token {
            request = request.bearer_auth(token);
        }
        if let Some(body) = body {
            request = request.json(&body);
        }
        let response = request.send().await?;
        let status = response.status();
        let text = response.text().await?;
        if !status.is_success() {
            return Err(LoadError::Http {
                method: method.to_string(),
                path: path.to_owned(),
                status: status.as_u16(),
                body: text.chars().take(300).collect(),
            });
        }
        if text.is_empty() {
            return Ok(Value::Null);
        }
        serde_json::from_str(&text).map_err(|e| LoadError::Io(format!("{method} {path}: not JSON: {e}")))
    }

    fn account(body: &Value, username: &str) -> Result<Account> {
        let token = body["access_token"].as_str();
        let id = body["user"]["id"].as_str();
        match (token, id) {
            (Some(token), Some(id)) => {
                Ok(Account { id: id.to_owned(), username: username.to_owned(), token: token.to_owned() })
            }
            _ => Err(LoadError::Io(format!("unexpected auth answer: {body}"))),
        }
    }

    /// Registers `username` with [`PASSWORD`].
    ///
    /// # Errors
    /// As [`Api::call`].
    pub async fn register(&self, username: &str) -> Result<Account> {
        let body = json!({ "username": username, "password": PASSWORD });
        let answer = self.call(Method::POST, "/api/auth/register", None, Some(body)).await?;
        Self::account(&answer, username)
    }

    /// Logs `username` in with [`PASSWORD`].
    ///
    /// # Errors
    /// As [`Api::call`].
    pub async fn login(&self, username: &str) -> Result<Account> {
        let body = json!({ "username": username, "password": PASSWORD });
        let answer = self.call(Method::POST, "/api/auth/login", None, Some(body)).await?;
        Self::account(&answer, username)
    }

    /// Creates a server; returns its id and its first channel's.
    ///
    /// # Errors
    /// As [`Api::call`].
    pub async fn create_server(&self, token: &str, name: &str) -> Result<(String, String)> {
        let server =
            self.call(Method::POST, "/api/servers", Some(token), Some(json!({ "name": name }))).await?;
        let server_id =
            server["id"].as_str().ok_or_else(|| LoadError::Io(format!("no server id: {server}")))?;
        let channels =
            self.call(Method::GET, &format!("/api/servers/{server_id}/channels"), Some(token), None).await?;
        let channel_id =
            channels[0]["id"].as_str().ok_or_else(|| LoadError::Io(format!("no channel: {channels}")))?;
        Ok((server_id.to_owned(), channel_id.to_owned()))
    }

    /// An unlimited, non-expiring invite code.
    ///
    /// # Errors
    /// As [`Api::call`].
    pub async fn invite(&self, token: &str, server_id: &str) -> Result<String> {
        let body = json!({ "max_uses": 0, "max_age_secs": 0 });
        let invite = self
            .call(Method::POST, &format!("/api/servers/{server_id}/invites"), Some(token), Some(body))
            .await?;
        invite["code"]
            .as_str()
            .map(str::to_owned)
            .ok_or_else(|| LoadError::Io(format!("no invite code: {invite}")))
    }

    /// Joins a server with an invite code.
    ///
    /// # Errors
    /// As [`Api::call`].
    pub async fn join(&self, token: &str, server_id: &str, code: &str) -> Result<()> {
        let path = format!("/api/servers/{server_id}/join");
        self.call(Method::POST, &path, Some(token), Some(json!({ "code": code }))).await.map(drop)
    }

    /// Sends a message; returns its id once the server has acknowledged (stored) it.
    ///
    /// # Errors
    /// As [`Api::call`].
    pub async fn send(&self, token: &str, channel_id: &str, content: &str, nonce: &str) -> Result<String> {
        let path = format!("/api/channels/{channel_id}/messages");
        let body = json!({ "content": content, "nonce": nonce });
        let message = self.call(Method::POST, &path, Some(token), Some(body)).await?;
        message["id"]
            .as_str()
            .map(str::to_owned)
            .ok_or_else(|| LoadError::Io(format!("no message id: {message}")))
    }

    /// The ids of every live message of a channel, paging newest to oldest.
    ///
    /// # Errors
    /// As [`Api::call`].
    pub async fn message_ids(&self, token: &str, channel_id: &str) -> Result<HashSet<String>> {
        let mut ids = HashSet::new();
        let mut before: Option<String> = None;
        loop {
            let mut path = format!("/api/channels/{channel_id}/messages?limit=100");
            if let Some(before) = &before {
                path.push_str(&format!("&before={before}"));
            }
            let page = self.call(Method::GET, &path, Some(token), None).await?;
            let page = page.as_array().cloned().unwrap_or_default();
            let Some(oldest) = page.last().and_then(|m| m["id"].as_str()).map(str::to_owned) else { break };
            ids.extend(page.iter().filter_map(|m| m["id"].as_str().map(str::to_owned)));
            if page.len() < 100 {
                break;
            }
            before = Some(oldest);
        }
        Ok(ids)
    }

    /// `GET /api/search` with these parameters; returns how many messages it found.
    ///
    /// # Errors
    /// As [`Api::call`].
    pub async fn search(&self, token: &str, params: &[(&str, &str)]) -> Result<usize> {
        let query: String =
            params.iter().map(|(k, v)| format!("{k}={}", percent_encode(v))).collect::<Vec<_>>().join("&");
        let found = self.call(Method::GET, &format!("/api/search?{query}"), Some(token), None).await?;
        Ok(found.as_array().map_or(0, Vec::len))
    }
}

/// Percent-encodes a query value (everything but unreserved characters).
fn percent_encode(value: &str) -> String {
    let mut out = String::with_capacity(value.len());
    for byte in value.bytes() {
        if byte.is_ascii_alphanumeric() || b"-_.~".contains(&byte) {
            out.push(byte as char);
        } else {
            out.push_str(&format!("%{byte:02X}"));
        }
    }
    out
}

type Socket = WebSocketStream<MaybeTlsStream<TcpStream>>;

/// The sending half of a gateway connection.
pub struct GatewaySink(SplitSink<Socket, Message>);

/// The receiving half of a gateway connection.
pub struct GatewayStream {
    stream: SplitStream<Socket>,
    close_code: Option<u16>,
}

/// An identified gateway connection.
pub struct Gateway {
    sink: GatewaySink,
    stream: GatewayStream,
}

impl Gateway {
    /// Connects to `/ws` of `base` and identifies with `token`; returns once `Ready` arrived.
    /// Small socket buffers, so that tens of thousands of connections fit in the load generator.
    ///
    /// # Errors
    /// A refused connection, a close before `Ready`, or no `Ready` within 60 s.
    pub async fn connect(base: &str, token: &str) -> Result<Self> {
        ensure_loopback(base)?;
        let url = format!("{}/ws", base.trim_end_matches('/').replacen("http://", "ws://", 1));
        let config = WebSocketConfig::default().read_buffer_size(4096).write_buffer_size(0);
        let (socket, _) = tokio_tungstenite::connect_async_with_config(url, Some(config), true).await?;
        let (sink, stream) = socket.split();
        let mut gateway =
            Self { sink: GatewaySink(sink), stream: GatewayStream { stream, close_code: None } };
        gateway.sink.send(&json!({ "type": "Identify", "token": token })).await?;
        let ready = tokio::time::timeout(Duration::from_secs(60), async {
            loop {
                match gateway.stream.next_frame().await? {
                    Some(frame) if frame["type"] == "Ready" => return Ok(()),
                    Some(_) => {}
                    None => return Err(LoadError::Io("gateway closed before Ready".into())),
                }
            }
        });
        ready.await.map_err(|_| LoadError::Timeout("no Ready within 60 s".into()))??;
        Ok(gateway)
    }

    /// The two halves, to read and write from different tasks.
    pub fn split(self) -> (GatewaySink, GatewayStream) {
        (self.sink, self.stream)
    }
}

impl GatewaySink {
    /// Sends one JSON frame.
    ///
    /// # Errors
    /// The socket failed.
    pub async fn send(&mut self, frame: &Value) -> Result<()> {
        self.0.send(Message::text(frame.to_string())).await.map_err(Into::into)
    }

    /// Sends a `Heartbeat`.
    ///
    /// # Errors
    /// The socket failed.
    pub async fn heartbeat(&mut self) -> Result<()> {
        self.send(&json!({ "type": "Heartbeat", "seq": null })).await
    }

    /// Closes with 1000 (the session ends).
    pub async fn close(mut self) {
        let _ = self.0.close().await;
    }
}

impl GatewayStream {
    /// The next text frame as JSON; `None` once the connection closed.
    ///
    /// # Errors
    /// A socket failure or a frame that is not JSON.
    pub async fn next_frame(&mut self) -> Result<Option<Value>> {
        loop {
            match self.stream.next().await {
                Some(Ok(Message::Text(text))) => {
                    return serde_json::from_str(text.as_str())
                        .map(Some)
                        .map_err(|e| LoadError::Io(format!("gateway frame not JSON: {e}")));
                }
                Some(Ok(Message::Close(frame))) => {
                    self.close_code = frame.map(|f| u16::from(f.code));
                    return Ok(None);
                }
                None => return Ok(None),
                Some(Ok(_)) => {}
                Some(Err(error)) => return Err(error.into()),
            }
        }
    }
}

impl GatewayStream {
    /// The code of the server's close frame, once [`GatewayStream::next_frame`] saw one.
    pub fn close_code(&self) -> Option<u16> {
        self.close_code
    }
}

/// The nonce of a `MessageCreate` frame, if that is what `frame` is.
pub fn message_create_nonce(frame: &Value) -> Option<&str> {
    (frame["type"] == "MessageCreate").then(|| frame["data"]["nonce"].as_str()).flatten()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn encodes_query_values() {
        assert_eq!(percent_encode("\"hello world\" ü"), "%22hello%20world%22%20%C3%BC");
    }
}
