//! The Discord REST client: the endpoints the bridge needs, behind rate limiting and retries.
//!
//! Every request waits for its bucket (learnt from `X-RateLimit-*` headers, split by major
//! parameter), the global limit (a per-second cap and global 429s) and any 429 `retry_after`;
//! requests on one route go one at a time, so a bucket's remaining count is never overrun. 5xx
//! answers and network errors are retried with back-off; 401, 403 and 404 are typed errors.

mod ratelimit;

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use reqwest::header::{AUTHORIZATION, HeaderMap};
use reqwest::{Method, RequestBuilder, Response, StatusCode, Url};
use serde::de::DeserializeOwned;
use serde::{Deserialize, Serialize};
use serde_json::{Value, json};
use tokio::time::{Instant, sleep, sleep_until};

use self::ratelimit::{Headers, Limits, Route};
use crate::Error;
use crate::gateway::TokenKind;
use crate::model::{Channel, Guild, Member, Message, MessageReference, Role, Snowflake, User};

/// Discord's API base URL (version 10).
pub const DEFAULT_API_BASE: &str = "https://discord.com/api/v10";
/// Discord's CDN base URL.
pub const DEFAULT_CDN_BASE: &str = "https://cdn.discordapp.com";

/// The most messages one page holds.
pub const MESSAGES_PER_PAGE: u8 = 100;

/// Builds a [`Client`]. Its `Debug` leaves the token out.
pub struct ClientBuilder {
    token: String,
    token_kind: TokenKind,
    api_base: String,
    cdn_base: String,
    global_per_second: u32,
    max_retries: u32,
    max_rate_limit_retries: u32,
    timeout: Option<Duration>,
}

impl std::fmt::Debug for ClientBuilder {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        // The token is a secret: never in logs.
        f.debug_struct("ClientBuilder")
            .field("token", &"<redacted>")
            .field("token_kind", &self.token_kind)
            .field("api_base", &self.api_base)
            .field("cdn_base", &self.cdn_base)
            .finish_non_exhaustive()
    }
}

impl ClientBuilder {
    /// Whether the token is a bot's (default; sent as `Bot <token>`) or a user account's.
    pub fn token_kind(mut self, kind: TokenKind) -> Self {
        self.token_kind = kind;
        self
    }

    /// API base URL (default [`DEFAULT_API_BASE`]; `DISCORD_API_BASE`).
    pub fn api_base(mut self, url: impl Into<String>) -> Self {
        self.api_base = url.into();
        self
    }

    /// CDN base URL (default [`DEFAULT_CDN_BASE`]; `DISCORD_CDN_BASE`). Downloads of URLs on
    /// Discord's CDN are sent here instead.
    pub fn cdn_base(mut self, url: impl Into<String>) -> Self {
        self.cdn_base = url.into();
        self
    }

    /// Requests per second across all routes (default 50, Discord's global limit for bots).
    pub fn global_limit(mut self, per_second: u32) -> Self {
        self.global_per_second = per_second;
        self
    }

    /// Retries after a 5xx answer or a network error (default 3).
    pub fn max_retries(mut self, retries: u32) -> Self {
        self.max_retries = retries;
        self
    }

    /// Retries after 429 answers before [`Error::RateLimited`] (default 10).
    pub fn max_rate_limit_retries(mut self, retries: u32) -> Self {
        self.max_rate_limit_retries = retries;
        self
    }

    /// Timeout of one HTTP request (default 30 s; `None` for none).
    pub fn timeout(mut self, timeout: Option<Duration>) -> Self {
        self.timeout = timeout;
        self
    }

