//! Domain objects. Their serde form is the wire form of the REST API and the gateway (SPEC §4, §11, §12).
//!
//! They are plain records with public fields and no `#[non_exhaustive]`: storage backends (ours and
//! other crates') build them from rows, so they must be constructible outside this crate. New fields
//! are therefore breaking changes, made deliberately.

use serde::{Deserialize, Serialize};
use uuid::Uuid;

use crate::id::{
    AuditEntryId, BackfillRequestId, BridgeConnectionId, ChannelId, HistoryEntryId, MessageId, RoleId,
    ServerId, Timestamp, UploadId, UserId,
};

mod permission_bits;
pub use permission_bits::Permissions;

/// Where a bridged object came from: the bridge's name and the object's id over there.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct BridgeRef {
    /// The bridge, e.g. `"discord"`.
    pub source: String,
    /// The object's id on the remote network (a Discord snowflake).
    pub remote_id: String,
}

impl BridgeRef {
    /// A reference to `remote_id` on `source`.
    pub fn new(source: impl Into<String>, remote_id: impl Into<String>) -> Self {
        Self { source: source.into(), remote_id: remote_id.into() }
    }
}

/// A user's presence. Stored is the status the user chose; others see `Invisible` as `Offline`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Status {
    /// Connected and active.
    Online,
    /// Connected, away.
    Idle,
    /// Do not disturb.
    Dnd,
    /// Connected but shown as offline to others.
    Invisible,
    /// Not connected.
    Offline,
}

impl Status {
    /// The snake_case name used on the wire and in the database.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Online => "online",
            Self::Idle => "idle",
            Self::Dnd => "dnd",
            Self::Invisible => "invisible",
            Self::Offline => "offline",
        }
    }

    /// Parses the wire name.
    pub fn parse(s: &str) -> Option<Self> {
        Some(match s {
            "online" => Self::Online,
            "idle" => Self::Idle,
            "dnd" => Self::Dnd,
            "invisible" => Self::Invisible,
            "offline" => Self::Offline,
            _ => return None,
        })
    }
}

/// A user, native or a bridge puppet.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct User {
    /// The user's id.
    pub id: UserId,
    /// Unique (ignoring case) login name.
    pub username: String,
    /// Name shown to others.
    pub display_name: String,
    /// Avatar image, a path served by Rift.
    pub avatar_url: Option<String>,
    /// Presence as the viewer may see it.
    pub status: Status,
    /// Set for bridge puppets.
    #[serde(flatten, with = "bridge_fields")]
    pub bridge: Option<BridgeRef>,
    /// Puppets mirror remote users and cannot log in.
    #[serde(skip)]
    pub is_puppet: bool,
    /// When the account was made.
    pub created_at: Timestamp,
}

/// A server (a guild).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Server {
    /// The server's id; also its `@everyone` role's id.
    pub id: ServerId,
    /// Display name.
    pub name: String,
    /// Icon image path.
    pub icon_url: Option<String>,
    /// The owner, who has every permission.
    pub owner_id: UserId,
    /// Set for mirrored guilds.
    #[serde(flatten, with = "bridge_fields")]
    pub bridge: Option<BridgeRef>,
    /// When the server was made.
    pub created_at: Timestamp,
}

/// What a channel is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ChannelKind {
    /// Takes messages.
    Text,
    /// Voice (takes no messages).
    Voice,
    /// Groups other channels (takes no messages).
    Category,
    /// A direct-message channel between users, outside any server.
    Dm,
    /// A group DM: any number of participants and an optional name. Only a [`DmChannel`] has
    /// this kind; its `channels` row is a `Dm` one (same access rules).
    GroupDm,
}

impl ChannelKind {
    /// The snake_case name used on the wire and in the database.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Text => "text",
            Self::Voice => "voice",
            Self::Category => "category",
            Self::Dm => "dm",
            Self::GroupDm => "group_dm",
        }
    }

    /// Parses the wire name.
    pub fn parse(s: &str) -> Option<Self> {
        Some(match s {
            "text" => Self::Text,
            "voice" => Self::Voice,
            "category" => Self::Category,
            "dm" => Self::Dm,
            "group_dm" => Self::GroupDm,
            _ => return None,
        })
    }

    /// Whether messages can be sent in a channel of this kind.
    pub fn takes_messages(self) -> bool {
        matches!(self, Self::Text | Self::Dm | Self::GroupDm)
    }
}

