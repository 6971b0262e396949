//! The service layer: every domain operation, with its validation, permission checks, persistence
//! and event publication. REST handlers, the gateway, bridges and the CLI call these methods and
//! nothing else reaches the [`Store`].
//!
//! Each operation takes the acting user (already authenticated by [`Rift::authenticate`]) and
//! returns a typed [`Error`]. Events are published only after the store has committed the change.

mod access;
mod access_cache;
mod auth;
mod bridges;
mod channels;
mod dms;
mod hashing;
mod history;
mod invites;
mod messages;
mod mirror;
mod pins;
mod presence;
mod roles;
mod search;
mod servers;
mod uploads;
mod users;

use std::sync::Arc;
use std::time::Duration;

use serde::Serialize;
use serde_json::Value;
use uuid::Uuid;

pub use access_cache::AccessCacheStats;
pub use auth::{AuthSession, TokenPair};
pub use bridges::{BackfillProgress, BridgeInput, BridgeView, BridgedServer, MAX_BACKFILL_CHANNELS};
pub use channels::{ChannelInput, ChannelUpdate, OverwriteInput};
pub use hashing::HashingStats;
pub use history::{HistorySettingsUpdate, MAX_RETENTION_DAYS};
pub use invites::InviteInput;
pub use messages::{MessageQuery, SendMessage, Sent};
pub use mirror::{RemoteChannel, RemoteMember, RemoteMessage, RemoteRole, RemoteUser};
pub use pins::MAX_PINS;
pub use roles::{RoleInput, RoleUpdate};
pub use search::{SearchHit, SearchParams};
pub use servers::{MENTION_SCAN, ReadyChannel, ReadyServer, ReadyState, ServerUpdate};
pub use uploads::NewUpload;
pub use users::{ProfileUpdate, RegisterInput};

pub(crate) use access::{ChannelAccess, ServerAccess};
pub(crate) use bridges::{GUILDS_KEY, PROGRESS_KEY};

use crate::clock::{Clock, SystemClock};
use crate::error::{Error, ErrorCode, Result};
use crate::event::{Envelope, Event, Topic};
use crate::fanout::{FanOut, FanOutStats, LocalFanOut, Resume};
use crate::id::{AuditEntryId, ServerId, Timestamp, UserId};
use crate::model::AuditEntry;
use crate::ratelimit::RateLimiter;
use crate::router::Router;
use crate::store::Store;

/// Tunables of the service layer. [`Config::new`] gives the documented defaults.
#[derive(Clone)]
#[non_exhaustive]
pub struct Config {
    /// HMAC secret for access tokens.
    pub jwt_secret: Vec<u8>,
    /// Lifetime of an access token (default 15 minutes).
    pub access_token_ttl: Duration,
    /// Lifetime of a refresh token (default 30 days).
    pub refresh_token_ttl: Duration,
    /// Longest message in Unicode scalar values (default 10,000).
    pub max_message_chars: usize,
    /// How long a repeated nonce returns the original message (default 5 minutes).
    pub nonce_window: Duration,
    /// Whether per-user rate limits apply (message sends 10/s, burst 20).
    pub rate_limits: bool,
    /// Minimum time between two TypingStart events of one user in one channel (default 5 s).
    pub typing_throttle: Duration,
    /// How often a node tells the others which users it has sessions for (default 5 s; see
    /// [`Rift::start_cluster_presence`]).
    pub presence_heartbeat: Duration,
    /// How long a node may stay silent before its users count as offline (default 15 s).
    pub presence_expiry: Duration,
    /// How long the database may work on a search no text index narrows (only emoji or
    /// punctuation, only filters, deleted messages) before it fails with `search_timeout`
    /// (default 3 s; see [`crate::store::SearchQuery::time_limit`]).
    pub search_time_limit: Duration,
}