    /// The client.
    ///
    /// # Errors
    ///
    /// [`Error::Config`] for a base URL that does not parse, [`Error::Request`] when the HTTP
    /// client cannot be made.
    pub fn build(self) -> Result<Client, Error> {
        let api_base = Url::parse(self.api_base.trim_end_matches('/'))
            .ok()
            .filter(|url| !url.cannot_be_a_base())
            .ok_or_else(|| Error::Config(format!("invalid api base url {:?}", self.api_base)))?;
        Url::parse(&self.cdn_base)
            .map_err(|_| Error::Config(format!("invalid cdn base url {:?}", self.cdn_base)))?;
        let mut http = reqwest::Client::builder().user_agent(concat!(
            "DiscordBot (https://example.invalid/rift, ",
            env!("CARGO_PKG_VERSION"),
            ")"
        ));
        if let Some(timeout) = self.timeout {
            http = http.timeout(timeout);
        }
        let authorization = match self.token_kind {
            TokenKind::Bot if !self.token.starts_with("Bot ") => format!("Bot {}", self.token),
            _ => self.token,
        };
        Ok(Client {
            inner: Arc::new(Inner {
                http: http.build()?,
                api_base,
                cdn_base: self.cdn_base.trim_end_matches('/').to_owned(),
                authorization,
                limits: Mutex::new(Limits::new(self.global_per_second)),
                route_locks: Mutex::new(HashMap::new()),
                max_retries: self.max_retries,
                max_rate_limit_retries: self.max_rate_limit_retries,
            }),
        })
    }
}

/// A Discord REST client; cheap to clone, clones share rate limits.
///
/// # Examples
///
/// ```no_run
/// use rift_discord::model::Snowflake;
/// use rift_discord::rest::{Client, CreateMessage};
///
/// # async fn run() -> Result<(), rift_discord::Error> {
/// let client = Client::builder("token").api_base("http://127.0.0.1:8080/api/v10").build()?;
/// let sent = client.create_message(Snowflake::new(1), &CreateMessage::text("hello")).await?;
/// client.add_reaction(sent.channel_id, sent.id, "👍").await?;
/// # Ok(())
/// # }
/// ```
#[derive(Clone)]
pub struct Client {
    inner: Arc<Inner>,
}

impl std::fmt::Debug for Client {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Client").field("api_base", &self.inner.api_base.as_str()).finish_non_exhaustive()
    }
}

struct Inner {
    http: reqwest::Client,
    api_base: Url,
    cdn_base: String,
    authorization: String,
    limits: Mutex<Limits>,
    route_locks: Mutex<HashMap<Route, Arc<tokio::sync::Mutex<()>>>>,
    max_retries: u32,
    max_rate_limit_retries: u32,
}

/// Which page of a channel's history to fetch.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum MessagePage {
    /// The newest messages.
    Latest,
    /// Messages older than this id (paging backwards).
    Before(Snowflake),
    /// Messages newer than this id (paging forwards).
    After(Snowflake),
}

/// A file to attach to a message.
#[derive(Clone, Debug, PartialEq)]
#[non_exhaustive]
pub struct FileUpload {
    /// File name shown in Discord.
    pub filename: String,
    /// Media type, if known.
    pub content_type: Option<String>,
    /// The bytes.
    pub data: Vec<u8>,
}

impl FileUpload {
    /// A file from its name and bytes.
    pub fn new(filename: impl Into<String>, data: Vec<u8>) -> Self {
        Self { filename: filename.into(), content_type: None, data }
    }
}

/// The body of a new message.
#[derive(Clone, Debug, Default, PartialEq, Serialize)]
#[non_exhaustive]
pub struct CreateMessage {
    /// Text, at most 2000 characters (see [`split_content`]).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub content: Option<String>,
    /// A nonce, echoed in MESSAGE_CREATE, to recognise our own sends.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub nonce: Option<String>,
    /// With a nonce: Discord answers a repeated nonce with the earlier message instead of a
    /// duplicate, which makes retries safe.
    #[serde(skip_serializing_if = "std::ops::Not::not")]
    pub enforce_nonce: bool,
    /// The message this one replies to.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub message_reference: Option<MessageReference>,
    /// Files to upload with the message (sent as multipart).
    #[serde(skip)]
    pub files: Vec<FileUpload>,
}

impl CreateMessage {
    /// A text message.
    pub fn text(content: impl Into<String>) -> Self {
        Self { content: Some(content.into()), ..Self::default() }
    }

    /// Sets a nonce and asks Discord to enforce it.
    pub fn nonce(mut self, nonce: impl Into<String>) -> Self {
        self.nonce = Some(nonce.into());
        self.enforce_nonce = true;
        self
    }

