//! The Discord bridge: [`DiscordBridge`] implements [`rift::bridge::Bridge`] for one stored
//! connection (a user or bot token).
//!
//! It runs three tasks: the shard (on its own task, so mirroring never delays a heartbeat), the
//! mapper that applies gateway events through the service layer (`mapper.rs`), and the backfill
//! runner (`backfill.rs`). Rift events in mirrored channels reach [`Bridge::on_event`], which
//! relays what the owner writes (`relay.rs`) in relay mode.

mod backfill;
pub(crate) mod mapper;
mod pins;
mod relay;
mod split;

use std::sync::Arc;
use std::time::Duration;

use async_trait::async_trait;
use rift::bridge::{Bridge, BridgeContext};
use rift::event::Envelope;
use rift::model::BridgeStatus;
use rift::{ChannelId, Error as RiftError};
use tokio::sync::{Mutex, mpsc};
use tokio::task::JoinHandle;

use crate::Error;
use crate::gateway::{Config, Encoding, Event, Shard, ShardEvent, TokenKind};
use crate::model::{Guild, Snowflake};
use crate::rest::{self, Client};
use mapper::Mirror;

/// Where the bridge finds Discord (the defaults are Discord's; tests aim them at a fake).
#[derive(Clone, Debug)]
#[non_exhaustive]
pub struct BridgeConfig {
    /// REST base URL (`DISCORD_API_BASE`).
    pub api_base: String,
    /// CDN base URL (`DISCORD_CDN_BASE`).
    pub cdn_base: String,
    /// Gateway URL (`DISCORD_GATEWAY_URL`); `None` asks `GET /gateway`.
    pub gateway_url: Option<String>,
    /// Gateway encoding (ETF by default, as Discord's own clients use).
    pub encoding: Encoding,
}

impl Default for BridgeConfig {
    fn default() -> Self {
        Self {
            api_base: rest::DEFAULT_API_BASE.to_owned(),
            cdn_base: rest::DEFAULT_CDN_BASE.to_owned(),
            gateway_url: None,
            encoding: Encoding::Etf,
        }
    }
}

impl BridgeConfig {
    /// Discord's own URLs.
    pub fn new() -> Self {
        Self::default()
    }

    /// The URLs a binary was configured with (`DISCORD_API_BASE`, `DISCORD_CDN_BASE`,
    /// `DISCORD_GATEWAY_URL`).
    pub fn with_urls(api_base: &str, cdn_base: &str, gateway_url: Option<&str>) -> Self {
        Self {
            api_base: api_base.to_owned(),
            cdn_base: cdn_base.to_owned(),
            gateway_url: gateway_url.map(str::to_owned),
            ..Self::default()
        }
    }

    /// A [`BridgeFactory`](rift::bridge::BridgeFactory) making a [`DiscordBridge`] with this
    /// configuration for each connection (what `rift-server` and `rift-bridge` both run).
    pub fn factory(self) -> rift::bridge::BridgeFactory {
        std::sync::Arc::new(move |_| std::sync::Arc::new(DiscordBridge::new(self.clone())))
    }

    /// A manager running `"discord"` connections with this configuration.
    pub fn manager(self, rift: &rift::Rift) -> rift::bridge::BridgeManager {
        rift::bridge::BridgeManager::new(rift.clone()).with_factory("discord", self.factory())
    }
}

/// The Discord implementation of [`Bridge`]: one per running connection.
///
/// # Examples
///
/// ```no_run
/// use std::sync::Arc;
/// use rift::bridge::{BridgeFactory, BridgeManager};
/// use rift_discord::bridge::{BridgeConfig, DiscordBridge};
///
/// # fn demo(rift: rift::Rift) {
/// let config = BridgeConfig::new();
/// let factory: BridgeFactory = Arc::new(move |_| Arc::new(DiscordBridge::new(config.clone())));
/// let manager = BridgeManager::new(rift).with_factory("discord", factory);
/// # }
/// ```
pub struct DiscordBridge {
    config: BridgeConfig,
    running: Mutex<Option<Running>>,
}

