//! Search: turning user text into index terms that can never be query syntax, and the shared part
//! of the search query. The index clause itself is per backend (`sqlite::search`, `postgres::search`).

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

use futures_util::future::BoxFuture;
use rift::StoreError;
use rift::model::Message;
use rift::store::Matcher;
use rift::store::SearchQuery;
use sqlx::{Postgres, QueryBuilder, Sqlite};
use uuid::Uuid;

use crate::db::{Database, Dialect, Res, Ts, limit, on_db};
use crate::rows::{MESSAGE_COLS, MessageRow, qualified};

/// What a search needs from the text index, already split by how each piece is matched.
#[derive(Debug, Default, PartialEq, Eq)]
pub(crate) struct Terms {
    /// Words with at least one letter or digit: matched as index tokens.
    pub(crate) words: Vec<String>,
    /// Phrases with at least one letter or digit: matched as token sequences.
    pub(crate) phrases: Vec<String>,
    /// Prefix words with at least one letter or digit: their last token is a prefix.
    pub(crate) prefixes: Vec<String>,
    /// Words and phrases without any letter or digit (punctuation, emoji): the tokenizers drop
    /// them, so they are matched as literal substrings of the content.
    pub(crate) substrings: Vec<String>,
    /// Excluded words and phrases with a letter or digit: matched as token sequences.
    pub(crate) excluded: Vec<String>,
    /// Excluded text without letters or digits: must not be a substring.
    pub(crate) excluded_substrings: Vec<String>,
}

/// `text` without NUL (no stored text can contain it; PostgreSQL rejects it in text values, so it
/// could only fail the query), trimmed; `None` when nothing is left.
fn cleaned(text: &str) -> Option<String> {
    let text = text.replace('\0', "");
    let text = text.trim();
    (!text.is_empty()).then(|| text.to_owned())
}

fn has_token(text: &str) -> bool {
    text.chars().any(char::is_alphanumeric)
}

impl Terms {
    pub(crate) fn of(query: &SearchQuery) -> Self {
        let mut terms = Self::default();
        for (text, is_phrase) in
            query.words.iter().map(|w| (w, false)).chain(query.phrases.iter().map(|p| (p, true)))
        {
            let Some(text) = cleaned(text) else { continue };
            if !has_token(&text) {
                terms.substrings.push(text);
            } else if is_phrase {
                terms.phrases.push(text);
            } else {
                terms.words.push(text);
            }
        }
        for text in query.prefixes.iter().filter_map(|t| cleaned(t)) {
            // The service only makes prefixes of text with a letter or digit; anything else is a word.
            if has_token(&text) { terms.prefixes.push(text) } else { terms.substrings.push(text) }
        }
        for text in query.excluded.iter().filter_map(|t| cleaned(t)) {
            if has_token(&text) { terms.excluded.push(text) } else { terms.excluded_substrings.push(text) }
        }
        terms
    }