    /// Adds a file.
    pub fn file(mut self, file: FileUpload) -> Self {
        self.files.push(file);
        self
    }

    /// Makes this a reply.
    pub fn reply_to(mut self, channel_id: Snowflake, message_id: Snowflake) -> Self {
        self.message_reference = Some(MessageReference {
            message_id: Some(message_id),
            channel_id: Some(channel_id),
            guild_id: None,
        });
        self
    }
}

/// Splits text into pieces of at most `max` characters (Discord allows 2000), at line breaks or
/// spaces where possible.
///
/// # Examples
///
/// ```
/// let pieces = rift_discord::rest::split_content(&"word ".repeat(1000), 2000);
/// assert_eq!(pieces.len(), 3);
/// assert!(pieces.iter().all(|p| p.chars().count() <= 2000));
/// ```
pub fn split_content(text: &str, max: usize) -> Vec<String> {
    let max = max.max(1);
    let mut pieces = Vec::new();
    let mut rest = text;
    while rest.chars().count() > max {
        let limit = rest.char_indices().nth(max).map_or(rest.len(), |(i, _)| i);
        let window = &rest[..limit];
        let at_break = rest[limit..].starts_with(['\n', ' ']);
        let cut = match at_break {
            true => limit,
            false => window.rfind('\n').or_else(|| window.rfind(' ')).filter(|&i| i > 0).unwrap_or(limit),
        };
        pieces.push(rest[..cut].to_owned());
        rest = &rest[cut..];
        rest = rest.strip_prefix('\n').or_else(|| rest.strip_prefix(' ')).unwrap_or(rest);
    }
    if !rest.is_empty() || pieces.is_empty() {
        pieces.push(rest.to_owned());
    }
    pieces
}

/// `GET /gateway`'s answer.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[non_exhaustive]
pub struct GatewayInfo {
    /// The gateway URL.
    pub url: String,
}

#[derive(Deserialize)]
struct ErrorBody {
    #[serde(default)]
    code: Option<u64>,
    #[serde(default)]
    message: Option<String>,
    #[serde(default)]
    retry_after: Option<f64>,
    #[serde(default)]
    global: Option<bool>,
}

/// Back-off before the `n`th retry: 0.5 s doubling, at most 8 s.
fn retry_backoff(n: u32) -> Duration {
    Duration::from_millis(500u64 << n.saturating_sub(1).min(4))
}

fn rate_headers(headers: &HeaderMap) -> Headers {
    let text = |name: &str| headers.get(name).and_then(|v| v.to_str().ok()).map(str::to_owned);
    Headers {
        bucket: text("x-ratelimit-bucket"),
        limit: text("x-ratelimit-limit").and_then(|v| v.parse().ok()),
        remaining: text("x-ratelimit-remaining").and_then(|v| v.parse().ok()),
        reset_after: text("x-ratelimit-reset-after").and_then(|v| v.parse().ok()),
    }
}

impl Client {
    /// Starts a client for a token.
    pub fn builder(token: impl Into<String>) -> ClientBuilder {
        ClientBuilder {
            token: token.into(),
            token_kind: TokenKind::Bot,
            api_base: DEFAULT_API_BASE.to_owned(),
            cdn_base: DEFAULT_CDN_BASE.to_owned(),
            global_per_second: 50,
            max_retries: 3,
            max_rate_limit_retries: 10,
            timeout: Some(Duration::from_secs(30)),
        }
    }

    fn url(&self, segments: &[&str]) -> Url {
        let mut url = self.inner.api_base.clone();
        if let Ok(mut path) = url.path_segments_mut() {
            path.pop_if_empty().extend(segments);
        }
        url
    }

    fn route_lock(&self, route: &Route) -> Arc<tokio::sync::Mutex<()>> {
        let mut locks = self.inner.route_locks.lock().unwrap_or_else(|e| e.into_inner());
        locks.entry(route.clone()).or_default().clone()
    }

