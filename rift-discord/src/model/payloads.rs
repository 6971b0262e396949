//! Gateway dispatch payloads: the `d` of each event the bridge handles, built of the resources.

use serde::{Deserialize, Serialize};
use serde_json::Value;

use super::resources::*;
use super::{Snowflake, nullable};

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
