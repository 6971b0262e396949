//! Export and import across backends: a database exported, imported into an empty database of
//! the other backend and exported again gives the same records; a non-empty database is refused.

use std::sync::Arc;

use rift::store::{ExportRecord, ExportScope};
use rift::{Config, Rift, Store};
use rift_testing::TestDb;

fn service(db: &TestDb) -> Rift {
    Rift::new(Arc::clone(&db.store), Config::new(b"test secret, long enough to be a secret".to_vec()))
}

async fn export(store: &dyn Store, scope: ExportScope, hashes: bool) -> Vec<ExportRecord> {
    let mut records = Vec::new();
    let count = store
        .export(scope, hashes, &mut |record| {
            records.push(record);
            Ok(())
        })
        .await
        .expect("export");
    assert_eq!(count as usize, records.len());
    records
}

async fn import(store: &dyn Store, records: &[ExportRecord]) -> rift::store::StoreResult<u64> {
    store.import(&mut records.iter().cloned().map(Ok)).await
}

fn kinds(records: &[ExportRecord]) -> Vec<&str> {
    let mut kinds: Vec<&str> = records.iter().map(|r| r.kind.as_str()).collect();
    kinds.dedup();
    kinds
}

/// Exports `from`, imports into `to`, exports `to`: the same records, every kind present, and
/// the imported database works (a login, a search).
async fn round_trip(from: &TestDb, to: &TestDb) {
    let dir = tempfile::tempdir().unwrap();
    let sample = rift_testing::sample::populate(&service(from), dir.path()).await;
    let first = export(&*from.store, ExportScope::All, true).await;
    assert_eq!(
        kinds(&first),
        [
            "user",
            "server",
            "history_settings",
            "role",
            "member",
            "member_role",
            "channel",
            "overwrite",
            "dm",
            "dm_participant",
            "message",
            "attachment",
            "reaction",
            "message_history",
            "ban",
            "invite",
            "audit_entry"
        ]
    );
    assert_eq!(import(&*to.store, &first).await.unwrap(), first.len() as u64);
    let second = export(&*to.store, ExportScope::All, true).await;
    assert_eq!(first, second, "export → import → export changes nothing");
    let flagged =
        second.iter().filter(|r| r.kind == "message" && r.fields["mention_everyone"] == true).count();
    assert_eq!(flagged, 1, "the @everyone flag came along");

    let rift = service(to);
    let session = rift.login("alice", "alice-password").await.expect("password hashes came along");
    assert_eq!(session.user.id, sample.alice);
    let found = rift.search(sample.alice, rift::SearchParams::text("final")).await.expect("search imported");
    assert_eq!(
        found.iter().map(|hit| hit.message.id).collect::<Vec<_>>(),
        [sample.edited],
        "the text index is rebuilt"
    );
    let history = rift.message_history(sample.alice, sample.edited).await.unwrap();
    assert_eq!(history.len(), 2, "both edits kept");
    let pins = rift.pinned_messages(sample.alice, sample.channel).await.unwrap();
    assert_eq!(pins.len(), 1, "the pin came along");
    let settings = rift.history_settings(sample.alice, sample.server).await.unwrap();
    assert_eq!(settings.retention_days, Some(365), "the history settings came along");
}

#[tokio::test]
async fn sqlite_to_postgres_round_trip_gives_the_same_export() {
    let Some(pg) = rift_testing::postgres().await else { return };
    round_trip(&rift_testing::sqlite().await, &pg).await;
}

#[tokio::test]
async fn postgres_to_sqlite_round_trip_gives_the_same_export() {
    let Some(pg) = rift_testing::postgres().await else { return };
    round_trip(&pg, &rift_testing::sqlite().await).await;
}

#[tokio::test]
async fn sqlite_to_sqlite_round_trip_gives_the_same_export() {
    round_trip(&rift_testing::sqlite().await, &rift_testing::sqlite().await).await;
}

async fn check_refusals(db: &TestDb, other: &TestDb) {
    let dir = tempfile::tempdir().unwrap();
    rift_testing::sample::populate(&service(db), dir.path()).await;
    let records = export(&*db.store, ExportScope::All, false).await;
    assert!(records.iter().filter(|r| r.kind == "user").all(|r| !r.fields.contains_key("password_hash")));
    let before = export(&*db.store, ExportScope::All, false).await;
    let refused = import(&*db.store, &records).await;
    assert!(
        matches!(refused, Err(rift::StoreError::Conflict(rift::Conflict::DatabaseNotEmpty))),
        "{refused:?}"
    );
    assert_eq!(export(&*db.store, ExportScope::All, false).await, before, "nothing changed");

    // A bad record part-way leaves the empty database empty (one transaction).
    let mut broken = records.clone();
    let mut bad = broken[3].clone();
    bad.kind = "spaceship".into();
    broken.insert(5, bad);
    let failed = import(&*other.store, &broken).await;
    assert!(matches!(&failed, Err(rift::StoreError::Corrupt(m)) if m.contains("spaceship")), "{failed:?}");
    let mut wrong = records.clone();
    wrong[0].fields.insert("created_at".into(), serde_json::json!("yesterday"));
    let failed = import(&*other.store, &wrong).await;
    assert!(matches!(&failed, Err(rift::StoreError::Corrupt(m)) if m.contains("created_at")), "{failed:?}");
    assert!(export(&*other.store, ExportScope::All, false).await.is_empty(), "still empty");
}