    /// Sends a request on a route, waiting for rate limits and retrying as the module docs say.
    async fn send(
        &self,
        method: Method,
        segments: &[&str],
        build: impl Fn(RequestBuilder) -> RequestBuilder,
    ) -> Result<Response, Error> {
        let route = Route::new(method.as_str(), segments);
        let url = self.url(segments);
        let lock = self.route_lock(&route);
        let _turn = lock.lock().await;
        let (mut failures, mut limited) = (0, 0);
        loop {
            loop {
                let wait = self
                    .inner
                    .limits
                    .lock()
                    .unwrap_or_else(|e| e.into_inner())
                    .acquire(&route, Instant::now());
                match wait {
                    None => break,
                    Some(at) => sleep_until(at).await,
                }
            }
            let request = self
                .inner
                .http
                .request(method.clone(), url.clone())
                .header(AUTHORIZATION, &self.inner.authorization);
            let response = match build(request).send().await {
                Ok(response) => response,
                Err(error) => {
                    failures += 1;
                    if failures > self.inner.max_retries {
                        return Err(error.into());
                    }
                    tracing::debug!(%error, failures, "discord request failed; retrying");
                    sleep(retry_backoff(failures)).await;
                    continue;
                }
            };
            let now = Instant::now();
            let headers = rate_headers(response.headers());
            self.inner.limits.lock().unwrap_or_else(|e| e.into_inner()).update(&route, &headers, now);
            let status = response.status();
            if status.is_success() {
                return Ok(response);
            }
            if status == StatusCode::TOO_MANY_REQUESTS {
                let header = |name: &str| {
                    response.headers().get(name).and_then(|v| v.to_str().ok()).map(str::to_ascii_lowercase)
                };
                let scope_global = header("x-ratelimit-scope").as_deref() == Some("global")
                    || header("x-ratelimit-global").as_deref() == Some("true");
                let header_retry = header("retry-after").and_then(|v| v.parse::<f64>().ok());
                let body: Option<ErrorBody> = response.json().await.ok();
                let retry_after = body
                    .as_ref()
                    .and_then(|b| b.retry_after)
                    .or(header_retry)
                    .unwrap_or(1.0)
                    .clamp(0.0, 3600.0);
                let global = scope_global || body.and_then(|b| b.global).unwrap_or(false);
                limited += 1;
                if limited > self.inner.max_rate_limit_retries {
                    return Err(Error::RateLimited { retry_after });
                }
                tracing::debug!(retry_after, global, route = route.key, "discord rate limited");
                self.inner.limits.lock().unwrap_or_else(|e| e.into_inner()).limited(
                    &route,
                    retry_after,
                    global,
                    Instant::now(),
                );
                continue;
            }
            if status.is_server_error() && failures < self.inner.max_retries {
                failures += 1;
                tracing::debug!(%status, failures, "discord server error; retrying");
                sleep(retry_backoff(failures)).await;
                continue;
            }
            return Err(error_for(status, response).await);
        }
    }

    async fn json<T: DeserializeOwned>(
        &self,
        method: Method,
        segments: &[&str],
        build: impl Fn(RequestBuilder) -> RequestBuilder,
    ) -> Result<T, Error> {
        let response = self.send(method, segments, build).await?;
        let bytes = response.bytes().await?;
        Ok(serde_json::from_slice(&bytes)?)
    }

    /// `GET /gateway`: the gateway URL to connect to.
    ///
    /// # Errors
    ///
    /// See the [module docs](self): typed errors for 401/403/404, [`Error::Http`] for others.
    pub async fn gateway(&self) -> Result<GatewayInfo, Error> {
        self.json(Method::GET, &["gateway"], |r| r).await
    }

    /// `GET /users/@me`.
    ///
    /// # Errors
    ///
    /// As [`gateway`](Self::gateway).
    pub async fn current_user(&self) -> Result<User, Error> {
        self.json(Method::GET, &["users", "@me"], |r| r).await
    }

    /// `GET /users/@me/guilds`: the guilds of the current user (partial objects).
    ///
    /// # Errors
    ///
    /// As [`gateway`](Self::gateway).
    pub async fn current_user_guilds(&self) -> Result<Vec<Guild>, Error> {
        self.json(Method::GET, &["users", "@me", "guilds"], |r| r).await
    }

