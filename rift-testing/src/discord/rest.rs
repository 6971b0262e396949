//! A fake Discord REST API and CDN on loopback. It stores messages, announces rate limits in
//! `X-RateLimit-*` headers, can answer 429 storms and 5xx, and counts every request that arrives
//! while the limits it announced forbid it.

use std::collections::{BTreeMap, HashMap};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use axum::Router;
use axum::body::Bytes;
use axum::extract::{FromRequest, Multipart, Request, State};
use axum::http::{HeaderMap, HeaderValue, Method, StatusCode};
use axum::response::{IntoResponse, Response};
use serde_json::{Value, json};
use tokio::net::TcpListener;
use tokio::time::Instant;

/// The bot token [`FakeRest`] accepts (as `Bot test-token`).
pub const TOKEN: &str = "test-token";
/// A channel [`FakeRest`] answers 403 Missing Access for.
pub const FORBIDDEN_CHANNEL: u64 = 666;

/// One announced bucket window.
#[derive(Debug)]
struct Window {
    start: Instant,
    used: u32,
}

/// A scripted run of 429s.
#[derive(Debug)]
struct Storm {
    count: u32,
    retry_after: f64,
    global: bool,
    /// Only requests whose `METHOD /path` contains this.
    route: Option<String>,
}

/// A scripted run of 5xx answers.
#[derive(Debug)]
struct Failures {
    count: u32,
    status: StatusCode,
    route: Option<String>,
}

/// Discord's rate limits as the fakes announce and police them: buckets per route (major
/// parameter kept), scripted 429 storms and 5xx runs, and a record of each request sent while the
/// announced limits forbade it.
#[derive(Debug)]
pub(crate) struct Limiter {
    limit: u32,
    window: Duration,
    windows: HashMap<String, Window>,
    /// No request on this bucket before this instant.
    blocked: HashMap<String, Instant>,
    global_blocked: Option<Instant>,
    storms: Vec<Storm>,
    failures: Vec<Failures>,
    pub(crate) violations: Vec<String>,
}

impl Limiter {
    pub(crate) fn new() -> Self {
        Self {
            limit: 5,
            window: Duration::from_secs(2),
            windows: HashMap::new(),
            blocked: HashMap::new(),
            global_blocked: None,
            storms: Vec::new(),
            failures: Vec::new(),
            violations: Vec::new(),
        }
    }

    pub(crate) fn set_limit(&mut self, limit: u32, window: Duration) {
        self.limit = limit;
        self.window = window;
    }

    pub(crate) fn storm(&mut self, count: u32, retry_after: f64, global: bool, route: Option<String>) {
        self.storms.push(Storm { count, retry_after, global, route });
    }

    pub(crate) fn fail(&mut self, count: u32, status: u16, route: Option<String>) {
        let status = StatusCode::from_u16(status).unwrap_or(StatusCode::BAD_GATEWAY);
        self.failures.push(Failures { count, status, route });
    }

