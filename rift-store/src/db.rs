//! The [`Database`] handle, the dialect switch that lets every query be written once, and the
//! private value types shared by both backends.

use std::fmt;

use chrono::{DateTime, Utc};
use rift::store::Backend;
use rift::{Conflict, StoreError};
use sqlx::encode::IsNull;
use sqlx::error::BoxDynError;
use sqlx::postgres::{PgArgumentBuffer, PgTypeInfo, PgValueRef};
use sqlx::sqlite::{SqliteArgumentValue, SqliteTypeInfo, SqliteValueRef};
use sqlx::{Decode, Encode, PgPool, Postgres, Sqlite, SqlitePool, Type};

/// A Rift database: SQLite or PostgreSQL, with migrations applied. Implements [`rift::Store`].
///
/// Cheap to clone: clones share the connection pools.
#[derive(Clone)]
pub struct Database {
    pub(crate) pools: Pools,
}

impl fmt::Debug for Database {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Database").field("backend", &self.backend()).finish_non_exhaustive()
    }
}

/// The connection pools of each backend.
#[derive(Clone)]
pub(crate) enum Pools {
    /// SQLite: one writer connection takes every write and transaction (so writers queue in the
    /// pool instead of failing with SQLITE_BUSY), several readers serve plain reads (WAL lets them
    /// run beside the writer).
    /// Message inserts go through `messages`, which batches concurrent ones into one transaction
    /// on the writer connection (group commit).
    Sqlite { write: SqlitePool, read: SqlitePool, messages: crate::sqlite::writer::MessageWriter },
    /// PostgreSQL: one pool; row locks and conditional updates keep concurrent writers correct.
    Postgres(PgPool),
}

/// Which SQL dialect a query body is expanded for (for the few statements that differ).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Dialect {
    Sqlite,
    Postgres,
}

impl Database {
    pub(crate) fn backend(&self) -> Backend {
        match self.pools {
            Pools::Sqlite { .. } => Backend::Sqlite,
            Pools::Postgres(_) => Backend::Postgres,
        }
    }

    /// SQLite's group commit so far: `(transactions, messages stored by them)`; their ratio is the
    /// mean batch size. `None` on PostgreSQL, where each message has its own transaction.
    pub fn group_commit_stats(&self) -> Option<(u64, u64)> {
        match &self.pools {
            Pools::Sqlite { messages, .. } => Some(messages.stats()),
            Pools::Postgres(_) => None,
        }
    }

    /// How the connection pools are used now, and SQLite's group commit so far.
    pub fn usage(&self) -> rift::store::StoreUsage {
        fn pool<DB: sqlx::Database>(name: &'static str, pool: &sqlx::Pool<DB>) -> rift::store::PoolUsage {
            let idle = u32::try_from(pool.num_idle()).unwrap_or(u32::MAX);
            rift::store::PoolUsage::new(name, pool.size(), idle, pool.options().get_max_connections())
        }
        let mut usage = rift::store::StoreUsage::default();
        match &self.pools {
            Pools::Sqlite { write, read, .. } => usage.pools = vec![pool("write", write), pool("read", read)],
            Pools::Postgres(main) => usage.pools = vec![pool("main", main)],
        }
        usage.group_commit = self.group_commit_stats();
        usage
    }

    /// Closes every connection. Later calls fail.
    pub async fn close(&self) {
        match &self.pools {
            Pools::Sqlite { write, read, .. } => {
                read.close().await;
                write.close().await;
            }
            Pools::Postgres(pool) => pool.close().await,
        }
    }
}

/// Expands one query body for each backend: `$pool` is the SQLite writer (`write`) or reader
/// (`read`) pool, or the PostgreSQL pool; `$d` (optional) is the [`Dialect`]. The body is
/// type-checked twice, once per driver, so it must use only what both support.
macro_rules! on_db {
    ($db:expr, $which:ident, |$pool:ident| $body:expr) => {
        on_db!($db, $which, |$pool, _dialect| $body)
    };
    ($db:expr, read, |$pool:ident, $d:ident| $body:expr) => {
        match &$db.pools {
            $crate::db::Pools::Sqlite { read: $pool, .. } => {
                #[allow(unused_variables)]
                let $d = $crate::db::Dialect::Sqlite;
                $body
            }
            $crate::db::Pools::Postgres($pool) => {
                #[allow(unused_variables)]
                let $d = $crate::db::Dialect::Postgres;
                $body
            }
        }
    };
    ($db:expr, write, |$pool:ident, $d:ident| $body:expr) => {
        match &$db.pools {
            $crate::db::Pools::Sqlite { write: $pool, .. } => {
                #[allow(unused_variables)]
                let $d = $crate::db::Dialect::Sqlite;
                $body
            }
            $crate::db::Pools::Postgres($pool) => {
                #[allow(unused_variables)]
                let $d = $crate::db::Dialect::Postgres;
                $body
            }
        }
    };
}
pub(crate) use on_db;

/// The crate's internal error: a driver error not yet classified, or a finished [`StoreError`].
/// Lets `?` work on both inside query bodies.
#[derive(Debug)]
pub(crate) enum Fail {
    Sqlx(sqlx::Error),
    Store(StoreError),
}

impl From<sqlx::Error> for Fail {
    fn from(e: sqlx::Error) -> Self {
        Self::Sqlx(e)
    }
}

impl From<StoreError> for Fail {
    fn from(e: StoreError) -> Self {
        Self::Store(e)
    }
}

