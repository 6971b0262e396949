//! Discord → Rift: how each Discord object becomes a Rift one. The pure rules (permission bits,
//! channel kinds, sort orders, timestamps, who may read what) are plain functions tested beside
//! them; [`Mirror`] applies them through the service layer's idempotent `mirror_*` writes, so a
//! replayed event, page or whole sync changes nothing.

use std::collections::HashMap;

use chrono::{DateTime, TimeZone, Utc};
use rift::bridge::BridgeContext;
use rift::model::{ChannelKind, OverwriteKind, PermissionOverwrite};
use rift::store::BridgedKind;
use rift::{
    BridgedServer, ChannelId, MessageId, Permissions, RemoteChannel, RemoteMember, RemoteMessage, RemoteRole,
    RemoteUser, RoleId, ServerId, Timestamp, UserId,
};

use crate::model::{Channel, Emoji, Guild, Member, Message, Role, Snowflake, User};
use crate::rest::Client;

/// Files larger than this are not downloaded (they would be held in memory whole).
const MAX_MIRRORED_FILE: u64 = 100 * 1024 * 1024;

/// Discord's permission bits the mapping reads.
mod bits {
    pub(super) const CREATE_INSTANT_INVITE: u64 = 1 << 0;
    pub(super) const KICK_MEMBERS: u64 = 1 << 1;
    pub(super) const BAN_MEMBERS: u64 = 1 << 2;
    pub(super) const ADMINISTRATOR: u64 = 1 << 3;
    pub(super) const MANAGE_CHANNELS: u64 = 1 << 4;
    pub(super) const MANAGE_GUILD: u64 = 1 << 5;
    pub(super) const VIEW_CHANNEL: u64 = 1 << 10;
    pub(super) const SEND_MESSAGES: u64 = 1 << 11;
    pub(super) const MANAGE_MESSAGES: u64 = 1 << 13;
    pub(super) const ATTACH_FILES: u64 = 1 << 15;
    pub(super) const READ_MESSAGE_HISTORY: u64 = 1 << 16;
    pub(super) const MENTION_EVERYONE: u64 = 1 << 17;
    pub(super) const MANAGE_ROLES: u64 = 1 << 28;
}

/// Discord's permission bits onto Rift's, bit by bit (Discord's bits without a Rift meaning, such
/// as ADD_REACTIONS or the voice ones, are dropped; MANAGE_GUILD also manages invites in Rift).
pub(crate) fn permissions(discord: u64) -> Permissions {
    const MAP: &[(u64, Permissions)] = &[
        (bits::CREATE_INSTANT_INVITE, Permissions::CREATE_INVITES),
        (bits::KICK_MEMBERS, Permissions::KICK_MEMBERS),
        (bits::BAN_MEMBERS, Permissions::BAN_MEMBERS),
        (bits::ADMINISTRATOR, Permissions::ADMINISTRATOR),
        (bits::MANAGE_CHANNELS, Permissions::MANAGE_CHANNELS),
        (bits::MANAGE_GUILD, Permissions::MANAGE_SERVER),
        (bits::MANAGE_GUILD, Permissions::MANAGE_INVITES),
        (bits::VIEW_CHANNEL, Permissions::VIEW_CHANNELS),
        (bits::SEND_MESSAGES, Permissions::SEND_MESSAGES),
        (bits::MANAGE_MESSAGES, Permissions::MANAGE_MESSAGES),
        (bits::ATTACH_FILES, Permissions::ATTACH_FILES),
        (bits::READ_MESSAGE_HISTORY, Permissions::READ_HISTORY),
        (bits::MENTION_EVERYONE, Permissions::MENTION_EVERYONE),
        (bits::MANAGE_ROLES, Permissions::MANAGE_ROLES),
    ];
    MAP.iter().filter(|(bit, _)| discord & bit != 0).fold(Permissions::NONE, |acc, (_, p)| acc | *p)
}

/// A permission string as Discord sends it (a decimal string; missing means none).
fn bits_of(value: Option<&str>) -> u64 {
    value.and_then(|v| v.parse().ok()).unwrap_or(0)
}

/// Discord channel types onto Rift's kinds; `None` for what Rift does not mirror as a server
/// channel (DMs, threads, forums).
pub(crate) fn channel_kind(kind: u8) -> Option<ChannelKind> {
    match kind {
        0 | 5 => Some(ChannelKind::Text),
        2 | 13 => Some(ChannelKind::Voice),
        4 => Some(ChannelKind::Category),
        _ => None,
    }
}

/// Rift positions that sort a guild's channels as Discord shows them: by position, text before
/// voice among siblings, then by id.
pub(crate) fn channel_positions(channels: &[Channel]) -> HashMap<Snowflake, i32> {
    let mut sorted: Vec<&Channel> = channels.iter().collect();
    sorted.sort_by_key(|c| (u8::from(matches!(c.kind, 2 | 13)), c.position.unwrap_or(0), c.id));
    sorted.iter().zip(0..).map(|(c, i)| (c.id, i)).collect()
}

