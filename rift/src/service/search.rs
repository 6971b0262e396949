//! Full-text search with operators, limited to what the searcher may read.

use serde::{Deserialize, Serialize};

use crate::error::{Error, ErrorCode, Resource, Result};
use crate::id::{ChannelId, ServerId, Timestamp, UserId};
use crate::model::{Channel, ChannelKind, DmChannel, Message};
use crate::permissions::Permissions;
use crate::search_text::{Has, InChannel, Is, MatchRange, ParsedQuery};
use crate::store::SearchQuery;

use super::Rift;
use super::history::Past;

/// `GET /api/search` parameters.
#[derive(Debug, Clone, Default, Deserialize)]
#[non_exhaustive]
pub struct SearchParams {
    /// Words (all must match), `"quoted phrases"`, `prefix*`, `-exclusions` and operators
    /// (`from:`, `in:`, `has:`, `is:`, `before:`, `after:`, `during:`), as the README's search
    /// section describes them. Whatever is not an operator is literal text.
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

/// Whether `in:` names this channel: a server channel or a named group DM by name (any case),
/// any channel by id, or, with `@username`, the caller's two-person DM with that user.
fn in_channel_names(target: &InChannel, channel: &Channel, dm: Option<&DmChannel>) -> bool {
    match target {
        InChannel::Named(text) => {
            let name = match dm {
                Some(dm) => dm.name.as_deref(),
                None => channel.server_id.map(|_| channel.name.as_str()),
            };
            name.is_some_and(|name| name.eq_ignore_ascii_case(text))
                || text.parse::<ChannelId>().is_ok_and(|id| id == channel.id)
        }
        InChannel::DmWith(username) => dm.is_some_and(|dm| {
            dm.kind == ChannelKind::Dm
                && dm.recipients.iter().any(|user| user.username.eq_ignore_ascii_case(username))
        }),
    }
}

impl Rift {
    /// Searches messages in every channel the caller can read (VIEW_CHANNELS and READ_HISTORY),
    /// optionally narrowed to one server or channel; newest first. `is:deleted` searches deleted
    /// messages as `GET /api/messages/:id/history` shows them: everyone's where the server's
    /// history settings show deleted content to the caller (or in a mirrored DM of theirs), and
    /// everywhere the caller's own.
    ///
    /// # Errors
    /// 404 for a server or channel filter the caller cannot see; 400 `invalid_limit`, `invalid_query`.
    pub async fn search(&self, user_id: UserId, params: SearchParams) -> Result<Vec<SearchHit>> {
        let limit = super::check_limit(params.limit, 25, 100)?;
        super::check_text("search text", ErrorCode::InvalidQuery, &params.q)?;
        if params.q.chars().count() > 1024 {
            return Err(Error::invalid(
                ErrorCode::InvalidQuery,
                "search text must be at most 1024 characters",
            ));
        }
        let parsed = ParsedQuery::parse(&params.q);
        let deleted = parsed.is(Is::Deleted);
        let readable = Permissions::VIEW_CHANNELS | Permissions::READ_HISTORY;
        // Each readable channel, with the caller's permissions there; and the caller's DMs.
        let mut readable_channels: Vec<(Channel, Permissions)> = Vec::new();
        let mut dms: Vec<DmChannel> = Vec::new();
        if let Some(channel_id) = params.channel_id {
            let access = self.channel_access(user_id, channel_id).await?;
            if params.server_id.is_some_and(|s| access.server_id() != Some(s)) {
                return Err(Error::NotFound(Resource::Channel));
            }
            if access.server_id().is_none() && !parsed.in_channels.is_empty() {
                dms.extend(self.inner.store.dm_channel(channel_id, user_id).await?);
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
                    dms.push(dm);
                }
            }
        }
        if !parsed.in_channels.is_empty() {
            readable_channels.retain(|(channel, _)| {
                let dm = dms.iter().find(|dm| dm.id == channel.id);
                parsed.in_channels.iter().any(|target| in_channel_names(target, channel, dm))
            });
        }
        // Channels searched for everyone's messages, and (deleted ones) for the caller's own only.
        let mut channel_ids = Vec::with_capacity(readable_channels.len());
        let mut own_only = Vec::new();
        for (channel, permissions) in readable_channels {
            if deleted && !self.sees_others_past(user_id, &channel, permissions, Past::Deletes).await? {
                own_only.push(channel.id);
            } else {
                channel_ids.push(channel.id);
            }
        }
        if params.author_id.is_some_and(|author| author != user_id) {
            own_only.clear();
        }
        let mut author_ids = Vec::new();
        for name in &parsed.from {
            if let Some(user) = self.inner.store.user_by_username(name).await? {
                author_ids.push(user.id);
            }
        }
        if (channel_ids.is_empty() && own_only.is_empty())
            || (!parsed.from.is_empty() && author_ids.is_empty())
        {
            return Ok(Vec::new());
        }
        let query = |channel_ids: Vec<ChannelId>, author_id: Option<UserId>| {
            let mut query = SearchQuery::new(channel_ids, limit);
            query.words = parsed.words.clone();
            query.phrases = parsed.phrases.clone();
            query.prefixes = parsed.prefixes.clone();
            query.excluded = parsed.excluded.clone();
            query.author_id = author_id;
            query.author_ids = author_ids.clone();
            query.before = min_opt(params.before, parsed.before);
            query.after = max_opt(params.after, parsed.after);
            query.has_attachment = params.has_attachment || parsed.has(Has::Attachment);
            query.has_link = parsed.has(Has::Link);
            query.has_image = parsed.has(Has::Image);
            query.edited = parsed.is(Is::Edited);
            query.pinned = parsed.is(Is::Pinned);
            query.time_limit = Some(self.inner.config.search_time_limit);
            query.deleted = deleted;
            query.viewer = Some(user_id);
            query
        };
        let mut messages = self.inner.store.search(&query(channel_ids, params.author_id)).await?;
        if !own_only.is_empty() {
            messages.extend(self.inner.store.search(&query(own_only, Some(user_id))).await?);
            // Two newest-first lists over different channels: newest first again, then the limit.
            messages.sort_by_key(|message| std::cmp::Reverse(message.id));
            messages.truncate(limit as usize);
        }
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
