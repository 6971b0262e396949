//! Whole-database listings for administration, and export/import: every exported kind is one
//! table described once ([`TABLES`]: its columns and their forms, its order, its scope filters),
//! so exporting, importing and both backends share one description.

use chrono::{DateTime, SecondsFormat, Utc};
use futures_util::TryStreamExt;
use rift::StoreError;
use rift::id::{ServerId, UserId};
use rift::model::{Server, User};
use rift::store::{ExportRecord, ExportScope, ExportSink, ImportSource};
use serde_json::{Map, Value};
use sqlx::Row;
use sqlx::types::Json;
use uuid::Uuid;

use crate::db::{Database, Dialect, Fail, Res, Ts, bits_from_db, bits_to_db, limit, on_db};
use crate::rows::{SERVER_COLS, ServerRow, USER_COLS, UserRow};

/// How a column's value is stored and written in an export.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Form {
    /// A UUID (BLOB / UUID), exported as its hyphenated string.
    Id,
    Text,
    /// A 32-bit integer (INTEGER in PostgreSQL).
    Int,
    /// A 64-bit integer (BIGINT in PostgreSQL).
    BigInt,
    /// A permission bit set stored as a signed 64-bit integer, exported unsigned.
    Bits,
    /// A timestamp, exported as RFC 3339 UTC with microseconds.
    Time,
    /// JSON (TEXT in SQLite, JSONB in PostgreSQL), exported as JSON.
    Json,
    /// A NOT NULL boolean with a default of false; a record without it (an older export) takes false.
    Flag,
}

/// One exported kind: a table, its columns, its order, and which rows each scope takes (`$1`
/// is the scope's id; `None` means the kind is not part of that scope).
struct Table {
    kind: &'static str,
    table: &'static str,
    columns: &'static [(&'static str, Form)],
    /// `ORDER BY` per dialect (text keys compare bytewise on both).
    order: fn(Dialect) -> &'static str,
    server: Option<&'static str>,
    channel: Option<&'static str>,
}

use Form::{BigInt, Bits, Flag, Id, Int, Json as JsonForm, Text, Time};

const SCOPED_MESSAGES_SERVER: &str = "message_id IN (SELECT m.id FROM messages m JOIN channels c ON c.id = m.channel_id WHERE c.server_id = $1)";
const SCOPED_MESSAGES_CHANNEL: &str = "message_id IN (SELECT id FROM messages WHERE channel_id = $1)";

