//! The schema itself: the seed's tables on both backends, the DM view, partial unique indexes.

use rift::Store;
use rift::id::ChannelId;
use sqlx::{Connection, PgConnection, SqliteConnection};

use crate::fixtures::*;

const TABLES: &[&str] = &[
    "users",
    "servers",
    "members",
    "member_roles",
    "roles",
    "channels",
    "channel_permissions",
    "messages",
    "attachments",
    "reactions",
    "dm_channels",
    "dm_participants",
    "dm_messages",
    "refresh_tokens",
    "invites",
    "bridge_connections",
    "bridge_cursors",
    "message_audit_log",
    "server_audit_log",
    "bans",
    "read_states",
];

/// DM messages only, in the view; both tables accept many native rows (NULL bridge columns).
async fn seed(store: &dyn Store) {
    let a = user(store, "a").await;
    let b = user(store, "b").await;
    let (_, general) = server(store, &a).await;
    message(store, general.id, a.id, "in a server").await;
    let (dm, _) = store.open_dm(a.id, b.id, ChannelId::new(), at(1)).await.unwrap();
    message(store, dm, b.id, "in a dm").await;
}

#[tokio::test]
async fn sqlite_schema_has_the_seed_tables_and_dm_view() {
    let db = rift_testing::sqlite().await;
    seed(&db.database).await;
    let path = db.path().expect("sqlite file");
    let mut conn = SqliteConnection::connect(&format!("sqlite://{}", path.display())).await.unwrap();
    for table in TABLES {
        let found: i64 = sqlx::query_scalar(
            "SELECT COUNT(*) FROM sqlite_schema WHERE name = $1 AND type IN ('table', 'view')",
        )
        .bind(table)
        .fetch_one(&mut conn)
        .await
        .unwrap();
        assert_eq!(found, 1, "{table}");
    }
    let dm: Vec<String> =
        sqlx::query_scalar("SELECT content FROM dm_messages").fetch_all(&mut conn).await.unwrap();
    assert_eq!(dm, ["in a dm"]);
    let mode: String = sqlx::query_scalar("PRAGMA journal_mode").fetch_one(&mut conn).await.unwrap();
    assert_eq!(mode, "wal");
    let bridge_indexes: i64 = sqlx::query_scalar(
        "SELECT COUNT(*) FROM sqlite_schema WHERE type = 'index' AND name LIKE '%bridge_key' \
         AND sql LIKE '%WHERE bridge_source IS NOT NULL%'",
    )
    .fetch_one(&mut conn)
    .await
    .unwrap();
    assert_eq!(bridge_indexes, 6, "users, servers, channels, roles, messages, attachments");
}

#[tokio::test]
async fn postgres_schema_has_the_seed_tables_and_dm_view() {
    let Some((url, _)) = rift_testing::postgres_url().await else { return };
    let store = rift_store::Database::connect_postgres(&url).await.unwrap();
    seed(&store).await;
    store.close().await;
    let mut conn = PgConnection::connect(&url).await.unwrap();
    for table in TABLES {
        let found: i64 = sqlx::query_scalar(
            "SELECT COUNT(*) FROM information_schema.tables WHERE table_schema = 'public' AND table_name = $1",
        )
        .bind(table)
        .fetch_one(&mut conn)
        .await
        .unwrap();
        assert_eq!(found, 1, "{table}");
    }
    let dm: Vec<String> =
        sqlx::query_scalar("SELECT content FROM dm_messages").fetch_all(&mut conn).await.unwrap();
    assert_eq!(dm, ["in a dm"]);
    let bridge_indexes: i64 = sqlx::query_scalar(
        "SELECT COUNT(*) FROM pg_indexes WHERE indexname LIKE '%bridge_key' \
         AND indexdef LIKE '%WHERE (bridge_source IS NOT NULL)%'",
    )
    .fetch_one(&mut conn)
    .await
    .unwrap();
    assert_eq!(bridge_indexes, 6, "users, servers, channels, roles, messages, attachments");
    let gin: i64 = sqlx::query_scalar(
        "SELECT COUNT(*) FROM pg_indexes WHERE tablename = 'messages' AND indexdef LIKE '%USING gin (tsv)%'",
    )
    .fetch_one(&mut conn)
    .await
    .unwrap();
    assert_eq!(gin, 1);
}

