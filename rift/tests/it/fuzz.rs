//! Property tests of search through its public entry point, on both backends: whatever the text,
//! `Rift::search` answers results or a clear `invalid_query` (too long, control characters), never
//! a store error or a panic, so no input reaches FTS5 or `tsquery` as syntax. A long run:
//! `PROPTEST_CASES=5000 cargo test -p rift --test it fuzz`.

use std::sync::Arc;

use proptest::prelude::*;
use proptest::strategy::ValueTree;
use proptest::test_runner::TestRunner;
use rift::{Config, ErrorKind, RegisterInput, Rift, SearchParams, SendMessage, Store};

/// Cases per run: `PROPTEST_CASES`, else a short run.
fn cases() -> u32 {
    std::env::var("PROPTEST_CASES").ok().and_then(|n| n.parse().ok()).unwrap_or(64)
}

/// Text made of what query languages treat as syntax, words and arbitrary characters.
fn search_text() -> impl Strategy<Value = String> {
    let piece = prop_oneof![
        Just("\"".to_owned()),
        Just("*".to_owned()),
        Just("-".to_owned()),
        Just(":".to_owned()),
        Just("(".to_owned()),
        Just(")".to_owned()),
        Just("'".to_owned()),
        Just("\\".to_owned()),
        Just("&".to_owned()),
        Just("|".to_owned()),
        Just("!".to_owned()),
        Just("<->".to_owned()),
        Just("^".to_owned()),
        Just("NEAR".to_owned()),
        Just(" AND ".to_owned()),
        Just(" OR ".to_owned()),
        Just(" NOT ".to_owned()),
        Just(" ".to_owned()),
        Just("🦀".to_owned()),
        "[a-zA-Z0-9]{1,8}",
        any::<char>().prop_map(String::from),
    ];
    prop_oneof![
        4 => prop::collection::vec(piece, 0..24).prop_map(|pieces| pieces.concat()),
        1 => any::<String>(),
        1 => "[a-z ]{1000,1100}",
    ]
}

async fn arbitrary_search_text_is_answered_or_refused_clearly(store: Arc<dyn Store>) {
    let mut config = Config::new(b"test secret, long enough to be a secret".to_vec());
    config.rate_limits = false;
    let rift = Rift::new(store, config);
    let user = rift.register(RegisterInput::new("searcher", "password123")).await.unwrap().user.id;
    let server = rift.create_server(user, "Lab").await.unwrap().id;
    let general = rift.channels(user, server).await.unwrap()[0].id;
    rift.send_message(user, general, SendMessage::text("rust is great 🦀 for C++ fans: a-b \"q\" x*y"))
        .await
        .unwrap();

    let strategy = search_text();
    let mut runner = TestRunner::deterministic();
    for _ in 0..cases() {
        let q = strategy.new_tree(&mut runner).expect("a case").current();
        match rift.search(user, SearchParams::text(q.clone())).await {
            Ok(_) => {}
            Err(error) => {
                assert_eq!(error.kind(), ErrorKind::Invalid, "{q:?}: {error:?}");
                assert_eq!(error.code(), "invalid_query", "{q:?}: {error:?}");
            }
        }
    }
}

#[tokio::test]
async fn sqlite_arbitrary_search_text_is_answered_or_refused_clearly() {
    let db = rift_testing::sqlite().await;
    arbitrary_search_text_is_answered_or_refused_clearly(Arc::clone(&db.store)).await;
}

#[tokio::test]
async fn postgres_arbitrary_search_text_is_answered_or_refused_clearly() {
    let Some(db) = rift_testing::postgres().await else { return };
    arbitrary_search_text_is_answered_or_refused_clearly(Arc::clone(&db.store)).await;
}