/// Whether an overwrite targets a role or a member.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum OverwriteKind {
    /// Targets a role (the id is a role id).
    Role,
    /// Targets one member (the id is a user id).
    Member,
}

impl OverwriteKind {
    /// The snake_case name.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Role => "role",
            Self::Member => "member",
        }
    }

    /// Parses the wire name.
    pub fn parse(s: &str) -> Option<Self> {
        match s {
            "role" => Some(Self::Role),
            "member" => Some(Self::Member),
            _ => None,
        }
    }
}

/// A channel permission overwrite for one role or member.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct PermissionOverwrite {
    /// The role or user id it targets.
    pub id: Uuid,
    /// Whether `id` is a role or a user.
    pub kind: OverwriteKind,
    /// Bits granted.
    pub allow: Permissions,
    /// Bits taken away.
    pub deny: Permissions,
}

/// A channel of a server, or (kind `dm`, no server) a DM channel.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Channel {
    /// The channel's id.
    pub id: ChannelId,
    /// The server it belongs to; `None` for DM channels.
    pub server_id: Option<ServerId>,
    /// Display name (empty for DMs).
    pub name: String,
    /// What it is.
    pub kind: ChannelKind,
    /// Topic line.
    pub topic: Option<String>,
    /// Sort order among siblings.
    pub position: i32,
    /// The category it sits in.
    pub parent_id: Option<ChannelId>,
    /// Overwrites, applied as the permission engine says.
    pub permission_overwrites: Vec<PermissionOverwrite>,
    /// Set for mirrored channels.
    #[serde(flatten, with = "bridge_fields")]
    pub bridge: Option<BridgeRef>,
    /// When it was made.
    #[serde(skip)]
    pub created_at: Option<Timestamp>,
}

impl Channel {
    /// A server channel with no overwrites.
    pub fn new(id: ChannelId, server_id: ServerId, name: impl Into<String>, kind: ChannelKind) -> Self {
        Self {
            id,
            server_id: Some(server_id),
            name: name.into(),
            kind,
            topic: None,
            position: 0,
            parent_id: None,
            permission_overwrites: Vec::new(),
            bridge: None,
            created_at: id.created_at(),
        }
    }
}

/// A role of a server.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Role {
    /// The role's id (`@everyone`'s is the server id).
    pub id: RoleId,
    /// The server.
    pub server_id: ServerId,
    /// Display name.
    pub name: String,
    /// RGB colour, 0 for none.
    pub color: i32,
    /// Rank: higher outranks lower; `@everyone` is 0; unique per server.
    pub position: i32,
    /// Granted permissions.
    pub permissions: Permissions,
    /// Set for mirrored roles.
    #[serde(flatten, with = "bridge_fields")]
    pub bridge: Option<BridgeRef>,
}

impl Role {
    /// A native role.
    pub fn new(
        id: RoleId,
        server_id: ServerId,
        name: impl Into<String>,
        color: i32,
        position: i32,
        permissions: Permissions,
    ) -> Self {
        Self { id, server_id, name: name.into(), color, position, permissions, bridge: None }
    }

    /// Whether this is the server's `@everyone` role.
    pub fn is_everyone(&self) -> bool {
        self.id.uuid() == self.server_id.uuid()
    }
}

/// A user's membership of a server.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Member {
    /// The user.
    pub user: User,
    /// The server.
    pub server_id: ServerId,
    /// Server-specific name.
    pub nickname: Option<String>,
    /// Role ids, without `@everyone`.
    pub roles: Vec<RoleId>,
    /// When the user joined.
    pub joined_at: Timestamp,
}

/// A ban of a user from a server.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Ban {
    /// The banned user.
    pub user: User,
    /// Why.
    pub reason: Option<String>,
    /// When.
    pub created_at: Timestamp,
}