impl From<Fail> for StoreError {
    fn from(f: Fail) -> Self {
        match f {
            Fail::Store(e) => e,
            Fail::Sqlx(sqlx::Error::ColumnDecode { index, source }) => {
                StoreError::Corrupt(format!("column {index}: {source}"))
            }
            Fail::Sqlx(sqlx::Error::Decode(source)) => StoreError::Corrupt(source.to_string()),
            Fail::Sqlx(e) => StoreError::Backend(Box::new(e)),
        }
    }
}

pub(crate) type Res<T> = Result<T, Fail>;

/// What a failed statement broke, judged by the driver's error kind (never its message text).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Violation<'a> {
    /// A unique index; PostgreSQL names it, SQLite does not.
    Unique(Option<&'a str>),
    /// A foreign key.
    ForeignKey,
}

pub(crate) fn violation(e: &sqlx::Error) -> Option<Violation<'_>> {
    let db = e.as_database_error()?;
    if db.is_unique_violation() {
        Some(Violation::Unique(db.constraint()))
    } else if db.is_foreign_key_violation() {
        Some(Violation::ForeignKey)
    } else {
        None
    }
}

/// Maps an insert's unique violation to `Conflict(guess)` and a foreign-key violation to
/// `Missing(missing)`, for tables whose only unique rule besides the key is `guess` or none
/// (then `guess` is `Conflict::Key(table)`).
pub(crate) fn on_insert(e: sqlx::Error, guess: Conflict, missing: &'static str) -> Fail {
    on_bridged_insert(e, guess, missing, false)
}

/// Like [`on_insert`] for a row that may carry a bridge ref: a violated `*_bridge_key` index is
/// `Conflict::BridgeRef`. PostgreSQL names the index; SQLite does not, but its extended code
/// tells a primary-key clash (1555) from a UNIQUE index (2067), and the bridge index is the only
/// UNIQUE index such a row can break (message ids aside, which are random and never reused).
pub(crate) fn on_bridged_insert(
    e: sqlx::Error,
    guess: Conflict,
    missing: &'static str,
    bridged: bool,
) -> Fail {
    const SQLITE_CONSTRAINT_PRIMARYKEY: &str = "1555";
    let kind = match (violation(&e), e.as_database_error()) {
        (Some(Violation::Unique(Some(name))), _) => {
            if name.ends_with("_bridge_key") {
                Conflict::BridgeRef
            } else {
                guess
            }
        }
        (Some(Violation::Unique(None)), Some(db)) => {
            if bridged && db.code().as_deref() != Some(SQLITE_CONSTRAINT_PRIMARYKEY) {
                Conflict::BridgeRef
            } else {
                guess
            }
        }
        (Some(Violation::ForeignKey), _) => return StoreError::Missing(missing).into(),
        _ => return e.into(),
    };
    StoreError::Conflict(kind).into()
}

/// A timestamp as both backends store it: SQLite INTEGER unix microseconds, PostgreSQL
/// `timestamptz`. Both keep microseconds, so a value reads back equal on either.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub(crate) struct Ts(pub(crate) DateTime<Utc>);

impl Ts {
    /// Truncated to what the database keeps.
    pub(crate) fn new(at: DateTime<Utc>) -> Self {
        Self(truncate(at))
    }
}

/// `at` without its sub-microsecond part.
pub(crate) fn truncate(at: DateTime<Utc>) -> DateTime<Utc> {
    DateTime::from_timestamp_micros(at.timestamp_micros()).unwrap_or(at)
}

impl Type<Sqlite> for Ts {
    fn type_info() -> SqliteTypeInfo {
        <i64 as Type<Sqlite>>::type_info()
    }
    fn compatible(ty: &SqliteTypeInfo) -> bool {
        <i64 as Type<Sqlite>>::compatible(ty)
    }
}

impl<'q> Encode<'q, Sqlite> for Ts {
    fn encode_by_ref(&self, buf: &mut Vec<SqliteArgumentValue<'q>>) -> Result<IsNull, BoxDynError> {
        <i64 as Encode<'q, Sqlite>>::encode(self.0.timestamp_micros(), buf)
    }
}

impl<'r> Decode<'r, Sqlite> for Ts {
    fn decode(value: SqliteValueRef<'r>) -> Result<Self, BoxDynError> {
        let micros = <i64 as Decode<'r, Sqlite>>::decode(value)?;
        DateTime::from_timestamp_micros(micros)
            .map(Ts)
            .ok_or_else(|| format!("timestamp {micros} out of range").into())
    }
}

impl Type<Postgres> for Ts {
    fn type_info() -> PgTypeInfo {
        <DateTime<Utc> as Type<Postgres>>::type_info()
    }
    fn compatible(ty: &PgTypeInfo) -> bool {
        <DateTime<Utc> as Type<Postgres>>::compatible(ty)
    }
}

impl Encode<'_, Postgres> for Ts {
    fn encode_by_ref(&self, buf: &mut PgArgumentBuffer) -> Result<IsNull, BoxDynError> {
        <DateTime<Utc> as Encode<'_, Postgres>>::encode(truncate(self.0), buf)
    }
}

impl<'r> Decode<'r, Postgres> for Ts {
    fn decode(value: PgValueRef<'r>) -> Result<Self, BoxDynError> {
        <DateTime<Utc> as Decode<'r, Postgres>>::decode(value).map(Ts)
    }
}

/// A permission set or other `u64` bit set, stored as a signed 64-bit integer (same bits).
pub(crate) fn bits_to_db(bits: u64) -> i64 {
    i64::from_ne_bytes(bits.to_ne_bytes())
}

/// The inverse of [`bits_to_db`].
pub(crate) fn bits_from_db(value: i64) -> u64 {
    u64::from_ne_bytes(value.to_ne_bytes())
}

/// `limit` as a bound SQL value.
pub(crate) fn limit(limit: u32) -> i64 {
    i64::from(limit)
}
