//! tsvector matching: user text only reaches `plainto_tsquery` / `phraseto_tsquery` as bound
//! parameters, which treat it as plain words (no operators), so it is never tsquery syntax.

use sqlx::{Postgres, QueryBuilder};

use crate::store::search::{SearchDialect, Terms};

/// The GIN index (partial, `WHERE deleted_at IS NULL`, as the search is) serves the matches; the
/// query is planned with its words (see `search_messages`), so the planner's estimate of how
/// rare they are decides between it and walking a channel newest-first.
impl SearchDialect for Postgres {
    fn push_indexed_from<'a>(qb: &mut QueryBuilder<'a, Self>, terms: &'a Terms) {
        qb.push("messages m WHERE TRUE");
        for word in &terms.words {
            qb.push(" AND m.tsv @@ plainto_tsquery('simple', ").push_bind(word.as_str()).push(")");
        }
        for phrase in &terms.phrases {
            qb.push(" AND m.tsv @@ phraseto_tsquery('simple', ").push_bind(phrase.as_str()).push(")");
        }
    }
}