    pub(crate) fn has_index_terms(&self) -> bool {
        !self.words.is_empty() || !self.phrases.is_empty() || !self.prefixes.is_empty()
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

/// The newest messages of the whole database, by id: a search first looks for its matches
/// among these alone (see [`Database::search_messages`]).
#[derive(Debug, Clone, Copy)]
pub(crate) struct RecentWindow {
    /// How many messages the window holds.
    pub(crate) size: u32,
    /// The oldest id in the window: every message with a greater id is in it.
    pub(crate) oldest_id: Uuid,
    /// SQLite: the lowest `seq` (the text index's rowid) of the window's messages, which bounds
    /// the text index's walk.
    pub(crate) lowest_seq: i64,
}

/// The part of a search query each backend writes in its own dialect.
pub(crate) trait SearchDialect: sqlx::Database {
    /// Appends the `FROM` sources and ` WHERE <match terms>` for [`Terms::words`],
    /// [`Terms::phrases`] and [`Terms::prefixes`] (not all empty), with `messages` aliased `m`,
    /// so that the text index drives; with a `window`, only the window's messages are read.
    fn push_indexed_from<'a>(qb: &mut QueryBuilder<'a, Self>, terms: &'a Terms, window: Option<RecentWindow>);
    /// Appends ` AND NOT <m matches text>` for one excluded word or phrase (with a letter or digit).
    fn push_excluded<'a>(qb: &mut QueryBuilder<'a, Self>, text: &'a str, window: Option<RecentWindow>);
}

/// Builds the search query after `select` (which ends in `FROM `), for the backend of the
/// enclosing `on_db!` body. With index terms the text index comes first and drives: only its
/// matching rows are read, then filtered and sorted. (Starting from the channel's messages,
/// newest first, and testing the match row by row took 20-47 s over a channel of 890,000 messages
/// for a word found once or not at all.)
macro_rules! search_query {
    ($select:expr, $query:expr, $terms:expr, $patterns:expr) => {
        search_query!($select, $query, $terms, $patterns, None::<uuid::Uuid>, $query.limit, None)
    };
    ($select:expr, $query:expr, $terms:expr, $patterns:expr, $below:expr, $limit:expr, $window:expr) => {{
        let window: Option<RecentWindow> = $window;
        let (query, terms, patterns): (&SearchQuery, &Terms, &Patterns) = (&$query, &$terms, &$patterns);
        let mut qb = QueryBuilder::new($select.as_str());
        if query.deleted {
            // Deleted messages are outside the text index: the partial index over them drives,
            // and the caller matches the text.
            qb.push("messages m WHERE m.deleted_at IS NOT NULL");
        } else {
            if terms.has_index_terms() {
                SearchDialect::push_indexed_from(&mut qb, terms, window);
            } else {
                qb.push("messages m WHERE TRUE");
            }
            qb.push(" AND m.deleted_at IS NULL");
            for pattern in &patterns.required {
                qb.push(" AND m.content LIKE ").push_bind(pattern.as_str()).push(" ESCAPE '\\'");
            }
            for pattern in &patterns.excluded {
                qb.push(" AND m.content NOT LIKE ").push_bind(pattern.as_str()).push(" ESCAPE '\\'");
            }
            for text in &terms.excluded {
                SearchDialect::push_excluded(&mut qb, text.as_str(), window);
            }
        }
        qb.push(" AND m.channel_id IN (");
        let mut ids = qb.separated(", ");
        for id in &query.channel_ids {
            ids.push_bind(id.uuid());
        }
        qb.push(")");
        if let Some(author) = query.author_id {
            qb.push(" AND m.author_id = ").push_bind(author.uuid());
        }
        if !query.author_ids.is_empty() {
            qb.push(" AND m.author_id IN (");
            let mut ids = qb.separated(", ");
            for id in &query.author_ids {
                ids.push_bind(id.uuid());
            }
            qb.push(")");
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
        if query.has_image {
            qb.push(" AND EXISTS (SELECT 1 FROM attachments a WHERE a.message_id = m.id AND a.content_type LIKE 'image/%')");
        }
        if query.has_link {
            qb.push(" AND (LOWER(m.content) LIKE '%http://%' OR LOWER(m.content) LIKE '%https://%')");
        }
        if query.edited {
            qb.push(" AND m.edited_at IS NOT NULL");
        }
        if query.pinned {
            qb.push(" AND m.pinned_at IS NOT NULL");
        }
        if let Some(below) = $below {
            qb.push(" AND m.id < ").push_bind(below);
        }
        qb.push(" ORDER BY m.id DESC LIMIT ").push_bind(limit($limit));
        qb
    }};
}

/// Runs a search statement with a time limit: past it SQLite interrupts the statement (a progress
/// handler) and PostgreSQL cancels it (`statement_timeout`), and the search fails with
/// [`StoreError::TimedOut`].
pub(crate) trait WithinTime: sqlx::Database {
    fn fetch_rows_within<'a, 'q: 'a>(
        pool: &'a sqlx::Pool<Self>,
        qb: &'a mut QueryBuilder<'q, Self>,
        time_limit: Duration,
    ) -> BoxFuture<'a, Res<Vec<MessageRow>>>;
}

/// The statement was stopped for its time limit: SQLite's `SQLITE_INTERRUPT` (9), PostgreSQL's
/// `query_canceled` (57014).
fn timed_out(error: sqlx::Error) -> crate::db::Fail {
    match &error {
        sqlx::Error::Database(db) if matches!(db.code().as_deref(), Some("9" | "57014")) => {
            StoreError::TimedOut.into()
        }
        _ => error.into(),
    }
}

/// A connection whose statement runs under an armed progress handler. Once the statement has
/// ended (answered, failed or stopped) the handler is disarmed and the connection goes back to the
/// pool. Dropped mid-statement (the caller went away) the handler stays armed, so the statement
/// still stops at its deadline, and the connection is closed rather than reused.
struct Armed {
    conn: sqlx::pool::PoolConnection<Sqlite>,
    armed: Arc<AtomicBool>,
    ended: bool,
}

impl Drop for Armed {
    fn drop(&mut self) {
        if self.ended {
            self.armed.store(false, Ordering::Relaxed);
        } else {
            self.conn.close_on_drop();
        }
    }
}

impl WithinTime for Sqlite {
    fn fetch_rows_within<'a, 'q: 'a>(
        pool: &'a sqlx::Pool<Self>,
        qb: &'a mut QueryBuilder<'q, Self>,
        time_limit: Duration,
    ) -> BoxFuture<'a, Res<Vec<MessageRow>>> {
        Box::pin(async move {
            let deadline = Instant::now() + time_limit;
            let mut conn = pool.acquire().await?;
            let armed = Arc::new(AtomicBool::new(true));
            let check = Arc::clone(&armed);
            // Asked every 1,000 virtual machine steps (microseconds): false stops the statement.
            conn.lock_handle().await?.set_progress_handler(1_000, move || {
                !check.load(Ordering::Relaxed) || Instant::now() < deadline
            });
            let mut running = Armed { conn, armed, ended: false };
            let rows =
                qb.build_query_as::<MessageRow>().persistent(false).fetch_all(&mut *running.conn).await;
            running.ended = true;
            rows.map_err(timed_out)
        })
    }
}