    /// Lets a request through (returning the headers to add to its answer) or answers it.
    #[allow(clippy::result_large_err)] // the answer is the error; it is sent at once
    pub(crate) fn gate(
        &mut self,
        method: &Method,
        path: &str,
        segments: &[&str],
    ) -> Result<HeaderMap, Response> {
        let bucket = bucket_of(method, segments);
        let route = format!("{method} {path}");
        let now = Instant::now();
        let global_blocked = self.global_blocked.is_some_and(|until| now < until);
        let bucket_blocked = self.blocked.get(&bucket).is_some_and(|until| now < *until);
        let (limit, window) = (self.limit, self.window);
        let entry = self.windows.entry(bucket.clone()).or_insert(Window { start: now, used: 0 });
        if now >= entry.start + window {
            *entry = Window { start: now, used: 0 };
        }
        let over = entry.used >= limit;
        if global_blocked || bucket_blocked {
            self.violations.push(format!("{route}: sent inside a 429's retry_after"));
        } else if over {
            self.violations
                .push(format!("{route}: sent while bucket {bucket} had Remaining 0 before its reset"));
        }
        let matches = |filter: &Option<String>| filter.as_ref().is_none_or(|f| route.contains(f.as_str()));
        if let Some(storm) = self.storms.iter_mut().find(|s| s.count > 0 && matches(&s.route)) {
            storm.count -= 1;
            let (retry_after, global) = (storm.retry_after, storm.global);
            let until = now + Duration::from_secs_f64(retry_after);
            if global {
                self.global_blocked = Some(until);
            } else {
                self.blocked.insert(bucket.clone(), until);
            }
            let mut response = (
                StatusCode::TOO_MANY_REQUESTS,
                axum::Json(json!({"message": "You are being rate limited.",
                    "retry_after": retry_after, "global": global, "code": if global { 0 } else { 20028 }})),
            )
                .into_response();
            let scope = if global { "global" } else { "shared" };
            let headers = response.headers_mut();
            headers.insert("x-ratelimit-scope", HeaderValue::from_static(scope));
            headers.insert("retry-after", HeaderValue::from(retry_after.ceil() as u64));
            if global {
                headers.insert("x-ratelimit-global", HeaderValue::from_static("true"));
            }
            return Err(response);
        }
        let entry = self.windows.get_mut(&bucket).unwrap();
        entry.used += 1;
        let remaining = limit.saturating_sub(entry.used);
        let reset_after = (entry.start + window - now).as_secs_f64();
        let mut headers = HeaderMap::new();
        headers.insert("x-ratelimit-bucket", HeaderValue::from_str(&format!("h{}", bucket.len())).unwrap());
        headers.insert("x-ratelimit-limit", limit.into());
        headers.insert("x-ratelimit-remaining", remaining.into());
        headers
            .insert("x-ratelimit-reset-after", HeaderValue::from_str(&format!("{reset_after:.3}")).unwrap());
        if let Some(failure) = self.failures.iter_mut().find(|f| f.count > 0 && matches(&f.route)) {
            failure.count -= 1;
            return Err((failure.status, "upstream broke").into_response());
        }
        Ok(headers)
    }
}

#[derive(Default)]
struct Counters {
    requests: Vec<(Method, String)>,
    uploads: Vec<(String, Vec<u8>)>,
    payload_json: Vec<Value>,
}

struct RestState {
    url: String,
    gateway_url: String,
    /// Channel id to its messages, by id.
    messages: BTreeMap<u64, BTreeMap<u64, Value>>,
    next_id: u64,
    limiter: Limiter,
    files: HashMap<String, Vec<u8>>,
    counters: Counters,
}

/// The fake REST API with canned answers (one bot, one guild); dropping it stops the server. For a
/// world the test builds, use [`FakeDiscord`](super::FakeDiscord).
pub struct FakeRest {
    state: Arc<Mutex<RestState>>,
    server: tokio::task::JoinHandle<()>,
}

impl Drop for FakeRest {
    fn drop(&mut self) {
        self.server.abort();
    }
}

impl FakeRest {
    /// Starts serving on 127.0.0.1 on a free port.
    ///
    /// # Panics
    /// If no loopback port can be bound.
    pub async fn start() -> Self {
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let url = format!("http://{}", listener.local_addr().unwrap());
        let state = Arc::new(Mutex::new(RestState {
            url,
            gateway_url: "ws://127.0.0.1:1".into(),
            messages: BTreeMap::new(),
            next_id: 1_100_000_000_000_001_000,
            limiter: Limiter::new(),
            files: HashMap::new(),
            counters: Counters::default(),
        }));
        let app = Router::new().fallback(handle).with_state(state.clone());
        let server = tokio::spawn(async move {
            // No Nagle (see the fake gateway): small answers go out at once.
            let listener = axum::serve::ListenerExt::tap_io(listener, |tcp| {
                let _ = tcp.set_nodelay(true);
            });
            axum::serve(listener, app).await.unwrap();
        });
        Self { state, server }
    }

    /// The API base URL (`DISCORD_API_BASE`).
    pub fn api_base(&self) -> String {
        format!("{}/api/v10", self.state.lock().unwrap().url)
    }

    /// The CDN base URL (`DISCORD_CDN_BASE`).
    pub fn cdn_base(&self) -> String {
        format!("{}/cdn", self.state.lock().unwrap().url)
    }

