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

#[cfg(test)]
mod tests {
    use std::fmt::Debug;

    use serde_json::json;

    use super::*;
    use crate::etf;

    /// Discord's ETF writes snowflakes as integers.
    fn integer_ids(value: &mut Value) {
        match value {
            Value::Object(map) => {
                for (key, item) in map.iter_mut() {
                    let is_id = key == "id" || key.ends_with("_id") || key == "ids" || key == "roles";
                    match item {
                        Value::String(s) if is_id && s.parse::<u64>().is_ok() => {
                            *item = json!(s.parse::<u64>().unwrap())
                        }
                        Value::Array(ids) if is_id && ids.iter().all(Value::is_string) => ids
                            .iter_mut()
                            .for_each(|id| *id = json!(id.as_str().unwrap().parse::<u64>().unwrap())),
                        _ => integer_ids(item),
                    }
                }
            }
            Value::Array(items) => items.iter_mut().for_each(integer_ids),
            _ => {}
        }
    }

    /// Reads `data` as JSON and as ETF (integer ids) to the same value, and round-trips it.
    #[track_caller]
    fn check<T: DeserializeOwned + Serialize + PartialEq + Debug>(data: Value) -> T {
        let typed: T = serde_json::from_value(data.clone()).unwrap();
        let mut etf_data = data;
        integer_ids(&mut etf_data);
        let from_etf: T = etf::from_slice(&etf::encode(&etf_data).unwrap()).unwrap();
        assert_eq!(from_etf, typed, "etf and json read the same");
        let again: T = serde_json::from_value(serde_json::to_value(&typed).unwrap()).unwrap();
        assert_eq!(again, typed, "round trip");
        typed
    }

    fn user() -> Value {
        json!({"id": "80351110224678912", "username": "nelly", "discriminator": "0",
               "global_name": "Nelly", "avatar": "8342729096ea3675442027381ff50dfe"})
    }

    fn message() -> Value {
        json!({
            "id": "1100000000000000010", "channel_id": "1100000000000000002",
            "guild_id": "1100000000000000003", "author": user(),
            "member": {"roles": ["1100000000000000020"], "joined_at": "2023-01-01T00:00:00.000000+00:00", "nick": null},
            "content": "hi", "timestamp": "2024-01-01T00:00:00.123000+00:00", "edited_timestamp": null,
            "tts": false, "mention_everyone": false, "mentions": [user()], "mention_roles": [],
            "attachments": [{"id": "1100000000000000030", "filename": "a.png", "size": 1234,
                             "url": "https://cdn.example/a.png", "proxy_url": "https://media.example/a.png",
                             "content_type": "image/png", "width": 10, "height": 20}],
            "embeds": [{"type": "rich", "title": "t"}],
            "reactions": [{"count": 2, "me": true, "emoji": {"id": null, "name": "🔥"}}],
            "nonce": "1100000000000000999", "pinned": false, "type": 19, "flags": 0,
            "message_reference": {"message_id": "1100000000000000009", "channel_id": "1100000000000000002"},
            "referenced_message": null
        })
    }

    #[test]
    fn message_reads_from_both_encodings() {
        let msg: Message = check(message());
        assert_eq!(msg.author.id.get(), 80_351_110_224_678_912);
        assert_eq!(msg.attachments[0].size, 1234);
        assert_eq!(msg.reactions[0].emoji.name.as_deref(), Some("🔥"));
        assert_eq!(msg.kind, 19);
        assert_eq!(
            msg.message_reference.unwrap().message_id.map(|m| m.get()),
            Some(1_100_000_000_000_000_009)
        );
        assert_eq!(msg.member.unwrap().roles.len(), 1);
    }

    #[test]
    fn integer_nonce_reads_as_text() {
        let mut data = message();
        data["nonce"] = json!(12345);
        let msg: Message = serde_json::from_value(data).unwrap();
        assert_eq!(msg.nonce.as_deref(), Some("12345"));
    }

    #[test]
    fn dm_message_has_no_guild() {
        let mut data = message();
        data.as_object_mut().unwrap().remove("guild_id");
        data.as_object_mut().unwrap().remove("member");
        let msg: Message = check(data);
        assert_eq!(msg.guild_id, None);
    }

