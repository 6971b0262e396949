//! Full-text search: words, phrases, filters, and user text that must never be query syntax.

use rift::Store;
use rift::id::{ChannelId, UserId};
use rift::model::Message;
use rift::store::{CreateMessageOutcome, SearchQuery};

use crate::fixtures::*;

fn query(words: &[&str], phrases: &[&str], channels: &[ChannelId]) -> SearchQuery {
    let mut query = SearchQuery::new(channels.to_vec(), 100);
    query.words = words.iter().map(|s| s.to_string()).collect();
    query.phrases = phrases.iter().map(|s| s.to_string()).collect();
    query
}

async fn found(store: &dyn Store, q: &SearchQuery) -> Vec<String> {
    store
        .search(q)
        .await
        .unwrap_or_else(|e| panic!("{q:?} failed: {e}"))
        .into_iter()
        .map(|m| m.content)
        .collect()
}

pub(crate) async fn search_matches_all_words_and_phrases_newest_first(store: &dyn Store) {
    let owner = user(store, "owner").await;
    let (_, general) = server(store, &owner).await;
    let ch = [general.id];
    for text in
        ["the quick brown fox", "a quick brown dog", "brown quick", "Quick, BROWN fox!", "nothing here"]
    {
        message(store, general.id, owner.id, text).await;
    }
    assert_eq!(
        found(store, &query(&["quick", "brown"], &[], &ch)).await,
        ["Quick, BROWN fox!", "brown quick", "a quick brown dog", "the quick brown fox"]
    );
    assert_eq!(
        found(store, &query(&["fox"], &["quick brown"], &ch)).await,
        ["Quick, BROWN fox!", "the quick brown fox"]
    );
    assert_eq!(found(store, &query(&[], &["brown quick"], &ch)).await, ["brown quick"]);
    assert!(found(store, &query(&["cat"], &[], &ch)).await.is_empty());
    // No words: every live message passes the index part (filters still apply).
    assert_eq!(found(store, &query(&[], &[], &ch)).await.len(), 5);
    let mut limited = query(&["brown"], &[], &ch);
    limited.limit = 2;
    assert_eq!(found(store, &limited).await, ["Quick, BROWN fox!", "brown quick"]);
    // Only the given channels; none given, nothing found.
    assert!(found(store, &query(&["quick"], &[], &[])).await.is_empty());
    assert!(found(store, &query(&["quick"], &[], &[ChannelId::new()])).await.is_empty());
}

pub(crate) async fn search_filters_author_time_and_attachments(store: &dyn Store) {
    let owner = user(store, "owner").await;
    let other = user(store, "other").await;
    let (server, general) = server(store, &owner).await;
    let (_, elsewhere) = crate::fixtures::server(store, &owner).await;
    store.add_member(server.id, other.id, at(1)).await.unwrap();
    let post = |author: UserId, channel: ChannelId, text: &'static str, secs: i64, files: bool| async move {
        let mut new = new_message(channel, author, text);
        new.created_at = at(secs);
        if files {
            new.attachment_ids = vec![upload(store, author, "f.txt").await.id];
        }
        match store.create_message(&new, at(0)).await.unwrap() {
            CreateMessageOutcome::Created(m) => m,
            other => panic!("{other:?}"),
        }
    };
    post(owner.id, general.id, "report one", 10, false).await;
    post(other.id, general.id, "report two", 20, true).await;
    post(owner.id, general.id, "report three", 30, true).await;
    post(owner.id, elsewhere.id, "report four", 40, false).await;
    let base = query(&["report"], &[], &[general.id, elsewhere.id]);
    assert_eq!(found(store, &base).await.len(), 4);
    let q = SearchQuery { author_id: Some(other.id), ..base.clone() };
    assert_eq!(found(store, &q).await, ["report two"]);
    let q = SearchQuery { before: Some(at(30)), ..base.clone() };
    assert_eq!(found(store, &q).await, ["report two", "report one"]);
    let q = SearchQuery { after: Some(at(20)), ..base.clone() };
    assert_eq!(found(store, &q).await, ["report four", "report three"]);
    let q = SearchQuery { has_attachment: true, ..base.clone() };
    assert_eq!(found(store, &q).await, ["report three", "report two"]);
    let q = SearchQuery { channel_ids: vec![elsewhere.id], ..base.clone() };
    assert_eq!(found(store, &q).await, ["report four"]);
    let with_files: Vec<Message> = store.search(&SearchQuery { has_attachment: true, ..base }).await.unwrap();
    assert_eq!(with_files[0].attachments.len(), 1, "results are full messages");
}