/// A guild's roles other than `@everyone`, lowest rank first (Discord: by position, then id).
pub(crate) fn ranked_roles(guild_id: Snowflake, roles: &[Role]) -> Vec<&Role> {
    let mut ranked: Vec<&Role> = roles.iter().filter(|r| r.id != guild_id).collect();
    ranked.sort_by_key(|r| (r.position, std::cmp::Reverse(r.id)));
    ranked
}

/// What a member may do in a channel, computed as Discord does: the owner has everything; base =
/// `@everyone` ∪ the member's roles; ADMINISTRATOR bypasses; then overwrites `@everyone` → roles
/// (denies, then allows) → the member.
pub(crate) fn channel_permissions(
    guild_id: Snowflake,
    owner_id: Option<Snowflake>,
    roles: &[Role],
    user_id: Snowflake,
    member_roles: &[Snowflake],
    channel: &Channel,
) -> u64 {
    if owner_id == Some(user_id) {
        return u64::MAX;
    }
    let role_bits =
        |id: Snowflake| roles.iter().find(|r| r.id == id).map_or(0, |r| bits_of(r.permissions.as_deref()));
    let mut base = role_bits(guild_id);
    for role in member_roles {
        base |= role_bits(*role);
    }
    if base & bits::ADMINISTRATOR != 0 {
        return u64::MAX;
    }
    let overwrite = |id: Snowflake, kind: u8| {
        channel
            .permission_overwrites
            .iter()
            .find(|o| o.id == id && o.kind == kind)
            .map(|o| (bits_of(o.allow.as_deref()), bits_of(o.deny.as_deref())))
    };
    let mut perms = base;
    if let Some((allow, deny)) = overwrite(guild_id, 0) {
        perms = (perms & !deny) | allow;
    }
    let (mut allow, mut deny) = (0, 0);
    for role in member_roles {
        if let Some((a, d)) = overwrite(*role, 0) {
            allow |= a;
            deny |= d;
        }
    }
    perms = (perms & !deny) | allow;
    if let Some((allow, deny)) = overwrite(user_id, 1) {
        perms = (perms & !deny) | allow;
    }
    perms
}

/// Whether the account can see a channel and read its history.
pub(crate) fn readable(perms: u64) -> (bool, bool) {
    let view = perms & bits::VIEW_CHANNEL != 0;
    (view, view && perms & bits::READ_MESSAGE_HISTORY != 0)
}

/// An ISO 8601 timestamp, to the millisecond.
pub(crate) fn parse_time(value: &str) -> Option<Timestamp> {
    DateTime::parse_from_rfc3339(value).ok().map(|t| t.to_utc())
}

/// When a snowflake was made.
pub(crate) fn snowflake_time(id: Snowflake) -> Timestamp {
    let ms = i64::try_from(id.timestamp_ms()).unwrap_or(i64::MAX);
    Utc.timestamp_millis_opt(ms).single().unwrap_or_default()
}

/// A reaction's emoji as Rift and Discord's routes name it: the Unicode emoji, or `name:id`.
pub(crate) fn emoji_key(emoji: &Emoji) -> Option<String> {
    match (&emoji.id, &emoji.name) {
        (Some(id), Some(name)) => Some(format!("{name}:{id}")),
        (Some(id), None) => Some(format!("_:{id}")),
        (None, Some(name)) if !name.is_empty() => Some(name.clone()),
        (None, _) => None,
    }
}

/// A user's display name: the global name, else the username.
pub(crate) fn display_name(user: &User) -> &str {
    user.global_name.as_deref().filter(|n| !n.trim().is_empty()).unwrap_or(&user.username)
}

/// What the bridge knows of a mirrored guild.
#[derive(Debug, Clone)]
pub(crate) struct GuildState {
    pub(crate) server_id: ServerId,
    pub(crate) name: String,
    pub(crate) owner_id: Option<Snowflake>,
    pub(crate) roles: Vec<Role>,
    pub(crate) channels: Vec<Channel>,
    pub(crate) own_roles: Vec<Snowflake>,
}

/// A channel whose history the bridge reads.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct HistoryTarget {
    pub(crate) remote: Snowflake,
    pub(crate) channel_id: ChannelId,
}

/// Writes Discord objects into Rift for one connection.
pub(crate) struct Mirror {
    pub(crate) ctx: BridgeContext,
    pub(crate) rest: Client,
    /// The account's own Discord user, once READY named it.
    pub(crate) me: Option<Snowflake>,
    pub(crate) guilds: HashMap<Snowflake, GuildState>,
    /// Discord channel id to its guild.
    channel_guild: HashMap<Snowflake, Snowflake>,
    /// Puppets already mirrored this run, by Discord user id.
    users: HashMap<Snowflake, UserId>,
    /// Channels read up to the newest message in this run: live messages there move the
    /// catch-up cursor (elsewhere the catch-up has yet to read what came before them).
    pub(crate) caught_up: std::collections::HashSet<Snowflake>,
    /// DMs and group DMs as last mirrored, by Discord channel id (recipient events patch them).
    pub(crate) dms: HashMap<Snowflake, Channel>,
}

