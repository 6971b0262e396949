//! Mirroring for bridges: writes remote objects into Rift on behalf of puppet users. These skip
//! permission checks (the bridge acts for its connection's owner, whose archive it fills) but keep
//! every other rule, and they are idempotent: the same remote object maps to the same Rift object,
//! so a replayed remote event changes nothing.

use serde_json::json;
use sha2::{Digest, Sha256};

use crate::StoreError;
use crate::error::Conflict;
use crate::error::{Error, ErrorCode, Resource, Result};
use crate::event::{Event, Topic};
use crate::id::{AuditEntryId, ChannelId, MessageId, RoleId, ServerId, Timestamp, UploadId, UserId};
use crate::model::{
    AuditEntry, BridgeRef, Channel, ChannelKind, Message, MessageHistoryEntry, PermissionOverwrite, Role,
    Server, Upload, User,
};
use crate::permissions::Permissions;
use crate::store::{
    BridgedKind, ChannelPatch, CreateMessageOutcome, NewMessage, NewServer, NewUser, RolePatch, ServerPatch,
    UserPatch,
};

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
    /// When it was last edited there, if it was edited before the bridge saw it (no earlier
    /// version is known, so none is recorded).
    pub edited_at: Option<Timestamp>,
    /// What it carries beside its text (embeds, stickers), kept as sent.
    pub extras: Option<serde_json::Value>,
    /// Whether the remote network let its `@everyone`/`@here` notify everyone (its own
    /// decision; Rift does not re-judge remote authors).
    pub mention_everyone: bool,
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
            edited_at: None,
            extras: None,
            mention_everyone: false,
        }
    }
}

/// A remote role to mirror (see [`Rift::mirror_roles`]).
#[derive(Debug, Clone)]
#[non_exhaustive]
pub struct RemoteRole {
    /// Where the role lives and its id there.
    pub bridge: BridgeRef,
    /// Its name.
    pub name: String,
    /// RGB colour, 0 for none.
    pub color: i32,
    /// Its permissions, already mapped onto Rift's bits.
    pub permissions: Permissions,
}

impl RemoteRole {
    /// A role.
    pub fn new(bridge: BridgeRef, name: impl Into<String>, color: i32, permissions: Permissions) -> Self {
        Self { bridge, name: name.into(), color, permissions }
    }
}

/// A remote server channel to mirror (see [`Rift::mirror_channel`]).
#[derive(Debug, Clone)]
#[non_exhaustive]
pub struct RemoteChannel {
    /// Where the channel lives and its id there.
    pub bridge: BridgeRef,
    /// Its name.
    pub name: String,
    /// Text, voice or category.
    pub kind: ChannelKind,
    /// Its topic (empty means none).
    pub topic: Option<String>,
    /// Its sort position among the server's channels.
    pub position: i32,
    /// The mirrored category it sits in.
    pub parent_id: Option<ChannelId>,
    /// Its overwrites, with targets already mapped onto Rift roles and users.
    pub overwrites: Vec<PermissionOverwrite>,
}

impl RemoteChannel {
    /// A channel at position 0 with no topic, category or overwrites.
    pub fn new(bridge: BridgeRef, name: impl Into<String>, kind: ChannelKind) -> Self {
        Self {
            bridge,
            name: name.into(),
            kind,
            topic: None,
            position: 0,
            parent_id: None,
            overwrites: Vec::new(),
        }
    }
}

/// A remote server membership to mirror (see [`Rift::mirror_member`]).
#[derive(Debug, Clone)]
#[non_exhaustive]
pub struct RemoteMember {
    /// The (puppet) user.
    pub user_id: UserId,
    /// Their nickname there.
    pub nickname: Option<String>,
    /// Their mirrored roles (native roles given in Rift are left alone).
    pub roles: Vec<RoleId>,
    /// When they joined there.
    pub joined_at: Timestamp,
}

