//! Messages, pins and reactions: `channels/{id}/messages…`, `…/pins…`, `…/reactions…`.

use reqwest::Method;
use serde::Serialize;
use serde_json::{Value, json};

use super::{Client, MESSAGES_PER_PAGE};
use crate::Error;
use crate::model::{Message, MessageReference, Snowflake, User};

/// Which page of a channel's history to fetch.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum MessagePage {
    /// The newest messages.
    Latest,
    /// Messages older than this id (paging backwards).
    Before(Snowflake),
    /// Messages newer than this id (paging forwards).
    After(Snowflake),
}

/// A file to attach to a message.
#[derive(Clone, Debug, PartialEq)]
#[non_exhaustive]
pub struct FileUpload {
    /// File name shown in Discord.
    pub filename: String,
    /// Media type, if known.
    pub content_type: Option<String>,
    /// The bytes.
    pub data: Vec<u8>,
}

impl FileUpload {
    /// A file from its name and bytes.
    pub fn new(filename: impl Into<String>, data: Vec<u8>) -> Self {
        Self { filename: filename.into(), content_type: None, data }
    }
}

/// The body of a new message.
#[derive(Clone, Debug, Default, PartialEq, Serialize)]
#[non_exhaustive]
pub struct CreateMessage {
    /// Text, at most 2000 characters (see [`split_content`]).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub content: Option<String>,
    /// A nonce, echoed in MESSAGE_CREATE, to recognise our own sends.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub nonce: Option<String>,
    /// With a nonce: Discord answers a repeated nonce with the earlier message instead of a
    /// duplicate, which makes retries safe.
    #[serde(skip_serializing_if = "std::ops::Not::not")]
    pub enforce_nonce: bool,
    /// The message this one replies to.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub message_reference: Option<MessageReference>,
    /// Files to upload with the message (sent as multipart).
    #[serde(skip)]
    pub files: Vec<FileUpload>,
}

impl CreateMessage {
    /// A text message.
    pub fn text(content: impl Into<String>) -> Self {
        Self { content: Some(content.into()), ..Self::default() }
    }

    /// Sets a nonce and asks Discord to enforce it.
    pub fn nonce(mut self, nonce: impl Into<String>) -> Self {
        self.nonce = Some(nonce.into());
        self.enforce_nonce = true;
        self
    }

    /// Adds a file.
    pub fn file(mut self, file: FileUpload) -> Self {
        self.files.push(file);
        self
    }

    /// Makes this a reply.
    pub fn reply_to(mut self, channel_id: Snowflake, message_id: Snowflake) -> Self {
        self.message_reference = Some(MessageReference {
            message_id: Some(message_id),
            channel_id: Some(channel_id),
            guild_id: None,
        });
        self
    }
}

/// Splits text into pieces of at most `max` characters (Discord allows 2000), at line breaks or
/// spaces where possible.
///
/// # Examples
///
/// ```
/// let pieces = rift_discord::rest::split_content(&"word ".repeat(1000), 2000);
/// assert_eq!(pieces.len(), 3);
/// assert!(pieces.iter().all(|p| p.chars().count() <= 2000));
/// ```
pub fn split_content(text: &str, max: usize) -> Vec<String> {
    let max = max.max(1);
    let mut pieces = Vec::new();
    let mut rest = text;
    while rest.chars().count() > max {
        let limit = rest.char_indices().nth(max).map_or(rest.len(), |(i, _)| i);
        let window = &rest[..limit];
        let at_break = rest[limit..].starts_with(['\n', ' ']);
        let cut = match at_break {
            true => limit,
            false => window.rfind('\n').or_else(|| window.rfind(' ')).filter(|&i| i > 0).unwrap_or(limit),
        };
        pieces.push(rest[..cut].to_owned());
        rest = &rest[cut..];
        rest = rest.strip_prefix('\n').or_else(|| rest.strip_prefix(' ')).unwrap_or(rest);
    }
    if !rest.is_empty() || pieces.is_empty() {
        pieces.push(rest.to_owned());
    }
    pieces
}

