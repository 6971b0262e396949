//! Messages: create (nonce, attachments, replies), pages, edits, deletes, history, reactions.

use rift::Store;
use rift::StoreError;
use rift::id::{ChannelId, MessageId, UploadId, UserId};
use rift::model::{HistoryAction, Message, ReactionSummary};
use rift::store::{CreateMessageOutcome, MessagePage};

use crate::fixtures::*;

fn page(before: Option<MessageId>, after: Option<MessageId>, limit: u32) -> MessagePage {
    MessagePage { before, after, limit }
}

pub(crate) async fn message_round_trips_with_author_and_nonce_only_on_create(store: &dyn Store) {
    let owner = user(store, "owner").await;
    let (_, general) = server(store, &owner).await;
    let first = message(store, general.id, owner.id, "hello").await;
    let mut new = new_message(general.id, owner.id, "reply");
    new.reply_to = Some(first.id);
    new.nonce = Some("n-1".into());
    let CreateMessageOutcome::Created(created) = store.create_message(&new, at(0)).await.unwrap() else {
        panic!("not created")
    };
    assert_eq!(created.id, new.id);
    assert_eq!(created.channel_id, general.id);
    assert_eq!(created.author, owner);
    assert_eq!(created.content, "reply");
    assert_eq!(created.created_at, new.created_at);
    assert_eq!(created.reply_to, Some(first.id));
    assert_eq!(created.nonce.as_deref(), Some("n-1"));
    assert_eq!((created.edited_at, created.deleted_at), (None, None));
    let fetched = store.message(new.id, Some(owner.id)).await.unwrap().unwrap();
    assert_eq!(fetched.nonce, None, "GET never returns the nonce");
    let mut with_nonce: Message = fetched;
    with_nonce.nonce = Some("n-1".into());
    assert_eq!(with_nonce, created);
    assert_eq!(store.message(MessageId::new(), None).await.unwrap(), None);
}

pub(crate) async fn nonce_repeated_within_window_returns_original(store: &dyn Store) {
    let owner = user(store, "owner").await;
    let other = user(store, "other").await;
    let (server, general) = server(store, &owner).await;
    store.add_member(server.id, other.id, at(1)).await.unwrap();
    let mut first = new_message(general.id, owner.id, "once");
    first.nonce = Some("abc".into());
    let CreateMessageOutcome::Created(original) = store.create_message(&first, at(0)).await.unwrap() else {
        panic!()
    };
    let mut again = new_message(general.id, owner.id, "twice");
    again.nonce = Some("abc".into());
    match store.create_message(&again, first.created_at).await.unwrap() {
        CreateMessageOutcome::Duplicate(m) => assert_eq!(m, original),
        other => panic!("expected Duplicate, got {other:?}"),
    }
    assert_eq!(store.message(again.id, None).await.unwrap(), None, "nothing stored");
    // Outside the window, another author, or another channel: a new message.
    let window_passed = first.created_at + chrono::Duration::milliseconds(1);
    assert!(matches!(
        store.create_message(&again, window_passed).await.unwrap(),
        CreateMessageOutcome::Created(_)
    ));
    let mut by_other = new_message(general.id, other.id, "other");
    by_other.nonce = Some("abc".into());
    assert!(matches!(
        store.create_message(&by_other, at(0)).await.unwrap(),
        CreateMessageOutcome::Created(_)
    ));
    let page = store.messages(general.id, page(None, None, 10), None).await.unwrap();
    assert_eq!(contents(&page), ["other", "twice", "once"]);
}

