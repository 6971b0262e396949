//! Rift → Discord (mode `relay`; `archive` never writes to Discord): what the bridge owner sends,
//! edits, deletes or reacts with in a mirrored channel goes to Discord, and so do pins and unpins
//! made in Rift ([`super::pins`]).
//!
//! A message longer than Discord's 2,000 code points is split ([`super::split`]); each part is
//! sent with its own nonce and `enforce_nonce`, and a retry reuses it, so Discord creates each part
//! once. The parts are remembered (per connection, in its cursor store: `parts:<rift id>`,
//! `part:<discord id>`, `nonce:<nonce>`) so that an edit patches only the parts whose text
//! changed and a delete removes them all, and so that their echoes — a MESSAGE_CREATE with our
//! nonce, possibly before the POST answers; updates and deletes of our parts; our parts met again
//! in history after a restart — are recognised and never stored as new messages.

use std::time::Duration;

use rift::bridge::BridgeContext;
use rift::event::{Envelope, Event};
use rift::model::{HistoryAction, Message as RiftMessage};
use rift::{MessageId, UserId};
use serde::{Deserialize, Serialize};

use super::split::split_message;
use crate::Error;
use crate::model::{Message, Snowflake};
use crate::rest::{Client, CreateMessage, FileUpload};

/// Discord's longest message, in code points.
const DISCORD_MAX: usize = 2000;
/// Attempts per Discord write beyond the REST client's own retries (same nonce each time).
const ATTEMPTS: u32 = 4;

/// One part of a relayed message on Discord.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
struct Part {
    id: Snowflake,
    nonce: String,
    content: String,
}

fn parts_key(message: MessageId) -> String {
    format!("parts:{message}")
}

fn part_key(remote: Snowflake) -> String {
    format!("part:{remote}")
}

fn nonce_key(nonce: &str) -> String {
    format!("nonce:{nonce}")
}

/// The nonce of part `index` of a Rift message: at most 25 characters, unique per message part
/// (Discord keeps nonces a few minutes per channel and author).
fn nonce_for(message: MessageId, index: usize, generation: u32) -> String {
    let hex = message.uuid().simple().to_string();
    format!("r{}{generation:x}{index:02}", &hex[hex.len() - 18..])
}

/// Whether a Discord message is one of the parts this connection relayed.
pub(crate) async fn is_own_part(ctx: &BridgeContext, remote: Snowflake) -> bool {
    ctx.cursor(&part_key(remote)).await.ok().flatten().is_some()
}

/// The Rift message a Discord message is a relayed part of.
pub(crate) async fn relayed_message(
    ctx: &BridgeContext,
    remote: Snowflake,
) -> rift::Result<Option<MessageId>> {
    Ok(ctx.cursor(&part_key(remote)).await?.and_then(|id| id.parse().ok()))
}

/// Whether a MESSAGE_CREATE is the echo of a part this connection is sending or sent.
pub(crate) async fn is_echo(ctx: &BridgeContext, message: &Message) -> bool {
    if let Some(nonce) = &message.nonce
        && ctx.cursor(&nonce_key(nonce)).await.ok().flatten().is_some()
    {
        return true;
    }
    is_own_part(ctx, message.id).await
}

/// Relays the owner's writes.
pub(crate) struct Relay {
    rest: Client,
    /// One relayed write at a time, in event order (an edit never overtakes its send).
    order: tokio::sync::Mutex<()>,
}

impl Relay {
    pub(crate) fn new(rest: Client) -> Self {
        Self { rest, order: tokio::sync::Mutex::new(()) }
    }

    /// Handles one Rift event of a linked channel.
    pub(crate) async fn on_event(&self, ctx: &BridgeContext, envelope: &Envelope) -> rift::Result<()> {
        if ctx.connection().mode != "relay" {
            return Ok(());
        }
        let _order = self.order.lock().await;
        let owner = ctx.owner();
        match &envelope.event {
            Event::MessageCreate(message) if message.bridge.is_none() && message.author.id == owner => {
                self.send(ctx, message).await
            }
            Event::MessageUpdate(message)
                if message.author.id == owner && edited_by(ctx, message.id, owner).await =>
            {
                self.edit(ctx, message).await
            }
            Event::MessageDelete { id, .. } if deleted_by(ctx, *id, owner).await => {
                self.delete(ctx, *id).await
            }
            Event::ReactionAdd { message_id, user_id, emoji, .. } if *user_id == owner => {
                self.react(ctx, *message_id, emoji, true).await
            }
            Event::ReactionRemove { message_id, user_id, emoji, .. } if *user_id == owner => {
                self.react(ctx, *message_id, emoji, false).await
            }
            Event::MessagePin(message) => super::pins::relay(ctx, &self.rest, message.id, true).await,
            Event::MessageUnpin { message_id, .. } => {
                super::pins::relay(ctx, &self.rest, *message_id, false).await
            }
            _ => Ok(()),
        }
    }