/// Every exported kind, in import order (a row after the rows it refers to).
const TABLES: &[Table] = &[
    Table {
        kind: "user",
        table: "users",
        columns: &[
            ("id", Id),
            ("username", Text),
            ("display_name", Text),
            ("email", Text),
            ("avatar_url", Text),
            ("status", Text),
            ("bridge_source", Text),
            ("bridge_remote_id", Text),
            ("created_at", Time),
            ("disabled_at", Time),
        ],
        order: |_| "id",
        server: Some(
            "id IN (SELECT owner_id FROM servers WHERE id = $1 \
             UNION SELECT user_id FROM members WHERE server_id = $1 \
             UNION SELECT user_id FROM bans WHERE server_id = $1 \
             UNION SELECT creator_id FROM invites WHERE server_id = $1 \
             UNION SELECT m.author_id FROM messages m JOIN channels c ON c.id = m.channel_id WHERE c.server_id = $1 \
             UNION SELECT r.user_id FROM reactions r JOIN messages m ON m.id = r.message_id \
                   JOIN channels c ON c.id = m.channel_id WHERE c.server_id = $1 \
             UNION SELECT a.uploader_id FROM attachments a JOIN messages m ON m.id = a.message_id \
                   JOIN channels c ON c.id = m.channel_id WHERE c.server_id = $1)",
        ),
        channel: Some(
            "id IN (SELECT s.owner_id FROM servers s JOIN channels c ON c.server_id = s.id WHERE c.id = $1 \
             UNION SELECT user_id FROM dm_participants WHERE channel_id = $1 \
             UNION SELECT author_id FROM messages WHERE channel_id = $1 \
             UNION SELECT r.user_id FROM reactions r JOIN messages m ON m.id = r.message_id WHERE m.channel_id = $1 \
             UNION SELECT a.uploader_id FROM attachments a JOIN messages m ON m.id = a.message_id \
                   WHERE m.channel_id = $1)",
        ),
    },
    Table {
        kind: "server",
        table: "servers",
        columns: &[
            ("id", Id),
            ("name", Text),
            ("icon_url", Text),
            ("owner_id", Id),
            ("bridge_source", Text),
            ("bridge_remote_id", Text),
            ("created_at", Time),
        ],
        order: |_| "id",
        server: Some("id = $1"),
        channel: Some("id IN (SELECT server_id FROM channels WHERE id = $1)"),
    },
    Table {
        kind: "history_settings",
        table: "server_history_settings",
        columns: &[
            ("server_id", Id),
            ("edits", Text),
            ("deletes", Text),
            ("retention_days", Int),
            ("updated_at", Time),
        ],
        order: |_| "server_id",
        server: Some("server_id = $1"),
        channel: Some("server_id IN (SELECT server_id FROM channels WHERE id = $1)"),
    },
    Table {
        kind: "role",
        table: "roles",
        columns: &[
            ("id", Id),
            ("server_id", Id),
            ("name", Text),
            ("color", Int),
            ("position", Int),
            ("permissions", Bits),
            ("bridge_source", Text),
            ("bridge_remote_id", Text),
        ],
        order: |_| "id",
        server: Some("server_id = $1"),
        channel: Some("server_id IN (SELECT server_id FROM channels WHERE id = $1)"),
    },
    Table {
        kind: "member",
        table: "members",
        columns: &[("server_id", Id), ("user_id", Id), ("nickname", Text), ("joined_at", Time)],
        order: |_| "server_id, user_id",
        server: Some("server_id = $1"),
        channel: None,
    },
    Table {
        kind: "member_role",
        table: "member_roles",
        columns: &[("server_id", Id), ("user_id", Id), ("role_id", Id)],
        order: |_| "server_id, user_id, role_id",
        server: Some("server_id = $1"),
        channel: None,
    },
    Table {
        kind: "channel",
        table: "channels",
        columns: &[
            ("id", Id),
            ("server_id", Id),
            ("name", Text),
            ("kind", Text),
            ("topic", Text),
            ("position", Int),
            ("parent_id", Id),
            ("bridge_source", Text),
            ("bridge_remote_id", Text),
            ("created_at", Time),
        ],
        // Categories (no parent) before the channels in them.
        order: |_| "(CASE WHEN parent_id IS NULL THEN 0 ELSE 1 END), id",
        server: Some("server_id = $1"),
        channel: Some("id = $1 OR id IN (SELECT parent_id FROM channels WHERE id = $1)"),
    },
    Table {
        kind: "overwrite",
        table: "channel_permissions",
        columns: &[("channel_id", Id), ("target_id", Id), ("kind", Text), ("allow", Bits), ("deny", Bits)],
        order: |_| "channel_id, target_id",
        server: Some("channel_id IN (SELECT id FROM channels WHERE server_id = $1)"),
        channel: Some("channel_id = $1"),
    },
    Table {
        kind: "dm",
        table: "dm_channels",
        columns: &[("id", Id), ("kind", Text), ("name", Text), ("user_low", Id), ("user_high", Id)],
        order: |_| "id",
        server: None,
        channel: Some("id = $1"),
    },
    Table {
        kind: "dm_participant",
        table: "dm_participants",
        columns: &[("channel_id", Id), ("user_id", Id)],
        order: |_| "channel_id, user_id",
        server: None,
        channel: Some("channel_id = $1"),
    },
    Table {
        kind: "message",
        table: "messages",
        columns: &[
            ("id", Id),
            ("channel_id", Id),
            ("author_id", Id),
            ("content", Text),
            ("reply_to", Id),
            ("nonce", Text),
            ("created_at", Time),
            ("edited_at", Time),
            ("deleted_at", Time),
            ("extras", Text),
            ("bridge_source", Text),
            ("bridge_remote_id", Text),
            ("pinned_at", Time),
            ("pinned_by", Id),
            ("mention_everyone", Flag),
        ],
        order: |_| "id",
        server: Some("channel_id IN (SELECT id FROM channels WHERE server_id = $1)"),
        channel: Some("channel_id = $1"),
    },
    Table {
        kind: "attachment",
        table: "attachments",
        columns: &[
            ("id", Id),
            ("uploader_id", Id),
            ("message_id", Id),
            ("position", Int),
            ("filename", Text),
            ("content_type", Text),
            ("size", BigInt),
            ("url", Text),
            ("secret", Text),
            ("width", Int),
            ("height", Int),
            ("content_hash", Text),
            ("bridge_source", Text),
            ("bridge_remote_id", Text),
            ("created_at", Time),
        ],
        order: |_| "id",
        server: Some(SCOPED_MESSAGES_SERVER),
        channel: Some(SCOPED_MESSAGES_CHANNEL),
    },
    Table {
        kind: "reaction",
        table: "reactions",
        columns: &[("message_id", Id), ("user_id", Id), ("emoji", Text), ("created_at", Time)],
        order: |d| match d {
            Dialect::Sqlite => "message_id, user_id, emoji",
            Dialect::Postgres => "message_id, user_id, emoji COLLATE \"C\"",
        },
        server: Some(SCOPED_MESSAGES_SERVER),
        channel: Some(SCOPED_MESSAGES_CHANNEL),
    },
    Table {
        kind: "message_history",
        table: "message_audit_log",
        columns: &[
            ("id", Id),
            ("message_id", Id),
            ("action", Text),
            ("old_content", Text),
            ("new_content", Text),
            ("actor_id", Id),
            ("created_at", Time),
        ],
        order: |_| "id",
        server: Some(SCOPED_MESSAGES_SERVER),
        channel: Some(SCOPED_MESSAGES_CHANNEL),
    },
    Table {
        kind: "ban",
        table: "bans",
        columns: &[("server_id", Id), ("user_id", Id), ("reason", Text), ("created_at", Time)],
        order: |_| "server_id, user_id",
        server: Some("server_id = $1"),
        channel: None,
    },
    Table {
        kind: "invite",
        table: "invites",
        columns: &[
            ("code", Text),
            ("server_id", Id),
            ("channel_id", Id),
            ("uses", BigInt),
            ("max_uses", BigInt),
            ("expires_at", Time),
            ("creator_id", Id),
            ("created_at", Time),
        ],
        order: |d| match d {
            Dialect::Sqlite => "code",
            Dialect::Postgres => "code COLLATE \"C\"",
        },
        server: Some("server_id = $1"),
        channel: None,
    },
    Table {
        kind: "audit_entry",
        table: "server_audit_log",
        columns: &[
            ("id", Id),
            ("server_id", Id),
            ("actor_id", Id),
            ("action", Text),
            ("target_id", Id),
            ("changes", JsonForm),
            ("reason", Text),
            ("created_at", Time),
        ],
        order: |_| "id",
        server: Some("server_id = $1"),
        channel: None,
    },
    Table {
        kind: "read_state",
        table: "read_states",
        columns: &[("user_id", Id), ("channel_id", Id), ("last_read_message_id", Id)],
        order: |_| "user_id, channel_id",
        server: None,
        channel: None,
    },
];