/// Migration 0004 (group DMs) on a database migrated to 0003 and holding native DMs: every DM, participant and
/// message survives as a two-person `dm`; group DMs need no pair; the pair stays unique.
#[tokio::test]
async fn sqlite_migration_0004_keeps_existing_dms() {
    let mut conn = SqliteConnection::connect("sqlite::memory:").await.unwrap();
    sqlx::raw_sql("PRAGMA foreign_keys = ON").execute(&mut conn).await.unwrap();
    sqlx::raw_sql(include_str!("../../migrations/sqlite/0001_init.sql")).execute(&mut conn).await.unwrap();
    sqlx::raw_sql(include_str!("../../migrations/sqlite/0002_event_log.sql"))
        .execute(&mut conn)
        .await
        .unwrap();
    sqlx::raw_sql(include_str!("../../migrations/sqlite/0003_bridged_content.sql"))
        .execute(&mut conn)
        .await
        .unwrap();
    let (a, b, dm, m) =
        (uuid::Uuid::now_v7(), uuid::Uuid::now_v7(), uuid::Uuid::now_v7(), uuid::Uuid::now_v7());
    let (low, high) = if a < b { (a, b) } else { (b, a) };
    for (id, name) in [(a, "a"), (b, "b")] {
        sqlx::query("INSERT INTO users (id, username, display_name, created_at) VALUES ($1, $2, $2, 0)")
            .bind(id)
            .bind(name)
            .execute(&mut conn)
            .await
            .unwrap();
    }
    sqlx::query("INSERT INTO channels (id, name, kind, created_at) VALUES ($1, '', 'dm', 0)")
        .bind(dm)
        .execute(&mut conn)
        .await
        .unwrap();
    sqlx::query("INSERT INTO dm_channels (id, user_low, user_high) VALUES ($1, $2, $3)")
        .bind(dm)
        .bind(low)
        .bind(high)
        .execute(&mut conn)
        .await
        .unwrap();
    sqlx::query("INSERT INTO dm_participants (channel_id, user_id) VALUES ($1, $2), ($1, $3)")
        .bind(dm)
        .bind(low)
        .bind(high)
        .execute(&mut conn)
        .await
        .unwrap();
    sqlx::query("INSERT INTO messages (id, channel_id, author_id, content, created_at) VALUES ($1, $2, $3, 'kept', 0)")
        .bind(m)
        .bind(dm)
        .bind(a)
        .execute(&mut conn)
        .await
        .unwrap();

    let mut tx = conn.begin().await.unwrap();
    sqlx::raw_sql(include_str!("../../migrations/sqlite/0004_group_dms.sql"))
        .execute(&mut *tx)
        .await
        .unwrap();
    tx.commit().await.unwrap();

    let row: (uuid::Uuid, String, Option<String>, uuid::Uuid, uuid::Uuid) =
        sqlx::query_as("SELECT id, kind, name, user_low, user_high FROM dm_channels")
            .fetch_one(&mut conn)
            .await
            .unwrap();
    assert_eq!(row, (dm, "dm".to_owned(), None, low, high));
    let participants: i64 = sqlx::query_scalar("SELECT COUNT(*) FROM dm_participants WHERE channel_id = $1")
        .bind(dm)
        .fetch_one(&mut conn)
        .await
        .unwrap();
    assert_eq!(participants, 2);
    let kept: Vec<String> =
        sqlx::query_scalar("SELECT content FROM dm_messages").fetch_all(&mut conn).await.unwrap();
    assert_eq!(kept, ["kept"]);
    // The same pair again is refused; group DMs need no pair, and a DM needs one.
    let again = uuid::Uuid::now_v7();
    sqlx::query("INSERT INTO channels (id, name, kind, created_at) VALUES ($1, '', 'dm', 0)")
        .bind(again)
        .execute(&mut conn)
        .await
        .unwrap();
    let clash =
        sqlx::query("INSERT INTO dm_channels (id, kind, user_low, user_high) VALUES ($1, 'dm', $2, $3)")
            .bind(again)
            .bind(low)
            .bind(high)
            .execute(&mut conn)
            .await;
    assert!(clash.is_err(), "one DM per pair");
    let no_pair = sqlx::query("INSERT INTO dm_channels (id, kind) VALUES ($1, 'dm')")
        .bind(again)
        .execute(&mut conn)
        .await;
    assert!(no_pair.is_err(), "a DM has its pair");
    sqlx::query("INSERT INTO dm_channels (id, kind, name) VALUES ($1, 'group_dm', 'g')")
        .bind(again)
        .execute(&mut conn)
        .await
        .unwrap();
    sqlx::query("INSERT INTO dm_participants (channel_id, user_id) VALUES ($1, $2)")
        .bind(again)
        .bind(a)
        .execute(&mut conn)
        .await
        .unwrap();
    let fk: Vec<(String,)> =
        sqlx::query_as("SELECT \"table\" FROM pragma_foreign_key_check").fetch_all(&mut conn).await.unwrap();
    assert!(fk.is_empty(), "{fk:?}");
}