impl Client {
    /// `GET /channels/{id}/messages`: one page of up to `limit` (1-100) messages, newest first.
    ///
    /// # Errors
    ///
    /// As [`gateway`](Self::gateway).
    pub async fn messages(
        &self,
        channel_id: Snowflake,
        page: MessagePage,
        limit: u8,
    ) -> Result<Vec<Message>, Error> {
        let limit = limit.clamp(1, MESSAGES_PER_PAGE).to_string();
        let cursor = match page {
            MessagePage::Latest => None,
            MessagePage::Before(id) => Some(("before", id.to_string())),
            MessagePage::After(id) => Some(("after", id.to_string())),
        };
        self.json(Method::GET, &["channels", &channel_id.to_string(), "messages"], |r| {
            let r = r.query(&[("limit", &limit)]);
            match &cursor {
                Some((key, id)) => r.query(&[(key, id)]),
                None => r,
            }
        })
        .await
    }

    /// `GET /channels/{id}/messages/{id}`.
    ///
    /// # Errors
    ///
    /// As [`gateway`](Self::gateway).
    pub async fn message(&self, channel_id: Snowflake, message_id: Snowflake) -> Result<Message, Error> {
        self.json(
            Method::GET,
            &["channels", &channel_id.to_string(), "messages", &message_id.to_string()],
            |r| r,
        )
        .await
    }

    /// `POST /channels/{id}/messages`, as JSON or, with files, as multipart.
    ///
    /// # Errors
    ///
    /// As [`gateway`](Self::gateway).
    pub async fn create_message(
        &self,
        channel_id: Snowflake,
        message: &CreateMessage,
    ) -> Result<Message, Error> {
        let mut body = serde_json::to_value(message)?;
        if !message.files.is_empty() {
            let attachments: Vec<Value> = message
                .files
                .iter()
                .enumerate()
                .map(|(i, f)| json!({"id": i, "filename": f.filename}))
                .collect();
            body["attachments"] = Value::Array(attachments);
        }
        let payload = serde_json::to_string(&body)?;
        self.json(Method::POST, &["channels", &channel_id.to_string(), "messages"], |r| {
            if message.files.is_empty() {
                return r.header("content-type", "application/json").body(payload.clone());
            }
            let mut form = reqwest::multipart::Form::new().text("payload_json", payload.clone());
            for (i, file) in message.files.iter().enumerate() {
                form = form.part(format!("files[{i}]"), file_part(file));
            }
            r.multipart(form)
        })
        .await
    }

    /// `PATCH /channels/{id}/messages/{id}`: replaces the text.
    ///
    /// # Errors
    ///
    /// As [`gateway`](Self::gateway).
    pub async fn edit_message(
        &self,
        channel_id: Snowflake,
        message_id: Snowflake,
        content: &str,
    ) -> Result<Message, Error> {
        let body = serde_json::to_string(&json!({ "content": content }))?;
        self.json(
            Method::PATCH,
            &["channels", &channel_id.to_string(), "messages", &message_id.to_string()],
            |r| r.header("content-type", "application/json").body(body.clone()),
        )
        .await
    }

    /// `DELETE /channels/{id}/messages/{id}`.
    ///
    /// # Errors
    ///
    /// As [`gateway`](Self::gateway).
    pub async fn delete_message(&self, channel_id: Snowflake, message_id: Snowflake) -> Result<(), Error> {
        let path = ["channels", &channel_id.to_string(), "messages", &message_id.to_string()];
        self.send(Method::DELETE, &path, |r| r).await.map(drop)
    }

    /// `GET /channels/{id}/pins`: the channel's pinned messages, newest pin first.
    ///
    /// # Errors
    ///
    /// As [`gateway`](Self::gateway).
    pub async fn pinned_messages(&self, channel_id: Snowflake) -> Result<Vec<Message>, Error> {
        self.json(Method::GET, &["channels", &channel_id.to_string(), "pins"], |r| r).await
    }

    /// `PUT /channels/{id}/pins/{id}`: pins a message.
    ///
    /// # Errors
    ///
    /// As [`gateway`](Self::gateway).
    pub async fn pin_message(&self, channel_id: Snowflake, message_id: Snowflake) -> Result<(), Error> {
        let path = ["channels", &channel_id.to_string(), "pins", &message_id.to_string()];
        self.send(Method::PUT, &path, |r| r.header("content-length", "0")).await.map(drop)
    }

