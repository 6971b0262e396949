//! Bridge connections as their owner manages them: create, list, read, pause, resume, delete,
//! and ask for a backfill (recorded, run by whichever process holds the connection's lease).
//! Only the owner sees a connection (anyone else: 404); the token is write-only.

use serde::{Deserialize, Serialize};

use crate::error::{Error, ErrorCode, Resource, Result};
use crate::id::{BackfillRequestId, BridgeConnectionId, ChannelId, ServerId, UserId};
use crate::model::{BackfillRequest, BridgeConnection, BridgeStatus};

use super::Rift;

/// The cursor key under which a bridge keeps its backfill progress.
pub(crate) const PROGRESS_KEY: &str = "progress";
/// The cursor key under which a bridge keeps the remote servers it mirrors.
pub(crate) const GUILDS_KEY: &str = "guilds";

/// The most channels one backfill request may name.
pub const MAX_BACKFILL_CHANNELS: usize = 100;

/// A new connection, as its owner asks for it.
#[derive(Debug, Clone)]
#[non_exhaustive]
pub struct BridgeInput {
    /// The bridge, e.g. `"discord"`.
    pub source: String,
    /// The remote credential.
    pub token: String,
    /// `"user"` or `"bot"`.
    pub token_kind: String,
    /// `"relay"` (both ways) or `"archive"` (never writes remotely).
    pub mode: String,
}

impl BridgeInput {
    /// A connection to `source`.
    pub fn new(
        source: impl Into<String>,
        token: impl Into<String>,
        token_kind: impl Into<String>,
        mode: impl Into<String>,
    ) -> Self {
        Self { source: source.into(), token: token.into(), token_kind: token_kind.into(), mode: mode.into() }
    }
}

/// A remote server a connection mirrors.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct BridgedServer {
    /// Its remote id.
    pub id: String,
    /// Its name.
    pub name: String,
    /// The Rift server mirroring it.
    pub server_id: ServerId,
}

/// How far a connection's backfill got.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct BackfillProgress {
    /// Channels whose history is complete.
    pub channels_done: u32,
    /// Channels to backfill.
    pub channels_total: u32,
    /// Messages stored by backfill so far.
    pub messages: u64,
    /// The channel being read now.
    pub current_channel_id: Option<ChannelId>,
}

/// A connection as its owner sees it (the token never appears).
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct BridgeView {
    /// The connection's id.
    pub id: BridgeConnectionId,
    /// Its owner.
    pub owner_id: UserId,
    /// `"user"` or `"bot"`.
    pub token_kind: String,
    /// `"relay"` or `"archive"`.
    pub mode: String,
    /// What it is doing.
    pub status: BridgeStatus,
    /// Why it stopped, when it did.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub status_reason: Option<String>,
    /// The account's remote user id, once known.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub discord_user_id: Option<String>,
    /// The remote servers it mirrors.
    pub guilds: Vec<BridgedServer>,
    /// Backfill progress.
    pub backfill: BackfillProgress,
    /// The most recently asked backfill request, if any.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub backfill_request: Option<BackfillRequest>,
}

fn one_of(field: &'static str, code: ErrorCode, value: &str, allowed: &[&str]) -> Result<()> {
    if allowed.contains(&value) {
        return Ok(());
    }
    Err(Error::invalid(code, format!("{field} must be one of: {}", allowed.join(", "))))
}

impl Rift {
    /// Stores a new connection for `owner` (status `connecting`); the caller starts it.
    ///
    /// # Errors
    /// 400 `invalid_token` (empty, too long or with control characters), `invalid_token_kind`,
    /// `invalid_mode`.
    pub async fn create_bridge_connection(&self, owner: UserId, input: BridgeInput) -> Result<BridgeView> {
        let token = input.token.trim();
        if token.is_empty() || token.len() > 512 || token.chars().any(char::is_control) {
            return Err(Error::invalid(ErrorCode::InvalidToken, "token must be 1 to 512 characters"));
        }
        one_of("token_kind", ErrorCode::InvalidTokenKind, &input.token_kind, &["user", "bot"])?;
        one_of("mode", ErrorCode::InvalidMode, &input.mode, &["relay", "archive"])?;
        let connection =
            BridgeConnection::new(input.source, owner, token, input.token_kind, input.mode, self.now());
        self.inner.store.create_bridge_connection(&connection).await?;
        self.bridge_view(connection).await
    }

    /// One of the caller's connections; anyone else's is 404.
    pub async fn bridge_connection(&self, owner: UserId, id: BridgeConnectionId) -> Result<BridgeView> {
        let connection = self.owned_connection(owner, id).await?;
        self.bridge_view(connection).await
    }

    /// The caller's connections, oldest first.
    pub async fn bridge_connections(&self, owner: UserId) -> Result<Vec<BridgeView>> {
        let mut views = Vec::new();
        for connection in self.inner.store.bridge_connections(Some(owner)).await? {
            views.push(self.bridge_view(connection).await?);
        }
        Ok(views)
    }

    /// Deletes one of the caller's connections (the mirrored data stays); the caller stops it.
    pub async fn delete_bridge_connection(&self, owner: UserId, id: BridgeConnectionId) -> Result<()> {
        self.owned_connection(owner, id).await?;
        self.inner.store.delete_bridge_connection(id).await?;
        Ok(())
    }

