//! Roles, their positions and assignments.
//!
//! Positions are unique per server (a unique index) and contiguous from `@everyone`'s 0. Every
//! reordering happens in one transaction holding the server row lock, and shifts go through
//! negative values (`-(new)` then flipped back) because a unique index is checked row by row, so
//! `position = position + 1` would collide with its neighbour mid-statement.

use rift::id::{RoleId, ServerId, UserId};
use rift::model::Role;
use rift::store::RolePatch;
use sqlx::QueryBuilder;

use crate::db::{Database, Res, bits_to_db, on_bridged_insert, on_db, on_insert};
use crate::rows::{ROLE_COLS, RoleRow, bridge_cols};
use crate::store::servers::require_server;
use rift::Conflict;

/// Takes the server row's lock (PostgreSQL) so role reorderings of one server run one at a time;
/// SQLite's single writer serialises them already. Returns the rows touched (0: no server).
macro_rules! lock_server {
    ($tx:ident, $server:expr) => {
        sqlx::query("UPDATE servers SET name = name WHERE id = $1")
            .bind($server)
            .execute(&mut *$tx)
            .await?
            .rows_affected()
    };
}

/// Flips the negative positions written by a shift back to positive.
macro_rules! settle_positions {
    ($tx:ident, $server:expr) => {
        sqlx::query("UPDATE roles SET position = -position WHERE server_id = $1 AND position < 0")
            .bind($server)
            .execute(&mut *$tx)
            .await?
    };
}

impl Database {
    pub(crate) async fn create_role(&self, role: &Role) -> Res<Role> {
        let (source, remote) = bridge_cols(role.bridge.as_ref());
        let server = role.server_id.uuid();
        let sql = format!(
            "INSERT INTO roles (id, server_id, name, color, position, permissions, bridge_source, bridge_remote_id) \
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8) RETURNING {ROLE_COLS}"
        );
        let row = on_db!(self, write, |pool| {
            let mut tx = pool.begin().await?;
            require_server(lock_server!(tx, server))?;
            let top: i32 =
                sqlx::query_scalar("SELECT COALESCE(MAX(position), 0) FROM roles WHERE server_id = $1")
                    .bind(server)
                    .fetch_one(&mut *tx)
                    .await?;
            // Above `@everyone`, at most one past the top, so positions stay contiguous.
            let position = role.position.clamp(1, top + 1);
            sqlx::query(
                "UPDATE roles SET position = -(position + 1) WHERE server_id = $1 AND position >= $2",
            )
            .bind(server)
            .bind(position)
            .execute(&mut *tx)
            .await?;
            settle_positions!(tx, server);
            let row = sqlx::query_as::<_, RoleRow>(&sql)
                .bind(role.id.uuid())
                .bind(server)
                .bind(&role.name)
                .bind(role.color)
                .bind(position)
                .bind(bits_to_db(role.permissions.bits()))
                .bind(source)
                .bind(remote)
                .fetch_one(&mut *tx)
                .await
                .map_err(|e| on_bridged_insert(e, Conflict::RolePosition, "server", role.bridge.is_some()))?;
            tx.commit().await?;
            row
        });
        Ok(row.into_role())
    }

    pub(crate) async fn role(&self, id: RoleId) -> Res<Option<Role>> {
        let sql = format!("SELECT {ROLE_COLS} FROM roles WHERE id = $1");
        let row = on_db!(self, read, |pool| {
            sqlx::query_as::<_, RoleRow>(&sql).bind(id.uuid()).fetch_optional(pool).await?
        });
        Ok(row.map(RoleRow::into_role))
    }

    pub(crate) async fn roles(&self, server_id: ServerId) -> Res<Vec<Role>> {
        let sql = format!("SELECT {ROLE_COLS} FROM roles WHERE server_id = $1 ORDER BY position");
        let rows = on_db!(self, read, |pool| {
            sqlx::query_as::<_, RoleRow>(&sql).bind(server_id.uuid()).fetch_all(pool).await?
        });
        Ok(rows.into_iter().map(RoleRow::into_role).collect())
    }

    pub(crate) async fn update_role(&self, id: RoleId, patch: &RolePatch) -> Res<Option<Role>> {
        if patch.name.is_none() && patch.color.is_none() && patch.permissions.is_none() {
            return self.role(id).await;
        }
        let row: Option<RoleRow> = on_db!(self, write, |pool| {
            let mut qb = QueryBuilder::new("UPDATE roles SET ");
            let mut set = qb.separated(", ");
            if let Some(name) = &patch.name {
                set.push("name = ").push_bind_unseparated(name.as_str());
            }
            if let Some(color) = patch.color {
                set.push("color = ").push_bind_unseparated(color);
            }
            if let Some(permissions) = patch.permissions {
                set.push("permissions = ").push_bind_unseparated(bits_to_db(permissions.bits()));
            }
            qb.push(" WHERE id = ").push_bind(id.uuid());
            qb.push(format!(" RETURNING {ROLE_COLS}"));
            qb.build_query_as::<RoleRow>().fetch_optional(pool).await?
        });
        Ok(row.map(RoleRow::into_role))
    }

