//! Discord objects as the gateway delivers them, for both encodings.
//!
//! Fields the bridge does not need are ignored on input. In JSON Discord writes snowflakes as
//! strings, in ETF as integers: [`Snowflake`] reads both. A field that Discord may send as `null`
//! or leave out is an `Option`, or an empty `Vec`.

use std::{fmt, str::FromStr};

use serde::{Deserialize, Deserializer, Serialize, Serializer, de};
use serde_json::Value;

/// A Discord id: 64 bits, the top 42 of which are milliseconds since the Discord epoch (2015).
///
/// Serialized as a decimal string, as Discord's JSON does; deserialized from a string or an integer.
///
/// # Examples
///
/// ```
/// use rift_discord::model::Snowflake;
///
/// let id: Snowflake = "175928847299117063".parse().unwrap();
/// assert_eq!(id.timestamp_ms(), 1_462_015_105_796);
/// assert_eq!(serde_json::to_string(&id).unwrap(), r#""175928847299117063""#);
/// assert_eq!(serde_json::from_str::<Snowflake>("175928847299117063").unwrap(), id);
/// ```
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Snowflake(u64);

impl Snowflake {
    /// Milliseconds between the Unix epoch and the Discord epoch (2015-01-01T00:00:00Z).
    pub const DISCORD_EPOCH_MS: u64 = 1_420_070_400_000;

    /// Wraps a raw id.
    pub const fn new(id: u64) -> Self {
        Self(id)
    }

    /// The raw id.
    pub const fn get(self) -> u64 {
        self.0
    }

    /// When the id was made, in milliseconds since the Unix epoch.
    pub const fn timestamp_ms(self) -> u64 {
        (self.0 >> 22) + Self::DISCORD_EPOCH_MS
    }
}

impl fmt::Display for Snowflake {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        self.0.fmt(f)
    }
}

impl FromStr for Snowflake {
    type Err = std::num::ParseIntError;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        s.parse().map(Self)
    }
}

impl Serialize for Snowflake {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.collect_str(&self.0)
    }
}

impl<'de> Deserialize<'de> for Snowflake {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        struct Visitor;
        impl de::Visitor<'_> for Visitor {
            type Value = Snowflake;

            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("a snowflake as a string or an integer")
            }

            fn visit_u64<E: de::Error>(self, v: u64) -> Result<Snowflake, E> {
                Ok(Snowflake(v))
            }

            fn visit_i64<E: de::Error>(self, v: i64) -> Result<Snowflake, E> {
                u64::try_from(v).map(Snowflake).map_err(|_| E::custom("negative snowflake"))
            }

            fn visit_str<E: de::Error>(self, v: &str) -> Result<Snowflake, E> {
                v.parse().map_err(|_| E::custom(format!("invalid snowflake {v:?}")))
            }
        }
        deserializer.deserialize_any(Visitor)
    }
}

/// `null` or absent reads as an empty list.
fn nullable<'de, D, T>(deserializer: D) -> Result<Vec<T>, D::Error>
where
    D: Deserializer<'de>,
    T: Deserialize<'de>,
{
    Ok(Option::<Vec<T>>::deserialize(deserializer)?.unwrap_or_default())
}

/// A string that one encoding may send as a number (permission sets, nonces).
fn lenient_string<'de, D: Deserializer<'de>>(deserializer: D) -> Result<Option<String>, D::Error> {
    Ok(match Option::<Value>::deserialize(deserializer)? {
        None | Some(Value::Null) => None,
        Some(Value::String(s)) => Some(s),
        Some(Value::Number(n)) => Some(n.to_string()),
        Some(other) => return Err(de::Error::custom(format!("expected a string or a number, got {other}"))),
    })
}

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

/// MESSAGE_UPDATE: a whole message for an edit, or only some fields (for example when embeds
/// resolve), so everything beyond the ids is optional.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[non_exhaustive]
pub struct MessageUpdate {
    /// The message's id.
    pub id: Snowflake,
    /// Its channel.
    pub channel_id: Snowflake,
    /// Its guild; absent in DMs.
    #[serde(default)]
    pub guild_id: Option<Snowflake>,
    /// The author, when sent.
    #[serde(default)]
    pub author: Option<User>,
    /// New text, when it changed or the update is complete.
    #[serde(default)]
    pub content: Option<String>,
    /// When the message was edited.
    #[serde(default)]
    pub edited_timestamp: Option<String>,
    /// Files, when sent.
    #[serde(default)]
    pub attachments: Option<Vec<Attachment>>,
    /// Embeds, when sent.
    #[serde(default)]
    pub embeds: Option<Vec<Value>>,
    /// Mentions, when sent.
    #[serde(default)]
    pub mentions: Option<Vec<User>>,
    /// Pin state, when sent.
    #[serde(default)]
    pub pinned: Option<bool>,
    /// Flag bits, when sent.
    #[serde(default)]
    pub flags: Option<u64>,
}

impl MessageUpdate {
    /// Whether this update carries the whole message (an edit) rather than a few fields.
    pub fn is_complete(&self) -> bool {
        self.author.is_some() && self.content.is_some()
    }
}

/// MESSAGE_DELETE.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[non_exhaustive]
pub struct MessageDelete {
    /// The deleted message.
    pub id: Snowflake,
    /// Its channel.
    pub channel_id: Snowflake,
    /// Its guild; absent in DMs.
    #[serde(default)]
    pub guild_id: Option<Snowflake>,
}

