//! Search text without I/O: the query language of `GET /api/search?q=` (operators, phrases,
//! prefixes, exclusions) and the text matcher that finds the matched ranges in a message.
//!
//! Nothing here can fail: text that is not a well-formed operator is searched as literal text.

use chrono::{NaiveDate, NaiveTime, TimeZone, Utc};
use serde::{Deserialize, Serialize};

use crate::id::Timestamp;

/// What `has:` asks for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Has {
    /// Any attachment (`has:attachment`, `has:file`).
    Attachment,
    /// An `http(s)://` link in the text.
    Link,
    /// An image attachment.
    Image,
}

/// What `is:` asks for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Is {
    /// Edited at least once.
    Edited,
    /// Deleted (only where the searcher may see deleted content).
    Deleted,
    /// Pinned.
    Pinned,
}

/// Where `in:` looks.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum InChannel {
    /// `in:name` or `in:#name`: a server channel, or a named group DM, with that name (in any
    /// case); also any channel or DM whose id it is.
    Named(String),
    /// `in:@username`: the searcher's direct message (two people) with that user.
    DmWith(String),
}

/// A parsed search text: free text split by how it is matched, and the operators.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
#[non_exhaustive]
pub(crate) struct ParsedQuery {
    /// Plain words, all required.
    pub words: Vec<String>,
    /// `"exact phrases"`, all required.
    pub phrases: Vec<String>,
    /// `prefix*` words (without the `*`), all required.
    pub prefixes: Vec<String>,
    /// `-word` and `-"phrase"`: none may appear.
    pub excluded: Vec<String>,
    /// `from:name` (any of them), names without a leading `@`.
    pub from: Vec<String>,
    /// `in:name`, `in:#name`, `in:@user` or `in:<channel id>` (any of them).
    pub in_channels: Vec<InChannel>,
    /// `has:` filters, all required.
    pub has: Vec<Has>,
    /// `is:` filters, all required.
    pub is: Vec<Is>,
    /// Sent before this instant (`before:YYYY-MM-DD`: before that day began, UTC).
    pub before: Option<Timestamp>,
    /// Sent after this instant, exclusive (`after:YYYY-MM-DD`: from the next day on, UTC; it is
    /// one microsecond before that day, the finest time the stores keep).
    pub after: Option<Timestamp>,
}

fn day_start(date: NaiveDate) -> Timestamp {
    Utc.from_utc_datetime(&date.and_time(NaiveTime::MIN))
}

/// The exclusive lower bound that admits everything from the start of `date` on.
fn just_before(date: NaiveDate) -> Timestamp {
    day_start(date) - chrono::Duration::microseconds(1)
}

/// A `YYYY-MM-DD` date; anything else (other formats, impossible days) is `None`.
fn parse_date(value: &str) -> Option<NaiveDate> {
    let ok_shape = value.len() == 10
        && value
            .bytes()
            .enumerate()
            .all(|(i, b)| if i == 4 || i == 7 { b == b'-' } else { b.is_ascii_digit() });
    if !ok_shape {
        return None;
    }
    NaiveDate::parse_from_str(value, "%Y-%m-%d").ok()
}

impl ParsedQuery {
    /// Parses `q`. Whitespace separates terms; `"` starts a phrase that runs to the next `"` (or the
    /// end); `-` before a word or phrase excludes it; a word ending in `*` is a prefix; `key:value`
    /// with a known key and a valid value is an operator. Everything else is literal text.
    pub(crate) fn parse(q: &str) -> Self {
        let mut parsed = Self::default();
        let mut rest = q;
        loop {
            rest = rest.trim_start();
            if rest.is_empty() {
                break;
            }
            let negated_phrase = rest.starts_with("-\"");
            if negated_phrase || rest.starts_with('"') {
                let body = &rest[if negated_phrase { 2 } else { 1 }..];
                let (phrase, after) = match body.find('"') {
                    Some(end) => (&body[..end], &body[end + 1..]),
                    None => (body, ""),
                };
                let phrase = phrase.split_whitespace().collect::<Vec<_>>().join(" ");
                if !phrase.is_empty() {
                    if negated_phrase { parsed.excluded.push(phrase) } else { parsed.phrases.push(phrase) }
                }
                rest = after;
                continue;
            }
            // A word runs to whitespace or a quote (a quote inside a word starts a phrase).
            let end = rest.find(|c: char| c.is_whitespace() || c == '"').unwrap_or(rest.len());
            let word = &rest[..end];
            rest = &rest[end..];
            parsed.take_word(word);
        }
        parsed
    }

