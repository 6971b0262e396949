//! Full-text search with operators, limited to what the searcher may read.

use serde::{Deserialize, Serialize};

use crate::error::{Error, Resource, Result};
use crate::id::{ChannelId, ServerId, Timestamp, UserId};
use crate::model::{Channel, ChannelKind, Message};
use crate::permissions::Permissions;
use crate::search_text::{Has, Is, MatchRange, ParsedQuery};
use crate::store::SearchQuery;

use super::Rift;
use super::history::sees_deleted;

/// `GET /api/search` parameters.
#[derive(Debug, Clone, Default, Deserialize)]
#[non_exhaustive]
pub struct SearchParams {
    /// Words (all must match), `"quoted phrases"`, `prefix*`, `-exclusions` and operators
    /// (`from:`, `in:`, `has:`, `is:`, `before:`, `after:`, `during:`); see
    /// [`ParsedQuery::parse`]. Whatever is not an operator is literal text.
    #[serde(default)]
    pub q: String,
    /// Only this server.
    #[serde(default)]
    pub server_id: Option<ServerId>,
    /// Only this channel (or DM channel).
    #[serde(default)]
    pub channel_id: Option<ChannelId>,
    /// Only this author.
    #[serde(default)]
    pub author_id: Option<UserId>,
    /// Only messages sent before this time.
    #[serde(default)]
    pub before: Option<Timestamp>,
    /// Only messages sent after this time.
    #[serde(default)]
    pub after: Option<Timestamp>,
    /// Only messages with attachments when `true` (`has=attachment`).
    #[serde(default)]
    pub has_attachment: bool,
    /// 1–100, default 25.
    #[serde(default)]
    pub limit: Option<u32>,
}

impl SearchParams {
    /// A search for `q` everywhere the caller can read.
    pub fn text(q: impl Into<String>) -> Self {
        Self { q: q.into(), ..Self::default() }
    }
}

/// A search result: the message and where the search text matched its content.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[non_exhaustive]
pub struct SearchHit {
    /// The message (its fields flattened into the result).
    #[serde(flatten)]
    pub message: Message,
    /// Matched character ranges of `content` (Unicode scalar values), sorted, not overlapping.
    pub matches: Vec<MatchRange>,
}

fn min_opt(a: Option<Timestamp>, b: Option<Timestamp>) -> Option<Timestamp> {
    match (a, b) {
        (Some(a), Some(b)) => Some(a.min(b)),
        (a, b) => a.or(b),
    }
}

fn max_opt(a: Option<Timestamp>, b: Option<Timestamp>) -> Option<Timestamp> {
    match (a, b) {
        (Some(a), Some(b)) => Some(a.max(b)),
        (a, b) => a.or(b),
    }
}

impl Rift {
    /// Searches messages in every channel the caller can read (VIEW_CHANNELS and READ_HISTORY),
    /// optionally narrowed to one server or channel; newest first. `is:deleted` searches the
    /// deleted messages of the channels where the server's history settings show deleted content
    /// to the caller.
    ///
    /// # Errors
    /// 404 for a server or channel filter the caller cannot see; 400 `invalid_limit`, `invalid_query`.
    pub async fn search(&self, user_id: UserId, params: SearchParams) -> Result<Vec<SearchHit>> {
        let limit = super::check_limit(params.limit, 25, 100)?;
        super::check_text("search text", "invalid_query", &params.q)?;
        if params.q.chars().count() > 1024 {
            return Err(Error::invalid("invalid_query", "search text must be at most 1024 characters"));
        }
        let parsed = ParsedQuery::parse(&params.q);
        let deleted = parsed.is(Is::Deleted);
        let readable = Permissions::VIEW_CHANNELS | Permissions::READ_HISTORY;
        // Each readable channel, with its server and the caller's permissions there.
        let mut readable_channels: Vec<(Channel, Permissions)> = Vec::new();
        if let Some(channel_id) = params.channel_id {
            let access = self.channel_access(user_id, channel_id).await?;
            if params.server_id.is_some_and(|s| access.server_id() != Some(s)) {
                return Err(Error::NotFound(Resource::Channel));
            }
            if access.permissions.contains(readable) {
                readable_channels.push((access.channel, access.permissions));
            }
        } else {
            let servers = match params.server_id {
                Some(server_id) => vec![self.server_access(user_id, server_id).await?.server().clone()],
                None => self.inner.store.servers_of_user(user_id).await?,
            };
            for server in servers {
                let access = self.server_access(user_id, server.id).await?;
                for channel in self.inner.store.channels(server.id).await? {
                    let permissions = access.in_channel(&channel);
                    if channel.kind == ChannelKind::Text && permissions.contains(readable) {
                        readable_channels.push((channel, permissions));
                    }
                }
            }
            if params.server_id.is_none() {
                for dm in self.inner.store.dm_channels(user_id).await? {
                    if let Some(channel) = self.inner.store.channel(dm.id).await? {
                        readable_channels.push((channel, readable));
                    }
                }
            }
        }
        if !parsed.in_channels.is_empty() {
            readable_channels.retain(|(channel, _)| {
                channel.server_id.is_some()
                    && parsed.in_channels.iter().any(|name| name.eq_ignore_ascii_case(&channel.name))
            });
        }
        let mut channel_ids = Vec::with_capacity(readable_channels.len());
        for (channel, permissions) in readable_channels {
            if deleted {
                let settings = self.channel_history_settings(channel.server_id).await?;
                if !sees_deleted(settings, permissions) {
                    continue;
                }
            }
            channel_ids.push(channel.id);
        }
        let mut author_ids = Vec::new();
        for name in &parsed.from {
            if let Some(user) = self.inner.store.user_by_username(name).await? {
                author_ids.push(user.id);
            }
        }
        if channel_ids.is_empty() || (!parsed.from.is_empty() && author_ids.is_empty()) {
            return Ok(Vec::new());
        }
        let mut query = SearchQuery::new(channel_ids, limit);
        query.words = parsed.words.clone();
        query.phrases = parsed.phrases.clone();
        query.prefixes = parsed.prefixes.clone();
        query.excluded = parsed.excluded.clone();
        query.author_id = params.author_id;
        query.author_ids = author_ids;
        query.before = min_opt(params.before, parsed.before);
        query.after = max_opt(params.after, parsed.after);
        query.has_attachment = params.has_attachment || parsed.has(Has::Attachment);
        query.has_link = parsed.has(Has::Link);
        query.has_image = parsed.has(Has::Image);
        query.edited = parsed.is(Is::Edited);
        query.pinned = parsed.is(Is::Pinned);
        query.deleted = deleted;
        query.viewer = Some(user_id);
        let messages = self.inner.store.search(&query).await?;
        let matcher = parsed.matcher();
        Ok(messages
            .into_iter()
            .map(|message| {
                let matches = matcher.ranges(&message.content);
                SearchHit { message: self.public_message(message), matches }
            })
            .collect())
    }
}