/// MESSAGE_DELETE_BULK.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[non_exhaustive]
pub struct MessageDeleteBulk {
    /// The deleted messages.
    pub ids: Vec<Snowflake>,
    /// Their channel.
    pub channel_id: Snowflake,
    /// Their guild.
    #[serde(default)]
    pub guild_id: Option<Snowflake>,
}

/// MESSAGE_REACTION_ADD and MESSAGE_REACTION_REMOVE.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[non_exhaustive]
pub struct ReactionEvent {
    /// Who reacted.
    pub user_id: Snowflake,
    /// The channel.
    pub channel_id: Snowflake,
    /// The message.
    pub message_id: Snowflake,
    /// The guild; absent in DMs.
    #[serde(default)]
    pub guild_id: Option<Snowflake>,
    /// The reacting member (add only, in guilds).
    #[serde(default)]
    pub member: Option<Member>,
    /// The emoji.
    pub emoji: Emoji,
}

/// MESSAGE_REACTION_REMOVE_ALL and MESSAGE_REACTION_REMOVE_EMOJI.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[non_exhaustive]
pub struct ReactionClear {
    /// The channel.
    pub channel_id: Snowflake,
    /// The message.
    pub message_id: Snowflake,
    /// The guild; absent in DMs.
    #[serde(default)]
    pub guild_id: Option<Snowflake>,
    /// The emoji whose reactions were removed (REMOVE_EMOJI only).
    #[serde(default)]
    pub emoji: Option<Emoji>,
}

/// GUILD_MEMBER_ADD: a member and its guild.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[non_exhaustive]
pub struct GuildMemberAdd {
    /// The guild.
    pub guild_id: Snowflake,
    /// The new member.
    #[serde(flatten)]
    pub member: Member,
}

/// GUILD_MEMBER_UPDATE.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[non_exhaustive]
pub struct GuildMemberUpdate {
    /// The guild.
    pub guild_id: Snowflake,
    /// The user.
    pub user: User,
    /// Nickname.
    #[serde(default)]
    pub nick: Option<String>,
    /// Guild avatar hash.
    #[serde(default)]
    pub avatar: Option<String>,
    /// Role ids.
    #[serde(default, deserialize_with = "nullable")]
    pub roles: Vec<Snowflake>,
    /// When the user joined.
    #[serde(default)]
    pub joined_at: Option<String>,
}

/// GUILD_MEMBER_REMOVE.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[non_exhaustive]
pub struct GuildMemberRemove {
    /// The guild.
    pub guild_id: Snowflake,
    /// The user who left or was removed.
    pub user: User,
}

/// GUILD_MEMBERS_CHUNK, the answer to a member request.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[non_exhaustive]
pub struct GuildMembersChunk {
    /// The guild.
    pub guild_id: Snowflake,
    /// Members in this chunk.
    #[serde(default, deserialize_with = "nullable")]
    pub members: Vec<Member>,
    /// This chunk's index.
    #[serde(default)]
    pub chunk_index: u32,
    /// How many chunks there are.
    #[serde(default)]
    pub chunk_count: u32,
}

/// CHANNEL_PINS_UPDATE.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[non_exhaustive]
pub struct ChannelPinsUpdate {
    /// The guild; absent in DMs.
    #[serde(default)]
    pub guild_id: Option<Snowflake>,
    /// The channel.
    pub channel_id: Snowflake,
    /// When the latest pin was made.
    #[serde(default)]
    pub last_pin_timestamp: Option<String>,
}

/// CHANNEL_RECIPIENT_ADD and CHANNEL_RECIPIENT_REMOVE (group DMs of a user account).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[non_exhaustive]
pub struct ChannelRecipient {
    /// The group DM.
    pub channel_id: Snowflake,
    /// Who joined or left.
    pub user: User,
}

/// TYPING_START.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[non_exhaustive]
pub struct TypingStart {
    /// The channel.
    pub channel_id: Snowflake,
    /// The guild; absent in DMs.
    #[serde(default)]
    pub guild_id: Option<Snowflake>,
    /// Who is typing.
    pub user_id: Snowflake,
    /// When typing started, in Unix seconds.
    #[serde(default)]
    pub timestamp: u64,
    /// The typing member, in guilds.
    #[serde(default)]
    pub member: Option<Member>,
}

/// PRESENCE_UPDATE.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[non_exhaustive]
pub struct PresenceUpdate {
    /// The user.
    pub user: PartialUser,
    /// The guild.
    #[serde(default)]
    pub guild_id: Option<Snowflake>,
    /// `online`, `idle`, `dnd` or `offline`.
    #[serde(default)]
    pub status: String,
    /// Activities, kept as sent.
    #[serde(default, deserialize_with = "nullable")]
    pub activities: Vec<Value>,
}

/// READY: the session is established.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[non_exhaustive]
pub struct Ready {
    /// Gateway version.
    #[serde(default)]
    pub v: u8,
    /// The connected user.
    pub user: User,
    /// The user's guilds, unavailable until their GUILD_CREATE arrives.
    #[serde(default, deserialize_with = "nullable")]
    pub guilds: Vec<UnavailableGuild>,
    /// Session id, for resuming.
    pub session_id: String,
    /// Where to resume.
    pub resume_gateway_url: String,
    /// `[shard_id, shard_count]`.
    #[serde(default)]
    pub shard: Option<[u32; 2]>,
    /// Open DM channels (user accounts; bots get none).
    #[serde(default, deserialize_with = "nullable")]
    pub private_channels: Vec<Channel>,
}