    /// What `GET /gateway` answers.
    pub fn set_gateway_url(&self, url: &str) {
        self.state.lock().unwrap().gateway_url = url.into();
    }

    /// Each bucket allows `limit` requests per `window` (default 5 per 2 s).
    pub fn set_limit(&self, limit: u32, window: Duration) {
        self.state.lock().unwrap().limiter.set_limit(limit, window);
    }

    /// The next `count` requests get 429 with `retry_after` (seconds), on their bucket or global.
    pub fn storm(&self, count: u32, retry_after: f64, global: bool) {
        self.state.lock().unwrap().limiter.storm(count, retry_after, global, None);
    }

    /// The next `count` requests get 502.
    pub fn fail(&self, count: u32) {
        self.state.lock().unwrap().limiter.fail(count, 502, None);
    }

    /// Adds `count` messages to a channel; returns their ids, oldest first.
    pub fn seed_messages(&self, channel: u64, count: usize) -> Vec<u64> {
        let mut state = self.state.lock().unwrap();
        (0..count)
            .map(|i| {
                let id = state.next_id;
                state.next_id += 1;
                let message = message(id, channel, &format!("seeded {i}"), None);
                state.messages.entry(channel).or_default().insert(id, message);
                id
            })
            .collect()
    }

    /// Serves `bytes` at `path` below the CDN base.
    pub fn put_file(&self, path: &str, bytes: &[u8]) {
        self.state.lock().unwrap().files.insert(path.into(), bytes.to_vec());
    }

    /// How many requests arrived while the announced limits forbade them.
    pub fn violations(&self) -> u32 {
        self.state.lock().unwrap().limiter.violations.len() as u32
    }

    /// Every request so far: method and path.
    pub fn requests(&self) -> Vec<(Method, String)> {
        self.state.lock().unwrap().counters.requests.clone()
    }

    /// Every uploaded file so far: filename and bytes.
    pub fn uploads(&self) -> Vec<(String, Vec<u8>)> {
        self.state.lock().unwrap().counters.uploads.clone()
    }

    /// Every message-creating body so far (JSON, or multipart `payload_json`).
    pub fn payload_json(&self) -> Vec<Value> {
        self.state.lock().unwrap().counters.payload_json.clone()
    }

    /// How many messages a channel holds.
    pub fn message_count(&self, channel: u64) -> usize {
        self.state.lock().unwrap().messages.get(&channel).map_or(0, BTreeMap::len)
    }
}

fn message(id: u64, channel: u64, content: &str, nonce: Option<&Value>) -> Value {
    json!({
        "id": id.to_string(), "channel_id": channel.to_string(),
        "author": {"id": "1100000000000000099", "username": "rift-bot", "bot": true},
        "content": content, "timestamp": "2024-01-01T00:00:00.000000+00:00",
        "edited_timestamp": null, "attachments": [], "embeds": [], "type": 0,
        "nonce": nonce.cloned().unwrap_or(Value::Null),
    })
}

pub(crate) fn error(status: StatusCode, code: u64, message: &str) -> Response {
    (status, axum::Json(json!({"code": code, "message": message}))).into_response()
}

/// The bucket of a request: method and path with the major id kept, other ids hidden.
pub(crate) fn bucket_of(method: &Method, segments: &[&str]) -> String {
    let mut key = method.to_string();
    let mut previous = "";
    for segment in segments {
        let hidden =
            segment.bytes().all(|b| b.is_ascii_digit()) && !matches!(previous, "channels" | "guilds");
        key.push('/');
        key.push_str(if hidden || previous == "reactions" { ":x" } else { segment });
        previous = segment;
    }
    key
}