impl std::fmt::Debug for Config {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Config")
            .field("jwt_secret", &"<redacted>")
            .field("access_token_ttl", &self.access_token_ttl)
            .field("max_message_chars", &self.max_message_chars)
            .field("rate_limits", &self.rate_limits)
            .finish_non_exhaustive()
    }
}

impl Config {
    /// The defaults, signing tokens with `jwt_secret`.
    pub fn new(jwt_secret: impl Into<Vec<u8>>) -> Self {
        Self {
            jwt_secret: jwt_secret.into(),
            access_token_ttl: Duration::from_secs(15 * 60),
            refresh_token_ttl: Duration::from_secs(30 * 24 * 3600),
            max_message_chars: 10_000,
            nonce_window: Duration::from_secs(5 * 60),
            rate_limits: true,
            typing_throttle: Duration::from_secs(5),
            presence_heartbeat: Duration::from_secs(5),
            presence_expiry: Duration::from_secs(15),
            search_time_limit: Duration::from_secs(3),
        }
    }
}

struct Inner {
    store: Arc<dyn Store>,
    router: Router,
    fanout: Arc<dyn FanOut>,
    clock: Arc<dyn Clock>,
    config: Config,
    presence: presence::Presence,
    message_limiter: RateLimiter<UserId>,
    files: std::sync::OnceLock<Arc<dyn crate::files::FileStore>>,
    /// The permission view; told of every envelope through the router.
    access_cache: Arc<access_cache::AccessCache>,
}

/// Builds a [`Rift`]; from [`Rift::builder`]. Anything not given takes its default.
#[must_use = "a builder does nothing until `build`"]
pub struct RiftBuilder {
    store: Arc<dyn Store>,
    config: Config,
    router: Option<Router>,
    fanout: Option<Arc<dyn FanOut>>,
    clock: Option<Arc<dyn Clock>>,
}

impl std::fmt::Debug for RiftBuilder {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("RiftBuilder").field("clock", &self.clock).finish_non_exhaustive()
    }
}

impl RiftBuilder {
    /// Publishes to `router` (default: a new one): the router whose
    /// [`RemoteInbox`](crate::router::RemoteInbox) the fan-out was given
    /// ([`Router::with_inbox`]), so other nodes' events reach the same subscribers.
    pub fn router(mut self, router: Router) -> Self {
        self.router = Some(router);
        self
    }

    /// Forwards events to the other nodes sharing the database through `fanout`, which feeds
    /// theirs into the same router through its inbox (default: [`LocalFanOut`], a single node).
    pub fn fanout(mut self, fanout: Arc<dyn FanOut>) -> Self {
        self.fanout = Some(fanout);
        self
    }

    /// Reads domain time from `clock` (default: [`SystemClock`]).
    pub fn clock(mut self, clock: Arc<dyn Clock>) -> Self {
        self.clock = Some(clock);
        self
    }

    /// The service.
    pub fn build(self) -> Rift {
        let config = self.config;
        let router = self.router.unwrap_or_default();
        // The permission view sees every envelope (local or from another node) before any subscriber.
        let access_cache = Arc::new(access_cache::AccessCache::default());
        let observer: std::sync::Weak<dyn crate::router::Observer> = Arc::downgrade(&access_cache) as _;
        router.observe(observer);
        Rift {
            inner: Arc::new(Inner {
                store: self.store,
                router,
                fanout: self.fanout.unwrap_or_else(|| Arc::new(LocalFanOut::new())),
                clock: self.clock.unwrap_or_else(|| Arc::new(SystemClock)),
                presence: presence::Presence::new(config.typing_throttle),
                config,
                message_limiter: RateLimiter::new(10.0, 20.0),
                files: std::sync::OnceLock::new(),
                access_cache,
            }),
        }
    }
}