/// An uploaded file. Attached to at most one message; served at [`Upload::url`].
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Upload {
    /// The upload's id.
    pub id: UploadId,
    /// Sanitised file name.
    pub filename: String,
    /// MIME type (sniffed from the bytes where possible).
    pub content_type: String,
    /// Size in bytes.
    pub size: i64,
    /// Where it is served: `/files/:id/:secret/:filename`.
    pub url: String,
    /// Image width, when known.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub width: Option<i32>,
    /// Image height, when known.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub height: Option<i32>,
    /// Who uploaded it (only they may attach it).
    #[serde(skip)]
    pub uploader_id: Option<UserId>,
    /// The unguessable part of the url.
    #[serde(skip)]
    pub secret: String,
    /// The message it is attached to.
    #[serde(skip)]
    pub message_id: Option<MessageId>,
    /// Set for mirrored attachments.
    #[serde(skip)]
    pub bridge: Option<BridgeRef>,
    /// SHA-256 of the bytes (hex), for files stored once per distinct content.
    #[serde(skip)]
    pub content_hash: Option<String>,
    /// When it was uploaded.
    #[serde(skip)]
    pub created_at: Option<Timestamp>,
}

impl Upload {
    /// The served path for an upload.
    pub fn url_for(id: UploadId, secret: &str, filename: &str) -> String {
        format!("/files/{id}/{secret}/{filename}")
    }
}

/// One emoji's reactions on a message, as a viewer sees them.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ReactionSummary {
    /// A unicode emoji or `name:id` for a custom one.
    pub emoji: String,
    /// How many users reacted.
    pub count: i64,
    /// Whether the viewer is one of them.
    pub me: bool,
}

/// A message in a server channel or a DM channel.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Message {
    /// The message's id (its creation time, and the pagination cursor).
    pub id: MessageId,
    /// The channel (or DM channel).
    pub channel_id: ChannelId,
    /// The author.
    pub author: User,
    /// Text.
    pub content: String,
    /// When it was sent.
    pub created_at: Timestamp,
    /// When it was last edited.
    pub edited_at: Option<Timestamp>,
    /// Attached uploads.
    pub attachments: Vec<Upload>,
    /// Reactions with a count above zero.
    pub reactions: Vec<ReactionSummary>,
    /// The message it replies to.
    pub reply_to: Option<MessageId>,
    /// Whether its `@everyone`/`@here` notifies everyone who can see the channel: decided when it
    /// was sent (the author held MENTION_EVERYONE there; for a mirrored message, the remote
    /// network's own flag), never re-read from the text.
    #[serde(default)]
    pub mention_everyone: bool,
    /// Whether it is pinned in its channel.
    #[serde(default)]
    pub pinned: bool,
    /// When it was pinned (`None` when not pinned).
    #[serde(default)]
    pub pinned_at: Option<Timestamp>,
    /// The sender's nonce: echoed in the create answer and event, never returned by GET.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub nonce: Option<String>,
    /// What a mirrored message carries beside its text, as the remote network sent it (Discord:
    /// `{"embeds": [...], "sticker_items": [...]}`); absent for native messages.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub extras: Option<serde_json::Value>,
    /// Set for mirrored messages.
    #[serde(flatten, with = "bridge_fields")]
    pub bridge: Option<BridgeRef>,
    /// When it was deleted (deleted messages are kept for their history).
    #[serde(skip)]
    pub deleted_at: Option<Timestamp>,
}

/// One entry of a message's edit/delete trail.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct MessageHistoryEntry {
    /// The entry's id.
    pub id: HistoryEntryId,
    /// The message.
    pub message_id: MessageId,
    /// What happened.
    pub action: HistoryAction,
    /// Content before.
    pub old_content: Option<String>,
    /// Content after (`None` for deletes).
    pub new_content: Option<String>,
    /// Who did it (`None` when it came from a bridge without an actor).
    pub actor_id: Option<UserId>,
    /// When.
    pub created_at: Timestamp,
}

/// Who may see something about a message beyond its current content (earlier versions, or
/// the content of a deleted message).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum HistoryVisibility {
    /// Nobody but the message's author (and, for mirrored messages, the bridge owner).
    Nobody,
    /// Also members with MANAGE_MESSAGES in the channel.
    Moderators,
    /// Everyone who can read the channel.
    Everyone,
}