impl Mirror {
    pub(crate) fn new(ctx: BridgeContext, rest: Client) -> Self {
        Self {
            ctx,
            rest,
            me: None,
            guilds: HashMap::new(),
            channel_guild: HashMap::new(),
            users: HashMap::new(),
            caught_up: Default::default(),
            dms: HashMap::new(),
        }
    }

    fn remote(&self, id: impl ToString) -> rift::model::BridgeRef {
        self.ctx.remote(id.to_string())
    }

    /// The Rift user for a Discord user: the owner for the account itself, else a puppet whose
    /// display name follows the Discord one.
    pub(crate) async fn user(&mut self, user: &User) -> rift::Result<UserId> {
        if Some(user.id) == self.me {
            return Ok(self.ctx.owner());
        }
        if let Some(id) = self.users.get(&user.id) {
            return Ok(*id);
        }
        let remote = RemoteUser::new(self.remote(user.id), display_name(user));
        let id = self.ctx.rift().mirror_user(&remote).await?.id;
        self.avatar(id, user).await?;
        self.users.insert(user.id, id);
        Ok(id)
    }

    /// Downloads a user's avatar into Rift's storage (once per avatar hash).
    async fn avatar(&self, id: UserId, user: &User) -> rift::Result<()> {
        let image = match &user.avatar {
            Some(hash) => {
                self.image(id, &format!("avatar:{}:{hash}", user.id), &self.rest.avatar_url(user.id, hash))
                    .await?
            }
            None => None,
        };
        self.ctx.rift().mirror_avatar(id, image.as_ref()).await.map(drop)
    }

    /// Downloads a guild's icon into Rift's storage (once per icon hash).
    async fn icon(&self, server_id: ServerId, guild: &Guild) -> rift::Result<()> {
        let owner = self.ctx.owner();
        let image = match &guild.icon {
            Some(hash) => {
                self.image(
                    owner,
                    &format!("icon:{}:{hash}", guild.id),
                    &self.rest.guild_icon_url(guild.id, hash),
                )
                .await?
            }
            None => None,
        };
        self.ctx.rift().mirror_server_icon(server_id, image.as_ref()).await.map(drop)
    }

    /// An image stored under `key` (its hash is part of it, so a new image is a new key),
    /// downloaded from `url` the first time; `None` when the CDN does not have it.
    async fn image(
        &self,
        uploader: UserId,
        key: &str,
        url: &str,
    ) -> rift::Result<Option<rift::model::Upload>> {
        let rift = self.ctx.rift();
        if let Some(upload) = self.ctx.find(BridgedKind::Upload, key).await? {
            return rift.mirrored_upload(rift::UploadId::from_uuid(upload)).await;
        }
        match self.rest.download(url).await {
            Ok(bytes) => Ok(Some(
                rift.mirror_attachment(uploader, &self.remote(key), "image.png", None, &bytes).await?,
            )),
            Err(error) => {
                tracing::debug!(key, %error, "image not downloaded");
                Ok(None)
            }
        }
    }

    /// Downloads a message's files into Rift's storage; a file already gone from the CDN (or too
    /// large to hold) is left out and the message is still stored.
    async fn attachments(&self, author: UserId, message: &Message) -> rift::Result<Vec<rift::UploadId>> {
        let mut ids = Vec::new();
        for attachment in &message.attachments {
            let remote = self.remote(attachment.id);
            if let Some(id) = self.ctx.find(BridgedKind::Upload, &remote.remote_id).await? {
                ids.push(rift::UploadId::from_uuid(id));
                continue;
            }
            if attachment.size > MAX_MIRRORED_FILE {
                tracing::warn!(attachment = %attachment.id, size = attachment.size, "file too large to mirror; left out");
                continue;
            }
            match self.rest.download(&attachment.url).await {
                Ok(bytes) => {
                    let upload = self
                        .ctx
                        .rift()
                        .mirror_attachment(
                            author,
                            &remote,
                            &attachment.filename,
                            attachment.content_type.as_deref(),
                            &bytes,
                        )
                        .await?;
                    ids.push(upload.id);
                }
                Err(error) => {
                    tracing::warn!(attachment = %attachment.id, %error, "file not downloaded; the message is stored without it");
                }
            }
        }
        Ok(ids)
    }

