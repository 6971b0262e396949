//! Mirroring for bridges: writes remote objects into Rift on behalf of puppet users. These skip
//! permission checks (the bridge acts for its connection's owner, whose archive it fills) but keep
//! every other rule, and they are idempotent: the same remote object maps to the same Rift object,
//! so a replayed remote event changes nothing.

use serde_json::json;

use crate::StoreError;
use crate::error::{Error, Resource, Result};
use crate::event::{Event, Topic};
use crate::id::{AuditEntryId, ChannelId, MessageId, ServerId, Timestamp, UploadId, UserId};
use crate::model::{AuditEntry, BridgeRef, Channel, ChannelKind, Message, Server, User};
use crate::permissions::Permissions;
use crate::store::{BridgedKind, CreateMessageOutcome, NewMessage, NewServer, NewUser, UserPatch};

use super::{Created, Rift};

/// A remote user to mirror as a puppet.
#[derive(Debug, Clone)]
#[non_exhaustive]
pub struct RemoteUser {
    /// Where the user lives and their id there.
    pub bridge: BridgeRef,
    /// Their name there (shown as the puppet's display name).
    pub display_name: String,
}

impl RemoteUser {
    /// A remote user.
    pub fn new(bridge: BridgeRef, display_name: impl Into<String>) -> Self {
        Self { bridge, display_name: display_name.into() }
    }
}

/// A remote message to mirror.
#[derive(Debug, Clone)]
#[non_exhaustive]
pub struct RemoteMessage {
    /// Where the message lives and its id there.
    pub bridge: BridgeRef,
    /// The mirrored channel.
    pub channel_id: ChannelId,
    /// The (puppet) author.
    pub author_id: UserId,
    /// Text (may be empty when the remote message has only attachments or embeds).
    pub content: String,
    /// When it was written there; its Rift id carries this time.
    pub created_at: Timestamp,
    /// The mirrored message it replies to.
    pub reply_to: Option<MessageId>,
    /// Uploads already stored for it.
    pub attachment_ids: Vec<UploadId>,
}

impl RemoteMessage {
    /// A text message.
    pub fn new(
        bridge: BridgeRef,
        channel_id: ChannelId,
        author_id: UserId,
        content: impl Into<String>,
        created_at: Timestamp,
    ) -> Self {
        Self {
            bridge,
            channel_id,
            author_id,
            content: content.into(),
            created_at,
            reply_to: None,
            attachment_ids: vec![],
        }
    }
}

/// A display name made safe: no control characters, 1–64 characters.
fn clean_display_name(name: &str, fallback: &str) -> String {
    let cleaned: String = name.chars().filter(|c| !c.is_control()).take(64).collect();
    let cleaned = cleaned.trim();
    if cleaned.is_empty() { fallback.to_owned() } else { cleaned.to_owned() }
}

impl Rift {
    async fn find(&self, kind: BridgedKind, bridge: &BridgeRef) -> Result<Option<uuid::Uuid>> {
        Ok(self.inner.store.find_bridged(kind, bridge).await?)
    }

    /// The puppet for a remote user, made on first sight; its display name follows the remote one.
    pub async fn mirror_user(&self, remote: &RemoteUser) -> Result<User> {
        let store = &self.inner.store;
        // Puppet usernames are `<source>-<remote id>`, cut to the username rule.
        let username: String = format!("{}-{}", remote.bridge.source, remote.bridge.remote_id)
            .chars()
            .map(|c| if c.is_ascii_alphanumeric() || matches!(c, '_' | '.' | '-') { c } else { '_' })
            .take(32)
            .collect();
        let display_name = clean_display_name(&remote.display_name, &username);
        if let Some(id) = self.find(BridgedKind::User, &remote.bridge).await? {
            let id = UserId::from_uuid(id);
            let user = store.user(id).await?.ok_or(Error::NotFound(Resource::User))?;
            if user.display_name == display_name {
                return Ok(user);
            }
            let patch = UserPatch { display_name: Some(display_name), ..UserPatch::default() };
            return store.update_user(id, &patch).await?.ok_or(Error::NotFound(Resource::User));
        }
        let new = NewUser {
            id: UserId::new(),
            username,
            display_name,
            email: None,
            password_hash: None,
            bridge: Some(remote.bridge.clone()),
            created_at: self.now(),
        };
        match store.create_user(&new).await {
            Ok(user) => Ok(user),
            // Another task mirrored the same user first.
            Err(StoreError::Conflict(_)) => {
                let id = self
                    .find(BridgedKind::User, &remote.bridge)
                    .await?
                    .ok_or(Error::NotFound(Resource::User))?;
                store.user(UserId::from_uuid(id)).await?.ok_or(Error::NotFound(Resource::User))
            }
            Err(other) => Err(other.into()),
        }
    }

    /// The server mirroring a remote one, owned by `owner` (the bridge's owner), with no channels
    /// of its own.
    pub async fn mirror_server(&self, owner: UserId, bridge: &BridgeRef, name: &str) -> Result<Server> {
        if let Some(id) = self.find(BridgedKind::Server, bridge).await? {
            return self
                .inner
                .store
                .server(ServerId::from_uuid(id))
                .await?
                .ok_or(Error::NotFound(Resource::Server));
        }
        let now = self.now();
        let server = Server {
            id: ServerId::new(),
            name: clean_display_name(name, "server"),
            icon_url: None,
            owner_id: owner,
            bridge: Some(bridge.clone()),
            created_at: now,
        };
        let new = NewServer {
            server,
            everyone_permissions: Permissions::EVERYONE_DEFAULT,
            channels: vec![],
            owner_joined_at: now,
        };
        Ok(self.inner.store.create_server(&new).await?)
    }

