//! Typed events, published by the service layer after a change is committed and delivered by the
//! [`Router`](crate::router::Router) to subscribers of their [`Topic`].

use serde::{Deserialize, Serialize};

use crate::fanout::NodeId;
use crate::id::{ChannelId, MessageId, ServerId, Timestamp, UserId};
use crate::model::{Channel, DmChannel, Member, Message, Role, Server, Status, User};

/// What an event is about, which decides who receives it.
///
/// Its serde form, `{"kind": "channel" | "server" | "user", "id": "<uuid>"}` (or `{"kind":
/// "nodes"}`), is what the [fan-out](crate::fanout) carries between nodes.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(tag = "kind", content = "id", rename_all = "snake_case")]
pub enum Topic {
    /// Everything in one channel (messages, reactions, typing): for those who can view it.
    Channel(ChannelId),
    /// Server-wide changes (channels, roles, members): for its members.
    Server(ServerId),
    /// Things addressed to one user (DM channel creation, their own profile, presence they can see).
    User(UserId),
    /// Traffic between nodes about the nodes themselves ([`Event::NodePresence`]); no gateway
    /// session subscribes to it.
    Nodes,
}

/// An event, in its gateway wire form `{"type": ..., "data": ...}`.
///
/// It reads back from that form too (for events from other nodes). Model fields that are not on
/// the wire (`#[serde(skip)]`, such as `User::is_puppet` or `Channel::created_at`) come back as
/// their defaults.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "type", content = "data")]
#[non_exhaustive]
pub enum Event {
    /// A message was sent (carries the sender's nonce).
    MessageCreate(Message),
    /// A message was edited.
    MessageUpdate(Message),
    /// A message was deleted.
    MessageDelete {
        /// The message.
        id: MessageId,
        /// Its channel.
        channel_id: ChannelId,
        /// The deleted content, only where the server lets everyone who reads the channel see
        /// deleted content (`HistorySettings::deletes` is `everyone`); absent otherwise.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        content: Option<String>,
    },
    /// A message was pinned (the message, with `pinned` and `pinned_at` set).
    MessagePin(Message),
    /// A message was unpinned.
    MessageUnpin {
        /// The message.
        message_id: MessageId,
        /// Its channel.
        channel_id: ChannelId,
    },
    /// A user reacted.
    ReactionAdd {
        /// The message.
        message_id: MessageId,
        /// Its channel.
        channel_id: ChannelId,
        /// Who reacted.
        user_id: UserId,
        /// With what.
        emoji: String,
    },
    /// A user took a reaction back.
    ReactionRemove {
        /// The message.
        message_id: MessageId,
        /// Its channel.
        channel_id: ChannelId,
        /// Whose reaction.
        user_id: UserId,
        /// Which.
        emoji: String,
    },
    /// A user started typing.
    TypingStart {
        /// Where.
        channel_id: ChannelId,
        /// Who.
        user_id: UserId,
        /// When.
        timestamp: Timestamp,
    },
    /// A user's visible status changed.
    PresenceUpdate {
        /// Who.
        user_id: UserId,
        /// As others see it (`invisible` shows as `offline`).
        status: Status,
    },
    /// A user's profile changed.
    UserUpdate(User),
    /// A channel was made.
    ChannelCreate(Channel),
    /// A channel changed (name, topic, position, overwrites).
    ChannelUpdate(Channel),
    /// A channel was deleted.
    ChannelDelete {
        /// The channel.
        id: ChannelId,
        /// Its server.
        server_id: ServerId,
    },
    /// A DM channel was opened with the receiving user.
    DmChannelCreate(DmChannel),
    /// A server changed.
    ServerUpdate(Server),
    /// A server was deleted.
    ServerDelete {
        /// The server.
        id: ServerId,
    },
    /// A user joined a server.
    MemberAdd(Member),
    /// A member's roles or nickname changed.
    MemberUpdate(Member),
    /// A user left, was kicked or was banned.
    MemberRemove {
        /// The server.
        server_id: ServerId,
        /// The user.
        user_id: UserId,
    },
    /// A role was made.
    RoleCreate(Role),
    /// A role changed (permissions, name, position).
    RoleUpdate(Role),
    /// A role was deleted.
    RoleDelete {
        /// The server.
        server_id: ServerId,
        /// The role.
        role_id: crate::id::RoleId,
    },
    /// The user read up to a message (on any of their sessions; sent to all of them).
    ReadStateUpdate {
        /// The channel.
        channel_id: ChannelId,
        /// The last message read.
        last_read_message_id: MessageId,
    },
    /// Which users have gateway sessions on one node, for cluster-wide presence (on
    /// [`Topic::Nodes`]; never sent to clients).
    NodePresence {
        /// The node it is about.
        node_id: NodeId,
        /// What changed.
        beat: NodeBeat,
    },
}

