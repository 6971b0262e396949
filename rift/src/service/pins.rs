//! Pinned messages: pin, unpin, and a channel's pinned list (server channels and DMs).

use serde_json::json;

use crate::error::{Error, ErrorCode, Resource, Result};
use crate::event::{Event, Topic};
use crate::id::{AuditEntryId, ChannelId, MessageId, ServerId, UserId};
use crate::model::{AuditEntry, Message};
use crate::permissions::Permissions;
use crate::store::PinOutcome;

use super::{ChannelAccess, Rift};

/// The most live pinned messages a channel holds (Discord's limit too).
pub const MAX_PINS: u32 = 50;

impl ChannelAccess {
    /// Pinning needs MANAGE_MESSAGES in a server channel; in a DM every participant may pin.
    fn require_pin(&self) -> Result<()> {
        if self.server_id().is_none() { Ok(()) } else { self.require(Permissions::MANAGE_MESSAGES) }
    }
}

impl Rift {
    fn pin_audit(
        &self,
        server_id: Option<ServerId>,
        actor: Option<UserId>,
        action: &str,
        message: &Message,
        reason: Option<String>,
    ) -> Option<AuditEntry> {
        server_id.map(|server_id| AuditEntry {
            id: AuditEntryId::new(),
            server_id,
            actor_id: actor,
            action: action.to_owned(),
            target_id: Some(message.id.uuid()),
            changes: json!({ "channel_id": message.channel_id, "author_id": message.author.id }),
            reason,
            created_at: self.now(),
        })
    }

    /// Pins a live message of a channel (MANAGE_MESSAGES; any participant in a DM), logged as `message_pin`.
    /// Pinning a pinned message changes nothing.
    ///
    /// # Errors
    /// 404 unknown, deleted or invisible message; 403 without the permission; 400 `too_many_pins`
    /// when the channel has [`MAX_PINS`] pinned messages.
    pub async fn pin_message(
        &self,
        user_id: UserId,
        channel_id: ChannelId,
        message_id: MessageId,
    ) -> Result<Message> {
        let (message, access) = self.live_message_in(user_id, channel_id, message_id).await?;
        access.require(Permissions::READ_HISTORY)?;
        access.require_pin()?;
        self.apply_pin(access.server_id(), Some(user_id), &message, None).await
    }

    /// Stores a pin and announces it; shared by [`Rift::pin_message`] and the bridges' mirror.
    pub(crate) async fn apply_pin(
        &self,
        server_id: Option<ServerId>,
        actor: Option<UserId>,
        message: &Message,
        reason: Option<String>,
    ) -> Result<Message> {
        let audit = self.pin_audit(server_id, actor, "message_pin", message, reason);
        match self.inner.store.pin_message(message.id, actor, self.now(), MAX_PINS, audit.as_ref()).await? {
            PinOutcome::Pinned(pinned) => {
                let pinned = self.public_message(pinned);
                let mut broadcast = pinned.clone();
                for reaction in &mut broadcast.reactions {
                    reaction.me = false;
                }
                self.publish(Topic::Channel(pinned.channel_id), Event::MessagePin(broadcast));
                Ok(pinned)
            }
            PinOutcome::AlreadyPinned(pinned) => Ok(self.public_message(pinned)),
            PinOutcome::LimitReached => Err(Error::invalid(
                ErrorCode::TooManyPins,
                format!("a channel holds at most {MAX_PINS} pinned messages; unpin one first"),
            )),
            PinOutcome::Missing => Err(Error::NotFound(Resource::Message)),
        }
    }

    /// Unpins a message (same permission as pinning), logged as `message_unpin`. Unpinning a
    /// message that is not pinned changes nothing.
    ///
    /// # Errors
    /// 404 unknown, deleted or invisible message; 403 without the permission.
    pub async fn unpin_message(
        &self,
        user_id: UserId,
        channel_id: ChannelId,
        message_id: MessageId,
    ) -> Result<()> {
        let (message, access) = self.live_message_in(user_id, channel_id, message_id).await?;
        access.require(Permissions::READ_HISTORY)?;
        access.require_pin()?;
        self.apply_unpin(access.server_id(), Some(user_id), &message, None).await?;
        Ok(())
    }