impl RemoteMember {
    /// A member with no nickname or roles.
    pub fn new(user_id: UserId, joined_at: Timestamp) -> Self {
        Self { user_id, nickname: None, roles: Vec::new(), joined_at }
    }
}

/// The url of a mirrored image, if the upload is one.
fn image_url(upload: Option<&Upload>) -> Option<String> {
    upload.filter(|u| u.content_type.starts_with("image/")).map(|u| u.url.clone())
}

/// Remote text as Rift can store it: a NUL (which PostgreSQL cannot hold) becomes U+FFFD, so the
/// message is kept rather than refused.
fn storable_text(text: &str) -> String {
    text.replace('\0', "\u{FFFD}")
}

/// A display name made safe: no control characters, 1–64 characters.
fn clean_display_name(name: &str, fallback: &str) -> String {
    let cleaned: String = name.chars().filter(|c| !c.is_control()).take(64).collect();
    let cleaned = cleaned.trim();
    if cleaned.is_empty() { fallback.to_owned() } else { cleaned.to_owned() }
}

impl Rift {
    /// The Rift channel mirroring a remote channel, if any.
    pub(crate) async fn find_mirrored_channel(&self, bridge: &BridgeRef) -> Result<Option<ChannelId>> {
        Ok(self.find(BridgedKind::Channel, bridge).await?.map(ChannelId::from_uuid))
    }

    async fn find(&self, kind: BridgedKind, bridge: &BridgeRef) -> Result<Option<uuid::Uuid>> {
        Ok(self.inner.store.find_bridged(kind, bridge).await?)
    }

    /// The Rift id of what mirrors `bridge` (a user, server, channel, message or upload), if
    /// anything does.
    ///
    /// Like the `mirror_*` writes, the `find_mirrored` and `mirrored_*` reads are a bridge's or
    /// an importer's trusted path: they take no acting user and check no permission (the bridge
    /// acts for its connection's owner and only touches what it mirrors).
    pub async fn find_mirrored(&self, kind: BridgedKind, bridge: &BridgeRef) -> Result<Option<uuid::Uuid>> {
        self.find(kind, bridge).await
    }

    /// A stored message, deleted or not (no reaction is marked as the reader's own), for a
    /// bridge relaying it or comparing it with the remote copy.
    pub async fn mirrored_message(&self, id: MessageId) -> Result<Option<Message>> {
        Ok(self.inner.store.message(id, None).await?)
    }

    /// A message's edit and delete trail, oldest first, for a bridge telling who made a change.
    pub async fn mirrored_message_history(&self, id: MessageId) -> Result<Vec<MessageHistoryEntry>> {
        Ok(self.inner.store.message_history(id).await?)
    }

    /// A stored channel (server or DM), for a bridge finding which remote channel it mirrors.
    pub async fn mirrored_channel(&self, id: ChannelId) -> Result<Option<Channel>> {
        Ok(self.inner.store.channel(id).await?)
    }

