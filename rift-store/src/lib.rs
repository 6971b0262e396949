//! # Rift storage backends
//!
//! [`Database`] implements [`rift::Store`] on **SQLite** (a file in WAL mode; the default) or
//! **PostgreSQL** 15+, chosen by URL. Migrations are embedded and applied when a database is
//! opened; full-text search (SQLite FTS5, PostgreSQL `tsvector` + GIN) is kept in sync by the
//! database itself.
//!
//! ```
//! use rift::Store;
//!
//! # #[tokio::main(flavor = "current_thread")]
//! # async fn main() -> Result<(), Box<dyn std::error::Error>> {
//! let dir = tempfile::tempdir()?;
//! let path = dir.path().join("rift.db");
//! // `sqlite://<path>`, a plain path, or `postgres://…`.
//! let store = rift_store::connect(&format!("sqlite://{}", path.display())).await?;
//! assert_eq!(store.backend().as_str(), "sqlite");
//! store.ping().await?;
//! assert!(store.user_by_username("nobody").await?.is_none());
//! store.close().await;
//! # Ok(())
//! # }
//! ```
//!
//! ## Design
//! - Every query is written once: [`Database`] holds either SQLite pools or a PostgreSQL pool, and
//!   a small macro expands each query body for both drivers. Only the schema, the text-index
//!   clause and a few locks differ per dialect (`src/sqlite/`, `src/postgres/`).
//! - SQLite uses one writer connection for all writes and transactions and a pool of readers,
//!   with `synchronous=FULL`: an acknowledged write survives a crash.
//! - Timestamps keep microseconds on both backends, so values read back equal everywhere.

mod db;
mod postgres;
mod proto;
mod rows;
mod sqlite;
mod store;

use std::path::Path;

pub use db::Database;
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
