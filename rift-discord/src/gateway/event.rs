//! Dispatch events: the raw [`Dispatch`] a shard delivers, and the typed [`Event`] read from it.

use serde::Serialize;
use serde::de::DeserializeOwned;
use serde_json::Value;

use crate::Error;
use crate::model::*;

/// One dispatch (opcode 0) as received: name, sequence number and data.
///
/// The data stays untyped until [`Dispatch::event`] reads it, so an event this crate does not know,
/// or one whose shape changed, still arrives intact.
#[derive(Clone, Debug, PartialEq, Serialize)]
#[non_exhaustive]
pub struct Dispatch {
    /// Event name (`t`), such as `MESSAGE_CREATE`.
    #[serde(rename = "t")]
    pub name: String,
    /// Sequence number (`s`).
    #[serde(rename = "s")]
    pub seq: Option<u64>,
    /// Event data (`d`).
    #[serde(rename = "d")]
    pub data: Value,
}

impl Dispatch {
    /// A dispatch from its parts.
    pub fn new(name: impl Into<String>, seq: Option<u64>, data: Value) -> Self {
        Self { name: name.into(), seq, data }
    }

    /// Reads the data as the typed event its name announces.
    ///
    /// # Errors
    ///
    /// [`Error::Json`] when a known event's data does not have the expected shape. Unknown names
    /// are not an error: they give [`Event::Unknown`].
    pub fn event(&self) -> Result<Event, Error> {
        Event::from_parts(&self.name, self.data.clone())
    }
}

/// A typed dispatch event: those the bridge needs, and [`Event::Unknown`] for the rest.
#[derive(Clone, Debug, PartialEq)]
#[non_exhaustive]
pub enum Event {
    /// READY.
    Ready(Box<Ready>),
    /// RESUMED: a resume succeeded and missed events were replayed.
    Resumed,
    /// GUILD_CREATE: a guild became available, or the user joined one.
    GuildCreate(Box<Guild>),
    /// GUILD_UPDATE.
    GuildUpdate(Box<Guild>),
    /// GUILD_DELETE: an outage, or the user left or was removed.
    GuildDelete(UnavailableGuild),
    /// CHANNEL_CREATE (including DMs for user accounts).
    ChannelCreate(Box<Channel>),
    /// CHANNEL_UPDATE.
    ChannelUpdate(Box<Channel>),
    /// CHANNEL_DELETE.
    ChannelDelete(Box<Channel>),
    /// CHANNEL_PINS_UPDATE.
    ChannelPinsUpdate(ChannelPinsUpdate),
    /// CHANNEL_RECIPIENT_ADD (group DMs).
    ChannelRecipientAdd(Box<ChannelRecipient>),
    /// CHANNEL_RECIPIENT_REMOVE (group DMs).
    ChannelRecipientRemove(Box<ChannelRecipient>),
    /// GUILD_MEMBER_ADD.
    GuildMemberAdd(Box<GuildMemberAdd>),
    /// GUILD_MEMBER_UPDATE.
    GuildMemberUpdate(Box<GuildMemberUpdate>),
    /// GUILD_MEMBER_REMOVE.
    GuildMemberRemove(Box<GuildMemberRemove>),
    /// GUILD_MEMBERS_CHUNK.
    GuildMembersChunk(Box<GuildMembersChunk>),
    /// MESSAGE_CREATE (guild and DM messages alike).
    MessageCreate(Box<Message>),
    /// MESSAGE_UPDATE, possibly partial.
    MessageUpdate(Box<MessageUpdate>),
    /// MESSAGE_DELETE.
    MessageDelete(MessageDelete),
    /// MESSAGE_DELETE_BULK.
    MessageDeleteBulk(MessageDeleteBulk),
    /// MESSAGE_REACTION_ADD.
    ReactionAdd(Box<ReactionEvent>),
    /// MESSAGE_REACTION_REMOVE.
    ReactionRemove(Box<ReactionEvent>),
    /// MESSAGE_REACTION_REMOVE_ALL.
    ReactionRemoveAll(ReactionClear),
    /// MESSAGE_REACTION_REMOVE_EMOJI.
    ReactionRemoveEmoji(ReactionClear),
    /// TYPING_START.
    TypingStart(Box<TypingStart>),
    /// PRESENCE_UPDATE.
    PresenceUpdate(Box<PresenceUpdate>),
    /// Any other event, passed through as received.
    Unknown {
        /// Event name.
        name: String,
        /// Event data.
        data: Value,
    },
}