async fn handle(State(shared): State<Arc<Mutex<RestState>>>, request: Request) -> Response {
    let method = request.method().clone();
    let path = request.uri().path().to_owned();
    let query = request.uri().query().unwrap_or_default().to_owned();
    let headers = request.headers().clone();

    if let Some(file) = path.strip_prefix("/cdn") {
        let state = shared.lock().unwrap();
        return match state.files.get(file) {
            Some(bytes) => (StatusCode::OK, bytes.clone()).into_response(),
            None => error(StatusCode::NOT_FOUND, 0, "404: Not Found"),
        };
    }
    let Some(api_path) = path.strip_prefix("/api/v10/") else {
        return error(StatusCode::NOT_FOUND, 0, "404: Not Found");
    };
    let segments: Vec<String> = api_path.split('/').map(percent_decode).collect();
    let segments: Vec<&str> = segments.iter().map(String::as_str).collect();
    // Rate limits first: count whatever arrives when the announced limits forbid it.
    let limit_headers = {
        let mut state = shared.lock().unwrap();
        state.counters.requests.push((method.clone(), path.clone()));
        match state.limiter.gate(&method, &path, &segments) {
            Ok(headers) => headers,
            Err(response) => return response,
        }
    };

    if headers.get("authorization").and_then(|v| v.to_str().ok()) != Some(&format!("Bot {TOKEN}")) {
        return error(StatusCode::UNAUTHORIZED, 0, "401: Unauthorized");
    }
    let mut response = route(&shared, &method, &segments, &query, request).await;
    response.headers_mut().extend(limit_headers);
    response
}

pub(crate) fn percent_decode(segment: &str) -> String {
    let bytes = segment.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        let hex = bytes.get(i + 1..i + 3).and_then(|h| std::str::from_utf8(h).ok());
        if bytes[i] == b'%'
            && let Some(byte) = hex.and_then(|h| u8::from_str_radix(h, 16).ok())
        {
            out.push(byte);
            i += 3;
            continue;
        }
        out.push(bytes[i]);
        i += 1;
    }
    String::from_utf8(out).unwrap()
}

pub(crate) fn query_param(query: &str, key: &str) -> Option<u64> {
    query.split('&').find_map(|pair| pair.strip_prefix(key)?.strip_prefix('=')?.parse().ok())
}