    /// The Rift user of a Discord user known only by id (an overwrite target, a reactor), if
    /// mirrored already.
    async fn known_user(&self, id: Snowflake) -> rift::Result<Option<UserId>> {
        if Some(id) == self.me {
            return Ok(Some(self.ctx.owner()));
        }
        if let Some(user) = self.users.get(&id) {
            return Ok(Some(*user));
        }
        Ok(self.ctx.find(BridgedKind::User, &id.to_string()).await?.map(UserId::from_uuid))
    }

    async fn role_id(
        &self,
        guild_id: Snowflake,
        server_id: ServerId,
        id: Snowflake,
    ) -> rift::Result<Option<RoleId>> {
        if id == guild_id {
            return Ok(Some(RoleId::everyone(server_id)));
        }
        Ok(self.ctx.find(BridgedKind::Role, &id.to_string()).await?.map(RoleId::from_uuid))
    }

    /// The mirrored Rift channel of a Discord channel.
    pub(crate) async fn channel_id(&self, id: Snowflake) -> rift::Result<Option<ChannelId>> {
        Ok(self.ctx.find(BridgedKind::Channel, &id.to_string()).await?.map(ChannelId::from_uuid))
    }

    /// Mirrors a whole guild: server, roles, the channels the account can see (categories
    /// first), the members it was sent. Returns the channels whose history the account may read.
    pub(crate) async fn sync_guild(&mut self, guild: &Guild) -> rift::Result<Vec<HistoryTarget>> {
        let rift = self.ctx.rift().clone();
        let server = rift.mirror_server(self.ctx.owner(), &self.remote(guild.id), &guild.name).await?;
        self.icon(server.id, guild).await?;
        let roles = if guild.roles.is_empty() {
            self.rest.guild_roles(guild.id).await.unwrap_or_default()
        } else {
            guild.roles.clone()
        };
        let channels = if guild.channels.is_empty() {
            self.rest.guild_channels(guild.id).await.unwrap_or_default()
        } else {
            guild.channels.clone()
        };
        let own_roles = guild
            .members
            .iter()
            .find(|m| m.user.as_ref().map(|u| u.id) == self.me)
            .map(|m| m.roles.clone())
            .or_else(|| self.guilds.get(&guild.id).map(|g| g.own_roles.clone()))
            .unwrap_or_default();
        let state = GuildState {
            server_id: server.id,
            name: server.name.clone(),
            owner_id: guild.owner_id,
            roles,
            channels,
            own_roles,
        };
        self.guilds.insert(guild.id, state);
        self.sync_roles(guild.id).await?;
        for member in &guild.members {
            self.member(guild.id, member).await?;
        }
        let targets = self.sync_channels(guild.id).await?;
        self.record_servers().await?;
        Ok(targets)
    }

    /// Makes the server's roles equal to the cached guild's.
    pub(crate) async fn sync_roles(&mut self, guild_id: Snowflake) -> rift::Result<()> {
        let Some(guild) = self.guilds.get(&guild_id) else { return Ok(()) };
        let everyone = guild
            .roles
            .iter()
            .find(|r| r.id == guild_id)
            .map_or(Permissions::NONE, |r| permissions(bits_of(r.permissions.as_deref())));
        let roles: Vec<RemoteRole> = ranked_roles(guild_id, &guild.roles)
            .into_iter()
            .map(|r| {
                let color = i32::try_from(r.color & 0x00ff_ffff).unwrap_or(0);
                RemoteRole::new(
                    self.remote(r.id),
                    r.name.clone(),
                    color,
                    permissions(bits_of(r.permissions.as_deref())),
                )
            })
            .collect();
        self.ctx.rift().mirror_roles(guild.server_id, everyone, &roles).await?;
        Ok(())
    }

    /// Mirrors the cached guild's channels the account can see; returns those it may read.
    pub(crate) async fn sync_channels(&mut self, guild_id: Snowflake) -> rift::Result<Vec<HistoryTarget>> {
        let Some(guild) = self.guilds.get(&guild_id).cloned() else { return Ok(Vec::new()) };
        let me = self.me.unwrap_or(Snowflake::new(0));
        let positions = channel_positions(&guild.channels);
        let mut ordered: Vec<&Channel> =
            guild.channels.iter().filter(|c| channel_kind(c.kind).is_some()).collect();
        // Categories first, so children find their parent.
        ordered.sort_by_key(|c| u8::from(c.kind != 4));
        let mut targets = Vec::new();
        for channel in ordered {
            self.channel_guild.insert(channel.id, guild_id);
            let perms =
                channel_permissions(guild_id, guild.owner_id, &guild.roles, me, &guild.own_roles, channel);
            let (view, history) = readable(perms);
            if !view {
                continue;
            }
            let mirrored = self.channel(&guild, guild_id, channel, &positions).await?;
            // Rift events there reach the relay.
            self.ctx.link_channel(mirrored);
            if history && channel_kind(channel.kind) == Some(ChannelKind::Text) {
                targets.push(HistoryTarget { remote: channel.id, channel_id: mirrored });
            }
        }
        Ok(targets)
    }