/// The column list of a kind's select and insert (with the password hash when asked for).
fn column_names(table: &Table, password_hashes: bool) -> Vec<(&'static str, Form)> {
    let mut columns = table.columns.to_vec();
    if table.kind == "user" && password_hashes {
        columns.push(("password_hash", Text));
    }
    columns
}

/// Which rows of `table` a scope takes: `Some(where clause)` (empty for all), or `None`.
fn filter(table: &Table, scope: ExportScope) -> Option<&'static str> {
    match scope {
        ExportScope::All => Some(""),
        ExportScope::Server(_) => table.server,
        ExportScope::Channel(_) => table.channel,
    }
}

fn scope_id(scope: ExportScope) -> Option<Uuid> {
    match scope {
        ExportScope::All => None,
        ExportScope::Server(id) => Some(id.uuid()),
        ExportScope::Channel(id) => Some(id.uuid()),
    }
}

fn time_text(at: DateTime<Utc>) -> Value {
    Value::String(at.to_rfc3339_opts(SecondsFormat::Micros, true))
}

/// Reads one row into a record; expanded once per backend (the row types differ).
macro_rules! decode_record {
    ($row:expr, $kind:expr, $columns:expr) => {{
        let row = $row;
        let mut fields = Map::new();
        for (i, (name, form)) in $columns.iter().enumerate() {
            let value = match form {
                Id => {
                    row.try_get::<Option<Uuid>, _>(i)?.map_or(Value::Null, |v| Value::String(v.to_string()))
                }
                Text => row.try_get::<Option<String>, _>(i)?.map_or(Value::Null, Value::String),
                Int => row.try_get::<Option<i32>, _>(i)?.map_or(Value::Null, Value::from),
                BigInt => row.try_get::<Option<i64>, _>(i)?.map_or(Value::Null, Value::from),
                Bits => {
                    row.try_get::<Option<i64>, _>(i)?.map_or(Value::Null, |v| Value::from(bits_from_db(v)))
                }
                Time => row.try_get::<Option<Ts>, _>(i)?.map_or(Value::Null, |v| time_text(v.0)),
                JsonForm => row.try_get::<Option<Json<Value>>, _>(i)?.map_or(Value::Null, |v| v.0),
                Flag => Value::Bool(row.try_get::<bool, _>(i)?),
            };
            fields.insert((*name).to_owned(), value);
        }
        ExportRecord { kind: $kind.to_owned(), fields }
    }};
}