    #[test]
    fn partial_and_complete_message_updates() {
        let partial: MessageUpdate =
            check(json!({"id": "1", "channel_id": "2", "guild_id": "3", "embeds": []}));
        assert!(!partial.is_complete());
        assert_eq!(partial.content, None);
        let mut full = message();
        full["edited_timestamp"] = json!("2024-01-01T00:01:00.000000+00:00");
        let complete: MessageUpdate = check(full);
        assert!(complete.is_complete());
        assert_eq!(complete.content.as_deref(), Some("hi"));
    }

    #[test]
    fn guild_create_reads_channels_roles_and_members() {
        let guild: Guild = check(json!({
            "id": "1100000000000000003", "name": "Rift", "icon": null, "owner_id": "80351110224678912",
            "unavailable": false, "member_count": 2, "joined_at": "2023-01-01T00:00:00.000000+00:00",
            "roles": [{"id": "1100000000000000003", "name": "@everyone", "permissions": "1071698660929",
                       "position": 0, "color": 0}],
            "channels": [{"id": "1100000000000000002", "type": 0, "name": "general", "position": 0,
                          "parent_id": null, "topic": null, "nsfw": false,
                          "permission_overwrites": [{"id": "1100000000000000003", "type": 0,
                                                      "allow": "0", "deny": "1024"}]}],
            "threads": [],
            "members": [{"user": user(), "roles": [], "joined_at": "2023-01-01T00:00:00.000000+00:00"}],
        }));
        assert_eq!(guild.channels[0].permission_overwrites[0].deny.as_deref(), Some("1024"));
        assert_eq!(guild.roles[0].permissions.as_deref(), Some("1071698660929"));
        assert_eq!(guild.members[0].user.as_ref().map(|u| u.username.as_str()), Some("nelly"));
    }

    #[test]
    fn null_lists_read_as_empty() {
        let channel: Channel = serde_json::from_value(
            json!({"id": "1", "type": 1, "recipients": null, "permission_overwrites": null}),
        )
        .unwrap();
        assert!(channel.recipients.is_empty());
        assert!(channel.is_dm());
    }

