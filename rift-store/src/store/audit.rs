//! The server audit log, and read states.

use rift::id::{AuditEntryId, ChannelId, MessageId, ServerId, UserId};
use rift::model::{AuditEntry, ReadState};
use uuid::Uuid;

use crate::db::{Database, Res, limit, on_db};
use crate::rows::AuditRow;

/// Inserts a server audit entry inside the transaction `$tx` (also used by message deletion).
macro_rules! insert_audit {
    ($tx:ident, $entry:expr) => {{
        let entry: &rift::model::AuditEntry = $entry;
        sqlx::query(
            "INSERT INTO server_audit_log (id, server_id, actor_id, action, target_id, changes, reason, created_at) \
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8)",
        )
        .bind(entry.id.uuid())
        .bind(entry.server_id.uuid())
        .bind(entry.actor_id.map(rift::id::UserId::uuid))
        .bind(&entry.action)
        .bind(entry.target_id)
        .bind(sqlx::types::Json(&entry.changes))
        .bind(entry.reason.as_deref())
        .bind($crate::db::Ts::new(entry.created_at))
        .execute(&mut *$tx)
        .await
        .map_err(|e| $crate::db::on_insert(e, "audit_entry", "server"))?;
    }};
}
pub(crate) use insert_audit;

impl Database {
    pub(crate) async fn append_audit(&self, entry: &AuditEntry) -> Res<()> {
        on_db!(self, write, |pool| {
            let mut tx = pool.begin().await?;
            insert_audit!(tx, entry);
            tx.commit().await?;
        });
        Ok(())
    }

    pub(crate) async fn audit_page(
        &self,
        server_id: ServerId,
        before: Option<AuditEntryId>,
        count: u32,
    ) -> Res<Vec<AuditEntry>> {
        let rows = on_db!(self, read, |pool| {
            sqlx::query_as::<_, AuditRow>(
                "SELECT id, server_id, actor_id, action, target_id, changes, reason, created_at \
                 FROM server_audit_log WHERE server_id = $1 AND ($2 IS NULL OR id < $2) ORDER BY id DESC LIMIT $3",
            )
            .bind(server_id.uuid())
            .bind(before.map(AuditEntryId::uuid))
            .bind(limit(count))
            .fetch_all(pool)
            .await?
        });
        Ok(rows.into_iter().map(AuditRow::into_entry).collect())
    }

    // ---- read states ----

    pub(crate) async fn ack_read(&self, user: UserId, channel: ChannelId, message: MessageId) -> Res<()> {
        on_db!(self, write, |pool| {
            // Only forward: an older ack (a slow client) leaves the newer position alone.
            sqlx::query(
                "INSERT INTO read_states (user_id, channel_id, last_read_message_id) VALUES ($1, $2, $3) \
                 ON CONFLICT (user_id, channel_id) DO UPDATE SET last_read_message_id = excluded.last_read_message_id \
                 WHERE read_states.last_read_message_id < excluded.last_read_message_id",
            )
            .bind(user.uuid())
            .bind(channel.uuid())
            .bind(message.uuid())
            .execute(pool)
            .await
            .map_err(|e| crate::db::on_insert(e, "read_state", "channel"))?.rows_affected()
        });
        Ok(())
    }

    pub(crate) async fn read_positions(&self, user: UserId) -> Res<Vec<ReadState>> {
        let rows = on_db!(self, read, |pool| {
            sqlx::query_as::<_, (Uuid, Uuid)>(
                "SELECT channel_id, last_read_message_id FROM read_states WHERE user_id = $1 ORDER BY channel_id",
            )
            .bind(user.uuid())
            .fetch_all(pool)
            .await?
        });
        Ok(rows
            .into_iter()
            .map(|(c, m)| ReadState {
                channel_id: ChannelId::from_uuid(c),
                last_read_message_id: MessageId::from_uuid(m),
            })
            .collect())
    }
}