fn corrupt(kind: &str, field: &str, why: &str) -> Fail {
    StoreError::Corrupt(format!("{kind} record: {field} {why}")).into()
}

/// A record's value for one column, checked against its form (so the bind below cannot fail).
enum Bound {
    Id(Option<Uuid>),
    Text(Option<String>),
    Int(Option<i32>),
    BigInt(Option<i64>),
    Time(Option<Ts>),
    Json(Option<Json<Value>>),
    Flag(bool),
}

fn bound(kind: &str, name: &str, form: Form, value: Option<&Value>) -> Res<Bound> {
    let value = value.filter(|v| !v.is_null());
    let bad = |why: &str| corrupt(kind, name, why);
    Ok(match form {
        Id => Bound::Id(
            value
                .map(|v| v.as_str().and_then(|s| s.parse::<Uuid>().ok()).ok_or_else(|| bad("is not a UUID")))
                .transpose()?,
        ),
        Text => Bound::Text(
            value.map(|v| v.as_str().map(str::to_owned).ok_or_else(|| bad("is not a string"))).transpose()?,
        ),
        Int => Bound::Int(
            value
                .map(|v| {
                    v.as_i64()
                        .and_then(|n| i32::try_from(n).ok())
                        .ok_or_else(|| bad("is not a 32-bit integer"))
                })
                .transpose()?,
        ),
        BigInt => {
            Bound::BigInt(value.map(|v| v.as_i64().ok_or_else(|| bad("is not an integer"))).transpose()?)
        }
        Bits => Bound::BigInt(
            value
                .map(|v| v.as_u64().map(bits_to_db).ok_or_else(|| bad("is not an unsigned 64-bit integer")))
                .transpose()?,
        ),
        Time => Bound::Time(
            value
                .map(|v| {
                    v.as_str()
                        .and_then(|s| DateTime::parse_from_rfc3339(s).ok())
                        .map(|t| Ts::new(t.with_timezone(&Utc)))
                        .ok_or_else(|| bad("is not an RFC 3339 timestamp"))
                })
                .transpose()?,
        ),
        JsonForm => Bound::Json(value.cloned().map(Json)),
        Flag => Bound::Flag(
            value.map(|v| v.as_bool().ok_or_else(|| bad("is not a boolean"))).transpose()?.unwrap_or(false),
        ),
    })
}

impl Database {
    pub(crate) async fn all_users(&self, after: Option<UserId>, count: u32) -> Res<Vec<User>> {
        let sql = format!("SELECT {USER_COLS} FROM users WHERE $1 IS NULL OR id > $1 ORDER BY id LIMIT $2");
        let rows = on_db!(self, read, |pool| {
            sqlx::query_as::<_, UserRow>(&sql)
                .bind(after.map(|id| id.uuid()))
                .bind(limit(count))
                .fetch_all(pool)
                .await?
        });
        Ok(rows.into_iter().map(UserRow::into_user).collect::<Result<_, _>>()?)
    }

    pub(crate) async fn all_servers(&self, after: Option<ServerId>, count: u32) -> Res<Vec<Server>> {
        let sql =
            format!("SELECT {SERVER_COLS} FROM servers WHERE $1 IS NULL OR id > $1 ORDER BY id LIMIT $2");
        let rows = on_db!(self, read, |pool| {
            sqlx::query_as::<_, ServerRow>(&sql)
                .bind(after.map(|id| id.uuid()))
                .bind(limit(count))
                .fetch_all(pool)
                .await?
        });
        Ok(rows.into_iter().map(ServerRow::into_server).collect())
    }

    pub(crate) async fn set_user_disabled(&self, id: UserId, at: Option<DateTime<Utc>>) -> Res<bool> {
        let changed = on_db!(self, write, |pool| {
            sqlx::query("UPDATE users SET disabled_at = $2 WHERE id = $1")
                .bind(id.uuid())
                .bind(at.map(Ts::new))
                .execute(pool)
                .await?
                .rows_affected()
        });
        Ok(changed > 0)
    }

    pub(crate) async fn user_disabled_at(&self, id: UserId) -> Res<Option<DateTime<Utc>>> {
        let at = on_db!(self, read, |pool| {
            sqlx::query_scalar::<_, Option<Ts>>("SELECT disabled_at FROM users WHERE id = $1")
                .bind(id.uuid())
                .fetch_optional(pool)
                .await?
        });
        Ok(at.flatten().map(|ts| ts.0))
    }