    #[test]
    fn every_event_reads_by_name() {
        let cases = [
            (
                "READY",
                json!({"v": 10, "user": user(), "guilds": [{"id": "1", "unavailable": true}],
                              "session_id": "s", "resume_gateway_url": "wss://r", "shard": [0, 1],
                              "private_channels": [{"id": "9", "type": 1, "recipients": [user()]}]}),
            ),
            ("RESUMED", Value::Null),
            ("GUILD_CREATE", json!({"id": "1", "name": "g"})),
            ("GUILD_UPDATE", json!({"id": "1", "name": "g2"})),
            ("GUILD_DELETE", json!({"id": "1", "unavailable": true})),
            (
                "CHANNEL_CREATE",
                json!({"id": "2", "type": 1, "recipients": [user()], "last_message_id": null}),
            ),
            ("CHANNEL_UPDATE", json!({"id": "2", "type": 0, "guild_id": "1", "name": "c"})),
            ("CHANNEL_DELETE", json!({"id": "2", "type": 0, "guild_id": "1"})),
            ("CHANNEL_PINS_UPDATE", json!({"channel_id": "2", "last_pin_timestamp": null})),
            ("CHANNEL_RECIPIENT_ADD", json!({"channel_id": "2", "user": user()})),
            ("CHANNEL_RECIPIENT_REMOVE", json!({"channel_id": "2", "user": user()})),
            (
                "GUILD_MEMBER_ADD",
                json!({"guild_id": "1", "user": user(), "roles": ["5"], "nick": "n",
                                         "joined_at": "2023-01-01T00:00:00.000000+00:00"}),
            ),
            ("GUILD_MEMBER_UPDATE", json!({"guild_id": "1", "user": user(), "roles": [], "nick": null})),
            ("GUILD_MEMBER_REMOVE", json!({"guild_id": "1", "user": user()})),
            (
                "GUILD_MEMBERS_CHUNK",
                json!({"guild_id": "1", "members": [], "chunk_index": 0, "chunk_count": 1}),
            ),
            ("MESSAGE_CREATE", message()),
            ("MESSAGE_UPDATE", json!({"id": "1", "channel_id": "2"})),
            ("MESSAGE_DELETE", json!({"id": "1", "channel_id": "2", "guild_id": "3"})),
            ("MESSAGE_DELETE_BULK", json!({"ids": ["1", "4"], "channel_id": "2", "guild_id": "3"})),
            (
                "MESSAGE_REACTION_ADD",
                json!({"user_id": "5", "channel_id": "2", "message_id": "1", "guild_id": "3",
                                             "emoji": {"id": "7", "name": "party", "animated": true},
                                             "member": {"user": user(), "roles": []}}),
            ),
            (
                "MESSAGE_REACTION_REMOVE",
                json!({"user_id": "5", "channel_id": "2", "message_id": "1",
                                                "emoji": {"id": null, "name": "👍"}}),
            ),
            ("MESSAGE_REACTION_REMOVE_ALL", json!({"channel_id": "2", "message_id": "1"})),
            (
                "MESSAGE_REACTION_REMOVE_EMOJI",
                json!({"channel_id": "2", "message_id": "1", "guild_id": "3",
                                                      "emoji": {"id": null, "name": "👍"}}),
            ),
            ("TYPING_START", json!({"channel_id": "2", "user_id": "5", "timestamp": 1_700_000_000})),
            (
                "PRESENCE_UPDATE",
                json!({"user": {"id": "5"}, "guild_id": "1", "status": "idle",
                                        "activities": [{"name": "x", "type": 0}], "client_status": {}}),
            ),
            ("THREAD_CREATE", json!({"id": "8"})),
        ];
        let mut variants = Vec::new();
        for (name, data) in cases {
            let event = Event::from_parts(name, data.clone()).unwrap_or_else(|e| panic!("{name}: {e}"));
            if !matches!(event, Event::Unknown { .. }) {
                let mut etf_data = data;
                integer_ids(&mut etf_data);
                let etf_data = etf::decode(&etf::encode(&etf_data).unwrap()).unwrap();
                assert_eq!(Event::from_parts(name, etf_data).unwrap(), event, "{name} in etf");
            }
            variants.push(format!("{event:?}").split(['(', ' ', '{']).next().unwrap().to_owned());
        }
        assert_eq!(
            variants.iter().collect::<std::collections::BTreeSet<_>>().len(),
            variants.len(),
            "{variants:?}"
        );
        assert!(matches!(Event::from_parts("THREAD_CREATE", json!({})).unwrap(), Event::Unknown { .. }));
    }

    #[test]
    fn known_event_with_the_wrong_shape_is_an_error() {
        assert!(matches!(Event::from_parts("MESSAGE_DELETE", json!({"id": "x"})), Err(Error::Json(_))));
        assert!(matches!(Event::from_parts("MESSAGE_CREATE", json!([])), Err(Error::Json(_))));
    }

    #[test]
    fn dispatch_serializes_as_t_s_d() {
        let dispatch = Dispatch::new("X", Some(3), json!({"a": 1}));
        assert_eq!(serde_json::to_value(&dispatch).unwrap(), json!({"t": "X", "s": 3, "d": {"a": 1}}));
    }

    #[test]
    fn snowflakes_read_strings_and_integers_and_write_strings() {
        use crate::model::Snowflake;
        assert_eq!(serde_json::from_value::<Snowflake>(json!("42")).unwrap().get(), 42);
        assert_eq!(serde_json::from_value::<Snowflake>(json!(u64::MAX)).unwrap().get(), u64::MAX);
        assert!(serde_json::from_value::<Snowflake>(json!(-1)).is_err());
        assert!(serde_json::from_value::<Snowflake>(json!("x1")).is_err());
        assert!(serde_json::from_value::<Snowflake>(json!(1.5)).is_err());
        assert_eq!(serde_json::to_value(Snowflake::new(7)).unwrap(), json!("7"));
        assert_eq!(Snowflake::new(0).timestamp_ms(), Snowflake::DISCORD_EPOCH_MS);
    }
}