    pub(crate) async fn move_role(&self, id: RoleId, position: i32) -> Res<Option<Vec<Role>>> {
        let Some(role) = self.role(id).await? else { return Ok(None) };
        let server = role.server_id.uuid();
        let moved = on_db!(self, write, |pool| {
            let mut tx = pool.begin().await?;
            lock_server!(tx, server);
            // Re-read under the lock: the role may have moved or gone since.
            let current: Option<i32> = sqlx::query_scalar("SELECT position FROM roles WHERE id = $1")
                .bind(id.uuid())
                .fetch_optional(&mut *tx)
                .await?;
            let Some(old) = current else { return Ok(None) };
            let top: i32 =
                sqlx::query_scalar("SELECT COALESCE(MAX(position), 0) FROM roles WHERE server_id = $1")
                    .bind(server)
                    .fetch_one(&mut *tx)
                    .await?;
            // `@everyone` stays at 0; others stay within 1..=top.
            let new = if old == 0 { 0 } else { position.clamp(1, top.max(1)) };
            if new != old {
                sqlx::query(
                    "UPDATE roles SET position = -(CASE \
                       WHEN id = $2 THEN $3 \
                       WHEN $3 < $4 THEN position + 1 \
                       ELSE position - 1 END) \
                     WHERE server_id = $1 AND position BETWEEN $5 AND $6",
                )
                .bind(server)
                .bind(id.uuid())
                .bind(new)
                .bind(old)
                .bind(new.min(old))
                .bind(new.max(old))
                .execute(&mut *tx)
                .await?;
                settle_positions!(tx, server);
            }
            tx.commit().await?;
            true
        });
        if !moved {
            return Ok(None);
        }
        Ok(Some(self.roles(role.server_id).await?))
    }

    pub(crate) async fn delete_role(&self, id: RoleId) -> Res<bool> {
        let Some(role) = self.role(id).await? else { return Ok(false) };
        if role.is_everyone() {
            // `@everyone` lives as long as its server.
            return Ok(false);
        }
        let server = role.server_id.uuid();
        on_db!(self, write, |pool| {
            let mut tx = pool.begin().await?;
            lock_server!(tx, server);
            let position: Option<i32> =
                sqlx::query_scalar("DELETE FROM roles WHERE id = $1 RETURNING position")
                    .bind(id.uuid())
                    .fetch_optional(&mut *tx)
                    .await?;
            let Some(position) = position else { return Ok(false) };
            // Assignments go by ON DELETE CASCADE; overwrites name the role only by id.
            sqlx::query(
                "DELETE FROM channel_permissions WHERE target_id = $1 AND kind = 'role' \
                 AND channel_id IN (SELECT id FROM channels WHERE server_id = $2)",
            )
            .bind(id.uuid())
            .bind(server)
            .execute(&mut *tx)
            .await?;
            sqlx::query("UPDATE roles SET position = -(position - 1) WHERE server_id = $1 AND position > $2")
                .bind(server)
                .bind(position)
                .execute(&mut *tx)
                .await?;
            settle_positions!(tx, server);
            tx.commit().await?;
            Ok(true)
        })
    }

    pub(crate) async fn add_member_role(
        &self,
        server_id: ServerId,
        user_id: UserId,
        role_id: RoleId,
    ) -> Res<bool> {
        let done = on_db!(self, write, |pool| {
            sqlx::query(
                "INSERT INTO member_roles (server_id, user_id, role_id) \
                 SELECT $1, $2, id FROM roles WHERE id = $3 AND server_id = $1 \
                 ON CONFLICT (server_id, user_id, role_id) DO NOTHING",
            )
            .bind(server_id.uuid())
            .bind(user_id.uuid())
            .bind(role_id.uuid())
            .execute(pool)
            .await
            .map_err(|e| on_insert(e, Conflict::Key("member_roles"), "member"))?
            .rows_affected()
        });
        Ok(done > 0)
    }

    pub(crate) async fn remove_member_role(
        &self,
        server_id: ServerId,
        user_id: UserId,
        role_id: RoleId,
    ) -> Res<bool> {
        let done = on_db!(self, write, |pool| {
            sqlx::query("DELETE FROM member_roles WHERE server_id = $1 AND user_id = $2 AND role_id = $3")
                .bind(server_id.uuid())
                .bind(user_id.uuid())
                .bind(role_id.uuid())
                .execute(pool)
                .await?
                .rows_affected()
        });
        Ok(done > 0)
    }
}
