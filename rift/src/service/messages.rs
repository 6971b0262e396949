//! Messages (server channels and DMs alike), their history, and reactions.

use serde::Deserialize;
use serde_json::json;

use crate::StoreError;
use crate::error::{Error, ErrorCode, Resource, Result};
use crate::event::{Event, Topic};
use crate::id::{AuditEntryId, ChannelId, MessageId, UploadId, UserId};
use crate::model::{AuditEntry, Message, MessageHistoryEntry};
use crate::permissions::Permissions;
use crate::store::{CreateMessageOutcome, MessagePage, NewMessage};

use super::history::Past;
use super::{ChannelAccess, Rift};

/// `POST /api/channels/:id/messages` and the gateway's `SendMessage`.
#[derive(Debug, Clone, Default, Deserialize)]
#[non_exhaustive]
pub struct SendMessage {
    /// Text, up to `max_message_chars`.
    #[serde(default)]
    pub content: String,
    /// Uploads of the sender's to attach.
    #[serde(default)]
    pub attachment_ids: Vec<UploadId>,
    /// A live message of the same channel.
    #[serde(default)]
    pub reply_to: Option<MessageId>,
    /// Up to 64 characters (an integer is taken as its decimal string); repeats return the original.
    #[serde(default, deserialize_with = "nonce")]
    pub nonce: Option<String>,
}

impl SendMessage {
    /// A text message.
    pub fn text(content: impl Into<String>) -> Self {
        Self { content: content.into(), ..Self::default() }
    }
}

/// Accepts a nonce given as a string or an integer.
fn nonce<'de, D: serde::Deserializer<'de>>(d: D) -> std::result::Result<Option<String>, D::Error> {
    #[derive(Deserialize)]
    #[serde(untagged)]
    enum Nonce {
        Text(String),
        Signed(i64),
        Unsigned(u64),
    }
    Ok(Option::<Nonce>::deserialize(d)?.map(|n| match n {
        Nonce::Text(s) => s,
        Nonce::Signed(i) => i.to_string(),
        Nonce::Unsigned(u) => u.to_string(),
    }))
}

/// `GET /api/channels/:id/messages` parameters.
#[derive(Debug, Clone, Copy, Default, Deserialize)]
#[non_exhaustive]
pub struct MessageQuery {
    /// Only older than this message.
    #[serde(default)]
    pub before: Option<MessageId>,
    /// Only newer than this message.
    #[serde(default)]
    pub after: Option<MessageId>,
    /// 1–100, default 50.
    #[serde(default)]
    pub limit: Option<u32>,
}

/// A sent message and whether it is new (`false`: a repeated nonce returned the original).
#[derive(Debug, Clone)]
pub struct Sent {
    /// The message, with the nonce.
    pub message: Message,
    /// Whether this call stored it.
    pub created: bool,
}

/// Whether a message with `content`, written by someone with `permissions` in its channel,
/// notifies everyone. Discord's rule: `@everyone`/`@here` count only when the author may mention
/// everyone there. Decided when the message is sent and again when it is edited (as Discord
/// does), never later, so permission changes do not rewrite past messages.
fn notifies_everyone(content: &str, permissions: Permissions) -> bool {
    super::channels::names_everyone(content) && permissions.contains(Permissions::MENTION_EVERYONE)
}

/// Reaction emoji: a unicode emoji (no spaces or control characters) or `name:id`, at most 64 chars.
fn check_emoji(emoji: &str) -> Result<()> {
    let ok = !emoji.is_empty()
        && emoji.chars().count() <= 64
        && !emoji.chars().any(|c| c.is_whitespace() || c.is_control() || c == '/');
    if ok {
        Ok(())
    } else {
        Err(Error::invalid(ErrorCode::InvalidEmoji, "emoji must be a unicode emoji or name:id"))
    }
}

impl Rift {
    fn check_content(&self, content: &str, has_attachments: bool) -> Result<()> {
        super::check_text("content", ErrorCode::InvalidContent, content)?;
        let max = self.inner.config.max_message_chars;
        if content.chars().count() > max {
            return Err(Error::too_large(
                ErrorCode::MessageTooLong,
                format!("message is longer than {max} characters"),
            ));
        }
        if content.trim().is_empty() && !has_attachments {
            return Err(Error::invalid(ErrorCode::EmptyMessage, "message is empty"));
        }
        Ok(())
    }