pub(crate) async fn deleted_and_edited_messages_leave_the_index(store: &dyn Store) {
    let owner = user(store, "owner").await;
    let (_, general) = server(store, &owner).await;
    let ch = [general.id];
    let gone = message(store, general.id, owner.id, "secret plans").await;
    let edited = message(store, general.id, owner.id, "draft wording").await;
    message(store, general.id, owner.id, "public plans").await;
    store.delete_message(gone.id, Some(owner.id), at(5), None).await.unwrap().unwrap();
    assert_eq!(found(store, &query(&["plans"], &[], &ch)).await, ["public plans"]);
    assert!(found(store, &query(&["secret"], &[], &ch)).await.is_empty());
    store.edit_message(edited.id, "final text", false, Some(owner.id), at(6)).await.unwrap().unwrap();
    assert!(found(store, &query(&["draft"], &[], &ch)).await.is_empty());
    assert_eq!(found(store, &query(&["final"], &[], &ch)).await, ["final text"]);
    // The deleted message is still readable by id and keeps its history.
    assert!(store.message(gone.id, None).await.unwrap().unwrap().deleted_at.is_some());
    assert_eq!(store.message_history(gone.id).await.unwrap().len(), 1);
    // And leaves with its channel.
    store.delete_channel(general.id).await.unwrap();
    assert!(found(store, &query(&["public"], &[], &ch)).await.is_empty());
}