    async fn channel(
        &self,
        guild: &GuildState,
        guild_id: Snowflake,
        channel: &Channel,
        positions: &HashMap<Snowflake, i32>,
    ) -> rift::Result<ChannelId> {
        let kind = channel_kind(channel.kind).unwrap_or(ChannelKind::Text);
        let mut remote =
            RemoteChannel::new(self.remote(channel.id), channel.name.clone().unwrap_or_default(), kind);
        remote.topic = channel.topic.clone();
        remote.position = positions.get(&channel.id).copied().unwrap_or(0);
        remote.parent_id = match channel.parent_id {
            Some(parent) if kind != ChannelKind::Category => self.channel_id(parent).await?,
            _ => None,
        };
        for overwrite in &channel.permission_overwrites {
            let (target, kind) = match overwrite.kind {
                0 => (
                    self.role_id(guild_id, guild.server_id, overwrite.id).await?.map(|r| r.uuid()),
                    OverwriteKind::Role,
                ),
                _ => (self.known_user(overwrite.id).await?.map(|u| u.uuid()), OverwriteKind::Member),
            };
            let Some(id) = target else { continue };
            remote.overwrites.push(PermissionOverwrite {
                id,
                kind,
                allow: permissions(bits_of(overwrite.allow.as_deref())),
                deny: permissions(bits_of(overwrite.deny.as_deref())),
            });
        }
        Ok(self.ctx.rift().mirror_channel(guild.server_id, &remote).await?.id)
    }

    /// Mirrors one member of a guild (the account's own member is the owner's membership).
    pub(crate) async fn member(&mut self, guild_id: Snowflake, member: &Member) -> rift::Result<()> {
        let Some(user) = &member.user else { return Ok(()) };
        let Some(server_id) = self.guilds.get(&guild_id).map(|g| g.server_id) else { return Ok(()) };
        if Some(user.id) == self.me
            && let Some(guild) = self.guilds.get_mut(&guild_id)
        {
            guild.own_roles.clone_from(&member.roles);
        }
        let user_id = self.user(user).await?;
        let joined_at = member.joined_at.as_deref().and_then(parse_time).unwrap_or_else(Utc::now);
        let mut remote = RemoteMember::new(user_id, joined_at);
        remote.nickname.clone_from(&member.nick);
        for role in &member.roles {
            if let Some(id) = self.role_id(guild_id, server_id, *role).await? {
                remote.roles.push(id);
            }
        }
        self.ctx.rift().mirror_member(server_id, &remote).await
    }

    /// A member left or was removed.
    pub(crate) async fn member_removed(&mut self, guild_id: Snowflake, user: &User) -> rift::Result<()> {
        let Some(server_id) = self.guilds.get(&guild_id).map(|g| g.server_id) else { return Ok(()) };
        if let Some(user_id) = self.known_user(user.id).await? {
            self.ctx.rift().mirror_member_remove(server_id, user_id).await?;
        }
        Ok(())
    }

    /// Records the mirrored guilds for the management API.
    pub(crate) async fn record_servers(&self) -> rift::Result<()> {
        let mut servers: Vec<BridgedServer> = self
            .guilds
            .iter()
            .map(|(id, g)| BridgedServer { id: id.to_string(), name: g.name.clone(), server_id: g.server_id })
            .collect();
        servers.sort_by(|a, b| a.id.cmp(&b.id));
        self.ctx.set_servers(&servers).await
    }

    /// Stores a message (and, for a reply whose target is not stored yet, the target first).
    /// Returns whether it was new. Messages of channels Rift does not mirror are skipped.
    pub(crate) async fn message(&mut self, message: &Message, with_reactions: bool) -> rift::Result<bool> {
        self.message_at_depth(message, with_reactions, 0).await
    }

    async fn message_at_depth(
        &mut self,
        message: &Message,
        with_reactions: bool,
        depth: u8,
    ) -> rift::Result<bool> {
        let Some(channel_id) = self.channel_id(message.channel_id).await? else { return Ok(false) };
        let rift = self.ctx.rift().clone();
        if let Some(id) = self.ctx.find(BridgedKind::Message, &message.id.to_string()).await? {
            // Seen again (a history page after a restart): an edit made meanwhile is a new version.
            let stored = rift.mirrored_message(MessageId::from_uuid(id)).await?;
            if let Some(stored) = stored
                && stored.deleted_at.is_none()
                && stored.content != message.content
            {
                rift.mirror_edit(&self.remote(message.id), &message.content, remote_edit_time(message))
                    .await?;
            }
            return Ok(false);
        }
        let author = self.user(&message.author).await?;
        let reply_to = self.reply_target(message, depth).await?;
        let created_at = parse_time(&message.timestamp).unwrap_or_else(|| snowflake_time(message.id));
        let mut remote = RemoteMessage::new(
            self.remote(message.id),
            channel_id,
            author,
            message.content.clone(),
            created_at,
        );
        remote.reply_to = reply_to;
        remote.edited_at = message.edited_timestamp.as_deref().and_then(parse_time);
        remote.attachment_ids = self.attachments(author, message).await?;
        remote.extras = extras(&message.embeds, &message.sticker_items);
        remote.mention_everyone = message.mention_everyone;
        if !rift.mirror_message(remote).await?.created {
            return Ok(false);
        }
        if with_reactions {
            self.history_reactions(message).await?;
        }
        Ok(true)
    }

