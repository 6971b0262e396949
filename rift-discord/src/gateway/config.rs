//! Shard configuration.

use std::time::Duration;

use super::payload::{Encoding, IdentifyProperties};
use crate::compression::DEFAULT_MAX_PAYLOAD;

/// Discord's public gateway, used when no URL is configured.
pub const DEFAULT_GATEWAY_URL: &str = "wss://gateway.discord.gg";

/// The gateway version this crate speaks.
pub const GATEWAY_VERSION: u8 = 10;

/// Whose token identifies the session.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum TokenKind {
    /// A bot token: identify sends intents.
    #[default]
    Bot,
    /// A user account token: identify sends no intents.
    User,
}

/// Everything a [`Shard`](super::Shard) needs; made with [`Config::builder`].
#[derive(Clone)]
pub struct Config {
    pub(crate) token: String,
    pub(crate) token_kind: TokenKind,
    pub(crate) gateway_url: String,
    pub(crate) encoding: Encoding,
    pub(crate) compress: bool,
    pub(crate) intents: u64,
    pub(crate) properties: IdentifyProperties,
    pub(crate) large_threshold: Option<u8>,
    pub(crate) shard: Option<[u32; 2]>,
    pub(crate) max_payload: usize,
    pub(crate) connect_timeout: Duration,
    pub(crate) identify_interval: Duration,
    pub(crate) seed: u64,
}

impl std::fmt::Debug for Config {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        // The token is a secret: never in logs.
        f.debug_struct("Config")
            .field("token", &"<redacted>")
            .field("token_kind", &self.token_kind)
            .field("gateway_url", &self.gateway_url)
            .field("encoding", &self.encoding)
            .field("compress", &self.compress)
            .field("intents", &self.intents)
            .finish_non_exhaustive()
    }
}

impl Config {
    /// Starts a configuration for a token (a leading `Bot ` is removed: the gateway wants the bare
    /// token).
    ///
    /// # Examples
    ///
    /// ```
    /// use rift_discord::gateway::{Config, Encoding};
    ///
    /// let config = Config::builder("token")
    ///     .gateway_url("ws://127.0.0.1:9000")
    ///     .encoding(Encoding::Etf)
    ///     .intents(1 << 9 | 1 << 15)
    ///     .build();
    /// assert_eq!(config.gateway_url(), "ws://127.0.0.1:9000");
    /// ```
    pub fn builder(token: impl Into<String>) -> ConfigBuilder {
        let token = token.into();
        let token = token.strip_prefix("Bot ").map(str::to_owned).unwrap_or(token);
        ConfigBuilder(Config {
            token,
            token_kind: TokenKind::Bot,
            gateway_url: DEFAULT_GATEWAY_URL.to_owned(),
            encoding: Encoding::Json,
            compress: true,
            // GUILDS, GUILD_MEMBERS, GUILD_MESSAGES, GUILD_MESSAGE_REACTIONS, GUILD_MESSAGE_TYPING,
            // DIRECT_MESSAGES, DIRECT_MESSAGE_REACTIONS, DIRECT_MESSAGE_TYPING, MESSAGE_CONTENT.
            intents: 1 | 1 << 1 | 1 << 9 | 1 << 10 | 1 << 11 | 1 << 12 | 1 << 13 | 1 << 14 | 1 << 15,
            properties: IdentifyProperties::default(),
            large_threshold: None,
            shard: None,
            max_payload: DEFAULT_MAX_PAYLOAD,
            connect_timeout: Duration::from_secs(30),
            identify_interval: Duration::from_secs(5),
            seed: 0,
        })
    }

    /// The gateway URL the first connection goes to (without query parameters).
    pub fn gateway_url(&self) -> &str {
        &self.gateway_url
    }

    /// The payload encoding.
    pub fn encoding(&self) -> Encoding {
        self.encoding
    }

    /// The URL to connect to for a base URL: the base plus `v`, `encoding` and `compress`.
    pub(crate) fn connect_url(&self, base: &str) -> String {
        let query = self.query();
        let path = base.split_once("://").map_or(base, |(_, rest)| rest);
        if base.contains('?') {
            format!("{base}&{query}")
        } else if path.contains('/') {
            format!("{base}?{query}")
        } else {
            format!("{base}/?{query}")
        }
    }

