//! Search: turning user text into index terms that can never be query syntax, and the shared part
//! of the search query. The index clause itself is per backend (`sqlite::search`, `postgres::search`).

use rift::model::Message;
use rift::store::SearchQuery;
use sqlx::QueryBuilder;

use crate::db::{Database, Dialect, Res, Ts, limit, on_db};
use crate::rows::{MESSAGE_COLS, MessageRow, qualified};

/// What a search needs from the text index, already split by how each piece is matched.
#[derive(Debug, Default, PartialEq, Eq)]
pub(crate) struct Terms {
    /// Words with at least one letter or digit: matched as index tokens.
    pub(crate) words: Vec<String>,
    /// Phrases with at least one letter or digit: matched as token sequences.
    pub(crate) phrases: Vec<String>,
    /// Words and phrases without any letter or digit (punctuation, emoji): the tokenizers drop
    /// them, so they are matched as literal substrings of the content.
    pub(crate) substrings: Vec<String>,
}

impl Terms {
    pub(crate) fn of(query: &SearchQuery) -> Self {
        let mut terms = Self::default();
        for (text, is_phrase) in
            query.words.iter().map(|w| (w, false)).chain(query.phrases.iter().map(|p| (p, true)))
        {
            // No stored text can contain NUL (PostgreSQL rejects it in text values), so it can
            // only fail the query; drop it.
            let cleaned;
            let text = if text.contains('\0') {
                cleaned = text.replace('\0', "");
                cleaned.trim()
            } else {
                text.trim()
            };
            if text.is_empty() {
                continue;
            }
            if !text.chars().any(char::is_alphanumeric) {
                terms.substrings.push(text.to_owned());
            } else if is_phrase {
                terms.phrases.push(text.to_owned());
            } else {
                terms.words.push(text.to_owned());
            }
        }
        terms
    }

    pub(crate) fn has_index_terms(&self) -> bool {
        !self.words.is_empty() || !self.phrases.is_empty()
    }
}

/// A `LIKE` pattern matching `text` anywhere, with `\` escaping the wildcards.
pub(crate) fn like_pattern(text: &str) -> String {
    let mut pattern = String::with_capacity(text.len() + 2);
    pattern.push('%');
    for c in text.chars() {
        if matches!(c, '%' | '_' | '\\') {
            pattern.push('\\');
        }
        pattern.push(c);
    }
    pattern.push('%');
    pattern
}

/// The part of a search query each backend writes in its own dialect.
pub(crate) trait SearchDialect: sqlx::Database {
    /// Appends the `FROM` sources and ` WHERE <match terms>` for [`Terms::words`] and
    /// [`Terms::phrases`] (non-empty), with `messages` aliased `m`, so that the text index drives.
    fn push_indexed_from<'a>(qb: &mut QueryBuilder<'a, Self>, terms: &'a Terms);
}

/// Builds the search query after `select` (which ends in `FROM `), for the backend of the
/// enclosing `on_db!` body. With index terms the text index comes first and drives: only its
/// matching rows are read, then filtered and sorted. (Starting from the channel's messages,
/// newest first, and testing the match row by row took 20-47 s over a channel of 890,000 messages
/// for a word found once or not at all.)
macro_rules! search_query {
    ($select:expr, $query:expr, $terms:expr, $patterns:expr) => {{
        let (query, terms, patterns): (&SearchQuery, &Terms, &Vec<String>) = (&$query, &$terms, &$patterns);
        let mut qb = QueryBuilder::new($select.as_str());
        if terms.has_index_terms() {
            SearchDialect::push_indexed_from(&mut qb, terms);
        } else {
            qb.push("messages m WHERE TRUE");
        }
        qb.push(" AND m.deleted_at IS NULL AND m.channel_id IN (");
        let mut ids = qb.separated(", ");
        for id in &query.channel_ids {
            ids.push_bind(id.uuid());
        }
        qb.push(")");
        if let Some(author) = query.author_id {
            qb.push(" AND m.author_id = ").push_bind(author.uuid());
        }
        if let Some(before) = query.before {
            qb.push(" AND m.created_at < ").push_bind(Ts::new(before));
        }
        if let Some(after) = query.after {
            qb.push(" AND m.created_at > ").push_bind(Ts::new(after));
        }
        if query.has_attachment {
            qb.push(" AND EXISTS (SELECT 1 FROM attachments a WHERE a.message_id = m.id)");
        }
        for pattern in patterns {
            qb.push(" AND m.content LIKE ").push_bind(pattern.as_str()).push(" ESCAPE '\\'");
        }
        qb.push(" ORDER BY m.id DESC LIMIT ").push_bind(limit(query.limit));
        qb
    }};
}

impl Database {
    /// PostgreSQL's parser drops some characters FTS5 keeps as words (`½`, `²`, ...): a word or
    /// phrase that yields no lexeme would match nothing, so it is matched as a substring instead.
    async fn refine(&self, mut terms: Terms) -> Res<Terms> {
        on_db!(self, read, |pool, dialect| {
            if dialect == Dialect::Postgres {
                for phrases in [false, true] {
                    let list = if phrases { &mut terms.phrases } else { &mut terms.words };
                    let mut kept = Vec::with_capacity(list.len());
                    for text in list.drain(..) {
                        let lexemes: i32 =
                            sqlx::query_scalar("SELECT numnode(plainto_tsquery('simple', $1))")
                                .bind(text.as_str())
                                .fetch_one(pool)
                                .await?;
                        if lexemes == 0 {
                            terms.substrings.push(text);
                        } else {
                            kept.push(text);
                        }
                    }
                    *list = kept;
                }
            }
        });
        Ok(terms)
    }