    /// `GET /guilds/{id}`.
    ///
    /// # Errors
    ///
    /// As [`gateway`](Self::gateway).
    pub async fn guild(&self, guild_id: Snowflake) -> Result<Guild, Error> {
        self.json(Method::GET, &["guilds", &guild_id.to_string()], |r| r).await
    }

    /// `GET /guilds/{id}/channels`.
    ///
    /// # Errors
    ///
    /// As [`gateway`](Self::gateway).
    pub async fn guild_channels(&self, guild_id: Snowflake) -> Result<Vec<Channel>, Error> {
        self.json(Method::GET, &["guilds", &guild_id.to_string(), "channels"], |r| r).await
    }

    /// `GET /guilds/{id}/members`: up to `limit` (1-1000) members with ids after `after`.
    ///
    /// # Errors
    ///
    /// As [`gateway`](Self::gateway).
    pub async fn guild_members(
        &self,
        guild_id: Snowflake,
        after: Option<Snowflake>,
        limit: u16,
    ) -> Result<Vec<Member>, Error> {
        let limit = limit.clamp(1, 1000).to_string();
        let after = after.map(|a| a.to_string());
        self.json(Method::GET, &["guilds", &guild_id.to_string(), "members"], |r| {
            let r = r.query(&[("limit", &limit)]);
            match &after {
                Some(after) => r.query(&[("after", after)]),
                None => r,
            }
        })
        .await
    }

    /// `GET /channels/{id}`.
    ///
    /// # Errors
    ///
    /// As [`gateway`](Self::gateway).
    pub async fn channel(&self, channel_id: Snowflake) -> Result<Channel, Error> {
        self.json(Method::GET, &["channels", &channel_id.to_string()], |r| r).await
    }

    /// `GET /channels/{id}/messages`: one page of up to `limit` (1-100) messages, newest first.
    ///
    /// # Errors
    ///
    /// As [`gateway`](Self::gateway).
    pub async fn messages(
        &self,
        channel_id: Snowflake,
        page: MessagePage,
        limit: u8,
    ) -> Result<Vec<Message>, Error> {
        let limit = limit.clamp(1, MESSAGES_PER_PAGE).to_string();
        let cursor = match page {
            MessagePage::Latest => None,
            MessagePage::Before(id) => Some(("before", id.to_string())),
            MessagePage::After(id) => Some(("after", id.to_string())),
        };
        self.json(Method::GET, &["channels", &channel_id.to_string(), "messages"], |r| {
            let r = r.query(&[("limit", &limit)]);
            match &cursor {
                Some((key, id)) => r.query(&[(key, id)]),
                None => r,
            }
        })
        .await
    }

    /// `GET /channels/{id}/messages/{id}`.
    ///
    /// # Errors
    ///
    /// As [`gateway`](Self::gateway).
    pub async fn message(&self, channel_id: Snowflake, message_id: Snowflake) -> Result<Message, Error> {
        self.json(
            Method::GET,
            &["channels", &channel_id.to_string(), "messages", &message_id.to_string()],
            |r| r,
        )
        .await
    }

    /// `POST /channels/{id}/messages`, as JSON or, with files, as multipart.
    ///
    /// # Errors
    ///
    /// As [`gateway`](Self::gateway).
    pub async fn create_message(
        &self,
        channel_id: Snowflake,
        message: &CreateMessage,
    ) -> Result<Message, Error> {
        let mut body = serde_json::to_value(message)?;
        if !message.files.is_empty() {
            let attachments: Vec<Value> = message
                .files
                .iter()
                .enumerate()
                .map(|(i, f)| json!({"id": i, "filename": f.filename}))
                .collect();
            body["attachments"] = Value::Array(attachments);
        }
        let payload = serde_json::to_string(&body)?;
        self.json(Method::POST, &["channels", &channel_id.to_string(), "messages"], |r| {
            if message.files.is_empty() {
                return r.header("content-type", "application/json").body(payload.clone());
            }
            let mut form = reqwest::multipart::Form::new().text("payload_json", payload.clone());
            for (i, file) in message.files.iter().enumerate() {
                form = form.part(format!("files[{i}]"), file_part(file));
            }
            r.multipart(form)
        })
        .await
    }

