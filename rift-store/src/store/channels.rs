//! Channels and their permission overwrites.

use std::collections::HashMap;

use rift::id::{ChannelId, ServerId};
use rift::model::{Channel, PermissionOverwrite};
use rift::store::ChannelPatch;
use sqlx::QueryBuilder;
use uuid::Uuid;

use crate::db::{Database, Res, on_db, on_insert};
use crate::rows::{CHANNEL_COLS, ChannelRow, OverwriteRow, qualified};
use rift::Conflict;

/// Inserts a channel and its overwrites inside the transaction `$tx` (used by server creation and
/// channel creation; a macro because the body is expanded once per backend).
macro_rules! insert_channel {
    ($tx:ident, $channel:expr) => {{
        let channel: &rift::model::Channel = $channel;
        let (source, remote) = $crate::rows::bridge_cols(channel.bridge.as_ref());
        let created_at = channel.created_at.or_else(|| channel.id.created_at()).unwrap_or_else(chrono::Utc::now);
        sqlx::query(
            "INSERT INTO channels (id, server_id, name, kind, topic, position, parent_id, bridge_source, \
             bridge_remote_id, created_at) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10)",
        )
        .bind(channel.id.uuid())
        .bind(channel.server_id.map(rift::id::ServerId::uuid))
        .bind(&channel.name)
        .bind(channel.kind.as_str())
        .bind(channel.topic.as_deref())
        .bind(channel.position)
        .bind(channel.parent_id.map(rift::id::ChannelId::uuid))
        .bind(source)
        .bind(remote)
        .bind($crate::db::Ts::new(created_at))
        .execute(&mut *$tx)
        .await
        .map_err(|e| $crate::db::on_bridged_insert(e, rift::Conflict::Key("channels"), "server", channel.bridge.is_some()))?;
        for overwrite in &channel.permission_overwrites {
            sqlx::query(
                "INSERT INTO channel_permissions (channel_id, target_id, kind, allow, deny) VALUES ($1, $2, $3, $4, $5)",
            )
            .bind(channel.id.uuid())
            .bind(overwrite.id)
            .bind(overwrite.kind.as_str())
            .bind($crate::db::bits_to_db(overwrite.allow.bits()))
            .bind($crate::db::bits_to_db(overwrite.deny.bits()))
            .execute(&mut *$tx)
            .await
            .map_err(|e| $crate::db::on_insert(e, rift::Conflict::Key("channel_permissions"), "channel"))?;
        }
    }};
}
pub(crate) use insert_channel;

impl Database {
    pub(crate) async fn create_channel(&self, channel: &Channel) -> Res<Channel> {
        on_db!(self, write, |pool| {
            let mut tx = pool.begin().await?;
            insert_channel!(tx, channel);
            tx.commit().await?;
        });
        self.channel(channel.id).await?.ok_or_else(|| rift::StoreError::Missing("channel").into())
    }

    pub(crate) async fn channel(&self, id: ChannelId) -> Res<Option<Channel>> {
        let sql = format!("SELECT {CHANNEL_COLS} FROM channels WHERE id = $1");
        let (row, overwrites) = on_db!(self, read, |pool| {
            let row = sqlx::query_as::<_, ChannelRow>(&sql).bind(id.uuid()).fetch_optional(pool).await?;
            let overwrites = sqlx::query_as::<_, OverwriteRow>(
                "SELECT channel_id, target_id, kind, allow, deny FROM channel_permissions WHERE channel_id = $1 \
                 ORDER BY target_id",
            )
            .bind(id.uuid())
            .fetch_all(pool)
            .await?;
            (row, overwrites)
        });
        let Some(row) = row else { return Ok(None) };
        let overwrites =
            overwrites.into_iter().map(OverwriteRow::into_overwrite).collect::<Result<_, _>>()?;
        Ok(Some(row.into_channel(overwrites)?))
    }