async fn route(
    shared: &Arc<Mutex<RestState>>,
    method: &Method,
    segments: &[&str],
    query: &str,
    request: Request,
) -> Response {
    let json = |value: Value| (StatusCode::OK, axum::Json(value)).into_response();
    let channel = |s: &str| s.parse::<u64>().unwrap_or(0);
    match (method.as_str(), segments) {
        ("GET", ["gateway"]) => json(json!({"url": shared.lock().unwrap().gateway_url})),
        ("GET", ["users", "@me"]) => {
            json(json!({"id": "1100000000000000099", "username": "rift-bot", "bot": true}))
        }
        ("GET", ["users", "@me", "guilds"]) => {
            json(json!([{"id": "1100000000000000003", "name": "Rift", "icon": null}]))
        }
        ("GET", ["guilds", _, "channels"]) => json(json!([
            {"id": "1100000000000000002", "type": 0, "name": "general", "position": 0},
            {"id": "1100000000000000005", "type": 4, "name": "Text Channels", "position": 0},
        ])),
        ("GET", ["guilds", _, "members"]) => {
            let after = query_param(query, "after").unwrap_or(0);
            let limit = query_param(query, "limit").unwrap_or(1) as usize;
            let members: Vec<Value> = (1..=5u64)
                .filter(|id| *id > after)
                .take(limit)
                .map(|id| json!({"user": {"id": id.to_string(), "username": format!("user{id}")}, "roles": []}))
                .collect();
            json(Value::Array(members))
        }
        (_, ["channels", id, ..]) if channel(id) == FORBIDDEN_CHANNEL => {
            error(StatusCode::FORBIDDEN, 50001, "Missing Access")
        }
        ("GET", ["channels", id, "messages"]) => {
            let state = shared.lock().unwrap();
            let Some(messages) = state.messages.get(&channel(id)) else {
                return error(StatusCode::NOT_FOUND, 10003, "Unknown Channel");
            };
            let limit = query_param(query, "limit").unwrap_or(50).min(100) as usize;
            let page: Vec<Value> = if let Some(before) = query_param(query, "before") {
                messages.range(..before).rev().take(limit).map(|(_, m)| m.clone()).collect()
            } else if let Some(after) = query_param(query, "after") {
                let mut page: Vec<Value> =
                    messages.range(after + 1..).take(limit).map(|(_, m)| m.clone()).collect();
                page.reverse();
                page
            } else {
                messages.values().rev().take(limit).cloned().collect()
            };
            json(Value::Array(page))
        }
        ("GET", ["channels", id, "messages", message_id]) => {
            let state = shared.lock().unwrap();
            match state.messages.get(&channel(id)).and_then(|m| m.get(&channel(message_id))) {
                Some(message) => json(message.clone()),
                None => error(StatusCode::NOT_FOUND, 10008, "Unknown Message"),
            }
        }
        ("POST", ["channels", id, "messages"]) => {
            let is_multipart = request
                .headers()
                .get("content-type")
                .and_then(|v| v.to_str().ok())
                .is_some_and(|v| v.starts_with("multipart/"));
            let body: Value = if is_multipart {
                let mut multipart = Multipart::from_request(request, &()).await.unwrap();
                let mut payload = Value::Null;
                while let Some(field) = multipart.next_field().await.unwrap() {
                    let name = field.name().unwrap_or_default().to_owned();
                    let filename = field.file_name().map(str::to_owned);
                    let bytes = field.bytes().await.unwrap();
                    if name == "payload_json" {
                        payload = serde_json::from_slice(&bytes).unwrap();
                    } else {
                        shared
                            .lock()
                            .unwrap()
                            .counters
                            .uploads
                            .push((filename.unwrap_or(name), bytes.to_vec()));
                    }
                }
                payload
            } else {
                let bytes = axum::body::to_bytes(request.into_body(), usize::MAX)
                    .await
                    .unwrap_or_else(|_| Bytes::new());
                serde_json::from_slice(&bytes).unwrap_or(Value::Null)
            };
            let mut state = shared.lock().unwrap();
            state.counters.payload_json.push(body.clone());
            let message_id = state.next_id;
            state.next_id += 1;
            let content = body["content"].as_str().unwrap_or_default();
            let created = message(message_id, channel(id), content, body.get("nonce"));
            state.messages.entry(channel(id)).or_default().insert(message_id, created.clone());
            json(created)
        }
        ("PATCH", ["channels", id, "messages", message_id]) => {
            let bytes =
                axum::body::to_bytes(request.into_body(), usize::MAX).await.unwrap_or_else(|_| Bytes::new());
            let body: Value = serde_json::from_slice(&bytes).unwrap_or(Value::Null);
            let mut state = shared.lock().unwrap();
            match state.messages.get_mut(&channel(id)).and_then(|m| m.get_mut(&channel(message_id))) {
                Some(message) => {
                    message["content"] = body["content"].clone();
                    message["edited_timestamp"] = json!("2024-01-01T00:05:00.000000+00:00");
                    json(message.clone())
                }
                None => error(StatusCode::NOT_FOUND, 10008, "Unknown Message"),
            }
        }
        ("DELETE", ["channels", id, "messages", message_id]) => {
            let mut state = shared.lock().unwrap();
            match state.messages.get_mut(&channel(id)).and_then(|m| m.remove(&channel(message_id))) {
                Some(_) => StatusCode::NO_CONTENT.into_response(),
                None => error(StatusCode::NOT_FOUND, 10008, "Unknown Message"),
            }
        }
        ("PUT" | "DELETE", ["channels", _, "messages", _, "reactions", emoji, "@me"]) => {
            if emoji.is_empty() {
                return error(StatusCode::BAD_REQUEST, 10014, "Unknown Emoji");
            }
            StatusCode::NO_CONTENT.into_response()
        }
        ("POST", ["channels", _, "typing"]) => StatusCode::NO_CONTENT.into_response(),
        ("POST", ["users", "@me", "channels"]) => {
            let bytes =
                axum::body::to_bytes(request.into_body(), usize::MAX).await.unwrap_or_else(|_| Bytes::new());
            let body: Value = serde_json::from_slice(&bytes).unwrap_or(Value::Null);
            json(json!({"id": "1100000000000000777", "type": 1,
                        "recipients": [{"id": body["recipient_id"], "username": "friend"}]}))
        }
        _ => error(StatusCode::NOT_FOUND, 0, "404: Not Found"),
    }
}
