//! Private row types (decoded the same way on both backends) and their conversion to domain
//! objects. Column lists are constants so every query selects exactly what its row decodes.

use rift::StoreError;
use rift::id::{
    AuditEntryId, BridgeConnectionId, ChannelId, HistoryEntryId, MessageId, RoleId, ServerId, UploadId,
    UserId,
};
use rift::model::{
    AuditEntry, BridgeConnection, BridgeRef, BridgeStatus, Channel, ChannelKind, HistoryAction, Message,
    MessageHistoryEntry, OverwriteKind, PermissionOverwrite, Role, Server, Status, Upload, User,
};
use rift::permissions::Permissions;
use uuid::Uuid;

use crate::db::{Ts, bits_from_db};
use crate::proto;

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
        let mut user = proto::user()?;
        user.id = UserId::from_uuid(self.id);
        user.status = Status::parse(&self.status).ok_or_else(|| corrupt("status", &self.status))?;
        user.username = self.username;
        user.display_name = self.display_name;
        user.avatar_url = self.avatar_url;
        user.bridge = bridge(self.bridge_source, self.bridge_remote_id);
        user.is_puppet = user.bridge.is_some();
        user.created_at = self.created_at.0;
        Ok(user)
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
    pub(crate) fn into_server(self) -> Result<Server, StoreError> {
        let mut server = proto::server()?;
        server.id = ServerId::from_uuid(self.id);
        server.name = self.name;
        server.icon_url = self.icon_url;
        server.owner_id = UserId::from_uuid(self.owner_id);
        server.bridge = bridge(self.bridge_source, self.bridge_remote_id);
        server.created_at = self.created_at.0;
        Ok(server)
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
     created_at, edited_at, deleted_at, bridge_source, bridge_remote_id";

#[derive(sqlx::FromRow)]
pub(crate) struct MessageRow {
    pub(crate) id: Uuid,
    channel_id: Uuid,
    pub(crate) author_id: Uuid,
    content: String,
    reply_to: Option<Uuid>,
    pub(crate) nonce: Option<String>,
    created_at: Ts,
    edited_at: Option<Ts>,
    pub(crate) deleted_at: Option<Ts>,
    bridge_source: Option<String>,
    bridge_remote_id: Option<String>,
}

impl MessageRow {
    /// The message with its author; attachments and reactions are filled in by the caller.
    pub(crate) fn into_message(self, author: User) -> Result<Message, StoreError> {
        let mut message = proto::message()?;
        message.id = MessageId::from_uuid(self.id);
        message.channel_id = ChannelId::from_uuid(self.channel_id);
        message.author = author;
        message.content = self.content;
        message.created_at = self.created_at.0;
        message.edited_at = self.edited_at.map(|t| t.0);
        message.reply_to = self.reply_to.map(MessageId::from_uuid);
        // GET never returns the nonce; the create path sets it explicitly.
        message.nonce = None;
        message.bridge = bridge(self.bridge_source, self.bridge_remote_id);
        message.deleted_at = self.deleted_at.map(|t| t.0);
        Ok(message)
    }
}

pub(crate) const UPLOAD_COLS: &str = "id, uploader_id, message_id, filename, content_type, size, url, \
     secret, width, height, bridge_source, bridge_remote_id, created_at";

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
    created_at: Ts,
}

impl UploadRow {
    pub(crate) fn into_upload(self) -> Result<Upload, StoreError> {
        let mut upload = proto::upload()?;
        upload.id = UploadId::from_uuid(self.id);
        upload.filename = self.filename;
        upload.content_type = self.content_type;
        upload.size = self.size;
        upload.url = self.url;
        upload.width = self.width;
        upload.height = self.height;
        upload.uploader_id = self.uploader_id.map(UserId::from_uuid);
        upload.secret = self.secret;
        upload.message_id = self.message_id.map(MessageId::from_uuid);
        upload.bridge = bridge(self.bridge_source, self.bridge_remote_id);
        upload.created_at = Some(self.created_at.0);
        Ok(upload)
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
        let mut entry = proto::history_entry()?;
        entry.id = HistoryEntryId::from_uuid(self.id);
        entry.message_id = MessageId::from_uuid(self.message_id);
        entry.action =
            HistoryAction::parse(&self.action).ok_or_else(|| corrupt("history action", &self.action))?;
        entry.old_content = self.old_content;
        entry.new_content = self.new_content;
        entry.actor_id = self.actor_id.map(UserId::from_uuid);
        entry.created_at = self.created_at.0;
        Ok(entry)
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
    pub(crate) fn into_entry(self) -> Result<AuditEntry, StoreError> {
        let mut entry = proto::audit_entry()?;
        entry.id = AuditEntryId::from_uuid(self.id);
        entry.server_id = ServerId::from_uuid(self.server_id);
        entry.actor_id = self.actor_id.map(UserId::from_uuid);
        entry.action = self.action;
        entry.target_id = self.target_id;
        entry.changes = self.changes.0;
        entry.reason = self.reason;
        entry.created_at = self.created_at.0;
        Ok(entry)
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
        let mut c = proto::bridge_connection()?;
        c.id = BridgeConnectionId::from_uuid(self.id);
        c.status = BridgeStatus::parse(&self.status).ok_or_else(|| corrupt("bridge status", &self.status))?;
        c.source = self.source;
        c.owner_id = UserId::from_uuid(self.owner_id);
        c.token = self.token;
        c.token_kind = self.token_kind;
        c.mode = self.mode;
        c.status_reason = self.status_reason;
        c.remote_user_id = self.remote_user_id;
        c.created_at = self.created_at.0;
        Ok(c)
    }
}

/// The two bridge columns of a row to insert.
pub(crate) fn bridge_cols(bridge: Option<&BridgeRef>) -> (Option<&str>, Option<&str>) {
    (bridge.map(|b| b.source.as_str()), bridge.map(|b| b.remote_id.as_str()))
}
