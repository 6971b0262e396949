//! Private row types (decoded the same way on both backends) and their conversion to domain
//! objects. Column lists are constants so every query selects exactly what its row decodes.

use rift::Permissions;
use rift::StoreError;
use rift::id::{
    AuditEntryId, BridgeConnectionId, ChannelId, HistoryEntryId, MessageId, RoleId, ServerId, UploadId,
    UserId,
};
use rift::model::{
    AuditEntry, BridgeConnection, BridgeRef, BridgeStatus, Channel, ChannelKind, HistoryAction, Message,
    MessageHistoryEntry, OverwriteKind, PermissionOverwrite, Role, Server, Status, Upload, User,
};
use uuid::Uuid;

use crate::db::{Ts, bits_from_db};

/// `cols` (a comma-separated column list) with every column qualified by `alias`.
pub(crate) fn qualified(cols: &str, alias: &str) -> String {
    cols.split(", ").map(|c| format!("{alias}.{}", c.trim())).collect::<Vec<_>>().join(", ")
}

/// Both bridge columns set, or neither.
fn bridge(source: Option<String>, remote_id: Option<String>) -> Option<BridgeRef> {
    match (source, remote_id) {
        (Some(source), Some(remote_id)) => Some(BridgeRef { source, remote_id }),
        _ => None,
    }
}

fn corrupt(what: &str, value: &str) -> StoreError {
    StoreError::Corrupt(format!("unknown {what} {value:?}"))
}

pub(crate) const USER_COLS: &str =
    "id, username, display_name, avatar_url, status, bridge_source, bridge_remote_id, created_at";

#[derive(sqlx::FromRow)]
pub(crate) struct UserRow {
    pub(crate) id: Uuid,
    username: String,
    display_name: String,
    avatar_url: Option<String>,
    status: String,
    bridge_source: Option<String>,
    bridge_remote_id: Option<String>,
    created_at: Ts,
}

impl UserRow {
    pub(crate) fn into_user(self) -> Result<User, StoreError> {
        let bridge = bridge(self.bridge_source, self.bridge_remote_id);
        Ok(User {
            id: UserId::from_uuid(self.id),
            status: Status::parse(&self.status).ok_or_else(|| corrupt("status", &self.status))?,
            username: self.username,
            display_name: self.display_name,
            avatar_url: self.avatar_url,
            is_puppet: bridge.is_some(),
            bridge,
            created_at: self.created_at.0,
        })
    }
}

pub(crate) const SERVER_COLS: &str =
    "id, name, icon_url, owner_id, bridge_source, bridge_remote_id, created_at";

#[derive(sqlx::FromRow)]
pub(crate) struct ServerRow {
    id: Uuid,
    name: String,
    icon_url: Option<String>,
    owner_id: Uuid,
    bridge_source: Option<String>,
    bridge_remote_id: Option<String>,
    created_at: Ts,
}

impl ServerRow {
    pub(crate) fn into_server(self) -> Server {
        Server {
            id: ServerId::from_uuid(self.id),
            name: self.name,
            icon_url: self.icon_url,
            owner_id: UserId::from_uuid(self.owner_id),
            bridge: bridge(self.bridge_source, self.bridge_remote_id),
            created_at: self.created_at.0,
        }
    }
}

pub(crate) const ROLE_COLS: &str =
    "id, server_id, name, color, position, permissions, bridge_source, bridge_remote_id";

#[derive(sqlx::FromRow)]
pub(crate) struct RoleRow {
    id: Uuid,
    server_id: Uuid,
    name: String,
    color: i32,
    position: i32,
    permissions: i64,
    bridge_source: Option<String>,
    bridge_remote_id: Option<String>,
}

impl RoleRow {
    pub(crate) fn into_role(self) -> Role {
        let mut role = Role::new(
            RoleId::from_uuid(self.id),
            ServerId::from_uuid(self.server_id),
            self.name,
            self.color,
            self.position,
            Permissions::from_bits(bits_from_db(self.permissions)),
        );
        role.bridge = bridge(self.bridge_source, self.bridge_remote_id);
        role
    }
}

pub(crate) const CHANNEL_COLS: &str = "id, server_id, name, kind, topic, position, parent_id, \
     bridge_source, bridge_remote_id, created_at";