impl WithinTime for Postgres {
    fn fetch_rows_within<'a, 'q: 'a>(
        pool: &'a sqlx::Pool<Self>,
        qb: &'a mut QueryBuilder<'q, Self>,
        time_limit: Duration,
    ) -> BoxFuture<'a, Res<Vec<MessageRow>>> {
        Box::pin(async move {
            // `SET LOCAL` lasts until the transaction ends (a dropped one rolls back).
            let mut tx = pool.begin().await?;
            let millis = time_limit.as_millis().clamp(1, i32::MAX as u128);
            sqlx::query(&format!("SET LOCAL statement_timeout = {millis}")).execute(&mut *tx).await?;
            let rows = qb
                .build_query_as::<MessageRow>()
                .persistent(false)
                .fetch_all(&mut *tx)
                .await
                .map_err(timed_out)?;
            tx.commit().await?;
            Ok(rows)
        })
    }
}

/// `LIKE` patterns for the substring terms.
pub(crate) struct Patterns {
    required: Vec<String>,
    excluded: Vec<String>,
}

impl Patterns {
    fn of(terms: &Terms) -> Self {
        Self {
            required: terms.substrings.iter().map(|s| like_pattern(s)).collect(),
            excluded: terms.excluded_substrings.iter().map(|s| like_pattern(s)).collect(),
        }
    }
}

/// How many deleted messages an `is:deleted` search reads per round trip before matching them.
const DELETED_BATCH: u32 = 200;

/// The first window of newest messages a search tries before the whole text index.
const FIRST_WINDOW: u32 = 1024;
/// The largest second window: its size follows from how many matches the first one held, and a
/// word that needs more than this is rare enough (under about 0.2 % of messages) for the whole
/// index to read its matches quickly.
const LARGEST_WINDOW: u32 = 16_384;

/// The second window for `found` matches of `limit` in the first: 1.5 times the size at which
/// the same density would give `limit`, at least twice the first; `None` when the first found
/// nothing or the density says the largest window would not do.
fn second_window(found: usize, limit: u32) -> Option<u32> {
    if found == 0 {
        return None;
    }
    let wanted = u64::from(FIRST_WINDOW) * u64::from(limit) * 3 / (2 * found as u64);
    (wanted <= u64::from(LARGEST_WINDOW)).then(|| (wanted as u32).max(2 * FIRST_WINDOW))
}

