//! Servers, with their creation bundle (owner membership, `@everyone`, first channels).

use rift::StoreError;
use rift::id::{ServerId, UserId};
use rift::model::Server;
use rift::store::{NewServer, ServerPatch};
use sqlx::QueryBuilder;

use crate::db::{Database, Res, Ts, bits_to_db, on_bridged_insert, on_db, on_insert};
use crate::rows::{SERVER_COLS, ServerRow, bridge_cols, qualified};
use crate::store::channels::insert_channel;
use rift::Conflict;

/// The name of every server's base role.
const EVERYONE: &str = "@everyone";

impl Database {
    pub(crate) async fn create_server(&self, new: &NewServer) -> Res<Server> {
        let server = &new.server;
        let (source, remote) = bridge_cols(server.bridge.as_ref());
        let sql = format!(
            "INSERT INTO servers (id, name, icon_url, owner_id, bridge_source, bridge_remote_id, created_at) \
             VALUES ($1, $2, $3, $4, $5, $6, $7) RETURNING {SERVER_COLS}"
        );
        let row = on_db!(self, write, |pool| {
            let mut tx = pool.begin().await?;
            let row = sqlx::query_as::<_, ServerRow>(&sql)
                .bind(server.id.uuid())
                .bind(&server.name)
                .bind(server.icon_url.as_deref())
                .bind(server.owner_id.uuid())
                .bind(source)
                .bind(remote)
                .bind(Ts::new(server.created_at))
                .fetch_one(&mut *tx)
                .await
                .map_err(|e| {
                    on_bridged_insert(e, Conflict::Key("servers"), "user", server.bridge.is_some())
                })?;
            sqlx::query(
                "INSERT INTO roles (id, server_id, name, color, position, permissions) VALUES ($1, $1, $2, 0, 0, $3)",
            )
            .bind(server.id.uuid())
            .bind(EVERYONE)
            .bind(bits_to_db(new.everyone_permissions.bits()))
            .execute(&mut *tx)
            .await
            .map_err(|e| on_insert(e, Conflict::Key("roles"), "server"))?;
            sqlx::query("INSERT INTO members (server_id, user_id, joined_at) VALUES ($1, $2, $3)")
                .bind(server.id.uuid())
                .bind(server.owner_id.uuid())
                .bind(Ts::new(new.owner_joined_at))
                .execute(&mut *tx)
                .await
                .map_err(|e| on_insert(e, Conflict::Key("members"), "user"))?;
            for channel in &new.channels {
                insert_channel!(tx, channel);
            }
            tx.commit().await?;
            row
        });
        Ok(row.into_server())
    }

    pub(crate) async fn server(&self, id: ServerId) -> Res<Option<Server>> {
        let sql = format!("SELECT {SERVER_COLS} FROM servers WHERE id = $1");
        let row = on_db!(self, read, |pool| {
            sqlx::query_as::<_, ServerRow>(&sql).bind(id.uuid()).fetch_optional(pool).await?
        });
        Ok(row.map(ServerRow::into_server))
    }

    pub(crate) async fn servers_of_user(&self, user_id: UserId) -> Res<Vec<Server>> {
        let sql = format!(
            "SELECT {} FROM servers s JOIN members m ON m.server_id = s.id WHERE m.user_id = $1 \
             ORDER BY s.created_at, s.id",
            qualified(SERVER_COLS, "s")
        );
        let rows = on_db!(self, read, |pool| {
            sqlx::query_as::<_, ServerRow>(&sql).bind(user_id.uuid()).fetch_all(pool).await?
        });
        Ok(rows.into_iter().map(ServerRow::into_server).collect())
    }

    pub(crate) async fn update_server(&self, id: ServerId, patch: &ServerPatch) -> Res<Option<Server>> {
        if patch.name.is_none() && patch.icon_url.is_none() && patch.owner_id.is_none() {
            return self.server(id).await;
        }
        let row: Option<ServerRow> = on_db!(self, write, |pool| {
            let mut qb = QueryBuilder::new("UPDATE servers SET ");
            let mut set = qb.separated(", ");
            if let Some(name) = &patch.name {
                set.push("name = ").push_bind_unseparated(name.as_str());
            }
            if let Some(icon) = &patch.icon_url {
                set.push("icon_url = ").push_bind_unseparated(icon.as_deref());
            }
            if let Some(owner) = patch.owner_id {
                set.push("owner_id = ").push_bind_unseparated(owner.uuid());
            }
            qb.push(" WHERE id = ").push_bind(id.uuid());
            qb.push(format!(" RETURNING {SERVER_COLS}"));
            qb.build_query_as::<ServerRow>()
                .fetch_optional(pool)
                .await
                .map_err(|e| on_insert(e, Conflict::Key("servers"), "user"))?
        });
        Ok(row.map(ServerRow::into_server))
    }

    pub(crate) async fn delete_server(&self, id: ServerId) -> Res<bool> {
        // Channels, messages (and their uploads, reactions, history), roles, members, invites,
        // bans and audit entries go with it through ON DELETE CASCADE.
        let done = on_db!(self, write, |pool| {
            sqlx::query("DELETE FROM servers WHERE id = $1")
                .bind(id.uuid())
                .execute(pool)
                .await?
                .rows_affected()
        });
        Ok(done > 0)
    }
}

/// Fails with `Missing("server")` when a server lock found no server.
pub(crate) fn require_server(rows: u64) -> Res<()> {
    if rows == 0 { Err(StoreError::Missing("server").into()) } else { Ok(()) }
}