    /// A stored upload, for a bridge reusing a file it mirrored before.
    pub async fn mirrored_upload(&self, id: UploadId) -> Result<Option<Upload>> {
        Ok(self.inner.store.upload(id).await?)
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
            // Another task mirrored the same user first. The puppet's username is made from its
            // ref, so either rule may be the one a backend reports; a username held by someone
            // else (no puppet with this ref) stays a username clash.
            Err(StoreError::Conflict(conflict @ (Conflict::BridgeRef | Conflict::Username))) => {
                let Some(id) = self.find(BridgedKind::User, &remote.bridge).await? else {
                    return Err(StoreError::Conflict(conflict).into());
                };
                store.user(UserId::from_uuid(id)).await?.ok_or(Error::NotFound(Resource::User))
            }
            Err(other) => Err(other.into()),
        }
    }

    /// The server mirroring a remote one, owned by `owner` (the bridge's owner), with no channels
    /// of its own; its name follows the remote one. The owner's sessions start following it.
    pub async fn mirror_server(&self, owner: UserId, bridge: &BridgeRef, name: &str) -> Result<Server> {
        let store = &self.inner.store;
        let name = clean_display_name(name, "server");
        if let Some(id) = self.find(BridgedKind::Server, bridge).await? {
            let id = ServerId::from_uuid(id);
            let server = store.server(id).await?.ok_or(Error::NotFound(Resource::Server))?;
            if server.name == name {
                return Ok(server);
            }
            let patch = ServerPatch { name: Some(name), ..ServerPatch::default() };
            let _forget = self.forget_on_drop(id);
            let server = store.update_server(id, &patch).await?.ok_or(Error::NotFound(Resource::Server))?;
            self.publish(Topic::Server(id), Event::ServerUpdate(server.clone()));
            return Ok(server);
        }
        let now = self.now();
        let server = Server {
            id: ServerId::new(),
            name,
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
        let server = match store.create_server(&new).await {
            Ok(server) => server,
            Err(StoreError::Conflict(Conflict::BridgeRef)) => {
                let id =
                    self.find(BridgedKind::Server, bridge).await?.ok_or(Error::NotFound(Resource::Server))?;
                return store.server(ServerId::from_uuid(id)).await?.ok_or(Error::NotFound(Resource::Server));
            }
            Err(other) => return Err(other.into()),
        };
        if let Some(member) = store.member(server.id, owner).await? {
            self.publish(Topic::User(owner), Event::MemberAdd(member));
        }
        Ok(server)
    }

    /// Makes a mirrored server's roles equal to `roles` (lowest rank first; `@everyone` apart, with
    /// `everyone`'s permissions): creates, updates, reorders, and deletes mirrored roles that are
    /// gone. Roles made natively in Rift are left alone.
    pub async fn mirror_roles(
        &self,
        server_id: ServerId,
        everyone: Permissions,
        roles: &[RemoteRole],
    ) -> Result<Vec<Role>> {
        let store = &self.inner.store;
        let _forget = self.forget_on_drop(server_id);
        let mut changed = false;
        let current = store.roles(server_id).await?;
        if current.is_empty() {
            return Err(Error::NotFound(Resource::Server));
        }
        let everyone_id = RoleId::everyone(server_id);
        if current.iter().any(|r| r.id == everyone_id && r.permissions != everyone) {
            let patch = RolePatch { permissions: Some(everyone), ..RolePatch::default() };
            store.update_role(everyone_id, &patch).await?;
            changed = true;
        }
        let mut ids = Vec::with_capacity(roles.len());
        for remote in roles {
            let name = clean_display_name(&remote.name, "role");
            let existing = current.iter().find(|r| r.bridge.as_ref() == Some(&remote.bridge));
            let id = match existing {
                Some(role) => {
                    if role.name != name
                        || role.color != remote.color
                        || role.permissions != remote.permissions
                    {
                        let patch = RolePatch {
                            name: Some(name),
                            color: Some(remote.color),
                            permissions: Some(remote.permissions),
                        };
                        store.update_role(role.id, &patch).await?;
                        changed = true;
                    }
                    role.id
                }
                None => {
                    let mut role =
                        Role::new(RoleId::new(), server_id, name, remote.color, 1, remote.permissions);
                    role.bridge = Some(remote.bridge.clone());
                    changed = true;
                    store.create_role(&role).await?.id
                }
            };
            ids.push(id);
        }
        let source = roles.first().map(|r| r.bridge.source.as_str());
        for role in &current {
            let mirrored =
                role.bridge.as_ref().is_some_and(|b| Some(b.source.as_str()) == source || source.is_none());
            if mirrored && !ids.contains(&role.id) {
                store.delete_role(role.id).await?;
                self.publish(Topic::Server(server_id), Event::RoleDelete { server_id, role_id: role.id });
                changed = true;
            }
        }
        // Placing each role at its rank in turn only shifts the roles not yet placed.
        let mut now = store.roles(server_id).await?;
        for (position, id) in (1..).zip(&ids) {
            if now.iter().any(|r| r.id == *id && r.position != position) {
                now = store.move_role(*id, position).await?.ok_or(Error::NotFound(Resource::Role))?;
                changed = true;
            }
        }
        if changed {
            for role in &now {
                self.publish(Topic::Server(server_id), Event::RoleUpdate(role.clone()));
            }
        }
        Ok(now)
    }

    /// The channel mirroring a remote one in a mirrored server, made or brought up to date (name,
    /// topic, position, category, overwrites).
    pub async fn mirror_channel(&self, server_id: ServerId, remote: &RemoteChannel) -> Result<Channel> {
        let store = &self.inner.store;
        let name = clean_display_name(&remote.name, "channel");
        let topic = remote.topic.as_deref().map(str::trim).filter(|t| !t.is_empty()).map(str::to_owned);
        if let Some(topic) = &topic {
            super::check_text("topic", ErrorCode::InvalidTopic, topic)?;
        }
        let _forget = self.forget_on_drop(server_id);
        let Some(id) = self.find(BridgedKind::Channel, &remote.bridge).await? else {
            let mut channel = Channel::new(ChannelId::new(), server_id, name, remote.kind);
            channel.topic = topic;
            channel.position = remote.position;
            channel.parent_id = remote.parent_id;
            channel.permission_overwrites.clone_from(&remote.overwrites);
            channel.bridge = Some(remote.bridge.clone());
            let channel = match store.create_channel(&channel).await {
                Ok(channel) => channel,
                Err(StoreError::Conflict(Conflict::BridgeRef)) => {
                    return Box::pin(self.mirror_channel(server_id, remote)).await;
                }
                Err(other) => return Err(other.into()),
            };
            self.publish(Topic::Server(server_id), Event::ChannelCreate(channel.clone()));
            return Ok(channel);
        };
        let id = ChannelId::from_uuid(id);
        let channel = store.channel(id).await?.ok_or(Error::NotFound(Resource::Channel))?;
        let mut patch = ChannelPatch::default();
        let mut changed = false;
        if channel.name != name {
            patch.name = Some(name);
        }
        if channel.topic != topic {
            patch.topic = Some(topic);
        }
        if channel.position != remote.position {
            patch.position = Some(remote.position);
        }
        if channel.parent_id != remote.parent_id {
            patch.parent_id = Some(remote.parent_id);
        }
        if patch.name.is_some()
            || patch.topic.is_some()
            || patch.position.is_some()
            || patch.parent_id.is_some()
        {
            store.update_channel(id, &patch).await?;
            changed = true;
        }
        for old in &channel.permission_overwrites {
            if !remote.overwrites.iter().any(|o| o.id == old.id) {
                store.delete_overwrite(id, old.id).await?;
                changed = true;
            }
        }
        for overwrite in &remote.overwrites {
            if !channel.permission_overwrites.contains(overwrite) {
                store.put_overwrite(id, overwrite).await?;
                changed = true;
            }
        }
        if !changed {
            return Ok(channel);
        }
        let channel = store.channel(id).await?.ok_or(Error::NotFound(Resource::Channel))?;
        self.publish(Topic::Server(server_id), Event::ChannelUpdate(channel.clone()));
        Ok(channel)
    }

    /// Makes a puppet (or the owner) a member of a mirrored server with the remote nickname and
    /// mirrored roles.
    pub async fn mirror_member(&self, server_id: ServerId, remote: &RemoteMember) -> Result<()> {
        let store = &self.inner.store;
        let user_id = remote.user_id;
        let _forget = self.forget_on_drop(server_id);
        if store.add_member(server_id, user_id, remote.joined_at).await?
            && let Some(member) = store.member(server_id, user_id).await?
        {
            self.publish(Topic::User(user_id), Event::MemberAdd(member.clone()));
            self.publish(Topic::Server(server_id), Event::MemberAdd(member));
        }
        let member = store.member(server_id, user_id).await?.ok_or(Error::NotFound(Resource::Member))?;
        let nickname =
            remote.nickname.as_deref().map(|n| clean_display_name(n, "")).filter(|n| !n.is_empty());
        let mut changed = false;
        if member.nickname != nickname {
            store.set_member_nickname(server_id, user_id, nickname.as_deref()).await?;
            changed = true;
        }
        let roles = store.roles(server_id).await?;
        let mirrored = |id: &RoleId| roles.iter().any(|r| r.id == *id && r.bridge.is_some());
        for role in member.roles.iter().filter(|r| mirrored(r) && !remote.roles.contains(r)) {
            changed |= store.remove_member_role(server_id, user_id, *role).await?;
        }
        for role in remote.roles.iter().filter(|r| mirrored(r) && !member.roles.contains(r)) {
            changed |= store.add_member_role(server_id, user_id, *role).await?;
        }
        if changed && let Some(member) = store.member(server_id, user_id).await? {
            self.publish(Topic::Server(server_id), Event::MemberUpdate(member));
        }
        Ok(())
    }

    /// Removes a member who left or was removed remotely (never the server's owner).
    pub async fn mirror_member_remove(&self, server_id: ServerId, user_id: UserId) -> Result<bool> {
        let store = &self.inner.store;
        let owner = store.server(server_id).await?.map(|s| s.owner_id);
        let _forget = self.forget_on_drop(server_id);
        if owner == Some(user_id) || !store.remove_member(server_id, user_id).await? {
            return Ok(false);
        }
        self.publish(Topic::Server(server_id), Event::MemberRemove { server_id, user_id });
        Ok(true)
    }

    /// Adds (`add`) or removes a mirrored reaction of `user_id` on a mirrored message. Unknown or
    /// deleted messages: `false`, nothing written.
    pub async fn mirror_reaction(
        &self,
        message: &BridgeRef,
        user_id: UserId,
        emoji: &str,
        add: bool,
    ) -> Result<bool> {
        super::check_text("emoji", ErrorCode::InvalidEmoji, emoji)?;
        let Some(id) = self.find(BridgedKind::Message, message).await? else { return Ok(false) };
        let message_id = MessageId::from_uuid(id);
        let store = &self.inner.store;
        let Some(stored) = store.message(message_id, None).await? else { return Ok(false) };
        if stored.deleted_at.is_some() {
            return Ok(false);
        }
        let done = if add {
            store.add_reaction(message_id, user_id, emoji, self.now()).await?
        } else {
            store.remove_reaction(message_id, user_id, emoji).await?
        };
        if done {
            let (channel_id, emoji) = (stored.channel_id, emoji.to_owned());
            let event = if add {
                Event::ReactionAdd { message_id, channel_id, user_id, emoji }
            } else {
                Event::ReactionRemove { message_id, channel_id, user_id, emoji }
            };
            self.publish(Topic::Channel(channel_id), event);
        }
        Ok(done)
    }

    /// Stores a remote file once (for a message by `uploader`, or an avatar), keyed by its remote
    /// id; bytes already stored under another upload (same SHA-256) are shared, not written again.
    ///
    /// # Errors
    /// 500 when no file store was set or it fails to write.
    pub async fn mirror_attachment(
        &self,
        uploader: UserId,
        bridge: &BridgeRef,
        filename: &str,
        claimed_type: Option<&str>,
        bytes: &[u8],
    ) -> Result<Upload> {
        let store = &self.inner.store;
        if let Some(id) = self.find(BridgedKind::Upload, bridge).await? {
            return store.upload(UploadId::from_uuid(id)).await?.ok_or(Error::NotFound(Resource::Upload));
        }
        let files =
            self.inner.files.get().ok_or_else(|| Error::Internal("no file store is configured".into()))?;
        let hash: String = Sha256::digest(bytes).iter().map(|b| format!("{b:02x}")).collect();
        let id = UploadId::new();
        let written = match store.upload_by_hash(&hash).await? {
            Some(existing) => files.share(existing.id, id).await,
            None => files.put(id, bytes).await,
        };
        written.map_err(|e| Error::Internal(format!("cannot store a mirrored file: {e}")))?;
        let head = &bytes[..bytes.len().min(512)];
        let new = super::NewUpload::new(
            id,
            filename,
            claimed_type.map(str::to_owned),
            head.to_vec(),
            bytes.len() as u64,
        );
        let mut upload = self.upload_record(uploader, new)?;
        upload.bridge = Some(bridge.clone());
        upload.content_hash = Some(hash);
        match store.create_upload(&upload).await {
            Ok(()) => Ok(upload),
            // Mirrored concurrently: keep the first.
            Err(StoreError::Conflict(Conflict::BridgeRef)) => {
                let id =
                    self.find(BridgedKind::Upload, bridge).await?.ok_or(Error::NotFound(Resource::Upload))?;
                store.upload(UploadId::from_uuid(id)).await?.ok_or(Error::NotFound(Resource::Upload))
            }
            Err(other) => Err(other.into()),
        }
    }

    /// The bytes of an upload, for a bridge relaying it elsewhere.
    ///
    /// # Errors
    /// 500 when no file store was set or the file cannot be read.
    pub async fn upload_bytes(&self, upload: &Upload) -> Result<Vec<u8>> {
        let files =
            self.inner.files.get().ok_or_else(|| Error::Internal("no file store is configured".into()))?;
        files
            .get(upload.id)
            .await
            .map_err(|e| Error::Internal(format!("cannot read upload {}: {e}", upload.id)))
    }

    /// Sets a mirrored server's icon to a mirrored image (`None` clears it).
    pub async fn mirror_server_icon(&self, server_id: ServerId, icon: Option<&Upload>) -> Result<Server> {
        let store = &self.inner.store;
        let server = store.server(server_id).await?.ok_or(Error::NotFound(Resource::Server))?;
        let url = image_url(icon);
        if server.icon_url == url {
            return Ok(server);
        }
        let patch = ServerPatch { icon_url: Some(url), ..ServerPatch::default() };
        let _forget = self.forget_on_drop(server_id);
        let server =
            store.update_server(server_id, &patch).await?.ok_or(Error::NotFound(Resource::Server))?;
        self.publish(Topic::Server(server_id), Event::ServerUpdate(server.clone()));
        Ok(server)
    }

    /// Sets a puppet's avatar to a mirrored image (`None` clears it).
    pub async fn mirror_avatar(&self, user_id: UserId, avatar: Option<&Upload>) -> Result<User> {
        let store = &self.inner.store;
        let user = store.user(user_id).await?.ok_or(Error::NotFound(Resource::User))?;
        let url = image_url(avatar);
        if user.avatar_url == url {
            return Ok(user);
        }
        let patch = UserPatch { avatar_url: Some(url), ..UserPatch::default() };
        let user = store.update_user(user_id, &patch).await?.ok_or(Error::NotFound(Resource::User))?;
        self.publish(Topic::User(user_id), Event::UserUpdate(user.clone()));
        Ok(user)
    }

    /// Whether `owner` may import history into what mirrors `bridge` (a server or a channel):
    /// yes when nothing mirrors it yet, or it is theirs (a server they own, a channel in one, a
    /// DM they take part in). An import is the owner's own file, not a remote's word, so it
    /// never writes into someone else's mirror.
    pub async fn may_import_into(
        &self,
        owner: UserId,
        kind: BridgedKind,
        bridge: &BridgeRef,
    ) -> Result<bool> {
        let store = &self.inner.store;
        let Some(id) = self.find(kind, bridge).await? else { return Ok(true) };
        let server_id = match kind {
            BridgedKind::Server => ServerId::from_uuid(id),
            BridgedKind::Channel => {
                let Some(channel) = store.channel(ChannelId::from_uuid(id)).await? else { return Ok(true) };
                match channel.server_id {
                    Some(server_id) => server_id,
                    None => return Ok(store.dm_participants(channel.id).await?.contains(&owner)),
                }
            }
            _ => return Ok(false),
        };
        Ok(store.server(server_id).await?.is_some_and(|s| s.owner_id == owner))
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
        let mut remote = remote;
        remote.content = storable_text(&remote.content);
        if remote.content.chars().count() > max {
            return Err(Error::too_large(
                ErrorCode::MessageTooLong,
                format!("message is longer than {max} characters"),
            ));
        }
        let new = NewMessage {
            id: MessageId::at(remote.created_at),
            channel_id: remote.channel_id,
            author_id: remote.author_id,
            content: remote.content,
            reply_to: remote.reply_to,
            mention_everyone: remote.mention_everyone,
            nonce: None,
            attachment_ids: remote.attachment_ids,
            created_at: remote.created_at,
            edited_at: remote.edited_at,
            extras: remote.extras.clone(),
            bridge: Some(remote.bridge.clone()),
        };
        let outcome = self.inner.store.create_message(&new, remote.created_at).await;
        let message = match outcome {
            Ok(CreateMessageOutcome::Created(message) | CreateMessageOutcome::Duplicate(message)) => message,
            // Mirrored concurrently by another task: return that one.
            Err(StoreError::Conflict(Conflict::BridgeRef)) => {
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
        let content = storable_text(content);
        let content = content.as_str();
        let Some(id) = self.find(BridgedKind::Message, bridge).await? else { return Ok(None) };
        let id = MessageId::from_uuid(id);
        let mention_everyone = match self.inner.store.message(id, None).await? {
            Some(message) if message.deleted_at.is_none() && message.content != content => {
                message.mention_everyone
            }
            _ => return Ok(None),
        };
        // The remote network decided whether it notifies everyone; an edit keeps its word.
        let edited = self.inner.store.edit_message(id, content, mention_everyone, None, edited_at).await?;
        if let Some(edited) = &edited {
            self.publish(Topic::Channel(edited.channel_id), Event::MessageUpdate(edited.clone()));
        }
        Ok(edited)
    }

    /// Removes a mirrored message's reactions (all, or those with `emoji`), as when a moderator
    /// clears them remotely. Returns how many were removed.
    pub async fn mirror_reactions_clear(&self, message: &BridgeRef, emoji: Option<&str>) -> Result<usize> {
        let Some(id) = self.find(BridgedKind::Message, message).await? else { return Ok(0) };
        let message_id = MessageId::from_uuid(id);
        let store = &self.inner.store;
        let Some(stored) = store.message(message_id, None).await? else { return Ok(0) };
        let removed = store.clear_reactions(message_id, emoji).await?;
        let channel_id = stored.channel_id;
        for (user_id, emoji) in &removed {
            let event =
                Event::ReactionRemove { message_id, channel_id, user_id: *user_id, emoji: emoji.clone() };
            self.publish(Topic::Channel(channel_id), event);
        }
        Ok(removed.len())
    }

    /// Replaces what a mirrored message carries beside its text (embeds resolving, stickers):
    /// not an edit, so no history version. Unknown messages: `false`.
    pub async fn mirror_extras(&self, bridge: &BridgeRef, extras: Option<serde_json::Value>) -> Result<bool> {
        let Some(id) = self.find(BridgedKind::Message, bridge).await? else { return Ok(false) };
        let id = MessageId::from_uuid(id);
        let store = &self.inner.store;
        let Some(message) = store.message(id, None).await? else { return Ok(false) };
        if message.extras == extras || message.deleted_at.is_some() {
            return Ok(false);
        }
        store.set_message_extras(id, extras.as_ref()).await?;
        if let Some(updated) = store.message(id, None).await? {
            self.publish(Topic::Channel(updated.channel_id), Event::MessageUpdate(updated));
        }
        Ok(true)
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
        let server_id = self.inner.store.channel(message.channel_id).await?.and_then(|c| c.server_id);
        let now = self.now();
        let audit = server_id.map(|server_id| AuditEntry {
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
        let Some(deleted) = deleted else { return Ok(false) };
        self.publish_delete(message.channel_id, server_id, id, deleted.content).await?;
        Ok(true)
    }

    // ---- DMs and group DMs (mirror_dm) ----

    /// The DM channel mirroring a remote DM (`ChannelKind::Dm`) or group DM
    /// (`ChannelKind::GroupDm`, with its `name`), made on first sight and afterwards kept equal to
    /// the remote one: its name and its participants, who are `recipients` and always `owner`.
    /// Each participant's sessions see it appear (`DmChannelCreate` on their user topic) when it is
    /// made, and again, as an update, when its name or participants change (nothing when nothing
    /// changed). Returns it as the owner sees it.
    ///
    /// # Errors
    /// 400 `invalid_kind` for a kind other than `Dm`/`GroupDm`.
    pub async fn mirror_dm(
        &self,
        owner: UserId,
        bridge: &BridgeRef,
        kind: ChannelKind,
        name: Option<&str>,
        recipients: &[UserId],
    ) -> Result<crate::model::DmChannel> {
        if !matches!(kind, ChannelKind::Dm | ChannelKind::GroupDm) {
            return Err(Error::invalid(ErrorCode::InvalidKind, "kind must be dm or group_dm"));
        }
        let name = match kind {
            ChannelKind::GroupDm => {
                let name: String =
                    name.unwrap_or("").trim().chars().filter(|c| *c != '\0').take(100).collect();
                Some(name.trim().to_owned()).filter(|n| !n.is_empty())
            }
            _ => None,
        };
        let mut participants = vec![owner];
        for user in recipients {
            if !participants.contains(user) {
                participants.push(*user);
            }
        }
        // A remote DM with more than two people is a group DM whatever it says.
        let kind = if participants.len() > 2 { ChannelKind::GroupDm } else { kind };
        let dm = crate::store::MirroredDm {
            new_id: ChannelId::new(),
            bridge: bridge.clone(),
            kind,
            name,
            participants,
            at: self.now(),
        };
        let mut attempt = 0;
        let outcome = loop {
            match self.inner.store.mirror_dm(&dm).await {
                Ok(outcome) => break outcome,
                // Mirrored concurrently: the next call finds it.
                Err(StoreError::Conflict(Conflict::BridgeRef | Conflict::DmPair)) if attempt < 3 => {
                    attempt += 1
                }
                Err(other) => return Err(other.into()),
            }
        };
        let changed =
            outcome.created || outcome.renamed || !outcome.added.is_empty() || !outcome.removed.is_empty();
        if changed {
            // There is no DM update event: clients and sessions take a repeated create as one.
            for participant in self.inner.store.dm_participants(outcome.id).await? {
                let view = self.dm_channel(participant, outcome.id).await?;
                self.publish(Topic::User(participant), Event::DmChannelCreate(view));
            }
        }
        self.dm_channel(owner, outcome.id).await
    }

    /// Whether `user_id` is the bridge owner of a mirrored DM channel they take part in (the only
    /// participant who is not a puppet), who may read the history of everything mirrored there.
    pub(crate) async fn owns_mirrored_dm(&self, user_id: UserId, channel: &Channel) -> Result<bool> {
        if channel.kind != ChannelKind::Dm || channel.bridge.is_none() {
            return Ok(false);
        }
        if !self.inner.store.dm_participants(channel.id).await?.contains(&user_id) {
            return Ok(false);
        }
        Ok(self.inner.store.user(user_id).await?.is_some_and(|u| u.bridge.is_none()))
    }
}