/// The Rift service layer. Cheap to clone (shared).
///
/// # Examples
/// ```no_run
/// # async fn demo(store: std::sync::Arc<dyn rift::Store>) -> rift::Result<()> {
/// use rift::{Config, RegisterInput, Rift};
///
/// let rift = Rift::new(store, Config::new(b"a long random secret".to_vec()));
/// let session = rift.register(RegisterInput::new("ada", "correct horse battery")).await?;
/// let server = rift.create_server(session.user.id, "Analytical Engines").await?;
/// # Ok(()) }
/// ```
///
/// The store stays inside: every read and write goes through the service's rules.
///
/// ```compile_fail,E0624
/// # async fn demo(rift: rift::Rift, user: rift::UserId) {
/// let user = rift.store().user(user).await;
/// # }
/// ```
#[derive(Clone)]
pub struct Rift {
    inner: Arc<Inner>,
}

impl std::fmt::Debug for Rift {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Rift").field("backend", &self.inner.store.backend()).finish_non_exhaustive()
    }
}

impl Rift {
    /// The service over `store` with everything else at its default: a new router, a single node
    /// ([`LocalFanOut`]) and the system clock. The shorthand of [`Rift::builder`]`(..).build()`.
    pub fn new(store: Arc<dyn Store>, config: Config) -> Self {
        Self::builder(store, config).build()
    }

    /// A builder for the service over `store`, to give it a router, a fan-out or a clock.
    ///
    /// # Examples
    /// ```no_run
    /// # fn demo(store: std::sync::Arc<dyn rift::Store>) {
    /// use std::sync::Arc;
    /// use rift::clock::ManualClock;
    /// use rift::router::Router;
    /// use rift::{Config, Rift};
    ///
    /// let clock = ManualClock::starting_now();
    /// let rift = Rift::builder(store, Config::new(b"a long random secret".to_vec()))
    ///     .router(Router::new())
    ///     .clock(Arc::new(clock.clone()))
    ///     .build();
    /// # }
    /// ```
    pub fn builder(store: Arc<dyn Store>, config: Config) -> RiftBuilder {
        RiftBuilder { store, config, router: None, fanout: None, clock: None }
    }

    /// Gives the service somewhere to write files it is handed (mirrored attachments); the HTTP
    /// layer does this with its upload directory. Only the first call counts; returns whether it did.
    pub fn set_file_store(&self, files: Arc<dyn crate::files::FileStore>) -> bool {
        self.inner.files.set(files).is_ok()
    }

    /// The storage backend, for the crate's own parts beside the service (the bridge host, the
    /// importer). Callers outside go through the service's operations, which hold every rule.
    pub(crate) fn store(&self) -> &Arc<dyn Store> {
        &self.inner.store
    }

    /// How the storage backend's connections are used now (for metrics).
    pub fn store_usage(&self) -> crate::store::StoreUsage {
        self.inner.store.usage()
    }

    /// The event router that every change is published to: subscribe to it. Only the service
    /// publishes into it (and the fan-out, for other nodes' events).
    pub fn router(&self) -> &Router {
        &self.inner.router
    }

    /// The fan-out's counters since it started (for metrics).
    pub fn fanout_stats(&self) -> FanOutStats {
        self.inner.fanout.stats()
    }

    /// How far this node has read the other nodes' events (see [`FanOut::position`]), saved
    /// with gateway sessions at shutdown so a restart can replay what it missed.
    pub fn fanout_position(&self) -> Option<Resume> {
        self.inner.fanout.position()
    }

    /// At shutdown, once nothing publishes any more: sends what the fan-out still holds for the
    /// other nodes (best effort, bounded in time) and stops it (see [`FanOut::shutdown`]).
    pub async fn shutdown_fanout(&self) {
        self.inner.fanout.shutdown().await;
    }

    /// The configuration.
    pub fn config(&self) -> &Config {
        &self.inner.config
    }