pub(crate) async fn attachments_are_attached_in_order_and_only_once(store: &dyn Store) {
    let owner = user(store, "owner").await;
    let other = user(store, "other").await;
    let (_, general) = server(store, &owner).await;
    let u1 = upload(store, owner.id, "b.txt").await;
    let u2 = upload(store, owner.id, "a.txt").await;
    let mut new = new_message(general.id, owner.id, "files");
    new.attachment_ids = vec![u1.id, u2.id];
    let CreateMessageOutcome::Created(m) = store.create_message(&new, at(0)).await.unwrap() else { panic!() };
    let names: Vec<&str> = m.attachments.iter().map(|a| a.filename.as_str()).collect();
    assert_eq!(names, ["b.txt", "a.txt"]);
    assert_eq!(m.attachments[0].url, u1.url);
    assert_eq!(
        (m.attachments[0].width, m.attachments[0].height, m.attachments[0].size),
        (Some(10), Some(20), 5)
    );
    let stored = store.upload(u1.id).await.unwrap().unwrap();
    assert_eq!(stored.message_id, Some(m.id));
    assert_eq!(stored.secret, "s3cret");
    assert_eq!(stored.uploader_id, Some(owner.id));
    assert_eq!(store.upload(UploadId::new()).await.unwrap(), None);

    let foreign = upload(store, other.id, "theirs.txt").await;
    let fresh = upload(store, owner.id, "fresh.txt").await;
    for bad in [vec![fresh.id, u1.id], vec![foreign.id], vec![UploadId::new()], vec![fresh.id, fresh.id]] {
        let mut new = new_message(general.id, owner.id, "bad");
        new.attachment_ids = bad.clone();
        let result = store.create_message(&new, at(0)).await;
        assert!(matches!(result, Err(StoreError::Missing("upload"))), "{bad:?}: {result:?}");
        assert_eq!(store.message(new.id, None).await.unwrap(), None, "nothing stored");
    }
    assert_eq!(store.upload(fresh.id).await.unwrap().unwrap().message_id, None, "rolled back");
    // A bridged message may carry anyone's upload (the bridge uploads for puppets).
    let mut bridged = new_message(general.id, owner.id, "mirrored");
    bridged.bridge = bridge("m1");
    bridged.attachment_ids = vec![foreign.id];
    assert!(matches!(store.create_message(&bridged, at(0)).await.unwrap(), CreateMessageOutcome::Created(_)));
}

pub(crate) async fn pages_respect_before_after_and_limit(store: &dyn Store) {
    let owner = user(store, "owner").await;
    let (_, general) = server(store, &owner).await;
    let (_, empty) = server(store, &owner).await;
    assert!(store.messages(empty.id, page(None, None, 50), None).await.unwrap().is_empty());
    let mut ids = Vec::new();
    for i in 0..10 {
        ids.push(message(store, general.id, owner.id, &format!("m{i}")).await.id);
    }
    let deleted = ids[5];
    store.delete_message(deleted, Some(owner.id), at(9), None).await.unwrap().unwrap();
    let check =
        |before: Option<usize>, after: Option<usize>, limit: u32, expected: &'static [&'static str]| {
            let p = page(before.map(|i| ids[i]), after.map(|i| ids[i]), limit);
            async move {
                let got = store.messages(general.id, p, None).await.unwrap();
                assert_eq!(contents(&got), expected, "before {before:?} after {after:?} limit {limit}");
            }
        };
    check(None, None, 3, &["m9", "m8", "m7"]).await;
    check(None, None, 100, &["m9", "m8", "m7", "m6", "m4", "m3", "m2", "m1", "m0"]).await;
    check(None, None, 1, &["m9"]).await;
    check(Some(7), None, 3, &["m6", "m4", "m3"]).await;
    check(Some(0), None, 3, &[]).await;
    check(None, Some(2), 3, &["m6", "m4", "m3"]).await;
    check(None, Some(2), 1, &["m3"]).await;
    check(None, Some(9), 10, &[]).await;
    check(None, Some(0), 100, &["m9", "m8", "m7", "m6", "m4", "m3", "m2", "m1"]).await;
    check(Some(8), Some(2), 2, &["m7", "m6"]).await;
    check(Some(8), Some(2), 100, &["m7", "m6", "m4", "m3"]).await;
    check(Some(3), Some(2), 100, &[]).await;
    // A deleted message still works as a cursor.
    check(Some(5), None, 2, &["m4", "m3"]).await;
    check(None, Some(5), 2, &["m7", "m6"]).await;
}