    async fn reply_target(&mut self, message: &Message, depth: u8) -> rift::Result<Option<MessageId>> {
        let Some(target) = message.message_reference.as_ref().and_then(|r| r.message_id) else {
            return Ok(None);
        };
        if message.kind != 19 {
            return Ok(None);
        }
        if let Some(id) = self.ctx.find(BridgedKind::Message, &target.to_string()).await? {
            return Ok(Some(MessageId::from_uuid(id)));
        }
        if depth >= 4 {
            return Ok(None);
        }
        // Not stored yet (it is on an older page): store it now, from the message itself or REST.
        let referenced = match &message.referenced_message {
            Some(referenced) => Some((**referenced).clone()),
            None => {
                let channel = message
                    .message_reference
                    .as_ref()
                    .and_then(|r| r.channel_id)
                    .unwrap_or(message.channel_id);
                self.rest.message(channel, target).await.ok()
            }
        };
        let Some(referenced) = referenced else { return Ok(None) };
        Box::pin(self.message_at_depth(&referenced, true, depth + 1)).await?;
        Ok(self.ctx.find(BridgedKind::Message, &target.to_string()).await?.map(MessageId::from_uuid))
    }

    /// The users behind a history message's reaction counts, read from Discord's reaction lists.
    async fn history_reactions(&mut self, message: &Message) -> rift::Result<()> {
        for reaction in &message.reactions {
            let Some(emoji) = emoji_key(&reaction.emoji) else { continue };
            let mut after = None;
            loop {
                let users = match self
                    .rest
                    .reaction_users(message.channel_id, message.id, &emoji, after, 100)
                    .await
                {
                    Ok(users) => users,
                    Err(error) => {
                        tracing::warn!(message = %message.id, %error, "cannot read reaction users");
                        break;
                    }
                };
                for user in &users {
                    let user_id = self.user(user).await?;
                    self.ctx.rift().mirror_reaction(&self.remote(message.id), user_id, &emoji, true).await?;
                }
                match users.last() {
                    Some(last) if users.len() == 100 => after = Some(last.id),
                    _ => break,
                }
            }
        }
        Ok(())
    }

    /// A live reaction added or removed.
    pub(crate) async fn reaction(
        &mut self,
        user_id: Snowflake,
        message_id: Snowflake,
        emoji: &Emoji,
        member: Option<&Member>,
        add: bool,
    ) -> rift::Result<()> {
        let Some(emoji) = emoji_key(emoji) else { return Ok(()) };
        let user = match (self.known_user(user_id).await?, member.and_then(|m| m.user.as_ref())) {
            (Some(user), _) => user,
            (None, Some(user)) => self.user(user).await?,
            (None, None) => match self.rest.user(user_id).await {
                Ok(user) => self.user(&user).await?,
                Err(_) => return Ok(()),
            },
        };
        self.ctx.rift().mirror_reaction(&self.remote(message_id), user, &emoji, add).await?;
        Ok(())
    }

    /// The guild of a channel the bridge has seen.
    pub(crate) fn guild_of(&self, channel: Snowflake) -> Option<Snowflake> {
        self.channel_guild.get(&channel).copied()
    }
}

/// What a message carries beside its text, kept as Discord sent it; `None` when nothing.
pub(crate) fn extras(
    embeds: &[serde_json::Value],
    stickers: &[serde_json::Value],
) -> Option<serde_json::Value> {
    (!embeds.is_empty() || !stickers.is_empty())
        .then(|| serde_json::json!({ "embeds": embeds, "sticker_items": stickers }))
}

/// When a re-seen message was edited (its edit timestamp, else now).
fn remote_edit_time(message: &Message) -> Timestamp {
    message.edited_timestamp.as_deref().and_then(parse_time).unwrap_or_else(Utc::now)
}

// ---- DMs and group DMs ----

/// Discord's private channel types onto Rift's DM kinds: 1 → `dm`, 3 → `group_dm`.
pub(crate) fn dm_kind(kind: u8) -> Option<ChannelKind> {
    match kind {
        1 => Some(ChannelKind::Dm),
        3 => Some(ChannelKind::GroupDm),
        _ => None,
    }
}

