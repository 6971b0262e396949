//! Bridge mapping lookups, bridge connections and their cursors.

use chrono::{DateTime, Utc};
use rift::id::{BridgeConnectionId, UserId};
use rift::model::{BridgeConnection, BridgeRef, BridgeStatus};
use rift::store::BridgedKind;
use uuid::Uuid;

use crate::db::{Database, Res, Ts, on_db, on_insert};
use crate::rows::BridgeConnectionRow;
use rift::Conflict;

const CONNECTION_COLS: &str =
    "id, source, owner_id, token, token_kind, mode, status, status_reason, remote_user_id, created_at";

/// The lookup of each bridged kind (fixed strings: table names are never user input).
fn find_sql(kind: BridgedKind) -> &'static str {
    match kind {
        BridgedKind::User => "SELECT id FROM users WHERE bridge_source = $1 AND bridge_remote_id = $2",
        BridgedKind::Server => "SELECT id FROM servers WHERE bridge_source = $1 AND bridge_remote_id = $2",
        BridgedKind::Channel => "SELECT id FROM channels WHERE bridge_source = $1 AND bridge_remote_id = $2",
        BridgedKind::Role => "SELECT id FROM roles WHERE bridge_source = $1 AND bridge_remote_id = $2",
        BridgedKind::Message => "SELECT id FROM messages WHERE bridge_source = $1 AND bridge_remote_id = $2",
        BridgedKind::Upload => {
            "SELECT id FROM attachments WHERE bridge_source = $1 AND bridge_remote_id = $2"
        }
    }
}

impl Database {
    pub(crate) async fn find_bridged(&self, kind: BridgedKind, bridge: &BridgeRef) -> Res<Option<Uuid>> {
        Ok(on_db!(self, read, |pool| {
            sqlx::query_scalar::<_, Uuid>(find_sql(kind))
                .bind(&bridge.source)
                .bind(&bridge.remote_id)
                .fetch_optional(pool)
                .await?
        }))
    }

    pub(crate) async fn create_bridge_connection(&self, c: &BridgeConnection) -> Res<()> {
        on_db!(self, write, |pool| {
            sqlx::query(
                "INSERT INTO bridge_connections (id, source, owner_id, token, token_kind, mode, status, status_reason, \
                 remote_user_id, created_at) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10)",
            )
            .bind(c.id.uuid())
            .bind(&c.source)
            .bind(c.owner_id.uuid())
            .bind(c.token.expose())
            .bind(&c.token_kind)
            .bind(&c.mode)
            .bind(c.status.as_str())
            .bind(c.status_reason.as_deref())
            .bind(c.remote_user_id.as_deref())
            .bind(Ts::new(c.created_at))
            .execute(pool)
            .await
            .map_err(|e| on_insert(e, Conflict::Key("bridge_connections"), "user"))?.rows_affected()
        });
        Ok(())
    }

    pub(crate) async fn bridge_connection(&self, id: BridgeConnectionId) -> Res<Option<BridgeConnection>> {
        let sql = format!("SELECT {CONNECTION_COLS} FROM bridge_connections WHERE id = $1");
        let row = on_db!(self, read, |pool| {
            sqlx::query_as::<_, BridgeConnectionRow>(&sql).bind(id.uuid()).fetch_optional(pool).await?
        });
        Ok(row.map(BridgeConnectionRow::into_connection).transpose()?)
    }

    pub(crate) async fn bridge_connections(&self, owner: Option<UserId>) -> Res<Vec<BridgeConnection>> {
        let sql = format!(
            "SELECT {CONNECTION_COLS} FROM bridge_connections WHERE ($1 IS NULL OR owner_id = $1) ORDER BY created_at, id"
        );
        let rows = on_db!(self, read, |pool| {
            sqlx::query_as::<_, BridgeConnectionRow>(&sql)
                .bind(owner.map(UserId::uuid))
                .fetch_all(pool)
                .await?
        });
        Ok(rows.into_iter().map(BridgeConnectionRow::into_connection).collect::<Result<_, _>>()?)
    }