    /// The channel mirroring a remote one in a mirrored server.
    pub async fn mirror_channel(
        &self,
        server_id: ServerId,
        bridge: &BridgeRef,
        name: &str,
        kind: ChannelKind,
    ) -> Result<Channel> {
        if let Some(id) = self.find(BridgedKind::Channel, bridge).await? {
            return self
                .inner
                .store
                .channel(ChannelId::from_uuid(id))
                .await?
                .ok_or(Error::NotFound(Resource::Channel));
        }
        let mut channel =
            Channel::new(ChannelId::new(), server_id, clean_display_name(name, "channel"), kind);
        channel.bridge = Some(bridge.clone());
        let channel = self.inner.store.create_channel(&channel).await?;
        self.publish(Topic::Server(server_id), Event::ChannelCreate(channel.clone()));
        Ok(channel)
    }

    /// Makes a puppet a member of a mirrored server (no-op when it is one).
    pub async fn mirror_member(
        &self,
        server_id: ServerId,
        user_id: UserId,
        joined_at: Timestamp,
    ) -> Result<()> {
        if self.inner.store.add_member(server_id, user_id, joined_at).await?
            && let Some(member) = self.inner.store.member(server_id, user_id).await?
        {
            self.publish(Topic::Server(server_id), Event::MemberAdd(member));
        }
        Ok(())
    }

    /// Stores a remote message once; replays return the stored one with `created: false`.
    pub async fn mirror_message(&self, remote: RemoteMessage) -> Result<Created<Message>> {
        if let Some(id) = self.find(BridgedKind::Message, &remote.bridge).await? {
            let message = self
                .inner
                .store
                .message(MessageId::from_uuid(id), None)
                .await?
                .ok_or(Error::NotFound(Resource::Message))?;
            return Ok(Created { value: message, created: false });
        }
        let max = self.inner.config.max_message_chars;
        super::check_text("content", "invalid_content", &remote.content)?;
        if remote.content.chars().count() > max {
            return Err(Error::too_large(
                "message_too_long",
                format!("message is longer than {max} characters"),
            ));
        }
        let new = NewMessage {
            id: MessageId::at(remote.created_at),
            channel_id: remote.channel_id,
            author_id: remote.author_id,
            content: remote.content,
            reply_to: remote.reply_to,
            nonce: None,
            attachment_ids: remote.attachment_ids,
            created_at: remote.created_at,
            bridge: Some(remote.bridge.clone()),
        };
        let outcome = self.inner.store.create_message(&new, remote.created_at).await;
        let message = match outcome {
            Ok(CreateMessageOutcome::Created(message) | CreateMessageOutcome::Duplicate(message)) => message,
            // Mirrored concurrently by another task: return that one.
            Err(StoreError::Conflict(_)) => {
                let id = self
                    .find(BridgedKind::Message, &remote.bridge)
                    .await?
                    .ok_or(Error::NotFound(Resource::Message))?;
                let message = self.inner.store.message(MessageId::from_uuid(id), None).await?;
                return Ok(Created {
                    value: message.ok_or(Error::NotFound(Resource::Message))?,
                    created: false,
                });
            }
            Err(other) => return Err(other.into()),
        };
        self.publish(Topic::Channel(message.channel_id), Event::MessageCreate(message.clone()));
        Ok(Created { value: message, created: true })
    }

    /// Applies a remote edit; the old content goes to the message's history. Unknown, deleted or
    /// unchanged messages: `None`, nothing written.
    pub async fn mirror_edit(
        &self,
        bridge: &BridgeRef,
        content: &str,
        edited_at: Timestamp,
    ) -> Result<Option<Message>> {
        super::check_text("content", "invalid_content", content)?;
        let Some(id) = self.find(BridgedKind::Message, bridge).await? else { return Ok(None) };
        let id = MessageId::from_uuid(id);
        match self.inner.store.message(id, None).await? {
            Some(message) if message.deleted_at.is_none() && message.content != content => {}
            _ => return Ok(None),
        }
        let edited = self.inner.store.edit_message(id, content, None, edited_at).await?;
        if let Some(edited) = &edited {
            self.publish(Topic::Channel(edited.channel_id), Event::MessageUpdate(edited.clone()));
        }
        Ok(edited)
    }

    /// Applies a remote delete: the message leaves Rift's lists but keeps its history, and the
    /// server audit log records `message_delete` with no actor and the bridge's name as reason.
    pub async fn mirror_delete(&self, bridge: &BridgeRef) -> Result<bool> {
        let Some(id) = self.find(BridgedKind::Message, bridge).await? else { return Ok(false) };
        let id = MessageId::from_uuid(id);
        let Some(message) = self.inner.store.message(id, None).await? else { return Ok(false) };
        if message.deleted_at.is_some() {
            return Ok(false);
        }
        let channel = self.inner.store.channel(message.channel_id).await?;
        let now = self.now();
        let audit = channel.and_then(|c| c.server_id).map(|server_id| AuditEntry {
            id: AuditEntryId::new(),
            server_id,
            actor_id: None,
            action: "message_delete".to_owned(),
            target_id: Some(id.uuid()),
            changes: json!({ "channel_id": message.channel_id, "author_id": message.author.id }),
            reason: Some(bridge.source.clone()),
            created_at: now,
        });
        let deleted = self.inner.store.delete_message(id, None, now, audit.as_ref()).await?;
        if deleted.is_some() {
            let channel_id = message.channel_id;
            self.publish(Topic::Channel(channel_id), Event::MessageDelete { id, channel_id });
        }
        Ok(deleted.is_some())
    }
}
