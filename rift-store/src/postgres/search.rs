//! tsvector matching: user text only reaches `plainto_tsquery` / `phraseto_tsquery` as bound
//! parameters, which treat it as plain words (no operators), so it is never tsquery syntax; a
//! prefix is made from the tsquery PostgreSQL itself wrote for the text.

use sqlx::{Postgres, QueryBuilder};

use crate::store::search::{RecentWindow, SearchDialect, Terms};

/// The GIN index drives: the matches are a subquery in `FROM` that `OFFSET 0` keeps from being
/// merged into the outer query, so it is planned on its own (a bitmap scan of the partial GIN
/// index, as the search filters `deleted_at IS NULL` too) and the outer query only filters and
/// sorts what matched. Merged, the planner estimated ~1,800 rows for any word it has no statistics
/// for and walked `messages_pkey` backwards testing `tsv @@` row by row: 0.5-1 s over 1M messages
/// for a word found once or nowhere, with custom and generic plans alike.
///
/// A window is the newest `size` rows of the primary key, read backwards (the `LIMIT` keeps the
/// subquery from being merged, so that plan stays); the stored `tsv` is tested on each of them.
impl SearchDialect for Postgres {
    fn push_indexed_from<'a>(
        qb: &mut QueryBuilder<'a, Self>,
        terms: &'a Terms,
        window: Option<RecentWindow>,
    ) {
        match window {
            Some(window) => {
                qb.push("(SELECT * FROM messages ORDER BY id DESC LIMIT ")
                    .push_bind(i64::from(window.size))
                    .push(") m WHERE m.deleted_at IS NULL");
            }
            None => {
                qb.push("(SELECT * FROM messages m WHERE m.deleted_at IS NULL");
            }
        }
        for word in &terms.words {
            qb.push(" AND m.tsv @@ plainto_tsquery('simple', ").push_bind(word.as_str()).push(")");
        }
        for phrase in &terms.phrases {
            qb.push(" AND m.tsv @@ phraseto_tsquery('simple', ").push_bind(phrase.as_str()).push(")");
        }
        for prefix in &terms.prefixes {
            // The phrase as PostgreSQL itself writes it (its quoting), with the last lexeme made a
            // prefix: FTS5's `"a b"*`. Only text with a lexeme gets here, so it is never empty.
            qb.push(" AND m.tsv @@ (phraseto_tsquery('simple', ")
                .push_bind(prefix.as_str())
                .push(")::text || ':*')::tsquery");
        }
        if window.is_none() {
            qb.push(" OFFSET 0) m WHERE TRUE");
        }
    }

    fn push_excluded<'a>(qb: &mut QueryBuilder<'a, Self>, text: &'a str, _window: Option<RecentWindow>) {
        qb.push(" AND NOT (m.tsv @@ phraseto_tsquery('simple', ").push_bind(text).push("))");
    }
}
