//! Full-text search, limited to what the searcher may read.

use serde::Deserialize;

use crate::error::{Error, Resource, Result};
use crate::id::{ChannelId, ServerId, Timestamp, UserId};
use crate::model::{ChannelKind, Message};
use crate::permissions::Permissions;
use crate::store::SearchQuery;

use super::Rift;

/// `GET /api/search` parameters.
#[derive(Debug, Clone, Default, Deserialize)]
#[non_exhaustive]
pub struct SearchParams {
    /// Plain words (all must match) and `"quoted phrases"`; everything else is literal text.
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

/// Splits search text into words and `"quoted phrases"`. An unbalanced quote quotes to the end.
/// Nothing else is syntax: every other character stays part of a word.
pub fn parse_search_text(q: &str) -> (Vec<String>, Vec<String>) {
    let mut words = Vec::new();
    let mut phrases = Vec::new();
    for (i, part) in q.split('"').enumerate() {
        if i % 2 == 1 {
            let phrase = part.split_whitespace().collect::<Vec<_>>().join(" ");
            if !phrase.is_empty() {
                phrases.push(phrase);
            }
        } else {
            words.extend(part.split_whitespace().map(str::to_owned));
        }
    }
    (words, phrases)
}

impl Rift {
    /// Searches messages in every channel the caller can read (VIEW_CHANNELS and READ_HISTORY),
    /// optionally narrowed to one server or channel; newest first.
    ///
    /// # Errors
    /// 404 for a server or channel filter the caller cannot see; 400 `invalid_limit`, `invalid_query`.
    pub async fn search(&self, user_id: UserId, params: SearchParams) -> Result<Vec<Message>> {
        let limit = super::check_limit(params.limit, 25, 100)?;
        super::check_text("search text", "invalid_query", &params.q)?;
        if params.q.chars().count() > 1024 {
            return Err(Error::invalid("invalid_query", "search text must be at most 1024 characters"));
        }
        let readable = Permissions::VIEW_CHANNELS | Permissions::READ_HISTORY;
        let mut channel_ids = Vec::new();
        if let Some(channel_id) = params.channel_id {
            let access = self.channel_access(user_id, channel_id).await?;
            if params.server_id.is_some_and(|s| access.server_id() != Some(s)) {
                return Err(Error::NotFound(Resource::Channel));
            }
            if access.permissions.contains(readable) {
                channel_ids.push(channel_id);
            }
        } else {
            let servers = match params.server_id {
                Some(server_id) => vec![self.server_access(user_id, server_id).await?.server],
                None => self.inner.store.servers_of_user(user_id).await?,
            };
            for server in servers {
                let access = self.server_access(user_id, server.id).await?;
                for channel in self.inner.store.channels(server.id).await? {
                    if channel.kind == ChannelKind::Text && access.in_channel(&channel).contains(readable) {
                        channel_ids.push(channel.id);
                    }
                }
            }
            if params.server_id.is_none() {
                channel_ids.extend(self.inner.store.dm_channels(user_id).await?.into_iter().map(|dm| dm.id));
            }
        }
        let (words, phrases) = parse_search_text(&params.q);
        let query = SearchQuery {
            words,
            phrases,
            channel_ids,
            author_id: params.author_id,
            before: params.before,
            after: params.after,
            has_attachment: params.has_attachment,
            limit,
            viewer: Some(user_id),
        };
        if query.channel_ids.is_empty() {
            return Ok(Vec::new());
        }
        let messages = self.inner.store.search(&query).await?;
        Ok(messages
            .into_iter()
            .map(|mut m| {
                m.author = self.public_view(m.author);
                m.nonce = None;
                m
            })
            .collect())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[track_caller]
    fn check(q: &str, words: &[&str], phrases: &[&str]) {
        let (w, p) = parse_search_text(q);
        assert_eq!(w, words);
        assert_eq!(p, phrases);
    }

    #[test]
    fn plain_words() {
        check("hello  world", &["hello", "world"], &[]);
    }

    #[test]
    fn quoted_phrases() {
        check(r#"say "hello   there" now"#, &["say", "now"], &["hello there"]);
    }

    #[test]
    fn unbalanced_quote_runs_to_the_end() {
        check(r#"a "b c"#, &["a"], &["b c"]);
    }

    #[test]
    fn operators_are_plain_text() {
        check("NEAR(a b) OR -x * col:umn (", &["NEAR(a", "b)", "OR", "-x", "*", "col:umn", "("], &[]);
    }

    #[test]
    fn empty_quotes_and_emoji() {
        check(r#""" 🦀"#, &["🦀"], &[]);
    }
}