    fn take_word(&mut self, word: &str) {
        if let Some(excluded) = word.strip_prefix('-')
            && !excluded.is_empty()
        {
            self.excluded.push(excluded.to_owned());
            return;
        }
        if let Some((key, value)) = word.split_once(':')
            && self.take_operator(&key.to_ascii_lowercase(), value)
        {
            return;
        }
        let stem = word.trim_end_matches('*');
        if stem.len() < word.len() && stem.chars().any(char::is_alphanumeric) {
            self.prefixes.push(stem.to_owned());
        } else {
            self.words.push(word.to_owned());
        }
    }

    /// Applies `key:value`; `false` (literal text) when the key is unknown or the value invalid.
    fn take_operator(&mut self, key: &str, value: &str) -> bool {
        match key {
            "from" => {
                let name = value.strip_prefix('@').unwrap_or(value);
                if name.is_empty() {
                    return false;
                }
                self.from.push(name.to_owned());
            }
            "in" => {
                let target = match value.strip_prefix('@') {
                    Some(user) => InChannel::DmWith(user.to_owned()),
                    None => InChannel::Named(value.strip_prefix('#').unwrap_or(value).to_owned()),
                };
                if matches!(&target, InChannel::Named(name) | InChannel::DmWith(name) if name.is_empty()) {
                    return false;
                }
                self.in_channels.push(target);
            }
            "has" => {
                let has = match value.to_ascii_lowercase().as_str() {
                    "attachment" | "file" => Has::Attachment,
                    "link" => Has::Link,
                    "image" => Has::Image,
                    _ => return false,
                };
                self.has.push(has);
            }
            "is" => {
                let is = match value.to_ascii_lowercase().as_str() {
                    "edited" => Is::Edited,
                    "deleted" => Is::Deleted,
                    "pinned" => Is::Pinned,
                    _ => return false,
                };
                self.is.push(is);
            }
            "before" | "after" | "during" => {
                let Some(date) = parse_date(value) else { return false };
                let Some(next_day) = date.succ_opt() else { return false };
                let (after, before) = match key {
                    "before" => (None, Some(day_start(date))),
                    "after" => (Some(just_before(next_day)), None),
                    _ => (Some(just_before(date)), Some(day_start(next_day))),
                };
                if let Some(after) = after {
                    self.after = Some(self.after.map_or(after, |a| a.max(after)));
                }
                if let Some(before) = before {
                    self.before = Some(self.before.map_or(before, |b| b.min(before)));
                }
            }
            _ => return false,
        }
        true
    }

    /// Whether `is:` asks for this.
    pub(crate) fn is(&self, is: Is) -> bool {
        self.is.contains(&is)
    }

    /// Whether `has:` asks for this.
    pub(crate) fn has(&self, has: Has) -> bool {
        self.has.contains(&has)
    }

    /// The matcher for the free text (words, phrases, prefixes, exclusions).
    pub(crate) fn matcher(&self) -> Matcher {
        Matcher::new(&self.words, &self.phrases, &self.prefixes, &self.excluded)
    }
}

/// A matched range of a message's content, in Unicode scalar values (characters, as
/// `MAX_MESSAGE_CHARS` counts them): `start` inclusive, `end` exclusive.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize)]
pub struct MatchRange {
    /// First character.
    pub start: usize,
    /// One past the last character.
    pub end: usize,
}

/// One term as the matcher sees it.
#[derive(Debug, Clone, PartialEq, Eq)]
enum Term {
    /// A sequence of lower-cased tokens; the last may be a prefix.
    Tokens { tokens: Vec<String>, prefix: bool },
    /// Text without letters or digits (punctuation, emoji), matched as a substring.
    Substring(String),
}

impl Term {
    fn of(text: &str, prefix: bool) -> Option<Self> {
        let tokens: Vec<String> = tokens(text).into_iter().map(|t| t.text).collect();
        if tokens.is_empty() {
            let text = text.trim();
            (!text.is_empty()).then(|| Self::Substring(text.to_owned()))
        } else {
            Some(Self::Tokens { tokens, prefix })
        }
    }

