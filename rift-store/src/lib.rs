#![doc = include_str!("../README.md")]

mod db;
mod location;
mod postgres;
mod rows;
mod sqlite;
mod store;

use std::path::Path;

pub use db::Database;
pub use location::{DEFAULT_DATA_DIR, DataLocation};
pub use postgres::fanout::{PgFanOut, PgFanOutOptions};
pub use rift::StoreError;

/// Opens the database a URL names: `postgres://…` or `postgresql://…` selects PostgreSQL,
/// `sqlite:…` or a plain file path selects SQLite (the file is created if missing). Migrations are
/// applied before this returns.
///
/// # Errors
/// [`StoreError::Backend`] when the database cannot be opened, reached or migrated.
pub async fn connect(url: &str) -> Result<Database, StoreError> {
    if url.starts_with("postgres://") || url.starts_with("postgresql://") {
        Database::connect_postgres(url).await
    } else if let Some(path) = url.strip_prefix("sqlite://") {
        Database::open_sqlite(path).await
    } else if url.starts_with("sqlite:") {
        sqlite::open_url(url).await
    } else {
        Database::open_sqlite(url).await
    }
}

impl Database {
    /// Opens (creating if needed) the SQLite database file at `path` and migrates it.
    ///
    /// # Errors
    /// [`StoreError::Backend`] when the file cannot be opened or migrated.
    pub async fn open_sqlite(path: impl AsRef<Path>) -> Result<Self, StoreError> {
        sqlite::open(path.as_ref()).await
    }

    /// Writes a consistent copy of a SQLite database to `to` (a new file) while it stays in use,
    /// with `VACUUM INTO`: the copy is one snapshot, compacted, and opens like the original.
    ///
    /// # Errors
    /// [`StoreError::Backend`] when `to` exists or cannot be written; on PostgreSQL, which has
    /// its own tool (`pg_dump`), always.
    pub async fn backup_sqlite(&self, to: &Path) -> Result<(), StoreError> {
        let db::Pools::Sqlite { read, .. } = &self.pools else {
            return Err(StoreError::Backend("backups of PostgreSQL are made with pg_dump".into()));
        };
        let to = to.to_str().ok_or_else(|| StoreError::Backend("the backup path is not UTF-8".into()))?;
        sqlx::query("VACUUM INTO $1")
            .bind(to)
            .execute(read)
            .await
            .map(drop)
            .map_err(|e| StoreError::Backend(Box::new(e)))
    }

    /// Connects to a PostgreSQL database and migrates it.
    ///
    /// # Errors
    /// [`StoreError::Backend`] when the server cannot be reached or the schema migrated.
    pub async fn connect_postgres(url: &str) -> Result<Self, StoreError> {
        postgres::connect(url).await
    }
}