impl std::fmt::Debug for DiscordBridge {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("DiscordBridge").field("config", &self.config).finish_non_exhaustive()
    }
}

struct Running {
    tasks: Vec<JoinHandle<()>>,
    backfill: mpsc::UnboundedSender<backfill::Command>,
    relay: Arc<relay::Relay>,
}

impl DiscordBridge {
    /// A bridge that will reach Discord at `config`'s URLs.
    pub fn new(config: BridgeConfig) -> Self {
        Self { config, running: Mutex::new(None) }
    }
}

fn rest_client(config: &BridgeConfig, ctx: &BridgeContext) -> Result<Client, Error> {
    let kind = token_kind(ctx);
    Client::builder(ctx.connection().token.expose().to_owned())
        .token_kind(kind)
        .api_base(config.api_base.clone())
        .cdn_base(config.cdn_base.clone())
        .build()
}

fn token_kind(ctx: &BridgeContext) -> TokenKind {
    if ctx.connection().token_kind == "user" { TokenKind::User } else { TokenKind::Bot }
}

fn internal(error: impl std::fmt::Display) -> RiftError {
    RiftError::Internal(error.to_string())
}

#[async_trait]
impl Bridge for DiscordBridge {
    fn name(&self) -> &'static str {
        "discord"
    }

    async fn start(&self, ctx: BridgeContext) -> rift::Result<()> {
        let mut running = self.running.lock().await;
        if running.is_some() {
            return Ok(());
        }
        let rest = rest_client(&self.config, &ctx).map_err(internal)?;
        let mirror = Arc::new(Mutex::new(Mirror::new(ctx.clone(), rest.clone())));
        let (backfill_tx, backfill_rx) = mpsc::unbounded_channel();
        let relay = Arc::new(relay::Relay::new(rest.clone()));
        let (events_tx, events_rx) = mpsc::unbounded_channel();
        let shard = tokio::spawn(run_shard(self.config.clone(), ctx.clone(), rest.clone(), events_tx));
        let mapper =
            tokio::spawn(run_mapper(ctx.clone(), Arc::clone(&mirror), events_rx, backfill_tx.clone()));
        let history = tokio::spawn(backfill::run(mirror, rest, backfill_rx));
        *running = Some(Running { tasks: vec![shard, mapper, history], backfill: backfill_tx, relay });
        Ok(())
    }

    async fn on_event(&self, ctx: &BridgeContext, event: &Envelope) -> rift::Result<()> {
        let relay = self.running.lock().await.as_ref().map(|r| Arc::clone(&r.relay));
        match relay {
            Some(relay) => relay.on_event(ctx, event).await,
            None => Ok(()),
        }
    }

    async fn backfill(&self, _ctx: &BridgeContext, channels: Option<Vec<ChannelId>>) -> rift::Result<()> {
        let (done, finished) = tokio::sync::oneshot::channel();
        {
            let running = self.running.lock().await;
            let running = running.as_ref().ok_or_else(|| {
                RiftError::conflict(rift::ErrorCode::BridgeNotRunning, "the bridge is not running")
            })?;
            running.backfill.send(backfill::Command::Refetch(channels, done)).map_err(internal)?;
        }
        // The runner drops the answer when the bridge stops first.
        finished.await.map_err(|_| {
            RiftError::conflict(
                rift::ErrorCode::BridgeNotRunning,
                "the bridge stopped before the backfill finished",
            )
        })
    }

    async fn stop(&self) -> rift::Result<()> {
        if let Some(running) = self.running.lock().await.take() {
            for task in &running.tasks {
                task.abort();
            }
            for task in running.tasks {
                let _ = task.await;
            }
        }
        Ok(())
    }
}

/// The cursor holding when the last session was established (Unix ms).
const IDENTIFIED_AT: &str = "identified_at";
/// Discord allows one IDENTIFY per 5 s; half a second more for clocks and transit.
const IDENTIFY_SPACING_MS: i64 = 5_500;