pub(crate) async fn search_metacharacters_are_literal_text(store: &dyn Store) {
    let owner = user(store, "owner").await;
    let (_, general) = server(store, &owner).await;
    let ch = [general.id];
    let texts = [
        r#"she said "hello" twice"#,
        "wild*card and star * alone",
        "minus -sign and dash - alone",
        "key:value pairs : colon",
        "NEAR the river OR the sea AND NOT here",
        "(unbalanced parens",
        "crab 🦀 emoji",
        "100% real_deal \\ backslash",
        "^caret $dollar {brace} [bracket] 'single' `tick`",
    ];
    for text in texts {
        message(store, general.id, owner.id, text).await;
    }
    let sweep: &[&str] = &[
        "\"",
        "\"hello\"",
        "\"hello",
        "*",
        "wild*",
        "*card",
        "-",
        "-sign",
        ":",
        "key:value",
        "NEAR",
        "OR",
        "AND",
        "NOT",
        "NEAR(",
        "(",
        ")",
        "(unbalanced",
        "parens)",
        "🦀",
        "%",
        "_",
        "\\",
        "''",
        "'",
        "^",
        "$",
        "{",
        "[",
        "`",
        "",
        "   ",
        "AND OR NOT",
        "NEAR/2",
        "col:*",
        "\"\"\"",
        "-(",
        "+",
        "~",
        "&",
        "|",
        "!",
        "<->",
        "::",
        "\u{301}",
        "'single'",
        "100%",
        "real_deal",
        "\0",
        "nul\0byte",
        "½",
        "²",
        "a & b | c <-> d",
        "!!!",
        "foo:*",
        "'quoted'",
    ];
    for word in sweep {
        // Never an error, whatever the text; as a word and as a phrase.
        found(store, &query(&[word], &[], &ch)).await;
        found(store, &query(&[], &[word], &ch)).await;
        found(store, &query(&[word, "river"], &[word], &ch)).await;
    }
    let one = |words: &'static [&'static str], expected: &'static str| {
        let q = query(words, &[], &ch);
        async move { assert_eq!(found(store, &q).await, [expected], "{words:?}") }
    };
    one(&["🦀"], "crab 🦀 emoji").await;
    one(&["*", "alone"], "wild*card and star * alone").await;
    one(&["-", "alone"], "minus -sign and dash - alone").await;
    one(&[":"], "key:value pairs : colon").await;
    one(&["key:value"], "key:value pairs : colon").await;
    one(&["NEAR"], "NEAR the river OR the sea AND NOT here").await;
    one(&["OR", "sea"], "NEAR the river OR the sea AND NOT here").await;
    one(&["NOT"], "NEAR the river OR the sea AND NOT here").await;
    one(&["(unbalanced"], "(unbalanced parens").await;
    one(&["("], "(unbalanced parens").await;
    one(&["%"], "100% real_deal \\ backslash").await;
    one(&["\\"], "100% real_deal \\ backslash").await;
    one(&["{"], "^caret $dollar {brace} [bracket] 'single' `tick`").await;
    one(&["\"hello\""], r#"she said "hello" twice"#).await;
    one(&["\""], r#"she said "hello" twice"#).await;
    assert_eq!(
        found(store, &query(&[], &["said \"hello\" twice"], &ch)).await,
        [r#"she said "hello" twice"#]
    );
    // `_` and `%` are not LIKE wildcards here: no message contains "_%".
    assert!(found(store, &query(&["_%"], &[], &ch)).await.is_empty());
}

pub(crate) async fn unicode_is_searchable(store: &dyn Store) {
    let owner = user(store, "owner").await;
    let (_, general) = server(store, &owner).await;
    let ch = [general.id];
    for text in [
        "日本語 テキスト",
        "שלום עולם",
        "مرحبا بالعالم",
        "café crème",
        "naïve e\u{301}cole",
        "ПРИВЕТ мир",
        "x ² y ½",
    ] {
        message(store, general.id, owner.id, text).await;
    }
    let one = |word: &'static str, expected: &'static str| {
        let q = query(&[word], &[], &ch);
        async move { assert_eq!(found(store, &q).await, [expected], "{word}") }
    };
    one("日本語", "日本語 テキスト").await;
    one("テキスト", "日本語 テキスト").await;
    one("עולם", "שלום עולם").await;
    one("بالعالم", "مرحبا بالعالم").await;
    one("café", "café crème").await;
    one("crème", "café crème").await;
    one("e\u{301}cole", "naïve e\u{301}cole").await;
    one("naïve", "naïve e\u{301}cole").await;
    one("мир", "ПРИВЕТ мир").await;
    one("CAFÉ", "café crème").await;
    // Symbols one tokenizer keeps as words and the other drops are still found.
    one("²", "x ² y ½").await;
    one("½", "x ² y ½").await;
}

fn strings(s: &[&str]) -> Vec<String> {
    s.iter().map(|s| s.to_string()).collect()
}

pub(crate) async fn search_prefixes_exclusions_and_flags(store: &dyn Store) {
    let owner = user(store, "owner").await;
    let other = user(store, "other").await;
    let (server, general) = server(store, &owner).await;
    store.add_member(server.id, other.id, at(1)).await.unwrap();
    let ch = [general.id];
    let preview = message(store, general.id, owner.id, "preview of the plan").await;
    message(store, general.id, other.id, "present plan, see the https://example.com/x").await;
    message(store, general.id, owner.id, "the PLAN is spam").await;
    let img = message(store, general.id, owner.id, "picture plan").await;
    let mut with_image = new_message(general.id, owner.id, "image plan");
    let mut png = upload_value(Some(owner.id), "a.png");
    png.content_type = "image/png".into();
    store.create_upload(&png).await.unwrap();
    with_image.attachment_ids = vec![png.id];
    let mut text_file = new_message(general.id, owner.id, "notes plan");
    text_file.attachment_ids = vec![upload(store, owner.id, "notes.txt").await.id];
    store.create_message(&text_file, at(0)).await.unwrap();
    store.create_message(&with_image, at(0)).await.unwrap();
    let prefixed = |p: &[&str]| {
        let mut q = query(&[], &[], &ch);
        q.prefixes = strings(p);
        q
    };
    assert_eq!(
        found(store, &prefixed(&["pre"])).await,
        ["present plan, see the https://example.com/x", "preview of the plan"]
    );
    assert_eq!(found(store, &prefixed(&["preview of th"])).await, ["preview of the plan"]);
    assert!(found(store, &prefixed(&["plans"])).await.is_empty());
    let mut q = query(&["plan"], &[], &ch);
    q.excluded = strings(&["spam", "see the"]);
    assert_eq!(found(store, &q).await, ["notes plan", "image plan", "picture plan", "preview of the plan"]);
    let mut q = query(&[], &[], &ch);
    q.excluded = strings(&["plan"]);
    assert!(found(store, &q).await.is_empty(), "an exclusion alone works without the index");
    let mut q = query(&["plan"], &[], &ch);
    q.has_link = true;
    assert_eq!(found(store, &q).await, ["present plan, see the https://example.com/x"]);
    q.has_link = false;
    q.author_ids = vec![other.id];
    assert_eq!(found(store, &q).await.len(), 1);
    let mut q = query(&["plan"], &[], &ch);
    q.has_image = true;
    assert_eq!(found(store, &q).await, ["image plan"]);
    store.edit_message(img.id, "picture plan v2", false, Some(owner.id), at(9)).await.unwrap();
    let mut q = query(&["plan"], &[], &ch);
    q.edited = true;
    assert_eq!(found(store, &q).await, ["picture plan v2"]);
    store.pin_message(preview.id, Some(owner.id), at(10), 50, None).await.unwrap();
    let mut q = query(&["plan"], &[], &ch);
    q.pinned = true;
    assert_eq!(found(store, &q).await, ["preview of the plan"]);
    // Deleted messages: only with `deleted`, matched word by word.
    store.delete_message(preview.id, Some(owner.id), at(11), None).await.unwrap();
    assert!(!found(store, &query(&["preview"], &[], &ch)).await.contains(&"preview of the plan".to_string()));
    let mut q = query(&["preview"], &[], &ch);
    q.deleted = true;
    assert_eq!(found(store, &q).await, ["preview of the plan"]);
    q.words = strings(&["previe"]);
    assert!(found(store, &q).await.is_empty());
    q.words = Vec::new();
    q.prefixes = strings(&["previe"]);
    assert_eq!(found(store, &q).await.len(), 1);
    q.excluded = strings(&["plan"]);
    assert!(found(store, &q).await.is_empty());
}

/// Property: any text as a prefix or exclusion is never query syntax on either backend (no
/// error), and an exclusion never adds results.
pub(crate) async fn search_operator_text_is_never_syntax(store: &dyn Store) {
    let owner = user(store, "owner").await;
    let (_, general) = server(store, &owner).await;
    let ch = [general.id];
    for text in ["alpha beta", "it's a 'quote'", "x:* & y | !z", "c++ <-> d", "\\ back \"slash"] {
        message(store, general.id, owner.id, text).await;
    }
    let all = found(store, &query(&[], &[], &ch)).await.len();
    let alphabet: Vec<char> = "ab' :*&|!<->\"\\()%_é🦀½\u{0}".chars().collect();
    let mut seed: u64 = 0x9e37_79b9_7f4a_7c15;
    for _ in 0..150 {
        let mut text = String::new();
        for _ in 0..(seed % 9) {
            seed ^= seed << 13;
            seed ^= seed >> 7;
            seed ^= seed << 17;
            text.push(alphabet[(seed % alphabet.len() as u64) as usize]);
        }
        seed = seed.wrapping_add(1);
        let mut q = query(&[], &[], &ch);
        q.prefixes = vec![text.clone()];
        found(store, &q).await;
        let mut q = query(&[], &[], &ch);
        q.excluded = vec![text.clone()];
        assert!(found(store, &q).await.len() <= all, "{text:?}");
    }
}

/// Searches read the newest messages first and fall back to the whole index: whichever answers,
/// the results are the newest matches by id, also when the storage order is not the time order
/// (history backfilled newest first, then older), with deleted messages, other channels,
/// exclusions and `before:` in the way.
pub(crate) async fn search_finds_the_newest_matches_whatever_the_storage_order(store: &dyn Store) {
    let owner = user(store, "owner").await;
    let (_, general) = server(store, &owner).await;
    let (_, elsewhere) = crate::fixtures::server(store, &owner).await;
    const N: u64 = 2_400;
    let text = |i: u64| {
        let mut words = vec![format!("n{i}")];
        if i.is_multiple_of(3) {
            words.push("common".into());
        }
        if i.is_multiple_of(2) {
            words.push("even".into());
        }
        if i.is_multiple_of(40) {
            words.push("forty".into());
        }
        if i.is_multiple_of(100) {
            words.push("hundred".into());
        }
        if i == 7 {
            words.push("once".into());
        }
        words.join(" ")
    };
    // Message i is created i seconds after the start; the newest tenth goes to another channel.
    let channel_of = |i: u64| if i >= N - N / 10 { elsewhere.id } else { general.id };
    let new = |i: u64| {
        let created = at(i as i64);
        let id = rift::id::MessageId::at(created);
        rift::store::NewMessage::new(id, channel_of(i), owner.id, text(i), created)
    };
    // The newer half is stored first, the older half after it.
    for half in [N / 2..N, 0..N / 2] {
        let news: Vec<_> = half.map(new).collect();
        for chunk in news.chunks(200) {
            for outcome in
                futures_util::future::join_all(chunk.iter().map(|m| store.create_message(m, at(0)))).await
            {
                assert!(matches!(outcome, Ok(CreateMessageOutcome::Created(_))), "{outcome:?}");
            }
        }
    }
    // The newest common message of the channel is deleted.
    let newest_common = (0..N - N / 10).rev().find(|i| i % 3 == 0).unwrap();
    let gone = store.search(&query(&[&format!("n{newest_common}")], &[], &[general.id])).await.unwrap();
    store.delete_message(gone[0].id, Some(owner.id), at(N as i64), None).await.unwrap().unwrap();

    let expect = |keep: &dyn Fn(u64) -> bool, limit: usize| -> Vec<String> {
        (0..N - N / 10).rev().filter(|&i| i != newest_common && keep(i)).take(limit).map(text).collect()
    };
    let mut common = query(&["common"], &[], &[general.id]);
    common.limit = 25;
    assert_eq!(found(store, &common).await, expect(&|i| i % 3 == 0, 25));
    common.limit = 100;
    assert_eq!(found(store, &common).await, expect(&|i| i % 3 == 0, 100));
    // Both channels: the other channel's newer messages come first.
    let mut both = query(&["common"], &[], &[general.id, elsewhere.id]);
    both.limit = 30;
    let both_expected: Vec<String> =
        (0..N).rev().filter(|&i| i != newest_common && i % 3 == 0).take(30).map(text).collect();
    assert_eq!(found(store, &both).await, both_expected);
    // Too few in the first window, enough in a second, larger one.
    let mut forty = query(&["forty"], &[], &[general.id]);
    forty.limit = 25;
    assert_eq!(found(store, &forty).await, expect(&|i| i % 40 == 0, 25));
    // Too few in any window: the whole index answers.
    let mut hundred = query(&["hundred"], &[], &[general.id]);
    hundred.limit = 25;
    assert_eq!(found(store, &hundred).await, expect(&|i| i % 100 == 0, 25));
    assert_eq!(found(store, &query(&["once"], &[], &[general.id])).await, [text(7)]);
    // Exclusions and phrases within a window.
    let mut odd_common = query(&["common"], &[], &[general.id]);
    odd_common.excluded = vec!["even".into()];
    odd_common.limit = 25;
    assert_eq!(found(store, &odd_common).await, expect(&|i| i % 6 == 3, 25));
    let mut phrase = query(&[], &["common even"], &[general.id]);
    phrase.limit = 25;
    assert_eq!(found(store, &phrase).await, expect(&|i| i % 6 == 0, 25));
    // `before:` starts in the past.
    let mut before = query(&["common"], &[], &[general.id]);
    before.before = Some(at(1_000));
    before.limit = 25;
    assert_eq!(found(store, &before).await, expect(&|i| i % 3 == 0 && i < 1_000, 25));
}

/// A search no text index narrows (only emoji, only filters, deleted messages) gets the time
/// limit: past it the statement is stopped and the search fails with `TimedOut`; with time to
/// spare the same search answers, also on a connection whose statement was stopped before. A
/// search by words is bounded by the index, not by the clock.
pub(crate) async fn a_search_no_index_narrows_stops_at_its_time_limit(store: &dyn Store) {
    let owner = user(store, "owner").await;
    let (_, general) = server(store, &owner).await;
    // 2,000 messages of about 4,000 characters: a substring scan of them takes milliseconds.
    let filler = "lorem ipsum dolor sit amet ".repeat(150);
    let news: Vec<_> =
        (0..2_000).map(|i| new_message(general.id, owner.id, &format!("{i} {filler}"))).collect();
    for chunk in news.chunks(200) {
        for outcome in
            futures_util::future::join_all(chunk.iter().map(|m| store.create_message(m, at(0)))).await
        {
            assert!(matches!(outcome, Ok(CreateMessageOutcome::Created(_))), "{outcome:?}");
        }
    }
    let mut crab = query(&["🦀"], &[], &[general.id]);
    crab.time_limit = Some(std::time::Duration::from_micros(1));
    let stopped = store.search(&crab).await;
    assert!(matches!(stopped, Err(rift::StoreError::TimedOut)), "{stopped:?}");
    let mut deleted = query(&["lorem"], &[], &[general.id]);
    deleted.deleted = true;
    deleted.time_limit = Some(std::time::Duration::ZERO);
    let stopped = store.search(&deleted).await;
    assert!(matches!(stopped, Err(rift::StoreError::TimedOut)), "{stopped:?}");

    crab.time_limit = Some(std::time::Duration::from_secs(60));
    for _ in 0..4 {
        assert!(found(store, &crab).await.is_empty());
    }
    let mut words = query(&["lorem", "ipsum"], &[], &[general.id]);
    words.time_limit = Some(std::time::Duration::from_micros(1));
    words.limit = 5;
    assert_eq!(found(store, &words).await.len(), 5, "words are bounded by the index, not the clock");
}