    /// Removes a pin and announces it; `false` if it was not pinned.
    pub(crate) async fn apply_unpin(
        &self,
        server_id: Option<ServerId>,
        actor: Option<UserId>,
        message: &Message,
        reason: Option<String>,
    ) -> Result<bool> {
        let audit = self.pin_audit(server_id, actor, "message_unpin", message, reason);
        let unpinned = self.inner.store.unpin_message(message.id, audit.as_ref()).await?;
        if unpinned {
            let channel_id = message.channel_id;
            self.publish(
                Topic::Channel(channel_id),
                Event::MessageUnpin { message_id: message.id, channel_id },
            );
        }
        Ok(unpinned)
    }

    /// A channel's pinned messages, newest pin first (READ_HISTORY).
    ///
    /// # Errors
    /// 404 invisible channel; 403 without READ_HISTORY.
    pub async fn pinned_messages(&self, user_id: UserId, channel_id: ChannelId) -> Result<Vec<Message>> {
        let access = self.channel_access(user_id, channel_id).await?;
        access.require(Permissions::READ_HISTORY)?;
        let pinned = self.inner.store.pinned_messages(channel_id, Some(user_id)).await?;
        Ok(pinned.into_iter().map(|m| self.public_message(m)).collect())
    }

    /// Makes a mirrored channel's pins those of the remote network (`pinned`: the Rift ids of the
    /// remote's pinned messages, as the bridge resolved them): pins what is missing and unpins what
    /// the remote no longer pins, audited with no actor and the bridge's source as reason. Replaying
    /// the same list changes nothing, so a pin the relay sent and the remote echoes back is a no-op.
    /// Returns how many pins were added and removed.
    ///
    /// # Errors
    /// A store failure. An unknown channel or message is skipped (the remote is the authority;
    /// a message not mirrored yet is pinned when a later update lists it again).
    pub async fn mirror_pins(
        &self,
        channel: &crate::model::BridgeRef,
        pinned: &[MessageId],
    ) -> Result<(usize, usize)> {
        let Some(channel_id) = self.find_mirrored_channel(channel).await? else { return Ok((0, 0)) };
        let server_id = self.inner.store.channel(channel_id).await?.and_then(|c| c.server_id);
        let current = self.inner.store.pinned_messages(channel_id, None).await?;
        let reason = Some(channel.source.clone());
        let (mut added, mut removed) = (0, 0);
        for message in current.iter().filter(|m| !pinned.contains(&m.id)) {
            if self.apply_unpin(server_id, None, message, reason.clone()).await? {
                removed += 1;
            }
        }
        for id in pinned.iter().filter(|id| !current.iter().any(|m| m.id == **id)) {
            let Some(message) = self.inner.store.message(*id, None).await? else { continue };
            if message.channel_id != channel_id || message.deleted_at.is_some() {
                continue;
            }
            match self.apply_pin(server_id, None, &message, reason.clone()).await {
                Ok(_) => added += 1,
                // More than the channel holds: the oldest remote pins beyond it stay unpinned here.
                Err(Error::Invalid { .. }) => {}
                Err(other) => return Err(other),
            }
        }
        Ok((added, removed))
    }

    /// A live message of `channel_id` and the caller's access to it; 404 if any is missing,
    /// invisible, or the message is in another channel.
    async fn live_message_in(
        &self,
        user_id: UserId,
        channel_id: ChannelId,
        message_id: MessageId,
    ) -> Result<(Message, ChannelAccess)> {
        let (message, access) = self.message_with_access(user_id, message_id).await?;
        if message.deleted_at.is_some() || message.channel_id != channel_id {
            return Err(Error::NotFound(Resource::Message));
        }
        Ok((message, access))
    }
}
