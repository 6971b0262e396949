//! Channels and their permission overwrites.

use serde::Deserialize;
use serde_json::json;
use std::collections::HashMap;

use uuid::Uuid;

use crate::error::{Error, ErrorCode, Resource, Result};
use crate::event::{Event, Topic};
use crate::id::{ChannelId, MessageId, RoleId, ServerId, UserId};
use crate::model::{Channel, ChannelKind, OverwriteKind, PermissionOverwrite};
use crate::permissions::Permissions;
use crate::store::ChannelPatch;

use super::{Rift, ServerAccess, check_name};

/// `POST /api/servers/:id/channels`.
#[derive(Debug, Clone, Deserialize)]
#[non_exhaustive]
pub struct ChannelInput {
    /// 1–100 characters.
    pub name: String,
    /// `text` (default), `voice` or `category`.
    #[serde(default = "text_kind")]
    pub kind: ChannelKind,
    /// Topic line (up to 1024 characters).
    #[serde(default)]
    pub topic: Option<String>,
    /// A category of the same server.
    #[serde(default)]
    pub parent_id: Option<ChannelId>,
    /// Sort order.
    #[serde(default)]
    pub position: Option<i32>,
}

fn text_kind() -> ChannelKind {
    ChannelKind::Text
}

impl ChannelInput {
    /// A text channel called `name`.
    pub fn text(name: impl Into<String>) -> Self {
        Self { name: name.into(), kind: ChannelKind::Text, topic: None, parent_id: None, position: None }
    }
}

/// `PATCH /api/channels/:id`.
#[derive(Debug, Clone, Default, Deserialize)]
#[non_exhaustive]
pub struct ChannelUpdate {
    /// New name.
    #[serde(default)]
    pub name: Option<String>,
    /// New topic (`null` clears it).
    #[serde(default, deserialize_with = "super::double_option")]
    pub topic: Option<Option<String>>,
    /// New position.
    #[serde(default)]
    pub position: Option<i32>,
    /// New category (`null` takes it out).
    #[serde(default, deserialize_with = "super::double_option")]
    pub parent_id: Option<Option<ChannelId>>,
}

/// `PUT /api/channels/:id/permissions/:target_id`.
#[derive(Debug, Clone, Deserialize)]
#[non_exhaustive]
pub struct OverwriteInput {
    /// Whether the target is a role or a member.
    pub kind: OverwriteKind,
    /// Bits to grant.
    #[serde(default)]
    pub allow: Permissions,
    /// Bits to take away.
    #[serde(default)]
    pub deny: Permissions,
}

impl OverwriteInput {
    /// An overwrite of `kind` with these bits.
    pub fn new(kind: OverwriteKind, allow: Permissions, deny: Permissions) -> Self {
        Self { kind, allow, deny }
    }
}

fn check_topic(topic: Option<&str>) -> Result<Option<String>> {
    match topic {
        Some(topic) if topic.chars().count() > 1024 => {
            Err(Error::invalid(ErrorCode::InvalidTopic, "topic must be at most 1024 characters"))
        }
        Some(topic) => {
            super::check_text("topic", ErrorCode::InvalidTopic, topic)?;
            Ok(Some(topic.to_owned()))
        }
        None => Ok(None),
    }
}

impl Rift {
    /// Checks that `parent` is a category of `server_id`.
    async fn check_parent(&self, server_id: ServerId, parent: ChannelId) -> Result<()> {
        match self.inner.store.channel(parent).await? {
            Some(p) if p.server_id == Some(server_id) && p.kind == ChannelKind::Category => Ok(()),
            _ => Err(Error::invalid(
                ErrorCode::InvalidParent,
                "parent_id must be a category of the same server",
            )),
        }
    }

