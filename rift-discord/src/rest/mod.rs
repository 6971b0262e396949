//! The Discord REST client: the endpoints the bridge needs, behind rate limiting and retries.
//!
//! Every request waits for its bucket (learnt from `X-RateLimit-*` headers, split by major
//! parameter), the global limit (a per-second cap and global 429s) and any 429 `retry_after`;
//! requests on one route go one at a time, so a bucket's remaining count is never overrun. 5xx
//! answers and network errors are retried with back-off; 401, 403 and 404 are typed errors.

mod channels;
mod guilds;
mod messages;
mod ratelimit;
mod users;

pub use messages::{CreateMessage, FileUpload, MessagePage, split_content};

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use reqwest::header::{AUTHORIZATION, HeaderMap};
use reqwest::{Method, RequestBuilder, Response, StatusCode, Url};
use serde::de::DeserializeOwned;
use serde::{Deserialize, Serialize};
use tokio::time::{Instant, sleep, sleep_until};

use self::ratelimit::{Headers, Limits, Route};
use crate::Error;
use crate::gateway::TokenKind;

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
    fn retry_backoff_doubles_to_eight_seconds() {
        let waits: Vec<u64> = (1..8).map(|n| retry_backoff(n).as_millis() as u64).collect();
        assert_eq!(waits, [500, 1000, 2000, 4000, 8000, 8000, 8000]);
    }
}