    async fn send(&self, ctx: &BridgeContext, message: &RiftMessage) -> rift::Result<()> {
        let Some(channel) = remote_channel(ctx, message).await? else { return Ok(()) };
        if ctx.cursor(&parts_key(message.id)).await?.is_some() {
            return Ok(()); // already relayed (an event replayed after a restart of the feed)
        }
        let reply = match message.reply_to {
            Some(target) => remote_ids(ctx, target).await?.into_iter().next(),
            None => None,
        };
        let mut files = Vec::new();
        for upload in &message.attachments {
            let bytes = ctx.rift().upload_bytes(upload).await?;
            let mut file = FileUpload::new(upload.filename.clone(), bytes);
            file.content_type = Some(upload.content_type.clone());
            files.push(file);
        }
        let mut texts = split_message(&message.content, DISCORD_MAX);
        texts.retain(|t| !t.trim().is_empty());
        if texts.is_empty() && !files.is_empty() {
            texts.push(String::new());
        }
        let mut parts = Vec::new();
        for (index, content) in texts.into_iter().enumerate() {
            let nonce = nonce_for(message.id, index, 0);
            let mut body = CreateMessage::text(content.clone()).nonce(nonce.clone());
            if content.is_empty() {
                body.content = None;
            }
            if index == 0 {
                // Files go with the first part; a reply points from it.
                for file in files.drain(..) {
                    body = body.file(file);
                }
                if let Some(reply) = reply {
                    body = body.reply_to(channel, reply);
                }
            }
            let part = self.post(ctx, message.id, channel, body, nonce).await?;
            parts.push(Part { id: part, nonce: nonce_for(message.id, index, 0), content });
            store_parts(ctx, message.id, &parts).await?;
        }
        Ok(())
    }

    /// POSTs one part; a retry after a 5xx or a network error reuses the nonce, so Discord answers
    /// with the part it already made instead of a duplicate.
    async fn post(
        &self,
        ctx: &BridgeContext,
        message: MessageId,
        channel: Snowflake,
        body: CreateMessage,
        nonce: String,
    ) -> rift::Result<Snowflake> {
        // Registered first: the echo may arrive before the answer.
        ctx.set_cursor(&nonce_key(&nonce), &message.to_string()).await?;
        let mut attempt = 0;
        loop {
            attempt += 1;
            match self.rest.create_message(channel, &body).await {
                Ok(created) => {
                    ctx.set_cursor(&part_key(created.id), &message.to_string()).await?;
                    return Ok(created.id);
                }
                Err(error) if attempt < ATTEMPTS && is_transient(&error) => {
                    tracing::warn!(%error, attempt, "relaying a message part failed; retrying with its nonce");
                    tokio::time::sleep(Duration::from_millis(500 * u64::from(attempt))).await;
                }
                Err(error) => return Err(rift::Error::Internal(format!("relay to Discord failed: {error}"))),
            }
        }
    }

    async fn edit(&self, ctx: &BridgeContext, message: &RiftMessage) -> rift::Result<()> {
        let Some(channel) = remote_channel(ctx, message).await? else { return Ok(()) };
        // A mirrored message the account wrote on Discord: one part, edited in place.
        if let Some(bridge) = &message.bridge {
            let Ok(id) = bridge.remote_id.parse::<u64>() else { return Ok(()) };
            return self.patch(channel, Snowflake::new(id), &message.content).await;
        }
        let Some(mut parts) = load_parts(ctx, message.id).await? else { return Ok(()) };
        let wanted: Vec<String> = split_message(&message.content, DISCORD_MAX)
            .into_iter()
            .filter(|p| !p.trim().is_empty())
            .collect();
        for (index, content) in wanted.iter().enumerate() {
            match parts.get_mut(index) {
                Some(part) if part.content == *content => {}
                Some(part) => {
                    self.patch(channel, part.id, content).await?;
                    part.content.clone_from(content);
                }
                None => {
                    let generation = u32::try_from(parts.len()).unwrap_or(0);
                    let nonce = nonce_for(message.id, index, generation);
                    let body = CreateMessage::text(content.clone()).nonce(nonce.clone());
                    let id = self.post(ctx, message.id, channel, body, nonce.clone()).await?;
                    parts.push(Part { id, nonce, content: content.clone() });
                }
            }
            store_parts(ctx, message.id, &parts).await?;
        }
        while parts.len() > wanted.len() {
            let Some(extra) = parts.pop() else { break };
            self.remove(channel, extra.id).await?;
            store_parts(ctx, message.id, &parts).await?;
        }
        Ok(())
    }

    async fn patch(&self, channel: Snowflake, id: Snowflake, content: &str) -> rift::Result<()> {
        let mut attempt = 0;
        loop {
            attempt += 1;
            match self.rest.edit_message(channel, id, content).await {
                Ok(_) => return Ok(()),
                Err(error) if attempt < ATTEMPTS && is_transient(&error) => {
                    tokio::time::sleep(Duration::from_millis(500 * u64::from(attempt))).await;
                }
                Err(error) => return Err(rift::Error::Internal(format!("relaying an edit failed: {error}"))),
            }
        }
    }

