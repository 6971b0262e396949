//! Discord resources, as REST answers and gateway payloads both carry them: users, guilds,
//! roles, channels, members, messages and what they hold.

use serde::{Deserialize, Serialize};
use serde_json::Value;

use super::{Snowflake, lenient_string, nullable};

/// A Discord user.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[non_exhaustive]
pub struct User {
    /// The user's id.
    pub id: Snowflake,
    /// Unique user name.
    #[serde(default)]
    pub username: String,
    /// Legacy four-digit tag, `"0"` for migrated users.
    #[serde(default)]
    pub discriminator: Option<String>,
    /// Display name, if set.
    #[serde(default)]
    pub global_name: Option<String>,
    /// Avatar hash.
    #[serde(default)]
    pub avatar: Option<String>,
    /// Whether the user is a bot.
    #[serde(default)]
    pub bot: bool,
}

/// A user as a presence update names it: only `id` is guaranteed.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[non_exhaustive]
pub struct PartialUser {
    /// The user's id.
    pub id: Snowflake,
    /// Unique user name, when it changed.
    #[serde(default)]
    pub username: Option<String>,
    /// Display name, when it changed.
    #[serde(default)]
    pub global_name: Option<String>,
    /// Avatar hash, when it changed.
    #[serde(default)]
    pub avatar: Option<String>,
}

/// A guild role.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[non_exhaustive]
pub struct Role {
    /// The role's id (the guild's id for `@everyone`).
    pub id: Snowflake,
    /// Role name.
    #[serde(default)]
    pub name: String,
    /// Permission bit set, as a decimal string.
    #[serde(default, deserialize_with = "lenient_string")]
    pub permissions: Option<String>,
    /// Sort position.
    #[serde(default)]
    pub position: i64,
    /// RGB colour, 0 for none.
    #[serde(default)]
    pub color: u32,
}

/// A permission overwrite on a channel.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[non_exhaustive]
pub struct PermissionOverwrite {
    /// Role or user id.
    pub id: Snowflake,
    /// 0 for a role, 1 for a member.
    #[serde(rename = "type")]
    pub kind: u8,
    /// Allowed permission bits, as a decimal string.
    #[serde(default, deserialize_with = "lenient_string")]
    pub allow: Option<String>,
    /// Denied permission bits, as a decimal string.
    #[serde(default, deserialize_with = "lenient_string")]
    pub deny: Option<String>,
}

/// A guild channel, thread, DM or group DM.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[non_exhaustive]
pub struct Channel {
    /// The channel's id.
    pub id: Snowflake,
    /// Channel type: 0 text, 1 DM, 2 voice, 3 group DM, 4 category, 5 announcement, 10-12
    /// threads, 15 forum; see [`Channel::is_dm`].
    #[serde(rename = "type")]
    pub kind: u8,
    /// The guild, absent for DMs (and in a GUILD_CREATE's channel list).
    #[serde(default)]
    pub guild_id: Option<Snowflake>,
    /// Name; absent for DMs.
    #[serde(default)]
    pub name: Option<String>,
    /// Topic.
    #[serde(default)]
    pub topic: Option<String>,
    /// Sort position.
    #[serde(default)]
    pub position: Option<i64>,
    /// Category (or, for a thread, parent channel).
    #[serde(default)]
    pub parent_id: Option<Snowflake>,
    /// Whether the channel is age restricted.
    #[serde(default)]
    pub nsfw: bool,
    /// The latest message's id, which may no longer exist.
    #[serde(default)]
    pub last_message_id: Option<Snowflake>,
    /// Recipients of a DM or group DM.
    #[serde(default, deserialize_with = "nullable")]
    pub recipients: Vec<User>,
    /// Permission overwrites of a guild channel.
    #[serde(default, deserialize_with = "nullable")]
    pub permission_overwrites: Vec<PermissionOverwrite>,
    /// Creator of a group DM or thread.
    #[serde(default)]
    pub owner_id: Option<Snowflake>,
}

impl Channel {
    /// Whether this is a direct message (type 1) or group DM (type 3).
    pub fn is_dm(&self) -> bool {
        matches!(self.kind, 1 | 3)
    }
}

/// A guild member.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[non_exhaustive]
pub struct Member {
    /// The user; absent in a member attached to a MESSAGE_CREATE.
    #[serde(default)]
    pub user: Option<User>,
    /// Guild nickname.
    #[serde(default)]
    pub nick: Option<String>,
    /// Guild avatar hash.
    #[serde(default)]
    pub avatar: Option<String>,
    /// Role ids.
    #[serde(default, deserialize_with = "nullable")]
    pub roles: Vec<Snowflake>,
    /// When the user joined (ISO 8601).
    #[serde(default)]
    pub joined_at: Option<String>,
}