    /// Where this term occurs in `content` (character ranges).
    fn find(&self, content: &str, content_tokens: &[Token]) -> Vec<MatchRange> {
        match self {
            Self::Substring(needle) => {
                let mut found = Vec::new();
                for (byte, _) in content.match_indices(needle.as_str()) {
                    let start = content[..byte].chars().count();
                    found.push(MatchRange { start, end: start + needle.chars().count() });
                }
                found
            }
            Self::Tokens { tokens, prefix } => {
                let n = tokens.len();
                if content_tokens.len() < n {
                    return Vec::new();
                }
                (0..=content_tokens.len() - n)
                    .filter(|&i| {
                        tokens.iter().enumerate().all(|(k, want)| {
                            let have = &content_tokens[i + k].text;
                            if *prefix && k == n - 1 { have.starts_with(want.as_str()) } else { have == want }
                        })
                    })
                    .map(|i| MatchRange {
                        start: content_tokens[i].start,
                        end: content_tokens[i + n - 1].end,
                    })
                    .collect()
            }
        }
    }
}

/// A word of content: a run of letters and digits, lower-cased, with its character range.
#[derive(Debug, Clone)]
struct Token {
    text: String,
    start: usize,
    end: usize,
}

fn tokens(text: &str) -> Vec<Token> {
    let mut out: Vec<Token> = Vec::new();
    let mut current: Option<Token> = None;
    for (i, c) in text.chars().enumerate() {
        if c.is_alphanumeric() {
            let token = current.get_or_insert_with(|| Token { text: String::new(), start: i, end: i });
            token.text.extend(c.to_lowercase());
            token.end = i + 1;
        } else if let Some(token) = current.take() {
            out.push(token);
        }
    }
    out.extend(current);
    out
}

/// Matches the free text of a search against a message's content, word by word (runs of letters
/// and digits, case-insensitive), as the text indexes do; text without letters or digits
/// matches as a substring.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Matcher {
    required: Vec<Term>,
    excluded: Vec<Term>,
}

impl Matcher {
    /// A matcher requiring every word, phrase and prefix and rejecting every excluded text.
    pub fn new(words: &[String], phrases: &[String], prefixes: &[String], excluded: &[String]) -> Self {
        let required = words
            .iter()
            .chain(phrases)
            .filter_map(|t| Term::of(t, false))
            .chain(prefixes.iter().filter_map(|t| Term::of(t, true)))
            .collect();
        let excluded = excluded.iter().filter_map(|t| Term::of(t, false)).collect();
        Self { required, excluded }
    }

    /// Whether `content` has every required term and no excluded one.
    pub fn matches(&self, content: &str) -> bool {
        let content_tokens = tokens(content);
        self.required.iter().all(|t| !t.find(content, &content_tokens).is_empty())
            && self.excluded.iter().all(|t| t.find(content, &content_tokens).is_empty())
    }