    async fn delete(&self, ctx: &BridgeContext, id: MessageId) -> rift::Result<()> {
        let Some(stored) = ctx.rift().mirrored_message(id).await? else { return Ok(()) };
        let Some(channel) = remote_channel(ctx, &stored).await? else { return Ok(()) };
        for remote in remote_ids(ctx, id).await? {
            self.remove(channel, remote).await?;
        }
        Ok(())
    }

    async fn remove(&self, channel: Snowflake, id: Snowflake) -> rift::Result<()> {
        let mut attempt = 0;
        loop {
            attempt += 1;
            match self.rest.delete_message(channel, id).await {
                Ok(()) | Err(Error::NotFound { .. }) => return Ok(()),
                Err(error) if attempt < ATTEMPTS && is_transient(&error) => {
                    tokio::time::sleep(Duration::from_millis(500 * u64::from(attempt))).await;
                }
                Err(error) => {
                    return Err(rift::Error::Internal(format!("relaying a delete failed: {error}")));
                }
            }
        }
    }

    async fn react(
        &self,
        ctx: &BridgeContext,
        message: MessageId,
        emoji: &str,
        add: bool,
    ) -> rift::Result<()> {
        let Some(stored) = ctx.rift().mirrored_message(message).await? else { return Ok(()) };
        let Some(channel) = remote_channel(ctx, &stored).await? else { return Ok(()) };
        let Some(remote) = remote_ids(ctx, message).await?.into_iter().next() else { return Ok(()) };
        let result = if add {
            self.rest.add_reaction(channel, remote, emoji).await
        } else {
            self.rest.remove_own_reaction(channel, remote, emoji).await
        };
        result.map_err(|error| rift::Error::Internal(format!("relaying a reaction failed: {error}")))
    }
}

fn is_transient(error: &Error) -> bool {
    matches!(error, Error::Http { status, .. } if *status >= 500) || matches!(error, Error::Request(_))
}

/// The Discord channel a Rift message's channel mirrors.
pub(crate) async fn remote_channel(
    ctx: &BridgeContext,
    message: &RiftMessage,
) -> rift::Result<Option<Snowflake>> {
    let channel = ctx.rift().mirrored_channel(message.channel_id).await?;
    Ok(channel
        .and_then(|c| c.bridge)
        .filter(|b| b.source == "discord")
        .and_then(|b| b.remote_id.parse::<u64>().ok())
        .map(Snowflake::new))
}

/// The Discord message(s) behind a Rift message: the mirrored one, or the relayed parts.
pub(crate) async fn remote_ids(ctx: &BridgeContext, message: MessageId) -> rift::Result<Vec<Snowflake>> {
    if let Some(parts) = load_parts(ctx, message).await? {
        return Ok(parts.into_iter().map(|p| p.id).collect());
    }
    let stored = ctx.rift().mirrored_message(message).await?;
    Ok(stored
        .and_then(|m| m.bridge)
        .filter(|b| b.source == "discord")
        .and_then(|b| b.remote_id.parse::<u64>().ok())
        .map(Snowflake::new)
        .into_iter()
        .collect())
}

async fn load_parts(ctx: &BridgeContext, message: MessageId) -> rift::Result<Option<Vec<Part>>> {
    Ok(ctx.cursor(&parts_key(message)).await?.and_then(|json| serde_json::from_str(&json).ok()))
}

async fn store_parts(ctx: &BridgeContext, message: MessageId, parts: &[Part]) -> rift::Result<()> {
    let json = serde_json::to_string(parts).map_err(|e| rift::Error::Internal(e.to_string()))?;
    ctx.set_cursor(&parts_key(message), &json).await
}

/// Whether the latest change to a message was made by `user` in Rift (not mirrored from Discord,
/// whose writes have no actor).
async fn edited_by(ctx: &BridgeContext, message: MessageId, user: UserId) -> bool {
    last_actor(ctx, message, HistoryAction::Edit).await == Some(user)
}

async fn deleted_by(ctx: &BridgeContext, message: MessageId, user: UserId) -> bool {
    last_actor(ctx, message, HistoryAction::Delete).await == Some(user)
}

async fn last_actor(ctx: &BridgeContext, message: MessageId, action: HistoryAction) -> Option<UserId> {
    let history = ctx.rift().mirrored_message_history(message).await.ok()?;
    history.into_iter().rev().find(|e| e.action == action).and_then(|e| e.actor_id)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn nonces_fit_discord_and_differ_per_part() {
        let id = MessageId::new();
        let a = nonce_for(id, 0, 0);
        let b = nonce_for(id, 1, 0);
        let c = nonce_for(id, 1, 1);
        assert!(a.len() <= 25 && b.len() <= 25 && c.len() <= 25, "{a} {b} {c}");
        assert_ne!(a, b);
        assert_ne!(b, c);
        assert_eq!(a, nonce_for(id, 0, 0), "a retry reuses the nonce");
    }
}