pub(crate) async fn edit_and_delete_keep_history(store: &dyn Store) {
    let owner = user(store, "owner").await;
    let moderator = user(store, "moderator").await;
    let (server, general) = server(store, &owner).await;
    let m = message(store, general.id, owner.id, "v1").await;
    // An edit replaces the everyone flag with the one decided for the new text, both ways.
    let edited = store.edit_message(m.id, "v2", true, Some(owner.id), at(10)).await.unwrap().unwrap();
    assert_eq!(
        (edited.content.as_str(), edited.edited_at, edited.mention_everyone),
        ("v2", Some(at(10)), true)
    );
    assert!(store.message(m.id, None).await.unwrap().unwrap().mention_everyone);
    let edited = store.edit_message(m.id, "v3", false, Some(owner.id), at(11)).await.unwrap().unwrap();
    assert!(!edited.mention_everyone);
    assert!(!store.message(m.id, None).await.unwrap().unwrap().mention_everyone);
    assert_eq!(store.edit_message(MessageId::new(), "x", false, None, at(11)).await.unwrap(), None);
    let audit = audit_entry(server.id, Some(moderator.id), "message_delete", 12);
    let gone = store.delete_message(m.id, Some(moderator.id), at(12), Some(&audit)).await.unwrap().unwrap();
    assert_eq!((gone.id, gone.content.as_str()), (m.id, "v3"));
    assert_eq!(store.delete_message(m.id, None, at(13), None).await.unwrap(), None, "already deleted");
    assert_eq!(store.edit_message(m.id, "v4", false, Some(owner.id), at(13)).await.unwrap(), None, "deleted");
    let kept = store.message(m.id, None).await.unwrap().unwrap();
    assert_eq!((kept.deleted_at, kept.content.as_str()), (Some(at(12)), "v3"));
    assert!(store.messages(general.id, page(None, None, 10), None).await.unwrap().is_empty());
    let history = store.message_history(m.id).await.unwrap();
    let trail: Vec<_> = history
        .iter()
        .map(|h| {
            (
                h.action,
                h.old_content.as_deref(),
                h.new_content.as_deref(),
                h.actor_id,
                h.created_at,
                h.message_id,
            )
        })
        .collect();
    assert_eq!(
        trail,
        [
            (HistoryAction::Edit, Some("v1"), Some("v2"), Some(owner.id), at(10), m.id),
            (HistoryAction::Edit, Some("v2"), Some("v3"), Some(owner.id), at(11), m.id),
            (HistoryAction::Delete, Some("v3"), None, Some(moderator.id), at(12), m.id),
        ]
    );
    assert_eq!(store.audit_log(server.id, None, 10).await.unwrap(), vec![audit]);
    assert!(store.message_history(MessageId::new()).await.unwrap().is_empty());
}

pub(crate) async fn reactions_summarise_per_emoji_in_first_reaction_order(store: &dyn Store) {
    let owner = user(store, "owner").await;
    let a = user(store, "a").await;
    let b = user(store, "b").await;
    let (_, general) = server(store, &owner).await;
    let m = message(store, general.id, owner.id, "react to me").await;
    let other = message(store, general.id, owner.id, "second").await;
    assert!(store.add_reaction(m.id, a.id, "🦀", at(1)).await.unwrap());
    assert!(!store.add_reaction(m.id, a.id, "🦀", at(2)).await.unwrap());
    assert!(store.add_reaction(m.id, b.id, "👍", at(2)).await.unwrap());
    assert!(store.add_reaction(m.id, owner.id, "🦀", at(3)).await.unwrap());
    assert!(store.add_reaction(m.id, b.id, "blob:123", at(4)).await.unwrap());
    assert!(store.add_reaction(other.id, b.id, "👍", at(4)).await.unwrap());
    let seen_by_a = store.message(m.id, Some(a.id)).await.unwrap().unwrap().reactions;
    let summary = |emoji: &str, count, me| ReactionSummary { emoji: emoji.into(), count, me };
    assert_eq!(seen_by_a, [summary("🦀", 2, true), summary("👍", 1, false), summary("blob:123", 1, false)]);
    let page = store.messages(general.id, page(None, None, 10), Some(b.id)).await.unwrap();
    assert_eq!(page[0].reactions, [summary("👍", 1, true)]);
    assert_eq!(
        page[1].reactions,
        [summary("🦀", 2, false), summary("👍", 1, true), summary("blob:123", 1, true)]
    );
    assert!(store.remove_reaction(m.id, b.id, "👍").await.unwrap());
    assert!(!store.remove_reaction(m.id, b.id, "👍").await.unwrap());
    let anonymous = store.message(m.id, None).await.unwrap().unwrap().reactions;
    assert_eq!(anonymous, [summary("🦀", 2, false), summary("blob:123", 1, false)]);
    // Deleted messages leave reaction counts.
    store.delete_message(m.id, None, at(5), None).await.unwrap();
    assert!(store.message(m.id, Some(a.id)).await.unwrap().unwrap().reactions.is_empty());
    let unknown = store.add_reaction(MessageId::new(), a.id, "🦀", at(1)).await;
    assert!(matches!(unknown, Err(StoreError::Missing(_))), "{unknown:?}");
}

pub(crate) async fn unicode_round_trips(store: &dyn Store) {
    let owner = user(store, "owner").await;
    let (_, general) = server(store, &owner).await;
    let texts = [
        "🦀 crabs 👨‍👩‍👧‍👦",
        "日本語のテキスト 中文 한국어",
        "e\u{301}te\u{301} combining",
        "שלום עולם مرحبا بالعالم",
        "nul-free \u{200d} zero width \u{feff}",
        "quotes ' \" ` and backslash \\ and %_ wildcards",
    ];
    for text in texts {
        let m = message(store, general.id, owner.id, text).await;
        assert_eq!(store.message(m.id, None).await.unwrap().unwrap().content, text);
    }
    let long = "x".repeat(10_000);
    let m = message(store, general.id, owner.id, &long).await;
    assert_eq!(store.message(m.id, None).await.unwrap().unwrap().content, long);
}

