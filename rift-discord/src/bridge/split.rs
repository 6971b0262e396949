//! Splitting a long Rift message into Discord-sized parts: at most `max` Unicode code points each,
//! cut at a line break, else a space, never inside a character or a grapheme cluster (an emoji
//! sequence stays whole); a fenced code block cut by a split is closed at the end of one part and
//! reopened, with its language tag, at the start of the next.

use unicode_segmentation::UnicodeSegmentation;

const FENCE: &str = "```";
const CLOSE: &str = "\n```";

/// Splits `text` into parts of at most `max` code points (`max` ≥ 16).
pub(crate) fn split_message(text: &str, max: usize) -> Vec<String> {
    let max = max.max(16);
    let mut parts = Vec::new();
    let mut prefix = String::new();
    let mut rest = text;
    while prefix.chars().count() + rest.chars().count() > max {
        let prefix_chars = prefix.chars().count();
        let mut budget = max - prefix_chars;
        let (part, cut, separator, reopen) = loop {
            let cut = best_cut(rest, budget);
            let body = &rest[..cut];
            let whole = format!("{prefix}{body}");
            let open = open_fence(&whole);
            let closing = if open.is_some() { CLOSE } else { "" };
            if whole.chars().count() + closing.chars().count() <= max || budget <= CLOSE.len() + 1 {
                let separator = separator_len(&rest[cut..]);
                break (format!("{whole}{closing}"), cut, separator, open);
            }
            budget -= CLOSE.len();
        };
        parts.push(part);
        rest = &rest[cut + separator..];
        prefix = reopen.map(|fence| format!("{fence}\n")).unwrap_or_default();
    }
    parts.push(format!("{prefix}{rest}"));
    parts
}

/// The byte index at which to cut `text` so that at most `budget` code points come before it:
/// before the last line break that fits, else the last space, else the last grapheme boundary.
/// Always at least one grapheme, so the caller makes progress.
fn best_cut(text: &str, budget: usize) -> usize {
    let (mut newline, mut space, mut boundary) = (None, None, None);
    let mut chars = 0;
    for (index, grapheme) in text.grapheme_indices(true) {
        let width = grapheme.chars().count();
        if index > 0 {
            match grapheme {
                "\n" | "\r\n" => newline = Some(index),
                " " => space = Some(index),
                _ => {}
            }
        }
        if chars + width > budget {
            return newline.or(space).or(boundary).unwrap_or(index + grapheme.len());
        }
        chars += width;
        boundary = Some(index + grapheme.len());
    }
    text.len()
}

/// How many bytes of separator (one line break or space) start `rest`: dropped at a cut.
fn separator_len(rest: &str) -> usize {
    if rest.starts_with("\r\n") {
        2
    } else if rest.starts_with('\n') || rest.starts_with(' ') {
        1
    } else {
        0
    }
}

/// The opening line (e.g. "```rust") of a fenced code block still open at the end of `text`.
fn open_fence(text: &str) -> Option<String> {
    let mut open: Option<String> = None;
    for line in text.lines() {
        let trimmed = line.trim_start();
        if let Some(info) = trimmed.strip_prefix(FENCE) {
            open = match open {
                Some(_) => None,
                None => Some(format!("{FENCE}{}", info.trim())),
            };
        }
    }
    open
}

#[cfg(test)]
mod tests {
    use super::*;

    #[track_caller]
    fn check_invariants(text: &str, max: usize) -> Vec<String> {
        let parts = split_message(text, max);
        for part in &parts {
            assert!(part.chars().count() <= max, "part of {} > {max}: {part:?}", part.chars().count());
        }
        parts
    }

    #[test]
    fn short_text_is_one_part() {
        assert_eq!(split_message("hello", 2000), ["hello"]);
        assert_eq!(split_message("", 2000), [""]);
        let exact = "a".repeat(2000);
        assert_eq!(split_message(&exact, 2000), vec![exact]);
    }

    #[test]
    fn cuts_at_line_breaks_then_spaces() {
        let text = format!("{}\n{}", "a".repeat(1500), "b".repeat(1000));
        assert_eq!(check_invariants(&text, 2000), ["a".repeat(1500), "b".repeat(1000)]);
        let words = "word ".repeat(500);
        let parts = check_invariants(words.trim_end(), 2000);
        assert_eq!(parts.len(), 2);
        assert!(parts.iter().all(|p| !p.starts_with(' ') && !p.ends_with(' ')));
        assert_eq!(parts.join(" "), words.trim_end());
    }

    #[test]
    fn never_cuts_inside_an_emoji_sequence() {
        let family = "👨‍👩‍👧‍👦"; // 7 code points, one grapheme
        let text = family.repeat(400);
        let parts = check_invariants(&text, 2000);
        assert!(parts.len() >= 2);
        for part in &parts {
            assert_eq!(part.chars().count() % 7, 0, "a family was cut");
        }
        assert_eq!(parts.concat(), text);
    }