    /// The ranges of `content` the required terms match, sorted, overlapping ones merged.
    pub fn ranges(&self, content: &str) -> Vec<MatchRange> {
        let content_tokens = tokens(content);
        let mut ranges: Vec<MatchRange> =
            self.required.iter().flat_map(|t| t.find(content, &content_tokens)).collect();
        ranges.sort();
        let mut merged: Vec<MatchRange> = Vec::with_capacity(ranges.len());
        for range in ranges {
            match merged.last_mut() {
                Some(last) if range.start <= last.end => last.end = last.end.max(range.end),
                _ => merged.push(range),
            }
        }
        merged
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn strings(s: &[&str]) -> Vec<String> {
        s.iter().map(|s| s.to_string()).collect()
    }

    #[track_caller]
    fn check_text(q: &str, words: &[&str], phrases: &[&str], prefixes: &[&str], excluded: &[&str]) {
        let p = ParsedQuery::parse(q);
        assert_eq!(p.words, strings(words), "words of {q:?}");
        assert_eq!(p.phrases, strings(phrases), "phrases of {q:?}");
        assert_eq!(p.prefixes, strings(prefixes), "prefixes of {q:?}");
        assert_eq!(p.excluded, strings(excluded), "excluded of {q:?}");
    }

    #[test]
    fn free_text() {
        check_text("hello  world", &["hello", "world"], &[], &[], &[]);
        check_text(r#"say "hello   there" now"#, &["say", "now"], &["hello there"], &[], &[]);
        check_text(r#"a "b c"#, &["a"], &["b c"], &[], &[]);
        check_text(r#""" 🦀"#, &["🦀"], &[], &[], &[]);
        check_text("hel* -spam -\"big deal\" * -", &["*", "-"], &[], &["hel"], &["spam", "big deal"]);
        check_text(r#"say"hi" there"#, &["say", "there"], &["hi"], &[], &[]);
    }

    #[test]
    fn malformed_operators_are_literal_text() {
        check_text(
            "NEAR(a b) OR col:umn ( from: in:# in:@ has:nothing is:cool before:2024-13-01 after:yesterday \
             during:2024-1-1 before:2024-02-30",
            &[
                "NEAR(a",
                "b)",
                "OR",
                "col:umn",
                "(",
                "from:",
                "in:#",
                "in:@",
                "has:nothing",
                "is:cool",
                "before:2024-13-01",
                "after:yesterday",
                "during:2024-1-1",
                "before:2024-02-30",
            ],
            &[],
            &[],
            &[],
        );
        let p = ParsedQuery::parse("before:2024-13-01 is:cool");
        assert_eq!((p.before, p.is.len()), (None, 0));
    }

    #[test]
    fn operators() {
        let p = ParsedQuery::parse(
            "from:@ada FROM:bob in:#general in:@bob in:random has:link has:IMAGE has:file is:edited is:pinned \
             is:deleted x",
        );
        assert_eq!(p.from, strings(&["ada", "bob"]));
        assert_eq!(
            p.in_channels,
            [
                InChannel::Named("general".into()),
                InChannel::DmWith("bob".into()),
                InChannel::Named("random".into())
            ]
        );
        assert_eq!(p.has, vec![Has::Link, Has::Image, Has::Attachment]);
        assert_eq!(p.is, vec![Is::Edited, Is::Pinned, Is::Deleted]);
        assert_eq!(p.words, strings(&["x"]));
    }

    #[test]
    fn dates_are_utc_days() {
        let date = |s: &str| NaiveDate::parse_from_str(s, "%Y-%m-%d").unwrap();
        let day = |s: &str| day_start(date(s));
        let from = |s: &str| just_before(date(s));
        let p = ParsedQuery::parse("before:2024-03-10");
        assert_eq!((p.after, p.before), (None, Some(day("2024-03-10"))));
        let p = ParsedQuery::parse("after:2024-03-10");
        assert_eq!((p.after, p.before), (Some(from("2024-03-11")), None));
        let p = ParsedQuery::parse("during:2024-02-29");
        assert_eq!((p.after, p.before), (Some(from("2024-02-29")), Some(day("2024-03-01"))));
        // The narrowest bounds win.
        let p = ParsedQuery::parse("during:2024-02-29 after:2024-01-01 before:2025-01-01");
        assert_eq!((p.after, p.before), (Some(from("2024-02-29")), Some(day("2024-03-01"))));
    }

    #[track_caller]
    fn check_ranges(q: &str, content: &str, expected: &[(usize, usize)]) {
        let matcher = ParsedQuery::parse(q).matcher();
        let ranges: Vec<(usize, usize)> = matcher.ranges(content).iter().map(|r| (r.start, r.end)).collect();
        assert_eq!(ranges, expected, "{q:?} in {content:?}");
    }

    #[test]
    fn ranges_are_character_offsets() {
        check_ranges("hello", "Hello, hello!", &[(0, 5), (7, 12)]);
        check_ranges("wor*", "🦀 world wide", &[(2, 7)]);
        check_ranges("\"big deal\"", "a BIG   deal here", &[(2, 12)]);
        check_ranges("🦀 crab", "crab 🦀", &[(0, 4), (5, 6)]);
        check_ranges("café", "Café au lait", &[(0, 4)]);
        check_ranges("hel* hello", "hello", &[(0, 5)]);
        check_ranges("absent", "nothing here", &[]);
    }

    #[test]
    fn matching_is_by_word() {
        let m = ParsedQuery::parse("cat -dog").matcher();
        assert!(m.matches("a Cat sat"));
        assert!(!m.matches("concatenate"));
        assert!(!m.matches("cat and DOG"));
        assert!(m.matches("cat and hotdog"));
        let m = ParsedQuery::parse("\"two words\" pre*").matcher();
        assert!(m.matches("two words preview"));
        assert!(!m.matches("words two preview"));
        assert!(!m.matches("two words"));
    }

    /// Property: any text parses without panicking, and every word of plain text (no operators,
    /// quotes, `-` or `*`) comes back as a word.
    #[test]
    fn any_text_parses() {
        let alphabet: Vec<char> = "ab :-*\"\\'%_()é🦀\u{0}\t#@fromisinhas".chars().collect();
        let mut seed: u64 = 0x2545_f491_4f6c_dd1d;
        for _ in 0..2000 {
            let mut q = String::new();
            for _ in 0..(seed % 24) {
                seed ^= seed << 13;
                seed ^= seed >> 7;
                seed ^= seed << 17;
                q.push(alphabet[(seed % alphabet.len() as u64) as usize]);
            }
            let parsed = ParsedQuery::parse(&q);
            let _ = parsed.matcher().ranges(&q);
        }
        check_text("plain words only", &["plain", "words", "only"], &[], &[], &[]);
    }
}