    /// Sends a message to a server channel or DM channel. Acknowledged (returned) only once stored.
    ///
    /// # Errors
    /// 404 invisible channel; 403 without SEND_MESSAGES (or ATTACH_FILES with attachments);
    /// 400 `wrong_channel_kind`, `empty_message`, `invalid_nonce`, `invalid_reply`, `unknown_attachment`;
    /// 413 `message_too_long`; 429 over 10 messages/s.
    pub async fn send_message(
        &self,
        user_id: UserId,
        channel_id: ChannelId,
        input: SendMessage,
    ) -> Result<Sent> {
        let access = self.channel_access(user_id, channel_id).await?;
        if !access.channel.kind.takes_messages() {
            return Err(Error::invalid(ErrorCode::WrongChannelKind, "this channel takes no messages"));
        }
        access.require(Permissions::SEND_MESSAGES)?;
        if !input.attachment_ids.is_empty() {
            access.require(Permissions::ATTACH_FILES)?;
        }
        self.check_content(&input.content, !input.attachment_ids.is_empty())?;
        if input.attachment_ids.len() > 10 {
            return Err(Error::invalid(ErrorCode::TooManyAttachments, "at most 10 attachments per message"));
        }
        if let Some(nonce) = &input.nonce {
            if nonce.chars().count() > 64 {
                return Err(Error::invalid(ErrorCode::InvalidNonce, "nonce must be at most 64 characters"));
            }
            super::check_text("nonce", ErrorCode::InvalidNonce, nonce)?;
        }
        if let Some(reply_to) = input.reply_to {
            match self.inner.store.message(reply_to, None).await? {
                Some(target) if target.channel_id == channel_id && target.deleted_at.is_none() => {}
                _ => {
                    return Err(Error::invalid(
                        ErrorCode::InvalidReply,
                        "reply_to must be a live message of this channel",
                    ));
                }
            }
        }
        if self.inner.config.rate_limits
            && let Err(wait) = self.inner.message_limiter.check(&user_id)
        {
            return Err(Error::RateLimited { retry_after_secs: crate::ratelimit::retry_after_secs(wait) });
        }
        let mention_everyone = notifies_everyone(&input.content, access.permissions);
        let now = self.now();
        let new = NewMessage {
            id: MessageId::new(),
            channel_id,
            author_id: user_id,
            content: input.content,
            reply_to: input.reply_to,
            mention_everyone,
            nonce: input.nonce,
            attachment_ids: input.attachment_ids,
            created_at: now,
            edited_at: None,
            extras: None,
            bridge: None,
        };
        let window = chrono::Duration::from_std(self.inner.config.nonce_window)
            .unwrap_or(chrono::Duration::minutes(5));
        let outcome = self.inner.store.create_message(&new, now - window).await.map_err(|e| match e {
            StoreError::Missing("upload") => Error::invalid(
                ErrorCode::UnknownAttachment,
                "an attachment is unknown, not yours, or already attached",
            ),
            other => other.into(),
        })?;
        let (mut message, created) = match outcome {
            CreateMessageOutcome::Created(message) => (message, true),
            CreateMessageOutcome::Duplicate(message) => (message, false),
        };
        message.nonce = new.nonce;
        message.author = self.public_view(message.author);
        if created {
            self.publish(Topic::Channel(channel_id), Event::MessageCreate(message.clone()));
        }
        Ok(Sent { message, created })
    }

    /// A page of a channel's messages, newest first (READ_HISTORY, else 403).
    pub async fn messages(
        &self,
        user_id: UserId,
        channel_id: ChannelId,
        query: MessageQuery,
    ) -> Result<Vec<Message>> {
        let access = self.channel_access(user_id, channel_id).await?;
        access.require(Permissions::READ_HISTORY)?;
        let limit = super::check_limit(query.limit, 50, 100)?;
        let page = MessagePage { before: query.before, after: query.after, limit };
        let messages = self.inner.store.messages(channel_id, page, Some(user_id)).await?;
        Ok(messages.into_iter().map(|m| self.public_message(m)).collect())
    }