/// READY's private channels with their recipients: Discord may send only `recipient_ids`, the
/// users themselves being in READY's top-level `users`.
pub(crate) fn ready_private_channels(channels: &[Channel], ready: &serde_json::Value) -> Vec<Channel> {
    let users: Vec<User> = serde_json::from_value(ready["users"].clone()).unwrap_or_default();
    let raw = ready["private_channels"].as_array().cloned().unwrap_or_default();
    channels
        .iter()
        .enumerate()
        .map(|(i, channel)| {
            let mut channel = channel.clone();
            if channel.recipients.is_empty() {
                let ids: Vec<Snowflake> = raw
                    .get(i)
                    .and_then(|c| serde_json::from_value(c["recipient_ids"].clone()).ok())
                    .unwrap_or_default();
                channel.recipients = ids
                    .into_iter()
                    .filter_map(|id| {
                        users.iter().find(|u| u.id == id).cloned().or_else(|| {
                            serde_json::from_value(serde_json::json!({"id": id.to_string()})).ok()
                        })
                    })
                    .collect();
            }
            channel
        })
        .collect()
}

impl Mirror {
    /// Mirrors a DM or group DM of a user account (its recipients as puppets, the owner always a
    /// participant), links it for the relay, and returns it as a history target. Other channel
    /// types: `None`. A channel event without recipients keeps the ones last seen.
    pub(crate) async fn sync_dm(&mut self, channel: &Channel) -> rift::Result<Option<HistoryTarget>> {
        let Some(kind) = dm_kind(channel.kind) else { return Ok(None) };
        let mut channel = channel.clone();
        if channel.recipients.is_empty()
            && let Some(known) = self.dms.get(&channel.id)
        {
            channel.recipients.clone_from(&known.recipients);
        }
        let mut recipients = Vec::with_capacity(channel.recipients.len());
        for user in &channel.recipients {
            recipients.push(self.user(user).await?);
        }
        let rift = self.ctx.rift().clone();
        let dm = rift
            .mirror_dm(self.ctx.owner(), &self.remote(channel.id), kind, channel.name.as_deref(), &recipients)
            .await?;
        // What the owner writes there reaches the relay.
        self.ctx.link_channel(dm.id);
        let target = HistoryTarget { remote: channel.id, channel_id: dm.id };
        self.dms.insert(channel.id, channel);
        Ok(Some(target))
    }

