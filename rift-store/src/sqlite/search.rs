//! FTS5 matching. User text is only ever passed to MATCH as FTS5 strings (double-quoted, inner
//! quotes doubled), so operators, `*`, `:`, `NEAR`, parentheses are searched for, not parsed.

use sqlx::{QueryBuilder, Sqlite};

use crate::store::search::{RecentWindow, SearchDialect, Terms};

/// `text` as an FTS5 string: a phrase of its tokens.
pub(crate) fn fts5_string(text: &str) -> String {
    format!("\"{}\"", text.replace('"', "\"\""))
}

/// Every word and phrase as an FTS5 string and every prefix as an FTS5 prefix string (`"pre"*`),
/// space-separated (FTS5's implicit AND).
pub(crate) fn match_expression(terms: &Terms) -> String {
    terms
        .words
        .iter()
        .chain(&terms.phrases)
        .map(|t| fts5_string(t))
        .chain(terms.prefixes.iter().map(|t| format!("{}*", fts5_string(t))))
        .collect::<Vec<_>>()
        .join(" ")
}

/// The index drives the search: `CROSS JOIN` is SQLite's way to fix the join order, so the FTS5
/// table is the outer loop and each match is looked up by `seq`. With a plain join and
/// `ORDER BY m.id DESC LIMIT`, the planner prefers walking the channel index newest-first and
/// testing MATCH row by row, which reads every message of the channel for a rare word.
impl SearchDialect for Sqlite {
    ///
    /// A window bounds the index's walk by rowid (FTS5 seeks to it): only matches at or above the
    /// window's lowest `seq` are read, and of those only the window's ids are kept.
    fn push_indexed_from<'a>(
        qb: &mut QueryBuilder<'a, Self>,
        terms: &'a Terms,
        window: Option<RecentWindow>,
    ) {
        qb.push("messages_fts CROSS JOIN messages m ON m.seq = messages_fts.rowid WHERE messages_fts MATCH ")
            .push_bind(match_expression(terms));
        if let Some(window) = window {
            qb.push(" AND messages_fts.rowid >= ").push_bind(window.lowest_seq);
            qb.push(" AND m.id >= ").push_bind(window.oldest_id);
        }
    }

    /// The excluded text's matches come from the index too (one lookup, not a scan).
    fn push_excluded<'a>(qb: &mut QueryBuilder<'a, Self>, text: &'a str, window: Option<RecentWindow>) {
        qb.push(" AND m.seq NOT IN (SELECT rowid FROM messages_fts WHERE messages_fts MATCH ")
            .push_bind(fts5_string(text));
        if let Some(window) = window {
            qb.push(" AND rowid >= ").push_bind(window.lowest_seq);
        }
        qb.push(")");
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn quotes_are_doubled_and_terms_quoted() {
        assert_eq!(fts5_string(r#"say "hi""#), r#""say ""hi""""#);
        let terms = Terms {
            words: vec!["NEAR".into(), "a*".into()],
            phrases: vec!["x OR y".into()],
            prefixes: vec!["pre\"fix".into()],
            ..Terms::default()
        };
        assert_eq!(match_expression(&terms), r#""NEAR" "a*" "x OR y" "pre""fix"*"#);
    }
}