#[derive(sqlx::FromRow)]
pub(crate) struct ChannelRow {
    pub(crate) id: Uuid,
    server_id: Option<Uuid>,
    name: String,
    kind: String,
    topic: Option<String>,
    position: i32,
    parent_id: Option<Uuid>,
    bridge_source: Option<String>,
    bridge_remote_id: Option<String>,
    created_at: Ts,
}

impl ChannelRow {
    pub(crate) fn into_channel(self, overwrites: Vec<PermissionOverwrite>) -> Result<Channel, StoreError> {
        let kind = ChannelKind::parse(&self.kind).ok_or_else(|| corrupt("channel kind", &self.kind))?;
        // `Channel::new` wants a server; DM channels have none, so it is cleared right after.
        let mut channel = Channel::new(
            ChannelId::from_uuid(self.id),
            ServerId::from_uuid(self.server_id.unwrap_or(Uuid::nil())),
            self.name,
            kind,
        );
        channel.server_id = self.server_id.map(ServerId::from_uuid);
        channel.topic = self.topic;
        channel.position = self.position;
        channel.parent_id = self.parent_id.map(ChannelId::from_uuid);
        channel.permission_overwrites = overwrites;
        channel.bridge = bridge(self.bridge_source, self.bridge_remote_id);
        channel.created_at = Some(self.created_at.0);
        Ok(channel)
    }
}

#[derive(sqlx::FromRow)]
pub(crate) struct OverwriteRow {
    pub(crate) channel_id: Uuid,
    target_id: Uuid,
    kind: String,
    allow: i64,
    deny: i64,
}

impl OverwriteRow {
    pub(crate) fn into_overwrite(self) -> Result<PermissionOverwrite, StoreError> {
        Ok(PermissionOverwrite {
            id: self.target_id,
            kind: OverwriteKind::parse(&self.kind).ok_or_else(|| corrupt("overwrite kind", &self.kind))?,
            allow: Permissions::from_bits(bits_from_db(self.allow)),
            deny: Permissions::from_bits(bits_from_db(self.deny)),
        })
    }
}

pub(crate) const MESSAGE_COLS: &str = "id, channel_id, author_id, content, reply_to, nonce, \
     created_at, edited_at, deleted_at, bridge_source, bridge_remote_id, extras, pinned_at, \
     mention_everyone";

#[derive(sqlx::FromRow)]
pub(crate) struct MessageRow {
    pub(crate) id: Uuid,
    channel_id: Uuid,
    pub(crate) author_id: Uuid,
    pub(crate) content: String,
    reply_to: Option<Uuid>,
    pub(crate) nonce: Option<String>,
    created_at: Ts,
    edited_at: Option<Ts>,
    pub(crate) deleted_at: Option<Ts>,
    bridge_source: Option<String>,
    bridge_remote_id: Option<String>,
    extras: Option<String>,
    pinned_at: Option<Ts>,
    mention_everyone: bool,
}

impl MessageRow {
    /// The message with its author; attachments and reactions are filled in by the caller.
    pub(crate) fn into_message(self, author: User) -> Result<Message, StoreError> {
        Ok(Message {
            id: MessageId::from_uuid(self.id),
            channel_id: ChannelId::from_uuid(self.channel_id),
            author,
            content: self.content,
            created_at: self.created_at.0,
            edited_at: self.edited_at.map(|t| t.0),
            attachments: Vec::new(),
            reactions: Vec::new(),
            reply_to: self.reply_to.map(MessageId::from_uuid),
            mention_everyone: self.mention_everyone,
            pinned: self.pinned_at.is_some(),
            pinned_at: self.pinned_at.map(|t| t.0),
            // GET never returns the nonce; the create path sets it explicitly.
            nonce: None,
            extras: self.extras.as_deref().and_then(|e| serde_json::from_str(e).ok()),
            bridge: bridge(self.bridge_source, self.bridge_remote_id),
            deleted_at: self.deleted_at.map(|t| t.0),
        })
    }
}

/// A message just inserted from `new` (no attachments, no reactions yet), exactly as reading its
/// row back would give it (timestamps at the stored precision), with the nonce.
pub(crate) fn created_message(new: &rift::store::NewMessage, author: User) -> Message {
    Message {
        id: new.id,
        channel_id: new.channel_id,
        author,
        content: new.content.clone(),
        created_at: Ts::new(new.created_at).0,
        edited_at: new.edited_at.map(|at| Ts::new(at).0),
        attachments: Vec::new(),
        reactions: Vec::new(),
        reply_to: new.reply_to,
        mention_everyone: new.mention_everyone,
        pinned: false,
        pinned_at: None,
        nonce: new.nonce.clone(),
        extras: new.extras.clone(),
        bridge: new.bridge.clone(),
        deleted_at: None,
    }
}

