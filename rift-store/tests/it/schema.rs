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