    pub(crate) async fn set_bridge_status(
        &self,
        id: BridgeConnectionId,
        status: BridgeStatus,
        reason: Option<&str>,
        remote_user_id: Option<&str>,
    ) -> Res<bool> {
        let done = on_db!(self, write, |pool| {
            sqlx::query(
                "UPDATE bridge_connections SET status = $2, status_reason = $3, \
                 remote_user_id = COALESCE($4, remote_user_id) WHERE id = $1",
            )
            .bind(id.uuid())
            .bind(status.as_str())
            .bind(reason)
            .bind(remote_user_id)
            .execute(pool)
            .await?
            .rows_affected()
        });
        Ok(done > 0)
    }

    pub(crate) async fn delete_bridge_connection(&self, id: BridgeConnectionId) -> Res<bool> {
        // Cursors go by ON DELETE CASCADE; mirrored users, servers and messages stay.
        let done = on_db!(self, write, |pool| {
            sqlx::query("DELETE FROM bridge_connections WHERE id = $1")
                .bind(id.uuid())
                .execute(pool)
                .await?
                .rows_affected()
        });
        Ok(done > 0)
    }

    pub(crate) async fn set_bridge_cursor(&self, id: BridgeConnectionId, key: &str, value: &str) -> Res<()> {
        on_db!(self, write, |pool| {
            sqlx::query(
                "INSERT INTO bridge_cursors (connection_id, key, value) VALUES ($1, $2, $3) \
                 ON CONFLICT (connection_id, key) DO UPDATE SET value = excluded.value",
            )
            .bind(id.uuid())
            .bind(key)
            .bind(value)
            .execute(pool)
            .await
            .map_err(|e| on_insert(e, Conflict::Key("bridge_cursors"), "bridge_connection"))?
            .rows_affected()
        });
        Ok(())
    }

    pub(crate) async fn bridge_cursor(&self, id: BridgeConnectionId, key: &str) -> Res<Option<String>> {
        Ok(on_db!(self, read, |pool| {
            sqlx::query_scalar::<_, String>(
                "SELECT value FROM bridge_cursors WHERE connection_id = $1 AND key = $2",
            )
            .bind(id.uuid())
            .bind(key)
            .fetch_optional(pool)
            .await?
        }))
    }

    pub(crate) async fn acquire_bridge_lease(
        &self,
        id: BridgeConnectionId,
        holder: Uuid,
        now: DateTime<Utc>,
        ttl: std::time::Duration,
    ) -> Res<bool> {
        let ttl = chrono::Duration::from_std(ttl).unwrap_or(chrono::Duration::MAX);
        let expires = now.checked_add_signed(ttl).unwrap_or(DateTime::<Utc>::MAX_UTC);
        // One statement: inserted when free, taken over when expired, renewed when ours; a lease
        // held by someone else and still valid is left alone (no row changes). Unknown connections
        // insert nothing.
        let done = on_db!(self, write, |pool| {
            sqlx::query(
                "INSERT INTO bridge_leases (connection_id, holder, expires_at) \
                 SELECT $1, $2, $3 WHERE EXISTS (SELECT 1 FROM bridge_connections WHERE id = $1) \
                 ON CONFLICT (connection_id) DO UPDATE SET holder = excluded.holder, expires_at = excluded.expires_at \
                 WHERE bridge_leases.holder = excluded.holder OR bridge_leases.expires_at <= $4",
            )
            .bind(id.uuid())
            .bind(holder)
            .bind(Ts::new(expires))
            .bind(Ts::new(now))
            .execute(pool)
            .await
            .map_err(|e| on_insert(e, Conflict::Key("bridge_leases"), "bridge_connection"))?
            .rows_affected()
        });
        Ok(done > 0)
    }

    pub(crate) async fn release_bridge_lease(&self, id: BridgeConnectionId, holder: Uuid) -> Res<bool> {
        let done = on_db!(self, write, |pool| {
            sqlx::query("DELETE FROM bridge_leases WHERE connection_id = $1 AND holder = $2")
                .bind(id.uuid())
                .bind(holder)
                .execute(pool)
                .await?
                .rows_affected()
        });
        Ok(done > 0)
    }
}
