//! The SQLite backend: a file in WAL mode, one writer connection and a pool of readers.

use std::path::Path;
use std::str::FromStr;
use std::time::Duration;

use rift::StoreError;
use sqlx::sqlite::{SqliteConnectOptions, SqliteJournalMode, SqlitePoolOptions, SqliteSynchronous};

use crate::db::{Database, Pools};

pub(crate) mod search;
pub(crate) mod writer;

/// How long a connection waits for a lock before SQLITE_BUSY. Only checkpoints and other
/// processes compete with our single writer, so this is rarely reached.
const BUSY_TIMEOUT: Duration = Duration::from_secs(5);
/// Readers: enough for the 2-core machines Rift targets, plus requests waiting on I/O.
const READERS: u32 = 4;

/// Opens (creating if needed) and migrates a SQLite database file.
pub(crate) async fn open(path: &Path) -> Result<Database, StoreError> {
    open_with(SqliteConnectOptions::new().filename(path)).await
}

/// Opens a `sqlite:` URL (its query parameters apply; ours override the pragmas we rely on).
pub(crate) async fn open_url(url: &str) -> Result<Database, StoreError> {
    if url.contains(":memory:") || url.contains("mode=memory") {
        // Each pooled connection would get its own empty in-memory database.
        return Err(StoreError::Backend(
            "in-memory SQLite is not supported: use a file (a temp file for tests)".into(),
        ));
    }
    let options = SqliteConnectOptions::from_str(url).map_err(|e| StoreError::Backend(Box::new(e)))?;
    open_with(options).await
}

async fn open_with(options: SqliteConnectOptions) -> Result<Database, StoreError> {
    let options = options
        .create_if_missing(true)
        .journal_mode(SqliteJournalMode::Wal)
        .foreign_keys(true)
        .busy_timeout(BUSY_TIMEOUT)
        // An acknowledged message must survive a power cut, so every commit syncs the WAL.
        .synchronous(SqliteSynchronous::Full);
    let backend = |e: sqlx::Error| StoreError::Backend(Box::new(e));
    // Every write goes through this single connection, so write transactions never race each
    // other for the database lock (no SQLITE_BUSY on a read-to-write upgrade).
    let write = SqlitePoolOptions::new()
        .max_connections(1)
        .min_connections(1)
        .connect_with(options.clone())
        .await
        .map_err(backend)?;
    sqlx::migrate!("migrations/sqlite").run(&write).await.map_err(|e| StoreError::Backend(Box::new(e)))?;
    let read =
        SqlitePoolOptions::new().max_connections(READERS).connect_with(options).await.map_err(backend)?;
    let messages = writer::MessageWriter::start(write.clone());
    Ok(Database { pools: Pools::Sqlite { write, read, messages } })
}

#[cfg(test)]
mod tests {
    use crate::db::Pools;

    #[tokio::test]
    async fn every_connection_has_the_durability_pragmas() {
        let dir = tempfile::tempdir().unwrap();
        let db = super::open(&dir.path().join("rift.db")).await.unwrap();
        let Pools::Sqlite { write, read, .. } = &db.pools else { panic!("not sqlite") };
        for pool in [write, read] {
            let pragma = |name: &'static str| async move {
                sqlx::query_scalar::<_, i64>(&format!("PRAGMA {name}")).fetch_one(pool).await.unwrap()
            };
            assert_eq!(pragma("foreign_keys").await, 1);
            assert_eq!(pragma("synchronous").await, 2, "FULL");
            assert_eq!(pragma("busy_timeout").await, 5000);
        }
        assert_eq!(write.options().get_max_connections(), 1, "one writer");
        db.close().await;
    }
}