    pub(crate) async fn search_messages(&self, query: &SearchQuery) -> Res<Vec<Message>> {
        if query.channel_ids.is_empty() || query.limit == 0 {
            return Ok(Vec::new());
        }
        let terms = self.refine(Terms::of(query)).await?;
        let patterns: Vec<String> = terms.substrings.iter().map(|s| like_pattern(s)).collect();
        let select = format!("SELECT {} FROM ", qualified(MESSAGE_COLS, "m"));
        let rows: Vec<MessageRow> = on_db!(self, read, |pool| {
            let mut qb = search_query!(select, query, terms, patterns);
            // Not a named prepared statement: PostgreSQL plans an unnamed one with the actual
            // words each time, never with a generic plan (see `postgres::search` for how the GIN
            // index is made to drive either way).
            qb.build_query_as::<MessageRow>().persistent(false).fetch_all(pool).await?
        });
        self.load_messages(rows, query.viewer, false).await
    }

    /// The plan the backend chooses for `query` (`EXPLAIN QUERY PLAN` details on SQLite, `EXPLAIN`
    /// lines on PostgreSQL), to check which index drives a search.
    #[cfg(test)]
    pub(crate) async fn search_plan(&self, query: &SearchQuery) -> Res<Vec<String>> {
        let terms = self.refine(Terms::of(query)).await?;
        let patterns: Vec<String> = terms.substrings.iter().map(|s| like_pattern(s)).collect();
        let lines: Vec<String> = on_db!(self, read, |pool, dialect| {
            let select = if dialect == Dialect::Sqlite {
                format!("EXPLAIN QUERY PLAN SELECT {} FROM ", qualified(MESSAGE_COLS, "m"))
            } else {
                format!("EXPLAIN SELECT {} FROM ", qualified(MESSAGE_COLS, "m"))
            };
            let mut qb = search_query!(select, query, terms, patterns);
            let rows = qb.build().persistent(false).fetch_all(pool).await?;
            rows.iter()
                .map(|row| {
                    use sqlx::Row;
                    if dialect == Dialect::Sqlite { row.get::<String, _>(3) } else { row.get::<String, _>(0) }
                })
                .collect()
        });
        Ok(lines)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[track_caller]
    fn check(words: &[&str], phrases: &[&str], expected: Terms) {
        let query = SearchQuery {
            words: words.iter().map(|s| s.to_string()).collect(),
            phrases: phrases.iter().map(|s| s.to_string()).collect(),
            channel_ids: Vec::new(),
            author_id: None,
            before: None,
            after: None,
            has_attachment: false,
            limit: 10,
            viewer: None,
        };
        assert_eq!(Terms::of(&query), expected);
    }

    fn strings(s: &[&str]) -> Vec<String> {
        s.iter().map(|s| s.to_string()).collect()
    }

    #[test]
    fn words_without_letters_become_substrings() {
        check(
            &["hello", "🦀", "*", "", "  ", "c++", "\0", "a\0b"],
            &["big deal", "?!"],
            Terms {
                words: strings(&["hello", "c++", "ab"]),
                phrases: strings(&["big deal"]),
                substrings: strings(&["🦀", "*", "?!"]),
            },
        );
    }

    fn search(words: &[&str], author: bool) -> SearchQuery {
        SearchQuery {
            words: strings(words),
            phrases: Vec::new(),
            channel_ids: vec![rift::id::ChannelId::new()],
            author_id: author.then(rift::id::UserId::new),
            before: None,
            after: None,
            has_attachment: false,
            limit: 25,
            viewer: None,
        }
    }

    /// The FTS5 index must be the outer loop (first in the plan), whatever the filters: walking a
    /// channel newest-first and testing MATCH per row is the 20-47 s denial of service.
    #[tokio::test]
    async fn sqlite_search_is_driven_by_the_text_index() {
        let dir = tempfile::tempdir().unwrap();
        let db = Database::open_sqlite(dir.path().join("plan.db")).await.unwrap();
        for query in [search(&["rare"], false), search(&["rare", "word"], true)] {
            let plan = db.search_plan(&query).await.unwrap();
            let first = plan.first().map(String::as_str).unwrap_or_default();
            assert!(first.contains("messages_fts") && first.contains("VIRTUAL TABLE"), "{plan:#?}");
            assert!(plan.iter().any(|line| line.contains("SEARCH m USING INTEGER PRIMARY KEY")), "{plan:#?}");
            assert!(!plan.iter().any(|line| line.contains("messages_channel_idx")), "{plan:#?}");
        }
        // Without words there is no index to drive; the channel index serves the filter.
        let plan = db.search_plan(&search(&["🦀"], false)).await.unwrap();
        assert!(!plan.iter().any(|line| line.contains("messages_fts")), "{plan:#?}");
        db.close().await;
    }

    #[test]
    fn like_wildcards_are_escaped() {
        assert_eq!(like_pattern("50%_off\\"), "%50\\%\\_off\\\\%");
        assert_eq!(like_pattern("🦀"), "%🦀%");
    }
}