    fn query(&self) -> String {
        let mut query = format!("v={GATEWAY_VERSION}&encoding={}", self.encoding.as_str());
        if self.compress {
            query.push_str("&compress=zlib-stream");
        }
        query
    }
}

/// Builds a [`Config`].
#[derive(Debug)]
pub struct ConfigBuilder(Config);

impl ConfigBuilder {
    /// Whether the token is a bot's (default) or a user account's.
    pub fn token_kind(mut self, kind: TokenKind) -> Self {
        self.0.token_kind = kind;
        self
    }

    /// The gateway URL (default [`DEFAULT_GATEWAY_URL`], or what `GET /gateway` answered), so
    /// tests can aim the shard at a fake Discord.
    pub fn gateway_url(mut self, url: impl Into<String>) -> Self {
        self.0.gateway_url = url.into();
        self
    }

    /// The payload encoding (default JSON).
    pub fn encoding(mut self, encoding: Encoding) -> Self {
        self.0.encoding = encoding;
        self
    }

    /// Whether to ask for zlib-stream transport compression (default on).
    pub fn compress(mut self, compress: bool) -> Self {
        self.0.compress = compress;
        self
    }

    /// Gateway intents, sent by bots (default: guilds, members, messages, reactions, typing, DMs
    /// and message content).
    pub fn intents(mut self, intents: u64) -> Self {
        self.0.intents = intents;
        self
    }

    /// Identify connection properties.
    pub fn properties(mut self, properties: IdentifyProperties) -> Self {
        self.0.properties = properties;
        self
    }

    /// `large_threshold` for identify (50-250).
    pub fn large_threshold(mut self, threshold: u8) -> Self {
        self.0.large_threshold = Some(threshold);
        self
    }

    /// `[shard_id, shard_count]` for identify.
    pub fn shard(mut self, id: u32, count: u32) -> Self {
        self.0.shard = Some([id, count]);
        self
    }

    /// Largest payload accepted, compressed or inflated (default 64 MiB).
    pub fn max_payload(mut self, bytes: usize) -> Self {
        self.0.max_payload = bytes;
        self
    }

    /// How long a connection attempt may take (default 30 s).
    pub fn connect_timeout(mut self, timeout: Duration) -> Self {
        self.0.connect_timeout = timeout;
        self
    }

    /// Least time between two identifies (default 5 s, Discord's limit with `max_concurrency` 1).
    pub fn identify_interval(mut self, interval: Duration) -> Self {
        self.0.identify_interval = interval;
        self
    }

    /// Seed of the jitter (heartbeat offset, re-identify delay); by default taken from the clock.
    pub fn seed(mut self, seed: u64) -> Self {
        self.0.seed = seed;
        self
    }

    /// The finished configuration.
    pub fn build(mut self) -> Config {
        if self.0.seed == 0 {
            self.0.seed = std::time::SystemTime::now()
                .duration_since(std::time::UNIX_EPOCH)
                .map_or(0x5eed, |d| d.as_nanos() as u64)
                | 1;
        }
        self.0
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[track_caller]
    fn check(base: &str, compress: bool, expected: &str) {
        let config = Config::builder("t").compress(compress).encoding(Encoding::Etf).build();
        assert_eq!(config.connect_url(base), expected);
    }

    #[test]
    fn connect_url_appends_the_query() {
        check(
            "wss://gateway.discord.gg",
            true,
            "wss://gateway.discord.gg/?v=10&encoding=etf&compress=zlib-stream",
        );
        check("wss://gateway.discord.gg/", false, "wss://gateway.discord.gg/?v=10&encoding=etf");
        check("ws://127.0.0.1:1/resume", false, "ws://127.0.0.1:1/resume?v=10&encoding=etf");
        check("ws://127.0.0.1:1/?x=1", false, "ws://127.0.0.1:1/?x=1&v=10&encoding=etf");
    }

    #[test]
    fn bot_prefix_is_removed_and_token_is_not_debug_printed() {
        let config = Config::builder("Bot secret").build();
        assert_eq!(config.token, "secret");
        assert!(!format!("{config:?}").contains("secret"));
    }
}
