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