    /// CHANNEL_RECIPIENT_ADD / _REMOVE: a user joined or left a known group DM.
    pub(crate) async fn dm_recipient(
        &mut self,
        channel_id: Snowflake,
        user: &User,
        added: bool,
    ) -> rift::Result<Option<HistoryTarget>> {
        let Some(mut channel) = self.dms.get(&channel_id).cloned() else { return Ok(None) };
        channel.recipients.retain(|u| u.id != user.id);
        if added {
            channel.recipients.push(user.clone());
        }
        self.sync_dm(&channel).await
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn role(id: u64, position: i64, perms: u64) -> Role {
        serde_json::from_value(json!({"id": id.to_string(), "name": format!("r{id}"), "position": position,
            "permissions": perms.to_string()}))
        .unwrap()
    }

    fn channel(id: u64, kind: u8, position: i64, overwrites: serde_json::Value) -> Channel {
        serde_json::from_value(json!({"id": id.to_string(), "type": kind, "name": format!("c{id}"),
            "position": position, "permission_overwrites": overwrites}))
        .unwrap()
    }

    #[test]
    fn permission_bits_map_one_by_one() {
        assert_eq!(permissions(0), Permissions::NONE);
        assert_eq!(
            permissions(bits::VIEW_CHANNEL | bits::READ_MESSAGE_HISTORY),
            Permissions::VIEW_CHANNELS | Permissions::READ_HISTORY
        );
        assert_eq!(permissions(bits::MANAGE_GUILD), Permissions::MANAGE_SERVER | Permissions::MANAGE_INVITES);
        assert_eq!(permissions(bits::ADMINISTRATOR), Permissions::ADMINISTRATOR);
        // ADD_REACTIONS (1 << 6) and CONNECT (1 << 20) have no Rift meaning.
        assert_eq!(permissions((1 << 6) | (1 << 20)), Permissions::NONE);
        assert_eq!(permissions(u64::MAX) & Permissions::ALL, Permissions::ALL);
    }

    #[test]
    fn channel_kinds() {
        assert_eq!(channel_kind(0), Some(ChannelKind::Text));
        assert_eq!(channel_kind(5), Some(ChannelKind::Text));
        assert_eq!(channel_kind(2), Some(ChannelKind::Voice));
        assert_eq!(channel_kind(13), Some(ChannelKind::Voice));
        assert_eq!(channel_kind(4), Some(ChannelKind::Category));
        assert_eq!(dm_kind(1), Some(ChannelKind::Dm));
        assert_eq!(dm_kind(3), Some(ChannelKind::GroupDm));
        assert_eq!(dm_kind(0), None);
    }

    #[test]
    fn ready_dms_take_recipients_from_ready_users() {
        let ready = serde_json::json!({
            "users": [{"id": "7", "username": "bob"}],
            "private_channels": [{"id": "9", "type": 3, "recipient_ids": ["7", "8"]}],
        });
        let channels: Vec<Channel> = serde_json::from_value(ready["private_channels"].clone()).unwrap();
        let filled = ready_private_channels(&channels, &ready);
        let names: Vec<(String, &str)> =
            filled[0].recipients.iter().map(|u| (u.id.to_string(), u.username.as_str())).collect();
        assert_eq!(names, [("7".to_owned(), "bob"), ("8".to_owned(), "")]);
        for other in [1, 3, 10, 11, 12, 15, 99] {
            assert_eq!(channel_kind(other), None);
        }
    }

    #[test]
    fn positions_sort_text_before_voice_then_by_position_and_id() {
        let channels = vec![
            channel(30, 2, 0, json!([])),
            channel(20, 0, 1, json!([])),
            channel(10, 0, 1, json!([])),
            channel(40, 0, 0, json!([])),
        ];
        let positions = channel_positions(&channels);
        let mut order: Vec<u64> = channels.iter().map(|c| c.id.get()).collect();
        order.sort_by_key(|id| positions[&Snowflake::new(*id)]);
        assert_eq!(order, [40, 10, 20, 30]);
    }

    #[test]
    fn roles_rank_by_position() {
        let roles = vec![role(1, 0, 0), role(5, 2, 0), role(3, 1, 0)];
        let ranked: Vec<u64> = ranked_roles(Snowflake::new(1), &roles).iter().map(|r| r.id.get()).collect();
        assert_eq!(ranked, [3, 5]);
    }

    #[test]
    fn channel_permissions_follow_discord() {
        let guild = Snowflake::new(1);
        let me = Snowflake::new(100);
        let view = bits::VIEW_CHANNEL | bits::READ_MESSAGE_HISTORY;
        let roles = vec![role(1, 0, view), role(7, 1, 0), role(8, 2, bits::ADMINISTRATOR)];
        let open = channel(50, 0, 0, json!([]));
        assert_eq!(readable(channel_permissions(guild, None, &roles, me, &[], &open)), (true, true));
        let hidden =
            channel(51, 0, 0, json!([{"id": "1", "type": 0, "allow": "0", "deny": view.to_string()}]));
        assert_eq!(readable(channel_permissions(guild, None, &roles, me, &[], &hidden)), (false, false));
        // A role allow beats the @everyone deny; a member deny beats both.
        let role_allow = channel(
            52,
            0,
            0,
            json!([
            {"id": "1", "type": 0, "allow": "0", "deny": view.to_string()},
            {"id": "7", "type": 0, "allow": view.to_string(), "deny": "0"}]),
        );
        assert_eq!(
            readable(channel_permissions(guild, None, &roles, me, &[Snowflake::new(7)], &role_allow)),
            (true, true)
        );
        let member_deny = channel(
            53,
            0,
            0,
            json!([
            {"id": "7", "type": 0, "allow": view.to_string(), "deny": "0"},
            {"id": "100", "type": 1, "allow": "0", "deny": bits::READ_MESSAGE_HISTORY.to_string()}]),
        );
        assert_eq!(
            readable(channel_permissions(guild, None, &roles, me, &[Snowflake::new(7)], &member_deny)),
            (true, false)
        );
        // Administrators and the owner see everything.
        assert_eq!(
            readable(channel_permissions(guild, None, &roles, me, &[Snowflake::new(8)], &hidden)),
            (true, true)
        );
        assert_eq!(readable(channel_permissions(guild, Some(me), &roles, me, &[], &hidden)), (true, true));
    }

    #[test]
    fn times_emojis_and_names() {
        let t = parse_time("2024-03-04T05:06:07.891000+00:00").unwrap();
        assert_eq!(t.timestamp_millis(), 1_709_528_767_891);
        assert_eq!(
            snowflake_time(Snowflake::new(175_928_847_299_117_063)).timestamp_millis(),
            1_462_015_105_796
        );
        let unicode: Emoji = serde_json::from_value(json!({"id": null, "name": "👍"})).unwrap();
        assert_eq!(emoji_key(&unicode).as_deref(), Some("👍"));
        let custom: Emoji =
            serde_json::from_value(json!({"id": "41771983429993937", "name": "LUL"})).unwrap();
        assert_eq!(emoji_key(&custom).as_deref(), Some("LUL:41771983429993937"));
        let user: User =
            serde_json::from_value(json!({"id": "1", "username": "ada", "global_name": "Ada L."})).unwrap();
        assert_eq!(display_name(&user), "Ada L.");
        let plain: User =
            serde_json::from_value(json!({"id": "1", "username": "ada", "global_name": null})).unwrap();
        assert_eq!(display_name(&plain), "ada");
    }
}