    pub(crate) async fn channels(&self, server_id: ServerId) -> Res<Vec<Channel>> {
        let sql = format!("SELECT {CHANNEL_COLS} FROM channels WHERE server_id = $1 ORDER BY position, id");
        let overwrites_sql = format!(
            "SELECT {} FROM channel_permissions p JOIN channels c ON c.id = p.channel_id \
             WHERE c.server_id = $1 ORDER BY p.target_id",
            qualified("channel_id, target_id, kind, allow, deny", "p")
        );
        let (rows, overwrites) = on_db!(self, read, |pool| {
            let rows = sqlx::query_as::<_, ChannelRow>(&sql).bind(server_id.uuid()).fetch_all(pool).await?;
            let overwrites = sqlx::query_as::<_, OverwriteRow>(&overwrites_sql)
                .bind(server_id.uuid())
                .fetch_all(pool)
                .await?;
            (rows, overwrites)
        });
        let mut by_channel: HashMap<Uuid, Vec<PermissionOverwrite>> = HashMap::new();
        for row in overwrites {
            let channel = row.channel_id;
            by_channel.entry(channel).or_default().push(row.into_overwrite()?);
        }
        rows.into_iter()
            .map(|row| {
                let overwrites = by_channel.remove(&row.id).unwrap_or_default();
                Ok(row.into_channel(overwrites)?)
            })
            .collect()
    }

    pub(crate) async fn update_channel(&self, id: ChannelId, patch: &ChannelPatch) -> Res<Option<Channel>> {
        if patch.name.is_some()
            || patch.topic.is_some()
            || patch.position.is_some()
            || patch.parent_id.is_some()
        {
            let done = on_db!(self, write, |pool| {
                let mut qb = QueryBuilder::new("UPDATE channels SET ");
                let mut set = qb.separated(", ");
                if let Some(name) = &patch.name {
                    set.push("name = ").push_bind_unseparated(name.as_str());
                }
                if let Some(topic) = &patch.topic {
                    set.push("topic = ").push_bind_unseparated(topic.as_deref());
                }
                if let Some(position) = patch.position {
                    set.push("position = ").push_bind_unseparated(position);
                }
                if let Some(parent) = patch.parent_id {
                    set.push("parent_id = ").push_bind_unseparated(parent.map(ChannelId::uuid));
                }
                qb.push(" WHERE id = ").push_bind(id.uuid());
                qb.build()
                    .execute(pool)
                    .await
                    .map_err(|e| on_insert(e, Conflict::Key("channels"), "channel"))?
                    .rows_affected()
            });
            if done == 0 {
                return Ok(None);
            }
        }
        self.channel(id).await
    }

    pub(crate) async fn delete_channel(&self, id: ChannelId) -> Res<bool> {
        let done = on_db!(self, write, |pool| {
            sqlx::query("DELETE FROM channels WHERE id = $1")
                .bind(id.uuid())
                .execute(pool)
                .await?
                .rows_affected()
        });
        Ok(done > 0)
    }

    pub(crate) async fn put_overwrite(&self, channel_id: ChannelId, o: &PermissionOverwrite) -> Res<()> {
        on_db!(self, write, |pool| {
            sqlx::query(
                "INSERT INTO channel_permissions (channel_id, target_id, kind, allow, deny) VALUES ($1, $2, $3, $4, $5) \
                 ON CONFLICT (channel_id, target_id) DO UPDATE SET kind = excluded.kind, allow = excluded.allow, \
                 deny = excluded.deny",
            )
            .bind(channel_id.uuid())
            .bind(o.id)
            .bind(o.kind.as_str())
            .bind(crate::db::bits_to_db(o.allow.bits()))
            .bind(crate::db::bits_to_db(o.deny.bits()))
            .execute(pool)
            .await
            .map_err(|e| on_insert(e, Conflict::Key("channel_permissions"), "channel"))?.rows_affected()
        });
        Ok(())
    }

    pub(crate) async fn delete_overwrite(&self, channel_id: ChannelId, target_id: Uuid) -> Res<bool> {
        let done = on_db!(self, write, |pool| {
            sqlx::query("DELETE FROM channel_permissions WHERE channel_id = $1 AND target_id = $2")
                .bind(channel_id.uuid())
                .bind(target_id)
                .execute(pool)
                .await?
                .rows_affected()
        });
        Ok(done > 0)
    }
}