    /// Creates a channel (MANAGE_CHANNELS).
    ///
    /// # Errors
    /// 400 `invalid_name`, `invalid_kind` (dm), `invalid_parent`, `invalid_topic`.
    pub async fn create_channel(
        &self,
        user_id: UserId,
        server_id: ServerId,
        input: ChannelInput,
    ) -> Result<Channel> {
        let access = self.server_access(user_id, server_id).await?;
        access.require(Permissions::MANAGE_CHANNELS)?;
        let name = check_name("channel name", ErrorCode::InvalidName, &input.name, 100)?;
        if matches!(input.kind, ChannelKind::Dm | ChannelKind::GroupDm) {
            return Err(Error::invalid(ErrorCode::InvalidKind, "kind must be text, voice or category"));
        }
        if let Some(parent) = input.parent_id {
            if input.kind == ChannelKind::Category {
                return Err(Error::invalid(ErrorCode::InvalidParent, "a category cannot have a parent"));
            }
            self.check_parent(server_id, parent).await?;
        }
        let mut channel = Channel::new(ChannelId::new(), server_id, name, input.kind);
        channel.topic = check_topic(input.topic.as_deref())?;
        channel.parent_id = input.parent_id;
        channel.position = match input.position {
            Some(position) => position,
            None => i32::try_from(self.inner.store.channels(server_id).await?.len()).unwrap_or(i32::MAX),
        };
        let _forget = self.forget_on_drop(server_id);
        let channel = self.inner.store.create_channel(&channel).await?;
        let changes = json!({ "name": channel.name, "kind": channel.kind });
        self.audit(server_id, Some(user_id), "channel_create", Some(channel.id.uuid()), changes, None)
            .await?;
        self.publish(Topic::Server(server_id), Event::ChannelCreate(channel.clone()));
        Ok(channel)
    }

    /// The channels of a server the caller can view.
    pub async fn channels(&self, user_id: UserId, server_id: ServerId) -> Result<Vec<Channel>> {
        let access = self.server_access(user_id, server_id).await?;
        Ok(access
            .channels()
            .iter()
            .filter(|channel| access.in_channel(channel).contains(Permissions::VIEW_CHANNELS))
            .cloned()
            .collect())
    }

    /// One channel the caller can view (server channels; DMs are [`Rift::dm_channel`]).
    pub async fn channel(&self, user_id: UserId, channel_id: ChannelId) -> Result<Channel> {
        Ok(self.channel_access(user_id, channel_id).await?.channel)
    }

    /// Loads a server channel with MANAGE_CHANNELS-like permission `needed` in it.
    async fn managed_channel(
        &self,
        user_id: UserId,
        channel_id: ChannelId,
        needed: Permissions,
    ) -> Result<(Channel, ServerAccess)> {
        let access = self.channel_access(user_id, channel_id).await?;
        let Some(server) = access.server else {
            return Err(Error::invalid(ErrorCode::WrongChannelKind, "DM channels cannot be managed"));
        };
        if !access.permissions.contains(needed) {
            return Err(Error::missing_permissions());
        }
        Ok((access.channel, server))
    }

    /// Renames, re-topics, moves or re-parents a channel (MANAGE_CHANNELS in it).
    pub async fn update_channel(
        &self,
        user_id: UserId,
        channel_id: ChannelId,
        update: ChannelUpdate,
    ) -> Result<Channel> {
        let (channel, server) =
            self.managed_channel(user_id, channel_id, Permissions::MANAGE_CHANNELS).await?;
        let server_id = server.server().id;
        let name = update
            .name
            .as_deref()
            .map(|n| check_name("channel name", ErrorCode::InvalidName, n, 100))
            .transpose()?;
        let topic = match &update.topic {
            Some(topic) => Some(check_topic(topic.as_deref())?),
            None => None,
        };
        if let Some(Some(parent)) = update.parent_id {
            if channel.kind == ChannelKind::Category || parent == channel_id {
                return Err(Error::invalid(ErrorCode::InvalidParent, "a category cannot have a parent"));
            }
            self.check_parent(server_id, parent).await?;
        }
        let patch = ChannelPatch { name, topic, position: update.position, parent_id: update.parent_id };
        let _forget = self.forget_on_drop(server_id);
        let updated = self
            .inner
            .store
            .update_channel(channel_id, &patch)
            .await?
            .ok_or(Error::NotFound(Resource::Channel))?;
        let changes = json!({
            "name": patch.name, "topic": patch.topic, "position": patch.position, "parent_id": patch.parent_id,
        });
        self.audit(server_id, Some(user_id), "channel_update", Some(channel_id.uuid()), changes, None)
            .await?;
        self.publish(Topic::Server(server_id), Event::ChannelUpdate(updated.clone()));
        Ok(updated)
    }

