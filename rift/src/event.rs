//! Typed events, published by the service layer after a change is committed and delivered by the
//! [`Router`](crate::router::Router) to subscribers of their [`Topic`].

use serde::Serialize;

use crate::id::{ChannelId, MessageId, ServerId, Timestamp, UserId};
use crate::model::{Channel, DmChannel, Member, Message, Role, Server, Status, User};

/// What an event is about, which decides who receives it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Topic {
    /// Everything in one channel (messages, reactions, typing): for those who can view it.
    Channel(ChannelId),
    /// Server-wide changes (channels, roles, members): for its members.
    Server(ServerId),
    /// Things addressed to one user (DM channel creation, their own profile, presence they can see).
    User(UserId),
}

/// An event, in its gateway wire form `{"type": ..., "data": ...}`.
#[derive(Debug, Clone, PartialEq, Serialize)]
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
}

impl Event {
    /// The event's type name as it appears on the wire.
    pub fn name(&self) -> &'static str {
        match self {
            Self::MessageCreate(_) => "MessageCreate",
            Self::MessageUpdate(_) => "MessageUpdate",
            Self::MessageDelete { .. } => "MessageDelete",
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
        }
    }
}

/// An event with the topic it was published on.
#[derive(Debug, Clone, PartialEq)]
pub struct Envelope {
    /// Who it is for.
    pub topic: Topic,
    /// What happened.
    pub event: Event,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn events_serialise_as_type_and_data() {
        let channel_id = ChannelId::new();
        let id = MessageId::new();
        let event = Event::MessageDelete { id, channel_id };
        let json = serde_json::to_value(&event).unwrap();
        assert_eq!(json["type"], event.name());
        assert_eq!(json["data"]["id"], id.to_string());
        assert_eq!(json["data"]["channel_id"], channel_id.to_string());
    }
}