pub(crate) async fn unknown_channel_or_author_is_missing(store: &dyn Store) {
    let owner = user(store, "owner").await;
    let result = store.create_message(&new_message(ChannelId::new(), owner.id, "x"), at(0)).await;
    assert!(matches!(result, Err(StoreError::Missing(_))), "{result:?}");
    let (_, general) = server(store, &owner).await;
    let result = store.create_message(&new_message(general.id, UserId::new(), "x"), at(0)).await;
    assert!(matches!(result, Err(StoreError::Missing(_))), "{result:?}");
    let mut bridged = new_message(general.id, owner.id, "a");
    bridged.bridge = bridge("dup");
    store.create_message(&bridged, at(0)).await.unwrap();
    let mut again = new_message(general.id, owner.id, "b");
    again.bridge = bridge("dup");
    let result = store.create_message(&again, at(0)).await;
    assert!(matches!(result, Err(StoreError::Conflict(rift::Conflict::BridgeRef))), "{result:?}");
}

pub(crate) async fn concurrent_sends_with_one_nonce_store_one_message(store: &dyn Store) {
    let owner = user(store, "owner").await;
    let (_, general) = server(store, &owner).await;
    let send = |text: &'static str| {
        let mut new = new_message(general.id, owner.id, text);
        new.nonce = Some("same".into());
        async move { store.create_message(&new, at(0)).await }
    };
    let (a, b, c, d) = tokio::join!(send("a"), send("b"), send("c"), send("d"));
    let outcomes = [a.unwrap(), b.unwrap(), c.unwrap(), d.unwrap()];
    let created: Vec<&Message> = outcomes
        .iter()
        .filter_map(|o| match o {
            CreateMessageOutcome::Created(m) => Some(m),
            CreateMessageOutcome::Duplicate(_) => None,
        })
        .collect();
    assert_eq!(created.len(), 1, "{outcomes:?}");
    for outcome in &outcomes {
        if let CreateMessageOutcome::Duplicate(original) = outcome {
            assert_eq!(original, created[0]);
        }
    }
    assert_eq!(store.messages(general.id, page(None, None, 10), None).await.unwrap().len(), 1);
}

/// Many concurrent sends (on SQLite they share group-committed transactions): each acknowledged
/// message is stored exactly once and intact; one whose attachment is unknown fails alone, and a
/// repeated nonce inside the same burst returns the original.
pub(crate) async fn concurrent_sends_are_each_stored_once_and_a_failure_fails_alone(store: &dyn Store) {
    let owner = user(store, "owner").await;
    let (_, general) = server(store, &owner).await;
    let news: Vec<_> = (0..96)
        .map(|i| {
            let mut new = new_message(general.id, owner.id, &format!("message {i} ✓"));
            if i % 8 == 3 {
                new.attachment_ids = vec![UploadId::new()];
            }
            // Messages 10 and 12 share a nonce: one is stored, the other returns it.
            new.nonce = Some(if i == 12 { "n-10".into() } else { format!("n-{i}") });
            new
        })
        .collect();
    let outcomes =
        futures_util::future::join_all(news.iter().map(|new| store.create_message(new, at(0)))).await;
    let mut stored = std::collections::HashMap::new();
    let mut duplicates = Vec::new();
    for (i, (new, outcome)) in news.iter().zip(outcomes).enumerate() {
        match outcome {
            Ok(CreateMessageOutcome::Created(message)) => {
                assert_eq!((message.id, &message.content), (new.id, &new.content));
                stored.insert(message.id, message.content);
            }
            Ok(CreateMessageOutcome::Duplicate(original)) => duplicates.push((i, original.id)),
            Err(error) => {
                assert_eq!(i % 8, 3, "only messages with an unknown upload fail: {i} {error}");
                assert!(matches!(error, StoreError::Missing("upload")), "{error}");
            }
        }
    }
    // Whichever of the two came first is stored (on PostgreSQL they race for the nonce lock).
    assert!(
        duplicates == [(12, news[10].id)] || duplicates == [(10, news[12].id)],
        "only the repeated nonce is a duplicate: {duplicates:?}"
    );
    assert_eq!(stored.len(), 96 - 12 - 1);
    let listed = store.messages(general.id, page(None, None, 100), None).await.unwrap();
    assert_eq!(listed.len(), stored.len(), "each stored once, nothing else");
    for message in listed {
        assert_eq!(stored.get(&message.id), Some(&message.content));
    }
}