    /// `PATCH /channels/{id}/messages/{id}`: replaces the text.
    ///
    /// # Errors
    ///
    /// As [`gateway`](Self::gateway).
    pub async fn edit_message(
        &self,
        channel_id: Snowflake,
        message_id: Snowflake,
        content: &str,
    ) -> Result<Message, Error> {
        let body = serde_json::to_string(&json!({ "content": content }))?;
        self.json(
            Method::PATCH,
            &["channels", &channel_id.to_string(), "messages", &message_id.to_string()],
            |r| r.header("content-type", "application/json").body(body.clone()),
        )
        .await
    }

    /// `DELETE /channels/{id}/messages/{id}`.
    ///
    /// # Errors
    ///
    /// As [`gateway`](Self::gateway).
    pub async fn delete_message(&self, channel_id: Snowflake, message_id: Snowflake) -> Result<(), Error> {
        let path = ["channels", &channel_id.to_string(), "messages", &message_id.to_string()];
        self.send(Method::DELETE, &path, |r| r).await.map(drop)
    }

    /// `GET /channels/{id}/pins`: the channel's pinned messages, newest pin first.
    ///
    /// # Errors
    ///
    /// As [`gateway`](Self::gateway).
    pub async fn pinned_messages(&self, channel_id: Snowflake) -> Result<Vec<Message>, Error> {
        self.json(Method::GET, &["channels", &channel_id.to_string(), "pins"], |r| r).await
    }

    /// `PUT /channels/{id}/pins/{id}`: pins a message.
    ///
    /// # Errors
    ///
    /// As [`gateway`](Self::gateway).
    pub async fn pin_message(&self, channel_id: Snowflake, message_id: Snowflake) -> Result<(), Error> {
        let path = ["channels", &channel_id.to_string(), "pins", &message_id.to_string()];
        self.send(Method::PUT, &path, |r| r.header("content-length", "0")).await.map(drop)
    }

    /// `DELETE /channels/{id}/pins/{id}`: unpins a message.
    ///
    /// # Errors
    ///
    /// As [`gateway`](Self::gateway).
    pub async fn unpin_message(&self, channel_id: Snowflake, message_id: Snowflake) -> Result<(), Error> {
        let path = ["channels", &channel_id.to_string(), "pins", &message_id.to_string()];
        self.send(Method::DELETE, &path, |r| r).await.map(drop)
    }

    /// `PUT /channels/{id}/messages/{id}/reactions/{emoji}/@me`. `emoji` is the Unicode emoji or
    /// `name:id` for a custom one.
    ///
    /// # Errors
    ///
    /// As [`gateway`](Self::gateway).
    pub async fn add_reaction(
        &self,
        channel_id: Snowflake,
        message_id: Snowflake,
        emoji: &str,
    ) -> Result<(), Error> {
        let (channel, message) = (channel_id.to_string(), message_id.to_string());
        let path = own_reaction_path(&channel, &message, emoji);
        self.send(Method::PUT, &path, |r| r.header("content-length", "0")).await.map(drop)
    }

    /// `DELETE /channels/{id}/messages/{id}/reactions/{emoji}/@me`.
    ///
    /// # Errors
    ///
    /// As [`gateway`](Self::gateway).
    pub async fn remove_own_reaction(
        &self,
        channel_id: Snowflake,
        message_id: Snowflake,
        emoji: &str,
    ) -> Result<(), Error> {
        let (channel, message) = (channel_id.to_string(), message_id.to_string());
        let path = own_reaction_path(&channel, &message, emoji);
        self.send(Method::DELETE, &path, |r| r).await.map(drop)
    }

    /// `POST /channels/{id}/typing`.
    ///
    /// # Errors
    ///
    /// As [`gateway`](Self::gateway).
    pub async fn trigger_typing(&self, channel_id: Snowflake) -> Result<(), Error> {
        self.send(Method::POST, &["channels", &channel_id.to_string(), "typing"], |r| {
            r.header("content-length", "0")
        })
        .await
        .map(drop)
    }