    #[test]
    fn a_code_block_across_the_split_is_closed_and_reopened() {
        let code: String = (0..300).map(|i| format!("let x{i} = {i};\n")).collect();
        let text = format!("intro\n```rust\n{code}```\nafter");
        let parts = check_invariants(&text, 2000);
        assert!(parts.len() >= 3, "{}", parts.len());
        assert!(parts[0].ends_with("\n```"));
        for part in &parts[1..parts.len() - 1] {
            assert!(part.starts_with("```rust\n"), "{:?}", &part[..20]);
            assert!(part.ends_with("\n```"));
        }
        assert!(parts.last().unwrap().starts_with("```rust\n"));
        assert!(parts.last().unwrap().ends_with("```\nafter"));
        // Every part has balanced fences, so Discord renders each as code.
        for part in &parts {
            assert!(open_fence(part).is_none(), "{part:?}");
        }
        // Without the added fences, the parts give back the text's lines.
        let rebuilt: Vec<String> = parts
            .iter()
            .enumerate()
            .map(|(i, p)| {
                let p = if i > 0 { p.strip_prefix("```rust\n").unwrap_or(p) } else { p };
                let p = if i + 1 < parts.len() { p.strip_suffix("\n```").unwrap_or(p) } else { p };
                p.to_owned()
            })
            .collect();
        assert_eq!(rebuilt.join("\n"), text);
    }

    #[test]
    fn long_unbroken_text_is_cut_at_the_limit() {
        let text = "x".repeat(4500);
        let parts = check_invariants(&text, 2000);
        assert_eq!(parts.iter().map(|p| p.len()).collect::<Vec<_>>(), [2000, 2000, 500]);
    }
}

/// Property tests: `PROPTEST_CASES=100000 cargo test -p rift-discord --lib split::fuzz` for a
/// long run.
#[cfg(test)]
mod fuzz {
    use proptest::prelude::*;

    use super::*;

    /// Text without backticks: words, spaces, line breaks (`\n` and `\r\n`), emoji sequences,
    /// combining marks and long unbroken runs.
    fn plain_text() -> impl Strategy<Value = String> {
        let piece = prop_oneof![
            "[a-zé]{1,12}",
            Just(" ".to_owned()),
            Just("\n".to_owned()),
            Just("\r\n".to_owned()),
            Just("👨‍👩‍👧‍👦".to_owned()),
            Just("e\u{301}".to_owned()),
            "x{20,80}",
        ];
        prop::collection::vec(piece, 0..200).prop_map(|pieces| pieces.concat())
    }

    /// Lines of text and code fences (with and without a language tag).
    fn fenced_text() -> impl Strategy<Value = String> {
        let line = prop_oneof![
            3 => "[a-z ]{0,30}",
            1 => Just("```".to_owned()),
            1 => Just("```rust".to_owned()),
        ];
        prop::collection::vec(line, 0..120).prop_map(|lines| lines.join("\n"))
    }

    /// The text's non-whitespace characters outside fence lines, in order.
    fn content(text: &str) -> String {
        text.lines()
            .filter(|line| !line.trim_start().starts_with(FENCE))
            .flat_map(|line| line.chars().filter(|c| !c.is_whitespace()))
            .collect()
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(256))]

        /// Without code blocks, each part is within the limit and the parts joined by the cut
        /// separators (one space or line break each, dropped at a cut) are exactly the text.
        #[test]
        fn parts_are_within_limits_and_rebuild_the_text(text in plain_text(), max in 16usize..300) {
            let parts = split_message(&text, max);
            let mut rest = text.as_str();
            for (i, part) in parts.iter().enumerate() {
                prop_assert!(part.chars().count() <= max, "{} > {max}", part.chars().count());
                prop_assert!(rest.starts_with(part.as_str()), "part {i} is not next in the text");
                rest = &rest[part.len()..];
                if i + 1 < parts.len() {
                    prop_assert!(!part.is_empty(), "an empty part before the end");
                    rest = &rest[separator_len(rest)..];
                }
            }
            prop_assert_eq!(rest, "");
        }

        /// With code blocks, each part is within the limit, every part but the last has balanced
        /// fences (the last is as balanced as the text), and no text is lost or reordered.
        #[test]
        fn fences_stay_balanced_and_nothing_is_lost(text in fenced_text(), max in 40usize..400) {
            let parts = split_message(&text, max);
            for part in &parts[..parts.len() - 1] {
                prop_assert!(part.chars().count() <= max, "{} > {max}", part.chars().count());
                prop_assert!(open_fence(part).is_none(), "unbalanced part {part:?}");
            }
            let last = parts.last().expect("at least one part");
            prop_assert!(last.chars().count() <= max);
            prop_assert_eq!(open_fence(last).is_some(), open_fence(&text).is_some());
            prop_assert_eq!(content(&parts.join("\n")), content(&text));
        }
    }
}