impl HistoryVisibility {
    /// The snake_case name.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Nobody => "nobody",
            Self::Moderators => "moderators",
            Self::Everyone => "everyone",
        }
    }

    /// Parses the name.
    pub fn parse(s: &str) -> Option<Self> {
        match s {
            "nobody" => Some(Self::Nobody),
            "moderators" => Some(Self::Moderators),
            "everyone" => Some(Self::Everyone),
            _ => None,
        }
    }
}

/// A server's rules for message history: who sees earlier versions and deleted content, and
/// how long they are kept.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[non_exhaustive]
pub struct HistorySettings {
    /// Who may see earlier versions of a live message.
    pub edits: HistoryVisibility,
    /// Who may see the content (and history) of a deleted message.
    pub deletes: HistoryVisibility,
    /// Days after which earlier versions and deleted content are purged; `None` keeps them.
    pub retention_days: Option<u32>,
}

impl Default for HistorySettings {
    /// What a server has until someone changes it (and what DMs always have): edits visible to
    /// every reader, deleted content to moderators, kept forever.
    fn default() -> Self {
        Self {
            edits: HistoryVisibility::Everyone,
            deletes: HistoryVisibility::Moderators,
            retention_days: None,
        }
    }
}

impl HistorySettings {
    /// Settings with these values.
    pub fn new(edits: HistoryVisibility, deletes: HistoryVisibility, retention_days: Option<u32>) -> Self {
        Self { edits, deletes, retention_days }
    }
}

/// The kind of a message history entry.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum HistoryAction {
    /// The content changed.
    Edit,
    /// The message was deleted.
    Delete,
}

impl HistoryAction {
    /// The snake_case name.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Edit => "edit",
            Self::Delete => "delete",
        }
    }

    /// Parses the name.
    pub fn parse(s: &str) -> Option<Self> {
        match s {
            "edit" => Some(Self::Edit),
            "delete" => Some(Self::Delete),
            _ => None,
        }
    }
}

/// An entry of a server's audit log.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct AuditEntry {
    /// The entry's id.
    pub id: AuditEntryId,
    /// The server.
    pub server_id: ServerId,
    /// Who did it (`None` for bridge-originated actions such as a delete on Discord).
    pub actor_id: Option<UserId>,
    /// What happened, snake_case (`member_kick`, `role_update`, ...).
    pub action: String,
    /// The object acted upon.
    pub target_id: Option<Uuid>,
    /// What changed, as JSON.
    pub changes: serde_json::Value,
    /// Why.
    pub reason: Option<String>,
    /// When.
    pub created_at: Timestamp,
}

/// The server shown on an invite page.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct InviteServer {
    /// The server's id.
    pub id: ServerId,
    /// Its name.
    pub name: String,
    /// Its icon.
    pub icon_url: Option<String>,
}

/// An invite code to a server.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Invite {
    /// The code.
    pub code: String,
    /// The server it opens.
    pub server: InviteServer,
    /// The channel it points at.
    pub channel_id: Option<ChannelId>,
    /// Joins counted so far.
    pub uses: i64,
    /// 0 when unlimited.
    pub max_uses: i64,
    /// `None` when it never expires.
    pub expires_at: Option<Timestamp>,
    /// Who made it.
    pub creator_id: UserId,
    /// When.
    pub created_at: Timestamp,
}

/// A DM channel as one of its participants sees it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct DmChannel {
    /// The channel's id (messages carry it as `channel_id`).
    pub id: ChannelId,
    /// `"dm"` (two people) or `"group_dm"`.
    pub kind: ChannelKind,
    /// A group DM's name, if it has one.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub name: Option<String>,
    /// The other participants (never the viewer).
    pub recipients: Vec<User>,
    /// The newest live message.
    pub last_message_id: Option<MessageId>,
    /// Set for mirrored DMs (the remote DM or group DM).
    #[serde(flatten, with = "bridge_fields")]
    pub bridge: Option<BridgeRef>,
}

/// How far a user has read in a channel.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct ReadState {
    /// The channel.
    pub channel_id: ChannelId,
    /// The last message read.
    pub last_read_message_id: MessageId,
}

/// What a bridge connection is doing.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum BridgeStatus {
    /// Connecting to the remote network.
    Connecting,
    /// Connected and mirroring.
    Ready,
    /// Reconnecting after a drop.
    Resuming,
    /// Paused by its owner.
    Paused,
    /// Stopped (see `status_reason`).
    Stopped,
}