    pub(crate) fn public_message(&self, mut message: Message) -> Message {
        message.author = self.public_view(message.author);
        message.nonce = None;
        message
    }

    /// Loads a message with the caller's access to its channel; 404 if either is invisible.
    pub(crate) async fn message_with_access(
        &self,
        user_id: UserId,
        message_id: MessageId,
    ) -> Result<(Message, ChannelAccess)> {
        let message = self
            .inner
            .store
            .message(message_id, Some(user_id))
            .await?
            .ok_or(Error::NotFound(Resource::Message))?;
        let access = match self.channel_access(user_id, message.channel_id).await {
            Err(Error::NotFound(_)) => return Err(Error::NotFound(Resource::Message)),
            other => other?,
        };
        Ok((message, access))
    }

    /// One live message (READ_HISTORY).
    pub async fn message(&self, user_id: UserId, message_id: MessageId) -> Result<Message> {
        let (message, access) = self.message_with_access(user_id, message_id).await?;
        if message.deleted_at.is_some() {
            return Err(Error::NotFound(Resource::Message));
        }
        access.require(Permissions::READ_HISTORY)?;
        Ok(self.public_message(message))
    }

    /// Edits the caller's own live message; the old content goes to its history. Whether it
    /// notifies everyone is decided again for the new text, as at send.
    pub async fn edit_message(
        &self,
        user_id: UserId,
        message_id: MessageId,
        content: &str,
    ) -> Result<Message> {
        let (message, access) = self.message_with_access(user_id, message_id).await?;
        if message.deleted_at.is_some() {
            return Err(Error::NotFound(Resource::Message));
        }
        if message.author.id != user_id {
            return Err(Error::forbidden(ErrorCode::NotAuthor, "only the author can edit a message"));
        }
        self.check_content(content, !message.attachments.is_empty())?;
        let mention_everyone = notifies_everyone(content, access.permissions);
        let edited = self
            .inner
            .store
            .edit_message(message_id, content, mention_everyone, Some(user_id), self.now())
            .await?
            .ok_or(Error::NotFound(Resource::Message))?;
        let edited = self.public_message(edited);
        // The answer is the editor's view; the event goes to everyone, so it claims no one's
        // reactions as `me`.
        let mut broadcast = edited.clone();
        for reaction in &mut broadcast.reactions {
            reaction.me = false;
        }
        self.publish(Topic::Channel(edited.channel_id), Event::MessageUpdate(broadcast));
        Ok(edited)
    }

    /// Deletes a message: its author, or a MANAGE_MESSAGES holder (then logged as `message_delete`).
    pub async fn delete_message(&self, user_id: UserId, message_id: MessageId) -> Result<()> {
        let (message, access) = self.message_with_access(user_id, message_id).await?;
        if message.deleted_at.is_some() {
            return Err(Error::NotFound(Resource::Message));
        }
        let is_author = message.author.id == user_id;
        if !is_author {
            access.require(Permissions::MANAGE_MESSAGES)?;
        }
        let now = self.now();
        let audit = match access.server_id() {
            Some(server_id) if !is_author => Some(AuditEntry {
                id: AuditEntryId::new(),
                server_id,
                actor_id: Some(user_id),
                action: "message_delete".to_owned(),
                target_id: Some(message_id.uuid()),
                changes: json!({ "channel_id": message.channel_id, "author_id": message.author.id }),
                reason: None,
                created_at: now,
            }),
            _ => None,
        };
        self.inner
            .store
            .delete_message(message_id, Some(user_id), now, audit.as_ref())
            .await?
            .ok_or(Error::NotFound(Resource::Message))?;
        self.publish_delete(message.channel_id, access.server_id(), message_id, message.content).await
    }