/// One node's presence news for the other nodes (see `service/presence.rs`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
#[non_exhaustive]
pub enum NodeBeat {
    /// The node is alive and these are all the users with sessions on it (sent periodically).
    Snapshot {
        /// Every user with at least one session on the node.
        users: Vec<UserId>,
    },
    /// The user's first session on the node opened.
    Connected {
        /// The user.
        user_id: UserId,
    },
    /// The user's last session on the node closed.
    Disconnected {
        /// The user.
        user_id: UserId,
    },
    /// The node is shutting down: none of its users are connected through it any more.
    Leaving,
}

impl Event {
    /// The event's type name as it appears on the wire.
    pub fn name(&self) -> &'static str {
        match self {
            Self::MessageCreate(_) => "MessageCreate",
            Self::MessageUpdate(_) => "MessageUpdate",
            Self::MessageDelete { .. } => "MessageDelete",
            Self::MessagePin(_) => "MessagePin",
            Self::MessageUnpin { .. } => "MessageUnpin",
            Self::ReactionAdd { .. } => "ReactionAdd",
            Self::ReactionRemove { .. } => "ReactionRemove",
            Self::TypingStart { .. } => "TypingStart",
            Self::PresenceUpdate { .. } => "PresenceUpdate",
            Self::UserUpdate(_) => "UserUpdate",
            Self::ChannelCreate(_) => "ChannelCreate",
            Self::ChannelUpdate(_) => "ChannelUpdate",
            Self::ChannelDelete { .. } => "ChannelDelete",
            Self::DmChannelCreate(_) => "DmChannelCreate",
            Self::ServerUpdate(_) => "ServerUpdate",
            Self::ServerDelete { .. } => "ServerDelete",
            Self::MemberAdd(_) => "MemberAdd",
            Self::MemberUpdate(_) => "MemberUpdate",
            Self::MemberRemove { .. } => "MemberRemove",
            Self::RoleCreate(_) => "RoleCreate",
            Self::RoleUpdate(_) => "RoleUpdate",
            Self::RoleDelete { .. } => "RoleDelete",
            Self::ReadStateUpdate { .. } => "ReadStateUpdate",
            Self::NodePresence { .. } => "NodePresence",
        }
    }
}

/// An event with the topic it was published on.
///
/// Serde form `{"topic": <Topic>, "event": <Event>}`: what the fan-out sends to other nodes.
/// It also keeps the event's wire form once built ([`Envelope::event_json`]), so an event
/// delivered to many sessions is serialised once.
#[derive(Clone, Serialize, Deserialize)]
pub struct Envelope {
    /// Who it is for.
    pub topic: Topic,
    /// What happened.
    pub event: Event,
    #[serde(skip)]
    event_json: std::sync::OnceLock<Option<std::sync::Arc<str>>>,
}

impl Envelope {
    /// An envelope of `event` on `topic`.
    pub fn new(topic: Topic, event: Event) -> Self {
        Self { topic, event, event_json: std::sync::OnceLock::new() }
    }

    /// The event's wire form `{"type": ..., "data": ...}`, built on first use and shared after;
    /// `None` if it cannot be serialised (it always can: every field has a string-keyed form).
    pub fn event_json(&self) -> Option<&std::sync::Arc<str>> {
        self.event_json
            .get_or_init(|| serde_json::to_string(&self.event).ok().map(std::sync::Arc::from))
            .as_ref()
    }

    /// The envelope's serde form as JSON text, reusing [`Envelope::event_json`].
    ///
    /// # Errors
    /// When the event cannot be serialised.
    pub fn to_json(&self) -> serde_json::Result<String> {
        let topic = serde_json::to_string(&self.topic)?;
        match self.event_json() {
            Some(event) => Ok(format!("{{\"topic\":{topic},\"event\":{event}}}")),
            None => serde_json::to_string(self),
        }
    }
}

impl PartialEq for Envelope {
    fn eq(&self, other: &Self) -> bool {
        self.topic == other.topic && self.event == other.event
    }
}

