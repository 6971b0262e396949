//! Small builders for the conformance tests.

use chrono::{DateTime, TimeZone, Utc};
use rift::id::{AuditEntryId, ChannelId, MessageId, ServerId, UploadId, UserId};
use rift::model::{
    AuditEntry, BridgeConnection, BridgeRef, Channel, ChannelKind, Message, Server, Upload, User,
};
use rift::store::{CreateMessageOutcome, NewMessage, NewServer, NewUser};
use rift::{Permissions, Store};
use serde_json::json;

/// A fixed, microsecond-precise instant plus `secs` seconds.
pub(crate) fn at(secs: i64) -> DateTime<Utc> {
    Utc.timestamp_opt(1_760_000_000 + secs, 123_456_000).single().expect("valid time")
}

pub(crate) fn new_user(name: &str) -> NewUser {
    NewUser {
        id: UserId::new(),
        username: name.to_owned(),
        display_name: format!("{name} display"),
        email: None,
        password_hash: Some("$argon2id$fake".into()),
        bridge: None,
        created_at: at(0),
    }
}

pub(crate) async fn user(store: &dyn Store, name: &str) -> User {
    store.create_user(&new_user(name)).await.expect("create user")
}

pub(crate) fn server_value(owner: UserId, name: &str) -> Server {
    Server {
        id: ServerId::new(),
        name: name.to_owned(),
        icon_url: None,
        owner_id: owner,
        bridge: None,
        created_at: at(1),
    }
}

/// A server owned by `owner` with a `general` text channel; returns it and the channel.
pub(crate) async fn server(store: &dyn Store, owner: &User) -> (Server, Channel) {
    let server = server_value(owner.id, "guild");
    let general = Channel::new(ChannelId::new(), server.id, "general", ChannelKind::Text);
    let new = NewServer {
        server: server.clone(),
        everyone_permissions: Permissions::EVERYONE_DEFAULT,
        channels: vec![general.clone()],
        owner_joined_at: at(1),
    };
    let created = store.create_server(&new).await.expect("create server");
    let channel = store.channel(general.id).await.expect("channel").expect("general exists");
    (created, channel)
}

pub(crate) fn new_message(channel: ChannelId, author: UserId, content: &str) -> NewMessage {
    let id = MessageId::new();
    NewMessage::new(id, channel, author, content, id.created_at().expect("v7 id"))
}

pub(crate) async fn message(store: &dyn Store, channel: ChannelId, author: UserId, content: &str) -> Message {
    match store.create_message(&new_message(channel, author, content), at(0)).await.expect("create message") {
        CreateMessageOutcome::Created(m) => m,
        other => panic!("expected Created, got {other:?}"),
    }
}

pub(crate) fn upload_value(uploader: Option<UserId>, name: &str) -> Upload {
    let id = UploadId::new();
    Upload {
        id,
        filename: name.to_owned(),
        content_type: "text/plain".into(),
        size: 5,
        url: Upload::url_for(id, "s3cret", name),
        width: Some(10),
        height: Some(20),
        uploader_id: uploader,
        secret: "s3cret".into(),
        message_id: None,
        bridge: None,
        content_hash: None,
        created_at: Some(at(2)),
    }
}

pub(crate) async fn upload(store: &dyn Store, uploader: UserId, name: &str) -> Upload {
    let upload = upload_value(Some(uploader), name);
    store.create_upload(&upload).await.expect("create upload");
    upload
}

pub(crate) fn audit_entry(server: ServerId, actor: Option<UserId>, action: &str, secs: i64) -> AuditEntry {
    AuditEntry {
        id: AuditEntryId::new(),
        server_id: server,
        actor_id: actor,
        action: action.to_owned(),
        target_id: None,
        changes: json!({"name": ["old", "new"], "n": 1}),
        reason: Some("because".into()),
        created_at: at(secs),
    }
}

pub(crate) fn connection(owner: UserId) -> BridgeConnection {
    BridgeConnection::new("discord", owner, "tok", "bot", "relay", at(3))
}

pub(crate) fn bridge(remote: &str) -> Option<BridgeRef> {
    Some(BridgeRef::new("discord", remote))
}

/// The contents of a page, oldest last, for compact assertions.
pub(crate) fn contents(messages: &[Message]) -> Vec<&str> {
    messages.iter().map(|m| m.content.as_str()).collect()
}