    /// Deletes a channel and its messages (MANAGE_CHANNELS in it).
    pub async fn delete_channel(&self, user_id: UserId, channel_id: ChannelId) -> Result<()> {
        let (channel, server) =
            self.managed_channel(user_id, channel_id, Permissions::MANAGE_CHANNELS).await?;
        let server_id = server.server().id;
        let _forget = self.forget_on_drop(server_id);
        self.inner.store.delete_channel(channel_id).await?;
        let changes = json!({ "name": channel.name });
        self.audit(server_id, Some(user_id), "channel_delete", Some(channel_id.uuid()), changes, None)
            .await?;
        self.publish(Topic::Server(server_id), Event::ChannelDelete { id: channel_id, server_id });
        Ok(())
    }

    /// Sets the overwrite for a role or member in a channel (MANAGE_ROLES in it; no escalation).
    ///
    /// # Errors
    /// 404 `unknown_role` / `unknown_member` for a target not of this server.
    pub async fn put_overwrite(
        &self,
        user_id: UserId,
        channel_id: ChannelId,
        target_id: Uuid,
        input: OverwriteInput,
    ) -> Result<Channel> {
        let (_, server) = self.managed_channel(user_id, channel_id, Permissions::MANAGE_ROLES).await?;
        let server_id = server.server().id;
        match input.kind {
            OverwriteKind::Role => {
                let role = server.roles().iter().find(|r| r.id == RoleId::from_uuid(target_id));
                let Some(role) = role else { return Err(Error::NotFound(Resource::Role)) };
                if !role.is_everyone() && !server.rank().outranks(server.role_rank(role)) {
                    return Err(Error::forbidden(
                        ErrorCode::RoleHierarchy,
                        "that role is not below your highest role",
                    ));
                }
            }
            OverwriteKind::Member => {
                if self.inner.store.member(server_id, UserId::from_uuid(target_id)).await?.is_none() {
                    return Err(Error::NotFound(Resource::Member));
                }
            }
        }
        let channel =
            self.inner.store.channel(channel_id).await?.ok_or(Error::NotFound(Resource::Channel))?;
        server.check_grant(input.allow | input.deny, server.in_channel(&channel))?;
        let overwrite = PermissionOverwrite {
            id: target_id,
            kind: input.kind,
            allow: input.allow & Permissions::ALL,
            deny: input.deny & Permissions::ALL,
        };
        let _forget = self.forget_on_drop(server_id);
        self.inner.store.put_overwrite(channel_id, &overwrite).await?;
        self.overwrite_changed(user_id, server_id, channel_id, json!({ "target_id": target_id, "kind": input.kind, "allow": overwrite.allow, "deny": overwrite.deny })).await
    }

    /// Removes an overwrite (MANAGE_ROLES in the channel).
    pub async fn delete_overwrite(
        &self,
        user_id: UserId,
        channel_id: ChannelId,
        target_id: Uuid,
    ) -> Result<Channel> {
        let (_, server) = self.managed_channel(user_id, channel_id, Permissions::MANAGE_ROLES).await?;
        let server_id = server.server().id;
        let _forget = self.forget_on_drop(server_id);
        if !self.inner.store.delete_overwrite(channel_id, target_id).await? {
            return Err(Error::NotFound(Resource::Overwrite));
        }
        self.overwrite_changed(
            user_id,
            server_id,
            channel_id,
            json!({ "target_id": target_id, "deleted": true }),
        )
        .await
    }