    pub(crate) async fn export(
        &self,
        scope: ExportScope,
        password_hashes: bool,
        sink: ExportSink<'_>,
    ) -> Res<u64> {
        let mut count = 0u64;
        on_db!(self, read, |pool, dialect| {
            let mut tx = pool.begin().await?;
            if dialect == Dialect::Postgres {
                // One snapshot for every table: a consistent export while the server runs.
                sqlx::query("SET TRANSACTION ISOLATION LEVEL REPEATABLE READ, READ ONLY")
                    .execute(&mut *tx)
                    .await?;
            }
            let (exists, missing) = match scope {
                ExportScope::All => (None, ""),
                ExportScope::Server(_) => (Some("SELECT COUNT(*) FROM servers WHERE id = $1"), "server"),
                ExportScope::Channel(_) => (Some("SELECT COUNT(*) FROM channels WHERE id = $1"), "channel"),
            };
            if let Some(sql) = exists {
                let found: i64 = sqlx::query_scalar(sql).bind(scope_id(scope)).fetch_one(&mut *tx).await?;
                if found == 0 {
                    return Err(StoreError::Missing(missing).into());
                }
            }
            for table in TABLES {
                let Some(filter) = filter(table, scope) else { continue };
                let columns = column_names(table, password_hashes);
                let names: Vec<&str> = columns.iter().map(|(name, _)| *name).collect();
                let clause = if filter.is_empty() { String::new() } else { format!(" WHERE {filter}") };
                let sql = format!(
                    "SELECT {} FROM {}{clause} ORDER BY {}",
                    names.join(", "),
                    table.table,
                    (table.order)(dialect)
                );
                let mut query = sqlx::query(&sql);
                if !filter.is_empty() {
                    query = query.bind(scope_id(scope));
                }
                let mut rows = query.fetch(&mut *tx);
                while let Some(row) = rows.try_next().await? {
                    sink(decode_record!(&row, table.kind, columns))?;
                    count += 1;
                }
            }
            tx.rollback().await?;
        });
        Ok(count)
    }

    pub(crate) async fn import(&self, records: ImportSource<'_>) -> Res<u64> {
        let statements: Vec<(String, Vec<(&'static str, Form)>)> = TABLES
            .iter()
            .map(|table| {
                let columns = column_names(table, true);
                let names: Vec<&str> = columns.iter().map(|(name, _)| *name).collect();
                let params: Vec<String> = (1..=names.len()).map(|i| format!("${i}")).collect();
                let sql = format!(
                    "INSERT INTO {} ({}) VALUES ({})",
                    table.table,
                    names.join(", "),
                    params.join(", ")
                );
                (sql, columns)
            })
            .collect();
        let mut count = 0u64;
        on_db!(self, write, |pool| {
            let mut tx = pool.begin().await?;
            let users: i64 = sqlx::query_scalar("SELECT COUNT(*) FROM users").fetch_one(&mut *tx).await?;
            if users > 0 {
                return Err(StoreError::Conflict(rift::Conflict::DatabaseNotEmpty).into());
            }
            for record in records {
                let record = record?;
                let Some(index) = TABLES.iter().position(|t| t.kind == record.kind) else {
                    return Err(StoreError::Corrupt(format!("unknown record type {:?}", record.kind)).into());
                };
                let (sql, columns) = &statements[index];
                if let Some(unknown) =
                    record.fields.keys().find(|k| !columns.iter().any(|(name, _)| name == k))
                {
                    return Err(corrupt(&record.kind, unknown, "is not a known field"));
                }
                let mut query = sqlx::query(sql);
                for (name, form) in columns {
                    query = match bound(&record.kind, name, *form, record.fields.get(*name))? {
                        Bound::Id(v) => query.bind(v),
                        Bound::Text(v) => query.bind(v),
                        Bound::Int(v) => query.bind(v),
                        Bound::BigInt(v) => query.bind(v),
                        Bound::Time(v) => query.bind(v),
                        Bound::Json(v) => query.bind(v),
                        Bound::Flag(v) => query.bind(v),
                    };
                }
                query.execute(&mut *tx).await.map_err(|e| match crate::db::violation(&e) {
                    Some(_) => {
                        StoreError::Corrupt(format!("{} record breaks a database rule: {e}", record.kind))
                            .into()
                    }
                    None => Fail::from(e),
                })?;
                count += 1;
            }
            tx.commit().await?;
        });
        Ok(count)
    }
}
