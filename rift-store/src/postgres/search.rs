//! tsvector matching: user text only reaches `plainto_tsquery` / `phraseto_tsquery` as bound
//! parameters, which treat it as plain words (no operators), so it is never tsquery syntax.

use sqlx::{Postgres, QueryBuilder};

use crate::store::search::{SearchDialect, Terms};

impl SearchDialect for Postgres {
    fn push_index_match<'a>(qb: &mut QueryBuilder<'a, Self>, terms: &'a Terms) {
        for word in &terms.words {
            qb.push(" AND m.tsv @@ plainto_tsquery('simple', ").push_bind(word.as_str()).push(")");
        }
        for phrase in &terms.phrases {
            qb.push(" AND m.tsv @@ phraseto_tsquery('simple', ").push_bind(phrase.as_str()).push(")");
        }
    }
}