    /// `DELETE /channels/{id}/pins/{id}`: unpins a message.
    ///
    /// # Errors
    ///
    /// As [`gateway`](Self::gateway).
    pub async fn unpin_message(&self, channel_id: Snowflake, message_id: Snowflake) -> Result<(), Error> {
        let path = ["channels", &channel_id.to_string(), "pins", &message_id.to_string()];
        self.send(Method::DELETE, &path, |r| r).await.map(drop)
    }

    /// `PUT /channels/{id}/messages/{id}/reactions/{emoji}/@me`. `emoji` is the Unicode emoji or
    /// `name:id` for a custom one.
    ///
    /// # Errors
    ///
    /// As [`gateway`](Self::gateway).
    pub async fn add_reaction(
        &self,
        channel_id: Snowflake,
        message_id: Snowflake,
        emoji: &str,
    ) -> Result<(), Error> {
        let (channel, message) = (channel_id.to_string(), message_id.to_string());
        let path = own_reaction_path(&channel, &message, emoji);
        self.send(Method::PUT, &path, |r| r.header("content-length", "0")).await.map(drop)
    }

    /// `DELETE /channels/{id}/messages/{id}/reactions/{emoji}/@me`.
    ///
    /// # Errors
    ///
    /// As [`gateway`](Self::gateway).
    pub async fn remove_own_reaction(
        &self,
        channel_id: Snowflake,
        message_id: Snowflake,
        emoji: &str,
    ) -> Result<(), Error> {
        let (channel, message) = (channel_id.to_string(), message_id.to_string());
        let path = own_reaction_path(&channel, &message, emoji);
        self.send(Method::DELETE, &path, |r| r).await.map(drop)
    }

    /// `GET /channels/{id}/messages/{id}/reactions/{emoji}`: up to `limit` (1-100) users who
    /// reacted with `emoji`, with ids after `after`.
    ///
    /// # Errors
    ///
    /// As [`gateway`](Self::gateway).
    pub async fn reaction_users(
        &self,
        channel_id: Snowflake,
        message_id: Snowflake,
        emoji: &str,
        after: Option<Snowflake>,
        limit: u8,
    ) -> Result<Vec<User>, Error> {
        let (channel, message) = (channel_id.to_string(), message_id.to_string());
        let limit = limit.clamp(1, 100).to_string();
        let after = after.map(|a| a.to_string());
        let path = ["channels", channel.as_str(), "messages", message.as_str(), "reactions", emoji];
        self.json(Method::GET, &path, |r| {
            let r = r.query(&[("limit", &limit)]);
            match &after {
                Some(after) => r.query(&[("after", after)]),
                None => r,
            }
        })
        .await
    }
}

fn file_part(file: &FileUpload) -> reqwest::multipart::Part {
    let part = || reqwest::multipart::Part::bytes(file.data.clone()).file_name(file.filename.clone());
    match &file.content_type {
        Some(kind) => part().mime_str(kind).unwrap_or_else(|_| part()),
        None => part(),
    }
}

/// `channels/{channel}/messages/{message}/reactions/{emoji}/@me`, as route segments.
fn own_reaction_path<'a>(channel: &'a str, message: &'a str, emoji: &'a str) -> [&'a str; 7] {
    ["channels", channel, "messages", message, "reactions", emoji, "@me"]
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn split_content_respects_the_limit_and_prefers_breaks() {
        assert_eq!(split_content("", 2000), [""]);
        assert_eq!(split_content("short", 2000), ["short"]);
        assert_eq!(split_content("aaa bbb ccc", 7), ["aaa bbb", "ccc"]);
        assert_eq!(split_content("line one\nline two", 12), ["line one", "line two"]);
        assert_eq!(split_content("abcdefghij", 4), ["abcd", "efgh", "ij"]);
        let emoji = "😀".repeat(4001);
        let pieces = split_content(&emoji, 2000);
        assert_eq!(pieces.iter().map(|p| p.chars().count()).collect::<Vec<_>>(), [2000, 2000, 1]);
        assert_eq!(pieces.concat(), emoji);
    }

    #[test]
    fn create_message_body_is_discords_shape() {
        let body = serde_json::to_value(
            CreateMessage::text("hi").nonce("n1").reply_to(Snowflake::new(1), Snowflake::new(2)),
        )
        .unwrap();
        assert_eq!(
            body,
            json!({"content": "hi", "nonce": "n1", "enforce_nonce": true,
                   "message_reference": {"message_id": "2", "channel_id": "1", "guild_id": null}})
        );
    }
}