    async fn overwrite_changed(
        &self,
        user_id: UserId,
        server_id: ServerId,
        channel_id: ChannelId,
        changes: serde_json::Value,
    ) -> Result<Channel> {
        let channel =
            self.inner.store.channel(channel_id).await?.ok_or(Error::NotFound(Resource::Channel))?;
        self.audit(server_id, Some(user_id), "overwrite_update", Some(channel_id.uuid()), changes, None)
            .await?;
        self.publish(Topic::Server(server_id), Event::ChannelUpdate(channel.clone()));
        Ok(channel)
    }

    /// Unread messages that mention `user_id` per channel (`channel_ids` and `dm_ids` must be
    /// visible to them): in DMs every message from the other side counts.
    pub(crate) async fn unread_mention_counts(
        &self,
        user_id: UserId,
        mut channel_ids: Vec<ChannelId>,
        dm_ids: &[ChannelId],
    ) -> Result<HashMap<ChannelId, u32>> {
        channel_ids.extend_from_slice(dm_ids);
        // LIKE and the stored flag narrow the rows; `mentions` decides.
        let patterns = [format!("%<@{user_id}>%")];
        let candidates = self
            .inner
            .store
            .unread_mention_candidates(user_id, &channel_ids, &patterns, dm_ids, super::servers::MENTION_SCAN)
            .await?;
        let mut counts = HashMap::new();
        for candidate in candidates {
            if dm_ids.contains(&candidate.channel_id)
                || mentions(&candidate.content, candidate.mention_everyone, user_id)
            {
                *counts.entry(candidate.channel_id).or_insert(0) += 1;
            }
        }
        Ok(counts)
    }

    /// Marks a channel read up to `message_id` (a message of that channel).
    pub async fn ack(&self, user_id: UserId, channel_id: ChannelId, message_id: MessageId) -> Result<()> {
        self.channel_access(user_id, channel_id).await?;
        match self.inner.store.message(message_id, None).await? {
            Some(message) if message.channel_id == channel_id => {}
            _ => return Err(Error::NotFound(Resource::Message)),
        }
        self.inner.store.ack(user_id, channel_id, message_id).await?;
        // The user's other sessions (another tab, the phone) mark it read too.
        self.publish(
            Topic::User(user_id),
            Event::ReadStateUpdate { channel_id, last_read_message_id: message_id },
        );
        Ok(())
    }
}

/// Whether a message mentions `user_id`: `<@id>` in its text, or its stored `mention_everyone`
/// flag (set at send time only when the author could mention everyone). The web client applies
/// the same rule to live messages (`readstate.svelte.ts`, `mentions`).
pub(crate) fn mentions(content: &str, mention_everyone: bool, user_id: UserId) -> bool {
    mention_everyone || content.contains(&format!("<@{user_id}>"))
}

/// Whether a text says `@everyone` or `@here` as a word of its own (at the start or after
/// whitespace, not followed by a letter, digit or `_`).
pub(crate) fn names_everyone(content: &str) -> bool {
    ["@everyone", "@here"].iter().any(|word| {
        content.match_indices(word).any(|(at, _)| {
            let starts_word = content[..at].chars().next_back().is_none_or(char::is_whitespace);
            let ends_word = !content[at + word.len()..]
                .chars()
                .next()
                .is_some_and(|c| c.is_ascii_alphanumeric() || c == '_');
            starts_word && ends_word
        })
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn mentions_are_the_user_or_the_stored_everyone_flag() {
        let me = UserId::new();
        assert!(mentions(&format!("hi <@{me}>!"), false, me));
        assert!(!mentions(&format!("hi <@{}>", UserId::new()), false, me));
        assert!(!mentions("@everyone look", false, me), "the text alone is not enough");
        assert!(mentions("@everyone look", true, me));
    }

    #[test]
    fn everyone_and_here_count_only_as_words() {
        assert!(names_everyone("@everyone look"));
        assert!(names_everyone("look\n@here."));
        assert!(!names_everyone("mail@everyone.example"));
        assert!(!names_everyone("@everyoneelse"));
        assert!(!names_everyone("@Everyone"));
        assert!(!names_everyone("nobody"));
    }
}