impl BridgeStatus {
    /// The snake_case name.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Connecting => "connecting",
            Self::Ready => "ready",
            Self::Resuming => "resuming",
            Self::Paused => "paused",
            Self::Stopped => "stopped",
        }
    }

    /// Parses the name.
    pub fn parse(s: &str) -> Option<Self> {
        Some(match s {
            "connecting" => Self::Connecting,
            "ready" => Self::Ready,
            "resuming" => Self::Resuming,
            "paused" => Self::Paused,
            "stopped" => Self::Stopped,
            _ => return None,
        })
    }
}

/// Where a backfill request is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum BackfillState {
    /// Recorded; no process has taken it yet.
    Pending,
    /// Being run by the process holding the connection's lease.
    Running,
    /// The history was read.
    Done,
    /// The bridge refused it (see `error`).
    Failed,
}

impl BackfillState {
    /// The snake_case name.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Pending => "pending",
            Self::Running => "running",
            Self::Done => "done",
            Self::Failed => "failed",
        }
    }

    /// Parses the name.
    pub fn parse(s: &str) -> Option<Self> {
        Some(match s {
            "pending" => Self::Pending,
            "running" => Self::Running,
            "done" => Self::Done,
            "failed" => Self::Failed,
            _ => return None,
        })
    }

    /// Whether the request is over (`done` or `failed`).
    pub fn is_finished(self) -> bool {
        matches!(self, Self::Done | Self::Failed)
    }
}

/// A request to read a bridge connection's history again, recorded so that the process holding
/// the connection's lease runs it, whichever process asked (the API on any node, the `rift` command).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct BackfillRequest {
    /// The request's id.
    pub id: BackfillRequestId,
    /// The connection whose history is read.
    pub connection_id: BridgeConnectionId,
    /// The mirrored channels to read (Rift ids); `None`: every channel.
    pub channel_ids: Option<Vec<ChannelId>>,
    /// Where it is.
    pub state: BackfillState,
    /// Why it failed, when it did.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub error: Option<String>,
    /// When it was asked for.
    pub requested_at: Timestamp,
    /// When a process took it (the latest one, if it was taken again).
    pub started_at: Option<Timestamp>,
    /// When it finished.
    pub finished_at: Option<Timestamp>,
}

impl BackfillRequest {
    /// A pending request for `connection_id`.
    pub fn new(
        connection_id: BridgeConnectionId,
        channel_ids: Option<Vec<ChannelId>>,
        requested_at: Timestamp,
    ) -> Self {
        Self {
            id: BackfillRequestId::new(),
            connection_id,
            channel_ids,
            state: BackfillState::Pending,
            error: None,
            requested_at,
            started_at: None,
            finished_at: None,
        }
    }
}

/// A configured bridge from one Rift user to a remote network.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct BridgeConnection {
    /// The connection's id.
    pub id: BridgeConnectionId,
    /// The bridge, e.g. `"discord"`.
    pub source: String,
    /// The Rift user it acts for.
    pub owner_id: UserId,
    /// The remote credential. Write-only: never serialised, never printed.
    #[serde(skip)]
    pub token: crate::secret::Secret,
    /// `"user"` or `"bot"`.
    pub token_kind: String,
    /// `"relay"` or `"archive"`.
    pub mode: String,
    /// What it is doing.
    pub status: BridgeStatus,
    /// Why it stopped, when it did.
    pub status_reason: Option<String>,
    /// The owner's id on the remote network, once known.
    pub remote_user_id: Option<String>,
    /// When it was made.
    pub created_at: Timestamp,
}

impl BridgeConnection {
    /// A new connection of `owner_id` to `source`, not yet connected.
    pub fn new(
        source: impl Into<String>,
        owner_id: UserId,
        token: impl Into<String>,
        token_kind: impl Into<String>,
        mode: impl Into<String>,
        created_at: Timestamp,
    ) -> Self {
        Self {
            id: BridgeConnectionId::new(),
            source: source.into(),
            owner_id,
            token: crate::secret::Secret::new(token),
            token_kind: token_kind.into(),
            mode: mode.into(),
            status: BridgeStatus::Connecting,
            status_reason: None,
            remote_user_id: None,
            created_at,
        }
    }
}