/// What the shard task hands the mapper.
enum Fed {
    Event(ShardEvent),
    /// The connection ended for good (a fatal close code).
    Fatal(String),
}

/// Asks for the gateway URL, then runs the shard, forwarding everything to the mapper. Runs on
/// its own task so that heartbeats never wait for mirroring.
async fn run_shard(
    config: BridgeConfig,
    ctx: BridgeContext,
    rest: Client,
    events: mpsc::UnboundedSender<Fed>,
) {
    let _ = ctx.set_status(BridgeStatus::Connecting, None, None).await;
    let mut attempt = 0u32;
    let gateway_url = loop {
        if let Some(url) = &config.gateway_url {
            break url.clone();
        }
        match rest.gateway().await {
            Ok(info) => break info.url,
            Err(Error::Unauthorized { .. }) => {
                let _ = events.send(Fed::Fatal("invalid token: Discord refused it".into()));
                return;
            }
            Err(error) => {
                attempt += 1;
                tracing::warn!(%error, attempt, "cannot ask Discord for the gateway URL; retrying");
                tokio::time::sleep(Duration::from_secs(u64::from(attempt.min(6)) * 5)).await;
            }
        }
    };
    // Identifies are at least 5 s apart across restarts too: wait out the last one's window.
    let last_ready = ctx.cursor(IDENTIFIED_AT).await.ok().flatten().and_then(|ms| ms.parse::<i64>().ok());
    if let Some(last) = last_ready {
        let wait_ms = last + IDENTIFY_SPACING_MS - chrono::Utc::now().timestamp_millis();
        if let Ok(wait_ms) = u64::try_from(wait_ms) {
            tokio::time::sleep(Duration::from_millis(wait_ms)).await;
        }
    }
    let shard_config = Config::builder(ctx.connection().token.expose().to_owned())
        .token_kind(token_kind(&ctx))
        .gateway_url(gateway_url)
        .encoding(config.encoding)
        .compress(true)
        .build();
    let mut shard = Shard::new(shard_config);
    loop {
        match shard.next_event().await {
            Ok(event) => {
                if events.send(Fed::Event(event)).is_err() {
                    return;
                }
            }
            Err(Error::FatalClose { code, reason }) => {
                let why = match code {
                    4004 => "invalid token: Discord refused it".to_owned(),
                    _ => format!("Discord closed the gateway with code {code}: {reason}"),
                };
                let _ = events.send(Fed::Fatal(why));
                return;
            }
            Err(error) => {
                tracing::warn!(%error, "the Discord gateway connection ended");
                return;
            }
        }
    }
}

/// Applies gateway events in order through the mirror, keeps the connection's status, and tells
/// the backfill runner which channels to read.
async fn run_mapper(
    ctx: BridgeContext,
    mirror: Arc<Mutex<Mirror>>,
    mut events: mpsc::UnboundedReceiver<Fed>,
    backfill: mpsc::UnboundedSender<backfill::Command>,
) {
    while let Some(fed) = events.recv().await {
        let event = match fed {
            Fed::Fatal(reason) => {
                tracing::error!(reason = %reason, "discord bridge stopped");
                let _ = ctx.set_status(BridgeStatus::Stopped, Some(&reason), None).await;
                return;
            }
            Fed::Event(ShardEvent::Reconnecting { resume, .. }) => {
                let status = if resume { BridgeStatus::Resuming } else { BridgeStatus::Connecting };
                let _ = ctx.set_status(status, None, None).await;
                continue;
            }
            Fed::Event(ShardEvent::InvalidSession { .. }) => continue,
            Fed::Event(ShardEvent::Dispatch(dispatch)) => dispatch,
        };
        let result = async {
            let mut mirror = mirror.lock().await;
            apply_dispatch(&ctx, &mut mirror, &event, &backfill).await
        }
        .await;
        if let Err(error) = result {
            tracing::warn!(event = %event.name, %error, "cannot mirror a Discord event");
        }
    }
}