    /// `POST /users/@me/channels`: opens (or finds) the DM channel with a user.
    ///
    /// # Errors
    ///
    /// As [`gateway`](Self::gateway).
    pub async fn create_dm(&self, recipient_id: Snowflake) -> Result<Channel, Error> {
        let body = serde_json::to_string(&json!({ "recipient_id": recipient_id }))?;
        self.json(Method::POST, &["users", "@me", "channels"], |r| {
            r.header("content-type", "application/json").body(body.clone())
        })
        .await
    }

    /// `GET /guilds/{id}/roles`.
    ///
    /// # Errors
    ///
    /// As [`gateway`](Self::gateway).
    pub async fn guild_roles(&self, guild_id: Snowflake) -> Result<Vec<Role>, Error> {
        self.json(Method::GET, &["guilds", &guild_id.to_string(), "roles"], |r| r).await
    }

    /// `GET /users/{id}`.
    ///
    /// # Errors
    ///
    /// As [`gateway`](Self::gateway).
    pub async fn user(&self, user_id: Snowflake) -> Result<User, Error> {
        self.json(Method::GET, &["users", &user_id.to_string()], |r| r).await
    }

    /// `GET /users/@me/channels`: the open DMs and group DMs (user accounts).
    ///
    /// # Errors
    ///
    /// As [`gateway`](Self::gateway).
    pub async fn private_channels(&self) -> Result<Vec<Channel>, Error> {
        self.json(Method::GET, &["users", "@me", "channels"], |r| r).await
    }

    /// `GET /channels/{id}/messages/{id}/reactions/{emoji}`: up to `limit` (1-100) users who
    /// reacted with `emoji`, with ids after `after`.
    ///
    /// # Errors
    ///
    /// As [`gateway`](Self::gateway).
    pub async fn reaction_users(
        &self,
        channel_id: Snowflake,
        message_id: Snowflake,
        emoji: &str,
        after: Option<Snowflake>,
        limit: u8,
    ) -> Result<Vec<User>, Error> {
        let (channel, message) = (channel_id.to_string(), message_id.to_string());
        let limit = limit.clamp(1, 100).to_string();
        let after = after.map(|a| a.to_string());
        let path = ["channels", channel.as_str(), "messages", message.as_str(), "reactions", emoji];
        self.json(Method::GET, &path, |r| {
            let r = r.query(&[("limit", &limit)]);
            match &after {
                Some(after) => r.query(&[("after", after)]),
                None => r,
            }
        })
        .await
    }

    /// Where a guild's icon is on the configured CDN.
    pub fn guild_icon_url(&self, guild_id: Snowflake, hash: &str) -> String {
        let ext = if hash.starts_with("a_") { "gif" } else { "png" };
        format!("{}/icons/{guild_id}/{hash}.{ext}", self.inner.cdn_base)
    }

    /// Where a user's avatar is on the configured CDN.
    pub fn avatar_url(&self, user_id: Snowflake, hash: &str) -> String {
        let ext = if hash.starts_with("a_") { "gif" } else { "png" };
        format!("{}/avatars/{user_id}/{hash}.{ext}", self.inner.cdn_base)
    }

    /// Downloads a file (an attachment or avatar URL). URLs on Discord's CDN go to the configured
    /// CDN base instead. No token is sent; 5xx and network errors are retried.
    ///
    /// # Errors
    ///
    /// [`Error::NotFound`] when the file is gone, [`Error::Http`] or [`Error::Request`] otherwise.
    pub async fn download(&self, url: &str) -> Result<Vec<u8>, Error> {
        let url = match url.strip_prefix(DEFAULT_CDN_BASE) {
            Some(path) => format!("{}{path}", self.inner.cdn_base),
            None => url.to_owned(),
        };
        let mut failures = 0;
        loop {
            let result = self.inner.http.get(&url).send().await;
            let retry = match result {
                Ok(response) if response.status().is_success() => {
                    return Ok(response.bytes().await?.to_vec());
                }
                Ok(response) if response.status().is_server_error() => Err(response),
                Ok(response) => return Err(error_for(response.status(), response).await),
                Err(error) => Ok(error),
            };
            failures += 1;
            if failures > self.inner.max_retries {
                return Err(match retry {
                    Ok(error) => error.into(),
                    Err(response) => error_for(response.status(), response).await,
                });
            }
            sleep(retry_backoff(failures)).await;
        }
    }
}