/// Serialises an optional [`BridgeRef`] as the flat `bridge_source` / `bridge_remote_id` fields.
mod bridge_fields {
    use serde::{Deserialize, Deserializer, Serialize, Serializer};

    use super::BridgeRef;

    #[derive(Serialize, Deserialize)]
    struct Flat<'a> {
        #[serde(skip_serializing_if = "Option::is_none", borrow)]
        bridge_source: Option<std::borrow::Cow<'a, str>>,
        #[serde(skip_serializing_if = "Option::is_none", borrow)]
        bridge_remote_id: Option<std::borrow::Cow<'a, str>>,
    }

    pub(super) fn serialize<S: Serializer>(value: &Option<BridgeRef>, s: S) -> Result<S::Ok, S::Error> {
        Flat {
            bridge_source: value.as_ref().map(|b| b.source.as_str().into()),
            bridge_remote_id: value.as_ref().map(|b| b.remote_id.as_str().into()),
        }
        .serialize(s)
    }

    pub(super) fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<Option<BridgeRef>, D::Error> {
        let flat = Flat::deserialize(d)?;
        Ok(match (flat.bridge_source, flat.bridge_remote_id) {
            (Some(source), Some(remote_id)) => Some(BridgeRef::new(source, remote_id)),
            _ => None,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn user(bridge: Option<BridgeRef>) -> User {
        User {
            id: UserId::new(),
            username: "ada".into(),
            display_name: "Ada".into(),
            avatar_url: None,
            status: Status::Online,
            bridge,
            is_puppet: false,
            created_at: chrono::Utc::now(),
        }
    }

    #[test]
    fn native_user_has_no_bridge_fields() {
        let json = serde_json::to_value(user(None)).unwrap();
        assert!(json.get("bridge_source").is_none());
        assert_eq!(json["status"], "online");
        let back: User = serde_json::from_value(json).unwrap();
        assert_eq!(back.bridge, None);
    }

    #[test]
    fn bridged_user_round_trips_its_flat_bridge_fields() {
        let u = user(Some(BridgeRef::new("discord", "80351110224678912")));
        let json = serde_json::to_value(&u).unwrap();
        assert_eq!(json["bridge_source"], "discord");
        assert_eq!(json["bridge_remote_id"], "80351110224678912");
        let back: User = serde_json::from_value(json).unwrap();
        assert_eq!(back, u);
    }

    #[test]
    fn enums_use_snake_case_names() {
        for kind in [
            ChannelKind::Text,
            ChannelKind::Voice,
            ChannelKind::Category,
            ChannelKind::Dm,
            ChannelKind::GroupDm,
        ] {
            assert_eq!(serde_json::to_value(kind).unwrap(), kind.as_str());
            assert_eq!(ChannelKind::parse(kind.as_str()), Some(kind));
        }
        for s in [Status::Online, Status::Idle, Status::Dnd, Status::Invisible, Status::Offline] {
            assert_eq!(serde_json::to_value(s).unwrap(), s.as_str());
            assert_eq!(Status::parse(s.as_str()), Some(s));
        }
        for s in [
            BridgeStatus::Connecting,
            BridgeStatus::Ready,
            BridgeStatus::Resuming,
            BridgeStatus::Paused,
            BridgeStatus::Stopped,
        ] {
            assert_eq!(BridgeStatus::parse(s.as_str()), Some(s));
        }
    }

    #[test]
    fn bridge_token_is_never_serialised() {
        let c = BridgeConnection {
            id: BridgeConnectionId::new(),
            source: "discord".into(),
            owner_id: UserId::new(),
            token: "secret-token".into(),
            token_kind: "bot".into(),
            mode: "relay".into(),
            status: BridgeStatus::Connecting,
            status_reason: None,
            remote_user_id: None,
            created_at: chrono::Utc::now(),
        };
        assert!(!serde_json::to_string(&c).unwrap().contains("secret-token"));
        assert!(!format!("{c:?}").contains("secret-token"));
        assert!(!format!("{c:#?}").contains("secret-token"));
        assert_eq!(c.token.expose(), "secret-token");
    }
}
