#![doc = include_str!("../README.md")]

mod db;
mod postgres;
mod rows;
mod sqlite;
mod store;

use std::path::Path;

pub use db::Database;
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

    /// Connects to a PostgreSQL database and migrates it.
    ///
    /// # Errors
    /// [`StoreError::Backend`] when the server cannot be reached or the schema migrated.
    pub async fn connect_postgres(url: &str) -> Result<Self, StoreError> {
        postgres::connect(url).await
    }
}