impl Database {
    /// PostgreSQL's parser drops some characters FTS5 keeps as words (`½`, `²`, ...): a word or
    /// phrase that yields no lexeme would match nothing, so it is matched as a substring instead.
    async fn refine(&self, mut terms: Terms) -> Res<Terms> {
        on_db!(self, read, |pool, dialect| {
            if dialect == Dialect::Postgres {
                for kind in 0..4 {
                    let list = match kind {
                        0 => &mut terms.words,
                        1 => &mut terms.phrases,
                        2 => &mut terms.prefixes,
                        _ => &mut terms.excluded,
                    };
                    let mut kept = Vec::with_capacity(list.len());
                    let mut dropped = Vec::new();
                    for text in list.drain(..) {
                        let lexemes: i32 =
                            sqlx::query_scalar("SELECT numnode(plainto_tsquery('simple', $1))")
                                .bind(text.as_str())
                                .fetch_one(pool)
                                .await?;
                        if lexemes == 0 { dropped.push(text) } else { kept.push(text) }
                    }
                    *list = kept;
                    if kind == 3 {
                        terms.excluded_substrings.extend(dropped);
                    } else {
                        terms.substrings.extend(dropped);
                    }
                }
            }
        });
        Ok(terms)
    }

    pub(crate) async fn search(&self, query: &SearchQuery) -> Res<Vec<Message>> {
        if query.channel_ids.is_empty() || query.limit == 0 {
            return Ok(Vec::new());
        }
        if query.deleted {
            return self.search_deleted(query).await;
        }
        let terms = self.refine(Terms::of(query)).await?;
        let patterns = Patterns::of(&terms);
        let select = format!("SELECT {} FROM ", qualified(MESSAGE_COLS, "m"));
        // Driven by the text index alone, a search reads every match of its words anywhere, then
        // keeps the newest: fast for a rare word, slow for a common one (460 ms for a word in
        // 17 % of 1,000,000 messages). The newest matches of a common word are among the newest
        // messages, so those are tried first: if a window holds `limit` matches, they are the
        // newest ones (every message outside the window is older than every message in it).
        // `before:` starts the results in the past, where the windows are not.
        if terms.has_index_terms() && query.before.is_none() {
            let mut size = Some(FIRST_WINDOW);
            while let Some(current) = size.take() {
                let Some(window) = self.recent_window(current).await? else { break };
                let rows: Vec<MessageRow> = on_db!(self, read, |pool| {
                    let mut qb = search_query!(
                        select,
                        query,
                        terms,
                        patterns,
                        None::<Uuid>,
                        query.limit,
                        Some(window)
                    );
                    qb.build_query_as::<MessageRow>().persistent(false).fetch_all(pool).await?
                });
                if rows.len() >= query.limit as usize {
                    return self.load_messages(rows, query.viewer, false).await;
                }
                if current == FIRST_WINDOW {
                    size = second_window(rows.len(), query.limit);
                }
            }
        }
        // Without index terms nothing narrows the scan but the filters: it gets the time limit.
        let time_limit = query.time_limit.filter(|_| !terms.has_index_terms());
        let rows: Vec<MessageRow> = on_db!(self, read, |pool| {
            let mut qb = search_query!(select, query, terms, patterns);
            match time_limit {
                Some(time_limit) => WithinTime::fetch_rows_within(pool, &mut qb, time_limit).await?,
                // Not a named prepared statement: PostgreSQL plans an unnamed one with the actual
                // words each time, never with a generic plan (see `postgres::search` for how the
                // GIN index is made to drive either way).
                None => qb.build_query_as::<MessageRow>().persistent(false).fetch_all(pool).await?,
            }
        });
        self.load_messages(rows, query.viewer, false).await
    }

    /// The newest `size` messages (deleted ones included: the window is a range of ids), or `None`
    /// when the database holds no more than that, so the window would be everything.
    async fn recent_window(&self, size: u32) -> Res<Option<RecentWindow>> {
        let window: Option<(Option<Uuid>, Option<i64>, i64)> = on_db!(self, read, |pool, dialect| {
            if dialect == Dialect::Sqlite {
                let sql = "SELECT MIN(id), MIN(seq), COUNT(*) FROM (SELECT id, seq FROM messages ORDER BY id DESC LIMIT $1) w";
                Some(sqlx::query_as(sql).bind(i64::from(size)).fetch_one(pool).await?)
            } else {
                // PostgreSQL reads its window as the newest `size` rows of the primary key in the
                // search query itself: nothing to look up first.
                None
            }
        });
        Ok(match window {
            None => Some(RecentWindow { size, oldest_id: Uuid::nil(), lowest_seq: 0 }),
            Some((Some(oldest_id), Some(lowest_seq), count)) if count >= i64::from(size) => {
                Some(RecentWindow { size, oldest_id, lowest_seq })
            }
            Some(_) => None,
        })
    }