async fn apply_dispatch(
    ctx: &BridgeContext,
    mirror: &mut Mirror,
    dispatch: &crate::gateway::Dispatch,
    backfill: &mpsc::UnboundedSender<backfill::Command>,
) -> rift::Result<()> {
    let plan = |targets: Vec<mapper::HistoryTarget>| {
        let _ = backfill.send(backfill::Command::Targets(targets));
    };
    // Role events are not typed by the protocol client; their shapes are small.
    match dispatch.name.as_str() {
        "GUILD_ROLE_CREATE" | "GUILD_ROLE_UPDATE" | "GUILD_ROLE_DELETE" => {
            let guild_id: Option<Snowflake> = serde_json::from_value(dispatch.data["guild_id"].clone()).ok();
            let Some(guild_id) = guild_id else { return Ok(()) };
            let Some(guild) = mirror.guilds.get_mut(&guild_id) else { return Ok(()) };
            if dispatch.name == "GUILD_ROLE_DELETE" {
                let role_id: Option<Snowflake> =
                    serde_json::from_value(dispatch.data["role_id"].clone()).ok();
                guild.roles.retain(|r| Some(r.id) != role_id);
            } else if let Ok(role) =
                serde_json::from_value::<crate::model::Role>(dispatch.data["role"].clone())
            {
                guild.roles.retain(|r| r.id != role.id);
                guild.roles.push(role);
            }
            mirror.sync_roles(guild_id).await?;
            // Role permissions decide which channels the account can see.
            plan(mirror.sync_channels(guild_id).await?);
            return Ok(());
        }
        _ => {}
    }
    let event = match dispatch.event() {
        Ok(event) => event,
        Err(error) => {
            tracing::warn!(event = %dispatch.name, %error, "unreadable Discord event");
            return Ok(());
        }
    };
    match event {
        Event::Ready(ready) => {
            ctx.set_cursor(IDENTIFIED_AT, &chrono::Utc::now().timestamp_millis().to_string()).await?;
            mirror.me = Some(ready.user.id);
            ctx.set_status(BridgeStatus::Ready, None, Some(&ready.user.id.to_string())).await?;
            // A user account's READY carries whole guilds; a bot's only stubs (GUILD_CREATE follows).
            let guilds: Vec<Guild> =
                serde_json::from_value(dispatch.data["guilds"].clone()).unwrap_or_default();
            for guild in guilds.iter().filter(|g| g.unavailable != Some(true) && !g.name.is_empty()) {
                plan(mirror.sync_guild(guild).await?);
            }
            mirror.record_servers().await?;
            // A user account's DMs and group DMs (a bot's READY has none).
            let mut dms = Vec::new();
            for channel in &mapper::ready_private_channels(&ready.private_channels, &dispatch.data) {
                dms.extend(mirror.sync_dm(channel).await?);
            }
            plan(dms);
        }
        Event::ChannelCreate(channel) | Event::ChannelUpdate(channel) if channel.is_dm() => {
            plan(mirror.sync_dm(&channel).await?.into_iter().collect());
        }
        Event::ChannelRecipientAdd(change) | Event::ChannelRecipientRemove(change) => {
            let added = dispatch.name == "CHANNEL_RECIPIENT_ADD";
            plan(mirror.dm_recipient(change.channel_id, &change.user, added).await?.into_iter().collect());
        }
        Event::Resumed => ctx.set_status(BridgeStatus::Ready, None, None).await?,
        Event::GuildCreate(guild) | Event::GuildUpdate(guild) if guild.unavailable != Some(true) => {
            let mut guild = *guild;
            if guild.channels.is_empty()
                && let Some(known) = mirror.guilds.get(&guild.id)
            {
                // GUILD_UPDATE carries no channels: keep the ones we know.
                guild.channels.clone_from(&known.channels);
            }
            plan(mirror.sync_guild(&guild).await?);
        }
        Event::ChannelCreate(channel) | Event::ChannelUpdate(channel) => {
            let guild_id = channel.guild_id.or_else(|| mirror.guild_of(channel.id));
            if let Some(guild_id) = guild_id
                && let Some(guild) = mirror.guilds.get_mut(&guild_id)
            {
                guild.channels.retain(|c| c.id != channel.id);
                guild.channels.push(*channel);
                plan(mirror.sync_channels(guild_id).await?);
            }
        }
        Event::GuildMemberAdd(add) => mirror.member(add.guild_id, &add.member).await?,
        Event::GuildMemberUpdate(update) => {
            let member = crate::model::Member {
                user: Some(update.user.clone()),
                nick: update.nick.clone(),
                avatar: update.avatar.clone(),
                roles: update.roles.clone(),
                joined_at: update.joined_at.clone(),
            };
            let own = Some(update.user.id) == mirror.me;
            mirror.member(update.guild_id, &member).await?;
            if own {
                plan(mirror.sync_channels(update.guild_id).await?);
            }
        }
        Event::GuildMemberRemove(remove) => mirror.member_removed(remove.guild_id, &remove.user).await?,
        Event::GuildMembersChunk(chunk) => {
            for member in &chunk.members {
                mirror.member(chunk.guild_id, member).await?;
            }
        }
        Event::MessageCreate(message) => {
            if relay::is_echo(ctx, &message).await {
                return Ok(());
            }
            mirror.message(&message, false).await?;
            if mirror.caught_up.contains(&message.channel_id) {
                ctx.set_cursor(&backfill::top_key(message.channel_id), &message.id.to_string()).await?;
            }
        }
        Event::MessageUpdate(update) => {
            if relay::is_own_part(ctx, update.id).await {
                return Ok(());
            }
            // Partial updates (embeds resolving) carry no content and are not a new version.
            let remote = ctx.remote(update.id.to_string());
            if let Some(content) = &update.content {
                let at = update
                    .edited_timestamp
                    .as_deref()
                    .and_then(mapper::parse_time)
                    .unwrap_or_else(chrono::Utc::now);
                ctx.rift().mirror_edit(&remote, content, at).await?;
            }
            if let Some(embeds) = &update.embeds {
                // Stickers never change after sending: keep the stored ones.
                let stored = match ctx.find(rift::store::BridgedKind::Message, &remote.remote_id).await? {
                    Some(id) => ctx.rift().mirrored_message(rift::MessageId::from_uuid(id)).await?,
                    None => None,
                };
                let stickers: Vec<serde_json::Value> = stored
                    .and_then(|m| m.extras)
                    .and_then(|e| e.get("sticker_items").and_then(|s| s.as_array().cloned()))
                    .unwrap_or_default();
                ctx.rift().mirror_extras(&remote, mapper::extras(embeds, &stickers)).await?;
            }
        }
        Event::MessageDelete(delete) => {
            if relay::is_own_part(ctx, delete.id).await {
                return Ok(());
            }
            ctx.rift().mirror_delete(&ctx.remote(delete.id.to_string())).await?;
        }
        Event::MessageDeleteBulk(bulk) => {
            for id in &bulk.ids {
                if !relay::is_own_part(ctx, *id).await {
                    ctx.rift().mirror_delete(&ctx.remote(id.to_string())).await?;
                }
            }
        }
        Event::ChannelPinsUpdate(update) => pins::sync(ctx, &mirror.rest, update.channel_id).await?,
        Event::ReactionRemoveAll(clear) | Event::ReactionRemoveEmoji(clear) => {
            let emoji = clear.emoji.as_ref().and_then(mapper::emoji_key);
            let remote = ctx.remote(clear.message_id.to_string());
            ctx.rift().mirror_reactions_clear(&remote, emoji.as_deref()).await?;
        }
        Event::ReactionAdd(reaction) | Event::ReactionRemove(reaction) => {
            let add = dispatch.name == "MESSAGE_REACTION_ADD";
            // The echo of the owner's relayed reaction finds it already stored: idempotent.
            mirror
                .reaction(
                    reaction.user_id,
                    reaction.message_id,
                    &reaction.emoji,
                    reaction.member.as_ref(),
                    add,
                )
                .await?;
        }
        _ => {}
    }
    Ok(())
}