    /// Checks the database answers; returns its name (`sqlite` or `postgres`).
    pub async fn health(&self) -> Result<&'static str> {
        self.inner.store.ping().await?;
        Ok(self.inner.store.backend().as_str())
    }

    /// The password-hashing pool now (its queue length, for metrics). The pool is shared by every
    /// `Rift` in the process.
    pub fn hashing_stats(&self) -> HashingStats {
        hashing::stats()
    }

    /// The database's name (`sqlite` or `postgres`).
    pub fn backend_name(&self) -> &'static str {
        self.inner.store.backend().as_str()
    }

    /// The time now by the service's clock: every domain time reads it.
    fn now(&self) -> Timestamp {
        self.inner.clock.now()
    }

    /// Delivers to this node's subscribers, then hands the same envelope to the other nodes; neither
    /// waits.
    fn publish(&self, topic: Topic, event: Event) {
        let envelope = Arc::new(Envelope::new(topic, event));
        self.inner.router.publish_envelope(Arc::clone(&envelope));
        self.inner.fanout.publish(envelope);
    }

    /// Appends to a server's audit log. The change it records is already committed; a failure to
    /// log is reported but does not undo it.
    async fn audit(
        &self,
        server_id: ServerId,
        actor_id: Option<UserId>,
        action: &str,
        target_id: Option<Uuid>,
        changes: Value,
        reason: Option<String>,
    ) -> Result<()> {
        let entry = AuditEntry {
            id: AuditEntryId::new(),
            server_id,
            actor_id,
            action: action.to_owned(),
            target_id,
            changes,
            reason,
            created_at: self.now(),
        };
        self.inner.store.add_audit_entry(&entry).await?;
        Ok(())
    }
}

/// A value with whether the call created it (201) or found it (200).
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Created<T> {
    /// The object.
    pub value: T,
    /// Whether it was created by this call.
    pub created: bool,
}

/// Checks a `limit` query parameter: `default` when absent, `1..=max` otherwise.
pub(crate) fn check_limit(limit: Option<u32>, default: u32, max: u32) -> Result<u32> {
    match limit {
        None => Ok(default),
        Some(n) if (1..=max).contains(&n) => Ok(n),
        Some(_) => Err(Error::invalid(ErrorCode::InvalidLimit, format!("limit must be between 1 and {max}"))),
    }
}

/// Username rule: 2 to 32 of `A-Z a-z 0-9 _ . -` (registration checks it; login uses it to
/// skip a lookup that cannot match).
fn check_username(username: &str) -> Result<()> {
    let ok = (2..=32).contains(&username.len())
        && username.bytes().all(|b| b.is_ascii_alphanumeric() || matches!(b, b'_' | b'.' | b'-'));
    if ok {
        Ok(())
    } else {
        Err(Error::invalid(ErrorCode::InvalidUsername, "username must be 2 to 32 of A-Z a-z 0-9 _ . -"))
    }
}

/// Rejects text with NUL characters, which no database text column can hold.
fn check_text(field: &'static str, code: ErrorCode, value: &str) -> Result<()> {
    if value.contains('\0') {
        return Err(Error::invalid(code, format!("{field} must not contain NUL characters")));
    }
    Ok(())
}

/// Checks a display name-like field: trimmed length within `1..=max` chars, no control characters.
fn check_name(field: &'static str, code: ErrorCode, value: &str, max: usize) -> Result<String> {
    let trimmed = value.trim();
    let len = trimmed.chars().count();
    if len == 0 || len > max || trimmed.chars().any(char::is_control) {
        return Err(Error::invalid(
            code,
            format!("{field} must be 1 to {max} characters without control characters"),
        ));
    }
    Ok(trimmed.to_owned())
}

/// Deserialises a field that may be absent (`None`), `null` (`Some(None)`) or a value.
fn double_option<'de, T, D>(deserializer: D) -> std::result::Result<Option<Option<T>>, D::Error>
where
    T: serde::Deserialize<'de>,
    D: serde::Deserializer<'de>,
{
    serde::Deserialize::deserialize(deserializer).map(Some)
}