impl std::fmt::Debug for Envelope {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Envelope").field("topic", &self.topic).field("event", &self.event).finish()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn events_serialise_as_type_and_data() {
        let channel_id = ChannelId::new();
        let id = MessageId::new();
        let event = Event::MessageDelete { id, channel_id, content: None };
        let json = serde_json::to_value(&event).unwrap();
        assert_eq!(json["type"], event.name());
        assert_eq!(json["data"]["id"], id.to_string());
        assert_eq!(json["data"]["channel_id"], channel_id.to_string());
    }

    use crate::id::{RoleId, UploadId};
    use crate::model::{
        BridgeRef, ChannelKind, OverwriteKind, PermissionOverwrite, ReactionSummary, Status, Upload,
    };
    use crate::permissions::Permissions;

    fn user(bridge: Option<BridgeRef>) -> User {
        User {
            id: UserId::new(),
            username: "ada".into(),
            display_name: "Ada «Lovelace» 🦀".into(),
            avatar_url: Some("/files/a/b/ada.png".into()),
            status: Status::Dnd,
            is_puppet: false,
            bridge,
            created_at: chrono::Utc::now(),
        }
    }

    fn message() -> Message {
        let upload = UploadId::new();
        Message {
            id: MessageId::new(),
            channel_id: ChannelId::new(),
            author: user(None),
            content: "line one\nline \"two\" \u{0} é 🦀".into(),
            created_at: chrono::Utc::now(),
            edited_at: Some(chrono::Utc::now()),
            attachments: vec![Upload {
                id: upload,
                filename: "a.png".into(),
                content_type: "image/png".into(),
                size: 1234,
                url: Upload::url_for(upload, "s3cr3t", "a.png"),
                width: Some(640),
                height: Some(480),
                // Not on the wire: these stay at their defaults.
                uploader_id: None,
                secret: String::new(),
                message_id: None,
                bridge: None,
                content_hash: None,
                created_at: None,
            }],
            reactions: vec![ReactionSummary { emoji: "👍".into(), count: 2, me: true }],
            reply_to: Some(MessageId::new()),
            mention_everyone: true,
            pinned: false,
            pinned_at: None,
            nonce: Some("n-1".into()),
            extras: None,
            bridge: Some(BridgeRef::new("discord", "1234567890")),
            deleted_at: None,
        }
    }

    fn channel() -> Channel {
        let server = ServerId::new();
        let mut channel = Channel::new(ChannelId::new(), server, "general", ChannelKind::Text);
        channel.topic = Some("talk".into());
        channel.position = 3;
        channel.parent_id = Some(ChannelId::new());
        channel.permission_overwrites = vec![PermissionOverwrite {
            id: RoleId::everyone(server).uuid(),
            kind: OverwriteKind::Role,
            allow: Permissions::SEND_MESSAGES,
            deny: Permissions::ATTACH_FILES | Permissions::ADMINISTRATOR,
        }];
        // Not on the wire.
        channel.created_at = None;
        channel
    }

    fn role() -> Role {
        Role::new(RoleId::new(), ServerId::new(), "mods", 0x00ff00, 2, Permissions::KICK_MEMBERS)
    }

    fn member() -> Member {
        Member {
            user: user(Some(BridgeRef::new("discord", "42"))),
            server_id: ServerId::new(),
            nickname: Some("countess".into()),
            roles: vec![RoleId::new(), RoleId::new()],
            joined_at: chrono::Utc::now(),
        }
    }

    /// One sample of every variant.
    fn samples() -> Vec<Event> {
        let (message_id, channel_id, user_id, server_id) =
            (MessageId::new(), ChannelId::new(), UserId::new(), ServerId::new());
        vec![
            Event::MessageCreate(message()),
            Event::MessageUpdate(Message { nonce: None, bridge: None, ..message() }),
            Event::MessageDelete { id: message_id, channel_id, content: None },
            Event::MessageDelete { id: message_id, channel_id, content: Some("gone".into()) },
            Event::MessagePin(Message { pinned: true, pinned_at: Some(chrono::Utc::now()), ..message() }),
            Event::MessageUnpin { message_id, channel_id },
            Event::ReactionAdd { message_id, channel_id, user_id, emoji: "🦀".into() },
            Event::ReactionRemove { message_id, channel_id, user_id, emoji: "name:123".into() },
            Event::TypingStart { channel_id, user_id, timestamp: chrono::Utc::now() },
            Event::PresenceUpdate { user_id, status: Status::Idle },
            Event::UserUpdate(user(None)),
            Event::ChannelCreate(channel()),
            Event::ChannelUpdate(Channel { topic: None, parent_id: None, ..channel() }),
            Event::ChannelDelete { id: channel_id, server_id },
            Event::DmChannelCreate(DmChannel {
                id: channel_id,
                kind: ChannelKind::Dm,
                name: None,
                recipients: vec![user(None), user(None)],
                last_message_id: Some(message_id),
                bridge: None,
            }),
            Event::ServerUpdate(Server {
                id: server_id,
                name: "Analytical Engines".into(),
                icon_url: None,
                owner_id: user_id,
                bridge: Some(BridgeRef::new("discord", "7")),
                created_at: chrono::Utc::now(),
            }),
            Event::ServerDelete { id: server_id },
            Event::MemberAdd(member()),
            Event::MemberUpdate(Member { nickname: None, roles: Vec::new(), ..member() }),
            Event::MemberRemove { server_id, user_id },
            Event::RoleCreate(role()),
            Event::RoleUpdate(Role { permissions: Permissions::from_bits(u64::MAX), ..role() }),
            Event::RoleDelete { server_id, role_id: RoleId::new() },
            Event::ReadStateUpdate { channel_id, last_read_message_id: message_id },
            Event::NodePresence {
                node_id: NodeId::random(),
                beat: NodeBeat::Snapshot { users: vec![user_id] },
            },
            Event::NodePresence { node_id: NodeId::random(), beat: NodeBeat::Connected { user_id } },
            Event::NodePresence { node_id: NodeId::random(), beat: NodeBeat::Disconnected { user_id } },
            Event::NodePresence { node_id: NodeId::random(), beat: NodeBeat::Leaving },
        ]
    }

    /// Does not compile when a variant is added, so that it gets a sample in [`samples`].
    fn variant_index(event: &Event) -> usize {
        match event {
            Event::MessageCreate(_) => 0,
            Event::MessageUpdate(_) => 1,
            Event::MessageDelete { .. } => 2,
            Event::MessagePin(_) => 3,
            Event::MessageUnpin { .. } => 4,
            Event::ReactionAdd { .. } => 5,
            Event::ReactionRemove { .. } => 6,
            Event::TypingStart { .. } => 7,
            Event::PresenceUpdate { .. } => 8,
            Event::UserUpdate(_) => 9,
            Event::ChannelCreate(_) => 10,
            Event::ChannelUpdate(_) => 11,
            Event::ChannelDelete { .. } => 12,
            Event::DmChannelCreate(_) => 13,
            Event::ServerUpdate(_) => 14,
            Event::ServerDelete { .. } => 15,
            Event::MemberAdd(_) => 16,
            Event::MemberUpdate(_) => 17,
            Event::MemberRemove { .. } => 18,
            Event::RoleCreate(_) => 19,
            Event::RoleUpdate(_) => 20,
            Event::RoleDelete { .. } => 21,
            Event::ReadStateUpdate { .. } => 22,
            Event::NodePresence { .. } => 23,
        }
    }

    #[test]
    fn every_event_variant_round_trips_through_its_wire_form() {
        let samples = samples();
        let mut indexes: Vec<usize> = samples.iter().map(variant_index).collect();
        indexes.dedup();
        assert_eq!(indexes, (0..24).collect::<Vec<_>>(), "a sample of every variant, in order");
        for event in samples {
            let json = serde_json::to_string(&event).unwrap();
            let back: Event = serde_json::from_str(&json).unwrap();
            assert_eq!(back, event, "{json}");
            // The wire form is unchanged: still exactly {"type", "data"}.
            let value: serde_json::Value = serde_json::from_str(&json).unwrap();
            let keys: Vec<&String> = value.as_object().unwrap().keys().collect();
            assert_eq!(keys, ["data", "type"], "{json}");
            assert_eq!(value["type"], event.name());
        }
    }

    #[test]
    fn every_topic_round_trips_as_kind_and_id() {
        let (channel, server, user) = (ChannelId::new(), ServerId::new(), UserId::new());
        for (topic, kind, id) in [
            (Topic::Channel(channel), "channel", channel.to_string()),
            (Topic::Server(server), "server", server.to_string()),
            (Topic::User(user), "user", user.to_string()),
        ] {
            let json = serde_json::to_value(topic).unwrap();
            assert_eq!(json, serde_json::json!({ "kind": kind, "id": id }));
            assert_eq!(serde_json::from_value::<Topic>(json).unwrap(), topic);
        }
        let nodes = serde_json::to_value(Topic::Nodes).unwrap();
        assert_eq!(nodes, serde_json::json!({ "kind": "nodes" }));
        assert_eq!(serde_json::from_value::<Topic>(nodes).unwrap(), Topic::Nodes);
    }

    #[test]
    fn envelopes_round_trip_with_topic_and_event() {
        for event in samples() {
            let envelope = Envelope::new(Topic::Channel(ChannelId::new()), event);
            let json = serde_json::to_value(&envelope).unwrap();
            let wire: serde_json::Value = serde_json::from_str(envelope.event_json().unwrap()).unwrap();
            assert_eq!(wire, json["event"], "the shared wire form is the event's serde form");
            let text: serde_json::Value = serde_json::from_str(&envelope.to_json().unwrap()).unwrap();
            assert_eq!(text, json);
            assert_eq!(json["event"]["type"], envelope.event.name());
            assert_eq!(json["topic"]["kind"], "channel");
            assert_eq!(serde_json::from_value::<Envelope>(json).unwrap(), envelope);
        }
    }

    #[test]
    fn an_unknown_event_type_is_an_error_not_a_panic() {
        let json = r#"{"type":"FromTheFuture","data":{}}"#;
        assert!(serde_json::from_str::<Event>(json).is_err());
    }
}