    /// Deleted messages are outside the text index: read the channels' deleted messages newest
    /// first in batches (the filters in SQL, through the partial index over deleted rows) and match
    /// the text with the same matcher on both backends.
    async fn search_deleted(&self, query: &SearchQuery) -> Res<Vec<Message>> {
        let matcher = Matcher::new(&query.words, &query.phrases, &query.prefixes, &query.excluded);
        let terms = Terms::default();
        let patterns = Patterns::of(&terms);
        let select = format!("SELECT {} FROM ", qualified(MESSAGE_COLS, "m"));
        let wanted = query.limit as usize;
        let mut found: Vec<MessageRow> = Vec::new();
        let mut below: Option<Uuid> = None;
        let deadline = query.time_limit.map(|limit| Instant::now() + limit);
        loop {
            // Each batch is small; the number of batches is what the time limit bounds.
            if deadline.is_some_and(|deadline| Instant::now() >= deadline) {
                return Err(StoreError::TimedOut.into());
            }
            let batch: Vec<MessageRow> = on_db!(self, read, |pool| {
                let mut qb = search_query!(select, query, terms, patterns, below, DELETED_BATCH, None);
                qb.build_query_as::<MessageRow>().persistent(false).fetch_all(pool).await?
            });
            let exhausted = batch.len() < DELETED_BATCH as usize;
            below = batch.last().map(|row| row.id);
            found.extend(batch.into_iter().filter(|row| matcher.matches(&row.content)));
            if found.len() >= wanted || exhausted {
                break;
            }
        }
        found.truncate(wanted);
        self.load_messages(found, query.viewer, false).await
    }

    /// The plan the backend chooses for `query` (`EXPLAIN QUERY PLAN` details on SQLite, `EXPLAIN`
    /// lines on PostgreSQL), to check which index drives a search.
    #[cfg(test)]
    pub(crate) async fn search_plan(&self, query: &SearchQuery) -> Res<Vec<String>> {
        let terms = self.refine(Terms::of(query)).await?;
        let patterns = Patterns::of(&terms);
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
        let mut query = SearchQuery::new(Vec::new(), 10);
        query.words = strings(words);
        query.phrases = strings(phrases);
        query.prefixes = strings(&["pre", "🦀"]);
        query.excluded = strings(&["no", "?", "\0"]);
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
                prefixes: strings(&["pre"]),
                substrings: strings(&["🦀", "*", "?!", "🦀"]),
                excluded: strings(&["no"]),
                excluded_substrings: strings(&["?"]),
            },
        );
    }

    fn search(words: &[&str], author: bool) -> SearchQuery {
        let mut query = SearchQuery::new(vec![rift::id::ChannelId::new()], 25);
        query.words = strings(words);
        query.author_id = author.then(rift::id::UserId::new);
        query
    }

    /// The FTS5 index must be the outer loop (first in the plan), whatever the filters: walking a
    /// channel newest-first and testing MATCH per row is the 20-47 s denial of service.
    #[tokio::test]
    async fn sqlite_search_is_driven_by_the_text_index() {
        let dir = tempfile::tempdir().unwrap();
        let db = Database::open_sqlite(dir.path().join("plan.db")).await.unwrap();
        let mut with_operators = search(&["rare"], true);
        with_operators.prefixes = strings(&["pre"]);
        with_operators.excluded = strings(&["spam", "big deal"]);
        with_operators.edited = true;
        with_operators.pinned = true;
        with_operators.has_link = true;
        with_operators.has_image = true;
        let mut prefix_only = search(&[], false);
        prefix_only.prefixes = strings(&["pre"]);
        for query in [search(&["rare"], false), search(&["rare", "word"], true), with_operators, prefix_only]
        {
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
    fn the_second_window_follows_the_first_ones_density() {
        assert_eq!(second_window(0, 25), None, "nothing in the first: a rare word");
        assert_eq!(second_window(24, 25), Some(2 * FIRST_WINDOW), "at least twice the first");
        assert_eq!(second_window(4, 25), Some(9_600));
        assert_eq!(second_window(2, 25), None, "would need 19,200");
        assert_eq!(second_window(50, 100), Some(3_072));
    }

    #[test]
    fn like_wildcards_are_escaped() {
        assert_eq!(like_pattern("50%_off\\"), "%50\\%\\_off\\\\%");
        assert_eq!(like_pattern("🦀"), "%🦀%");
    }
}
