//! The PostgreSQL backend (15 or newer): one pool.

use rift::StoreError;
use sqlx::postgres::PgPoolOptions;

use crate::db::{Database, Pools};

pub(crate) mod fanout;
pub(crate) mod search;

/// Connections per process; several `rift-server` nodes may share one database.
const CONNECTIONS: u32 = 10;

/// Connects to `url` and applies the migrations.
pub(crate) async fn connect(url: &str) -> Result<Database, StoreError> {
    let pool = PgPoolOptions::new()
        .max_connections(CONNECTIONS)
        .connect(url)
        .await
        .map_err(|e| StoreError::Backend(Box::new(e)))?;
    sqlx::migrate!("migrations/postgres").run(&pool).await.map_err(|e| StoreError::Backend(Box::new(e)))?;
    Ok(Database { pools: Pools::Postgres(pool) })
}