#[tokio::test]
async fn sqlite_import_refuses_a_non_empty_database_and_bad_records() {
    check_refusals(&rift_testing::sqlite().await, &rift_testing::sqlite().await).await;
}

#[tokio::test]
async fn postgres_import_refuses_a_non_empty_database_and_bad_records() {
    let (Some(a), Some(b)) = (rift_testing::postgres().await, rift_testing::postgres().await) else { return };
    check_refusals(&a, &b).await;
}

/// A server's export and a DM's export each import on their own into an empty database.
async fn check_scopes(db: &TestDb, make: impl AsyncFn() -> TestDb) {
    let dir = tempfile::tempdir().unwrap();
    let sample = rift_testing::sample::populate(&service(db), dir.path()).await;
    let server = export(&*db.store, ExportScope::Server(sample.server), false).await;
    assert!(!server.iter().any(|r| r.kind == "dm" || r.kind == "read_state"));
    assert_eq!(server.iter().filter(|r| r.kind == "user").count(), 3, "owner, member, banned");
    let target = make().await;
    import(&*target.store, &server).await.expect("server export imports alone");
    assert_eq!(export(&*target.store, ExportScope::Server(sample.server), false).await, server);

    let dm = export(&*db.store, ExportScope::Channel(sample.dm), false).await;
    assert_eq!(kinds(&dm), ["user", "channel", "dm", "dm_participant", "message"]);
    let target = make().await;
    import(&*target.store, &dm).await.expect("DM export imports alone");
    assert_eq!(export(&*target.store, ExportScope::Channel(sample.dm), false).await, dm);

    let channel = export(&*db.store, ExportScope::Channel(sample.channel), false).await;
    assert_eq!(channel.iter().filter(|r| r.kind == "channel").count(), 2, "the channel and its category");
    let target = make().await;
    import(&*target.store, &channel).await.expect("channel export imports alone");

    let missing = db.store.export(ExportScope::Server(rift::ServerId::new()), false, &mut |_| Ok(())).await;
    assert!(matches!(missing, Err(rift::StoreError::Missing("server"))), "{missing:?}");
}

#[tokio::test]
async fn sqlite_scoped_exports_import_alone() {
    check_scopes(&rift_testing::sqlite().await, async || rift_testing::sqlite().await).await;
}

#[tokio::test]
async fn postgres_scoped_exports_import_alone() {
    let Some(db) = rift_testing::postgres().await else { return };
    check_scopes(&db, async || rift_testing::postgres().await.expect("postgres")).await;
}

/// `all_users` / `all_servers` page by id; `set_user_disabled` round-trips and knows unknown users.
async fn check_listings(db: &TestDb) {
    let dir = tempfile::tempdir().unwrap();
    let sample = rift_testing::sample::populate(&service(db), dir.path()).await;
    let mut ids = [sample.alice, sample.bob, sample.carol];
    ids.sort();
    let first = db.store.all_users(None, 2).await.unwrap();
    assert_eq!(first.iter().map(|u| u.id).collect::<Vec<_>>(), ids[..2]);
    let rest = db.store.all_users(Some(ids[1]), 2).await.unwrap();
    assert_eq!(rest.iter().map(|u| u.id).collect::<Vec<_>>(), ids[2..]);
    let servers = db.store.all_servers(None, 10).await.unwrap();
    assert_eq!(servers.iter().map(|s| s.id).collect::<Vec<_>>(), [sample.server]);
    assert!(db.store.all_servers(Some(sample.server), 10).await.unwrap().is_empty());

    assert_eq!(db.store.user_disabled_at(sample.bob).await.unwrap(), None);
    let at = chrono::DateTime::from_timestamp_micros(1_760_000_000_123_456).unwrap();
    assert!(db.store.set_user_disabled(sample.bob, Some(at)).await.unwrap());
    assert_eq!(db.store.user_disabled_at(sample.bob).await.unwrap(), Some(at));
    assert!(db.store.set_user_disabled(sample.bob, None).await.unwrap());
    assert_eq!(db.store.user_disabled_at(sample.bob).await.unwrap(), None);
    assert!(!db.store.set_user_disabled(rift::UserId::new(), Some(at)).await.unwrap());
}

#[tokio::test]
async fn sqlite_listings_page_by_id_and_disabling_round_trips() {
    check_listings(&rift_testing::sqlite().await).await;
}

#[tokio::test]
async fn postgres_listings_page_by_id_and_disabling_round_trips() {
    let Some(db) = rift_testing::postgres().await else { return };
    check_listings(&db).await;
}