fn file_part(file: &FileUpload) -> reqwest::multipart::Part {
    let part = || reqwest::multipart::Part::bytes(file.data.clone()).file_name(file.filename.clone());
    match &file.content_type {
        Some(kind) => part().mime_str(kind).unwrap_or_else(|_| part()),
        None => part(),
    }
}

async fn error_for(status: StatusCode, response: Response) -> Error {
    let text = response.text().await.unwrap_or_default();
    let body: Option<ErrorBody> = serde_json::from_str(&text).ok();
    let code = body.as_ref().and_then(|b| b.code);
    let message = body.and_then(|b| b.message).unwrap_or(text);
    match status {
        StatusCode::UNAUTHORIZED => Error::Unauthorized { message },
        StatusCode::FORBIDDEN => Error::Forbidden { message },
        StatusCode::NOT_FOUND => Error::NotFound { message },
        _ => Error::Http { status: status.as_u16(), code, message },
    }
}

/// `channels/{channel}/messages/{message}/reactions/{emoji}/@me`, as route segments.
fn own_reaction_path<'a>(channel: &'a str, message: &'a str, emoji: &'a str) -> [&'a str; 7] {
    ["channels", channel, "messages", message, "reactions", emoji, "@me"]
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_builder_does_not_print_its_token() {
        let builder = Client::builder("tok-Secret.123").token_kind(TokenKind::User);
        let printed = format!("{builder:?} {builder:#?}");
        assert!(!printed.contains("tok-Secret.123"), "{printed}");
    }

    #[test]
    fn split_content_respects_the_limit_and_prefers_breaks() {
        assert_eq!(split_content("", 2000), [""]);
        assert_eq!(split_content("short", 2000), ["short"]);
        assert_eq!(split_content("aaa bbb ccc", 7), ["aaa bbb", "ccc"]);
        assert_eq!(split_content("line one\nline two", 12), ["line one", "line two"]);
        assert_eq!(split_content("abcdefghij", 4), ["abcd", "efgh", "ij"]);
        let emoji = "😀".repeat(4001);
        let pieces = split_content(&emoji, 2000);
        assert_eq!(pieces.iter().map(|p| p.chars().count()).collect::<Vec<_>>(), [2000, 2000, 1]);
        assert_eq!(pieces.concat(), emoji);
    }

    #[test]
    fn urls_encode_segments() {
        let client = Client::builder("t").api_base("http://127.0.0.1:1/api/v10/").build().unwrap();
        assert_eq!(
            client.url(&["channels", "1", "messages", "2", "reactions", "👍", "@me"]).as_str(),
            "http://127.0.0.1:1/api/v10/channels/1/messages/2/reactions/%F0%9F%91%8D/@me"
        );
        assert_eq!(client.url(&["reactions", "name:123"]).path(), "/api/v10/reactions/name:123");
        assert!(matches!(Client::builder("t").api_base("nope").build(), Err(Error::Config(_))));
    }

    #[test]
    fn create_message_body_is_discords_shape() {
        let body = serde_json::to_value(
            CreateMessage::text("hi").nonce("n1").reply_to(Snowflake::new(1), Snowflake::new(2)),
        )
        .unwrap();
        assert_eq!(
            body,
            json!({"content": "hi", "nonce": "n1", "enforce_nonce": true,
                   "message_reference": {"message_id": "2", "channel_id": "1", "guild_id": null}})
        );
    }

    #[test]
    fn retry_backoff_doubles_to_eight_seconds() {
        let waits: Vec<u64> = (1..8).map(|n| retry_backoff(n).as_millis() as u64).collect();
        assert_eq!(waits, [500, 1000, 2000, 4000, 8000, 8000, 8000]);
    }
}