/// A guild, as GUILD_CREATE and GUILD_UPDATE send it.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[non_exhaustive]
pub struct Guild {
    /// The guild's id.
    pub id: Snowflake,
    /// Guild name.
    #[serde(default)]
    pub name: String,
    /// Icon hash.
    #[serde(default)]
    pub icon: Option<String>,
    /// The owner's user id.
    #[serde(default)]
    pub owner_id: Option<Snowflake>,
    /// `true` while the guild is unavailable (an outage).
    #[serde(default)]
    pub unavailable: Option<bool>,
    /// Roles.
    #[serde(default, deserialize_with = "nullable")]
    pub roles: Vec<Role>,
    /// Channels (GUILD_CREATE only; their `guild_id` is not set).
    #[serde(default, deserialize_with = "nullable")]
    pub channels: Vec<Channel>,
    /// Active threads (GUILD_CREATE only).
    #[serde(default, deserialize_with = "nullable")]
    pub threads: Vec<Channel>,
    /// Members sent up front (GUILD_CREATE only).
    #[serde(default, deserialize_with = "nullable")]
    pub members: Vec<Member>,
    /// Member count (GUILD_CREATE only).
    #[serde(default)]
    pub member_count: Option<u64>,
    /// When the current user joined (GUILD_CREATE only).
    #[serde(default)]
    pub joined_at: Option<String>,
}

/// A guild that is not (or no longer) available: READY lists these, GUILD_DELETE sends one.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[non_exhaustive]
pub struct UnavailableGuild {
    /// The guild's id.
    pub id: Snowflake,
    /// `true` for an outage; absent (in GUILD_DELETE) when the user left or was removed.
    #[serde(default)]
    pub unavailable: Option<bool>,
}

/// A file attached to a message.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[non_exhaustive]
pub struct Attachment {
    /// The attachment's id.
    pub id: Snowflake,
    /// File name.
    #[serde(default)]
    pub filename: String,
    /// Size in bytes.
    #[serde(default)]
    pub size: u64,
    /// Source URL on the CDN.
    #[serde(default)]
    pub url: String,
    /// Proxied URL.
    #[serde(default)]
    pub proxy_url: Option<String>,
    /// Media type.
    #[serde(default)]
    pub content_type: Option<String>,
    /// Image width.
    #[serde(default)]
    pub width: Option<u64>,
    /// Image height.
    #[serde(default)]
    pub height: Option<u64>,
}

/// An emoji in a reaction: custom emojis have an id, Unicode ones only a name.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[non_exhaustive]
pub struct Emoji {
    /// Custom emoji id.
    #[serde(default)]
    pub id: Option<Snowflake>,
    /// The Unicode emoji itself, or the custom emoji's name (`None` when it was deleted).
    #[serde(default)]
    pub name: Option<String>,
    /// Whether a custom emoji is animated.
    #[serde(default)]
    pub animated: bool,
}

/// A reaction's tally on a message.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[non_exhaustive]
pub struct Reaction {
    /// How many users reacted.
    #[serde(default)]
    pub count: u64,
    /// Whether the current user reacted.
    #[serde(default)]
    pub me: bool,
    /// The emoji.
    pub emoji: Emoji,
}

/// What a reply or crosspost points at.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[non_exhaustive]
pub struct MessageReference {
    /// The referenced message.
    #[serde(default)]
    pub message_id: Option<Snowflake>,
    /// Its channel.
    #[serde(default)]
    pub channel_id: Option<Snowflake>,
    /// Its guild.
    #[serde(default)]
    pub guild_id: Option<Snowflake>,
}

/// A message (MESSAGE_CREATE, and MESSAGE_UPDATE when complete).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[non_exhaustive]
pub struct Message {
    /// The message's id.
    pub id: Snowflake,
    /// Its channel.
    pub channel_id: Snowflake,
    /// Its guild; absent in DMs.
    #[serde(default)]
    pub guild_id: Option<Snowflake>,
    /// The author (for a webhook message, the webhook's name and avatar).
    pub author: User,
    /// The author's guild membership, without `user`.
    #[serde(default)]
    pub member: Option<Member>,
    /// Text.
    #[serde(default)]
    pub content: String,
    /// When it was sent (ISO 8601).
    #[serde(default)]
    pub timestamp: String,
    /// When it was last edited (ISO 8601).
    #[serde(default)]
    pub edited_timestamp: Option<String>,
    /// Text to speech.
    #[serde(default)]
    pub tts: bool,
    /// Whether its `@everyone`/`@here` notified everyone (Discord decided: the author could).
    #[serde(default)]
    pub mention_everyone: bool,
    /// Mentioned users.
    #[serde(default, deserialize_with = "nullable")]
    pub mentions: Vec<User>,
    /// Files.
    #[serde(default, deserialize_with = "nullable")]
    pub attachments: Vec<Attachment>,
    /// Embeds, kept as sent.
    #[serde(default, deserialize_with = "nullable")]
    pub embeds: Vec<Value>,
    /// Stickers, kept as sent.
    #[serde(default, deserialize_with = "nullable", skip_serializing_if = "Vec::is_empty")]
    pub sticker_items: Vec<Value>,
    /// Reactions.
    #[serde(default, deserialize_with = "nullable")]
    pub reactions: Vec<Reaction>,
    /// The sender's nonce, to recognise echoes of our own sends.
    #[serde(default, deserialize_with = "lenient_string")]
    pub nonce: Option<String>,
    /// Whether pinned.
    #[serde(default)]
    pub pinned: bool,
    /// Set when a webhook sent it.
    #[serde(default)]
    pub webhook_id: Option<Snowflake>,
    /// Message type: 0 default, 19 reply, others are system messages.
    #[serde(rename = "type", default)]
    pub kind: u8,
    /// Message flag bits.
    #[serde(default)]
    pub flags: Option<u64>,
    /// What a reply answers.
    #[serde(default)]
    pub message_reference: Option<MessageReference>,
    /// The message a reply answers, when Discord includes it.
    #[serde(default)]
    pub referenced_message: Option<Box<Message>>,
}
