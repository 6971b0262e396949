//! Small builders for the conformance tests. `rift`'s models are `#[non_exhaustive]`, so objects
//! the tests hand to the store are deserialised from JSON and then filled in.

use chrono::{DateTime, TimeZone, Utc};
use rift::Store;
use rift::id::{AuditEntryId, BridgeConnectionId, ChannelId, MessageId, ServerId, UploadId, UserId};
use rift::model::{
    AuditEntry, BridgeConnection, BridgeRef, BridgeStatus, Channel, ChannelKind, Message, Server, Upload,
    User,
};
use rift::permissions::Permissions;
use rift::store::{CreateMessageOutcome, NewMessage, NewServer, NewUser};
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
    let id = ServerId::new();
    serde_json::from_value(json!({
        "id": id, "name": name, "icon_url": null, "owner_id": owner, "created_at": at(1),
    }))
    .expect("server json")
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
    NewMessage {
        id,
        channel_id: channel,
        author_id: author,
        content: content.to_owned(),
        reply_to: None,
        nonce: None,
        attachment_ids: Vec::new(),
        created_at: id.created_at().expect("v7 id"),
        bridge: None,
    }
}

pub(crate) async fn message(store: &dyn Store, channel: ChannelId, author: UserId, content: &str) -> Message {
    match store.create_message(&new_message(channel, author, content), at(0)).await.expect("create message") {
        CreateMessageOutcome::Created(m) => m,
        other => panic!("expected Created, got {other:?}"),
    }
}

pub(crate) fn upload_value(uploader: Option<UserId>, name: &str) -> Upload {
    let id = UploadId::new();
    let mut upload: Upload = serde_json::from_value(json!({
        "id": id, "filename": name, "content_type": "text/plain", "size": 5,
        "url": Upload::url_for(id, "s3cret", name), "width": 10, "height": 20,
    }))
    .expect("upload json");
    upload.uploader_id = uploader;
    upload.secret = "s3cret".into();
    upload.created_at = Some(at(2));
    upload
}

pub(crate) async fn upload(store: &dyn Store, uploader: UserId, name: &str) -> Upload {
    let upload = upload_value(Some(uploader), name);
    store.create_upload(&upload).await.expect("create upload");
    upload
}

pub(crate) fn audit_entry(server: ServerId, actor: Option<UserId>, action: &str, secs: i64) -> AuditEntry {
    serde_json::from_value(json!({
        "id": AuditEntryId::new(), "server_id": server, "actor_id": actor, "action": action,
        "target_id": null, "changes": {"name": ["old", "new"], "n": 1}, "reason": "because",
        "created_at": at(secs),
    }))
    .expect("audit json")
}

pub(crate) fn connection(owner: UserId) -> BridgeConnection {
    let mut c: BridgeConnection = serde_json::from_value(json!({
        "id": BridgeConnectionId::new(), "source": "discord", "owner_id": owner, "token_kind": "bot",
        "mode": "relay", "status": BridgeStatus::Connecting, "status_reason": null, "remote_user_id": null,
        "created_at": at(3),
    }))
    .expect("connection json");
    c.token = "tok".into();
    c
}

pub(crate) fn bridge(remote: &str) -> Option<BridgeRef> {
    Some(BridgeRef::new("discord", remote))
}

/// The contents of a page, oldest last, for compact assertions.
pub(crate) fn contents(messages: &[Message]) -> Vec<&str> {
    messages.iter().map(|m| m.content.as_str()).collect()
}