    /// A message's edit/delete trail, as the server's history settings allow: edits of a live
    /// message (default: whoever can read it) and a deleted message's trail (default: MANAGE_MESSAGES
    /// holders). Its author, and the bridge owner in a mirrored DM, always see it.
    ///
    /// # Errors
    /// 404 for a deleted message the caller may not see; 403 `history_hidden` for a live one's
    /// hidden edits; 403 without READ_HISTORY.
    pub async fn message_history(
        &self,
        user_id: UserId,
        message_id: MessageId,
    ) -> Result<Vec<MessageHistoryEntry>> {
        let (message, access) = self.message_with_access(user_id, message_id).await?;
        if message.deleted_at.is_some() {
            if !self.may_see_past(user_id, &access, message.author.id, Past::Deletes).await? {
                return Err(Error::NotFound(Resource::Message));
            }
        } else {
            access.require(Permissions::READ_HISTORY)?;
            if !self.may_see_past(user_id, &access, message.author.id, Past::Edits).await? {
                return Err(Error::forbidden(
                    ErrorCode::HistoryHidden,
                    "this server hides earlier versions of messages",
                ));
            }
        }
        Ok(self.inner.store.message_history(message_id).await?)
    }

    /// Loads a live message the caller may react to (VIEW_CHANNELS and READ_HISTORY).
    async fn reactable(
        &self,
        user_id: UserId,
        message_id: MessageId,
        emoji: &str,
    ) -> Result<(Message, ChannelAccess)> {
        check_emoji(emoji)?;
        let (message, access) = self.message_with_access(user_id, message_id).await?;
        if message.deleted_at.is_some() {
            return Err(Error::NotFound(Resource::Message));
        }
        access.require(Permissions::READ_HISTORY)?;
        Ok((message, access))
    }

    /// Adds the caller's reaction (idempotent).
    pub async fn add_reaction(&self, user_id: UserId, message_id: MessageId, emoji: &str) -> Result<()> {
        let (message, _) = self.reactable(user_id, message_id, emoji).await?;
        if self.inner.store.add_reaction(message_id, user_id, emoji, self.now()).await? {
            let channel_id = message.channel_id;
            let event = Event::ReactionAdd { message_id, channel_id, user_id, emoji: emoji.to_owned() };
            self.publish(Topic::Channel(channel_id), event);
        }
        Ok(())
    }

    /// Removes a reaction: the caller's own (`target` `None` or themselves), or another user's with
    /// MANAGE_MESSAGES. Idempotent.
    pub async fn remove_reaction(
        &self,
        user_id: UserId,
        message_id: MessageId,
        emoji: &str,
        target: Option<UserId>,
    ) -> Result<()> {
        let (message, access) = self.reactable(user_id, message_id, emoji).await?;
        let target = target.unwrap_or(user_id);
        if target != user_id {
            access.require(Permissions::MANAGE_MESSAGES)?;
        }
        if self.inner.store.remove_reaction(message_id, target, emoji).await? {
            let channel_id = message.channel_id;
            let event =
                Event::ReactionRemove { message_id, channel_id, user_id: target, emoji: emoji.to_owned() };
            self.publish(Topic::Channel(channel_id), event);
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn nonce_accepts_strings_and_integers() {
        let m: SendMessage = serde_json::from_str(r#"{"content":"hi","nonce":12345678901234}"#).unwrap();
        assert_eq!(m.nonce.as_deref(), Some("12345678901234"));
        let m: SendMessage = serde_json::from_str(r#"{"content":"hi","nonce":"abc"}"#).unwrap();
        assert_eq!(m.nonce.as_deref(), Some("abc"));
        assert!(serde_json::from_str::<SendMessage>(r#"{"content":"hi","nonce":1.5}"#).is_err());
    }

    #[test]
    fn everyone_notifies_only_with_the_permission() {
        let may = Permissions::MENTION_EVERYONE;
        assert!(notifies_everyone("@everyone look", may));
        assert!(notifies_everyone("look @here", may));
        assert!(!notifies_everyone("@everyone look", Permissions::SEND_MESSAGES));
        assert!(!notifies_everyone("mail@everyone.example", may));
    }

    #[test]
    fn emoji_rule() {
        for ok in ["👍", "🏳️‍🌈", "party:1234", "a"] {
            assert!(check_emoji(ok).is_ok(), "{ok}");
        }
        for bad in ["", " ", "a b", "x/y", "\u{0}", &"x".repeat(65)] {
            assert!(check_emoji(bad).is_err(), "{bad:?}");
        }
    }
}