fn read<T: DeserializeOwned>(data: Value) -> Result<T, Error> {
    Ok(serde_json::from_value(data)?)
}

impl Event {
    /// Reads an event from its name and data.
    ///
    /// # Errors
    ///
    /// [`Error::Json`] when a known event's data does not have the expected shape.
    ///
    /// # Examples
    ///
    /// ```
    /// use rift_discord::gateway::Event;
    /// use serde_json::json;
    ///
    /// let data = json!({"id": "1", "channel_id": "2"});
    /// let Event::MessageDelete(delete) = Event::from_parts("MESSAGE_DELETE", data)? else { panic!() };
    /// assert_eq!(delete.id.get(), 1);
    /// assert!(matches!(Event::from_parts("SOMETHING_NEW", json!(null))?, Event::Unknown { .. }));
    /// # Ok::<(), rift_discord::Error>(())
    /// ```
    pub fn from_parts(name: &str, data: Value) -> Result<Self, Error> {
        Ok(match name {
            "READY" => Self::Ready(read(data)?),
            "RESUMED" => Self::Resumed,
            "GUILD_CREATE" => Self::GuildCreate(read(data)?),
            "GUILD_UPDATE" => Self::GuildUpdate(read(data)?),
            "GUILD_DELETE" => Self::GuildDelete(read(data)?),
            "CHANNEL_CREATE" => Self::ChannelCreate(read(data)?),
            "CHANNEL_UPDATE" => Self::ChannelUpdate(read(data)?),
            "CHANNEL_DELETE" => Self::ChannelDelete(read(data)?),
            "CHANNEL_PINS_UPDATE" => Self::ChannelPinsUpdate(read(data)?),
            "CHANNEL_RECIPIENT_ADD" => Self::ChannelRecipientAdd(read(data)?),
            "CHANNEL_RECIPIENT_REMOVE" => Self::ChannelRecipientRemove(read(data)?),
            "GUILD_MEMBER_ADD" => Self::GuildMemberAdd(read(data)?),
            "GUILD_MEMBER_UPDATE" => Self::GuildMemberUpdate(read(data)?),
            "GUILD_MEMBER_REMOVE" => Self::GuildMemberRemove(read(data)?),
            "GUILD_MEMBERS_CHUNK" => Self::GuildMembersChunk(read(data)?),
            "MESSAGE_CREATE" => Self::MessageCreate(read(data)?),
            "MESSAGE_UPDATE" => Self::MessageUpdate(read(data)?),
            "MESSAGE_DELETE" => Self::MessageDelete(read(data)?),
            "MESSAGE_DELETE_BULK" => Self::MessageDeleteBulk(read(data)?),
            "MESSAGE_REACTION_ADD" => Self::ReactionAdd(read(data)?),
            "MESSAGE_REACTION_REMOVE" => Self::ReactionRemove(read(data)?),
            "MESSAGE_REACTION_REMOVE_ALL" => Self::ReactionRemoveAll(read(data)?),
            "MESSAGE_REACTION_REMOVE_EMOJI" => Self::ReactionRemoveEmoji(read(data)?),
            "TYPING_START" => Self::TypingStart(read(data)?),
            "PRESENCE_UPDATE" => Self::PresenceUpdate(read(data)?),
            _ => Self::Unknown { name: name.to_owned(), data },
        })
    }
}