    /// Pauses (`paused`) or resumes (`connecting`) one of the caller's connections; the caller
    /// stops or starts it.
    pub async fn set_bridge_paused(
        &self,
        owner: UserId,
        id: BridgeConnectionId,
        paused: bool,
    ) -> Result<BridgeView> {
        self.owned_connection(owner, id).await?;
        let status = if paused { BridgeStatus::Paused } else { BridgeStatus::Connecting };
        self.inner.store.set_bridge_status(id, status, None, None).await?;
        self.bridge_connection(owner, id).await
    }

    /// Every stored connection that should run now (not paused, not stopped for good).
    pub async fn runnable_bridge_connections(&self) -> Result<Vec<BridgeConnection>> {
        let all = self.inner.store.bridge_connections(None).await?;
        Ok(all
            .into_iter()
            .filter(|c| !matches!(c.status, BridgeStatus::Paused | BridgeStatus::Stopped))
            .collect())
    }

    /// Finds the connection of `owner` to `source` whose token is `token` or, failing that, the
    /// first one to `source`: the environment's front door updates that one rather than adding more.
    pub async fn upsert_bridge_connection(
        &self,
        owner: UserId,
        input: BridgeInput,
    ) -> Result<BridgeConnectionId> {
        let existing = self.inner.store.bridge_connections(Some(owner)).await?;
        let same = existing.iter().filter(|c| c.source == input.source);
        if let Some(found) =
            same.clone().find(|c| c.token.expose() == input.token.trim()).or(same.clone().next())
        {
            if found.token.expose() != input.token.trim()
                || found.token_kind != input.token_kind
                || found.mode != input.mode
            {
                // A changed token replaces the connection's credential: delete and re-create
                // keeps one code path for validation.
                self.inner.store.delete_bridge_connection(found.id).await?;
                return Ok(self.create_bridge_connection(owner, input).await?.id);
            }
            return Ok(found.id);
        }
        Ok(self.create_bridge_connection(owner, input).await?.id)
    }

    /// Asks for one of the caller's connections to read history again: of `channels` (mirrored
    /// channels of this connection, Rift ids) or of every channel. The request is recorded; the
    /// process holding the connection's lease (this one or another sharing the database) takes
    /// it within seconds, runs it and marks it `done` or `failed`.
    ///
    /// # Errors
    /// 404 for a connection that is not the caller's; 409 `bridge_not_running` when it is paused
    /// or stopped; 400 `invalid_channel_ids` for an empty list, more than
    /// [`MAX_BACKFILL_CHANNELS`], or a channel this connection does not mirror.
    pub async fn request_bridge_backfill(
        &self,
        owner: UserId,
        id: BridgeConnectionId,
        channels: Option<Vec<ChannelId>>,
    ) -> Result<BackfillRequest> {
        let connection = self.owned_connection(owner, id).await?;
        if matches!(connection.status, BridgeStatus::Paused | BridgeStatus::Stopped) {
            return Err(Error::conflict(
                ErrorCode::BridgeNotRunning,
                "the connection is not running; resume it first",
            ));
        }
        let channels = match channels {
            None => None,
            Some(mut ids) => {
                ids.sort();
                ids.dedup();
                if ids.is_empty() || ids.len() > MAX_BACKFILL_CHANNELS {
                    return Err(Error::invalid(
                        ErrorCode::InvalidChannelIds,
                        format!("channel_ids must name 1 to {MAX_BACKFILL_CHANNELS} channels"),
                    ));
                }
                for channel_id in &ids {
                    let mirrored = self.inner.store.channel(*channel_id).await?.is_some_and(|channel| {
                        channel.bridge.is_some_and(|bridge| bridge.source == connection.source)
                    });
                    if !mirrored {
                        return Err(Error::invalid(
                            ErrorCode::InvalidChannelIds,
                            format!("channel {channel_id} is not mirrored by this connection"),
                        ));
                    }
                }
                Some(ids)
            }
        };
        let request = BackfillRequest::new(id, channels, self.now());
        self.inner.store.create_backfill_request(&request).await?;
        Ok(request)
    }

    /// One of the caller's backfill requests; anyone else's is 404.
    pub async fn bridge_backfill_request(
        &self,
        owner: UserId,
        id: BackfillRequestId,
    ) -> Result<BackfillRequest> {
        let request =
            self.inner.store.backfill_request(id).await?.ok_or(Error::NotFound(Resource::Bridge))?;
        self.owned_connection(owner, request.connection_id).await?;
        Ok(request)
    }

    async fn owned_connection(&self, owner: UserId, id: BridgeConnectionId) -> Result<BridgeConnection> {
        match self.inner.store.bridge_connection(id).await? {
            Some(connection) if connection.owner_id == owner => Ok(connection),
            _ => Err(Error::NotFound(Resource::Bridge)),
        }
    }

    async fn bridge_view(&self, connection: BridgeConnection) -> Result<BridgeView> {
        let store = &self.inner.store;
        let guilds: Vec<BridgedServer> = store
            .bridge_cursor(connection.id, GUILDS_KEY)
            .await?
            .and_then(|v| serde_json::from_str(&v).ok())
            .unwrap_or_default();
        let backfill: BackfillProgress = store
            .bridge_cursor(connection.id, PROGRESS_KEY)
            .await?
            .and_then(|v| serde_json::from_str(&v).ok())
            .unwrap_or_default();
        Ok(BridgeView {
            id: connection.id,
            owner_id: connection.owner_id,
            token_kind: connection.token_kind,
            mode: connection.mode,
            status: connection.status,
            status_reason: connection.status_reason,
            discord_user_id: connection.remote_user_id,
            backfill_request: store.latest_backfill_request(connection.id).await?,
            guilds,
            backfill,
        })
    }
}