pub(crate) const UPLOAD_COLS: &str = "id, uploader_id, message_id, filename, content_type, size, url, \
     secret, width, height, bridge_source, bridge_remote_id, content_hash, created_at";

#[derive(sqlx::FromRow)]
pub(crate) struct UploadRow {
    id: Uuid,
    uploader_id: Option<Uuid>,
    pub(crate) message_id: Option<Uuid>,
    filename: String,
    content_type: String,
    size: i64,
    url: String,
    secret: String,
    width: Option<i32>,
    height: Option<i32>,
    bridge_source: Option<String>,
    bridge_remote_id: Option<String>,
    content_hash: Option<String>,
    created_at: Ts,
}

impl UploadRow {
    pub(crate) fn into_upload(self) -> Result<Upload, StoreError> {
        Ok(Upload {
            id: UploadId::from_uuid(self.id),
            filename: self.filename,
            content_type: self.content_type,
            size: self.size,
            url: self.url,
            width: self.width,
            height: self.height,
            uploader_id: self.uploader_id.map(UserId::from_uuid),
            secret: self.secret,
            message_id: self.message_id.map(MessageId::from_uuid),
            bridge: bridge(self.bridge_source, self.bridge_remote_id),
            content_hash: self.content_hash,
            created_at: Some(self.created_at.0),
        })
    }
}

#[derive(sqlx::FromRow)]
pub(crate) struct HistoryRow {
    id: Uuid,
    message_id: Uuid,
    action: String,
    old_content: Option<String>,
    new_content: Option<String>,
    actor_id: Option<Uuid>,
    created_at: Ts,
}

impl HistoryRow {
    pub(crate) fn into_entry(self) -> Result<MessageHistoryEntry, StoreError> {
        Ok(MessageHistoryEntry {
            id: HistoryEntryId::from_uuid(self.id),
            message_id: MessageId::from_uuid(self.message_id),
            action: HistoryAction::parse(&self.action)
                .ok_or_else(|| corrupt("history action", &self.action))?,
            old_content: self.old_content,
            new_content: self.new_content,
            actor_id: self.actor_id.map(UserId::from_uuid),
            created_at: self.created_at.0,
        })
    }
}

#[derive(sqlx::FromRow)]
pub(crate) struct AuditRow {
    id: Uuid,
    server_id: Uuid,
    actor_id: Option<Uuid>,
    action: String,
    target_id: Option<Uuid>,
    changes: sqlx::types::Json<serde_json::Value>,
    reason: Option<String>,
    created_at: Ts,
}

impl AuditRow {
    pub(crate) fn into_entry(self) -> AuditEntry {
        AuditEntry {
            id: AuditEntryId::from_uuid(self.id),
            server_id: ServerId::from_uuid(self.server_id),
            actor_id: self.actor_id.map(UserId::from_uuid),
            action: self.action,
            target_id: self.target_id,
            changes: self.changes.0,
            reason: self.reason,
            created_at: self.created_at.0,
        }
    }
}

#[derive(sqlx::FromRow)]
pub(crate) struct BridgeConnectionRow {
    id: Uuid,
    source: String,
    owner_id: Uuid,
    token: String,
    token_kind: String,
    mode: String,
    status: String,
    status_reason: Option<String>,
    remote_user_id: Option<String>,
    created_at: Ts,
}

impl BridgeConnectionRow {
    pub(crate) fn into_connection(self) -> Result<BridgeConnection, StoreError> {
        Ok(BridgeConnection {
            id: BridgeConnectionId::from_uuid(self.id),
            status: BridgeStatus::parse(&self.status)
                .ok_or_else(|| corrupt("bridge status", &self.status))?,
            source: self.source,
            owner_id: UserId::from_uuid(self.owner_id),
            token: self.token.into(),
            token_kind: self.token_kind,
            mode: self.mode,
            status_reason: self.status_reason,
            remote_user_id: self.remote_user_id,
            created_at: self.created_at.0,
        })
    }
}

/// The two bridge columns of a row to insert.
pub(crate) fn bridge_cols(bridge: Option<&BridgeRef>) -> (Option<&str>, Option<&str>) {
    (bridge.map(|b| b.source.as_str()), bridge.map(|b| b.remote_id.as_str()))
}
