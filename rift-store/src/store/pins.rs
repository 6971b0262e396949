//! Pins, a server's history settings, and the retention purge.

use rift::id::{ChannelId, MessageId, ServerId, UploadId, UserId};
use rift::model::{AuditEntry, HistorySettings, HistoryVisibility, Message};
use rift::store::{PinOutcome, PurgeCounts};
use rift::{StoreError, Timestamp};
use uuid::Uuid;

use crate::db::{Database, Dialect, Res, Ts, on_db};
use crate::rows::{MESSAGE_COLS, MessageRow};
use crate::store::audit::insert_audit;
use rift::Conflict;

/// A server's (`$1`) messages deleted before the cutoff (`$2`): those a purge erases.
const PURGED_MESSAGES: &str = "SELECT m.id FROM messages m WHERE m.deleted_at IS NOT NULL AND m.deleted_at < $2 \
     AND m.channel_id IN (SELECT c.id FROM channels c WHERE c.server_id = $1)";

/// What the pin transaction decided (the message is read after it).
enum Pinning {
    Pinned,
    Already,
    Full,
    Missing,
}

fn visibility(value: &str) -> Res<HistoryVisibility> {
    HistoryVisibility::parse(value)
        .ok_or_else(|| StoreError::Corrupt(format!("unknown history visibility {value:?}")).into())
}

impl Database {
    pub(crate) async fn pin_message(
        &self,
        id: MessageId,
        by: Option<UserId>,
        at: Timestamp,
        max: u32,
        audit: Option<&AuditEntry>,
    ) -> Res<PinOutcome> {
        let decided = on_db!(self, write, |pool, dialect| {
            let mut tx = pool.begin().await?;
            let row: Option<(Uuid, Option<Ts>)> = sqlx::query_as(if dialect == Dialect::Postgres {
                "SELECT channel_id, pinned_at FROM messages WHERE id = $1 AND deleted_at IS NULL FOR UPDATE"
            } else {
                "SELECT channel_id, pinned_at FROM messages WHERE id = $1 AND deleted_at IS NULL"
            })
            .bind(id.uuid())
            .fetch_optional(&mut *tx)
            .await?;
            match row {
                None => Pinning::Missing,
                Some((_, Some(_))) => Pinning::Already,
                Some((channel_id, None)) => {
                    if dialect == Dialect::Postgres {
                        // Pins of one channel take turns here, so two never both see room for one.
                        sqlx::query("SELECT id FROM channels WHERE id = $1 FOR UPDATE")
                            .bind(channel_id)
                            .execute(&mut *tx)
                            .await?;
                    }
                    let pinned: i64 = sqlx::query_scalar(
                        "SELECT COUNT(*) FROM messages \
                         WHERE channel_id = $1 AND pinned_at IS NOT NULL AND deleted_at IS NULL",
                    )
                    .bind(channel_id)
                    .fetch_one(&mut *tx)
                    .await?;
                    if pinned >= i64::from(max) {
                        Pinning::Full
                    } else {
                        sqlx::query("UPDATE messages SET pinned_at = $2, pinned_by = $3 WHERE id = $1")
                            .bind(id.uuid())
                            .bind(Ts::new(at))
                            .bind(by.map(UserId::uuid))
                            .execute(&mut *tx)
                            .await?;
                        if let Some(entry) = audit {
                            insert_audit!(tx, entry);
                        }
                        tx.commit().await?;
                        Pinning::Pinned
                    }
                }
            }
        });
        let load = || async {
            self.message(id, by).await?.ok_or(crate::db::Fail::Store(StoreError::Missing("message")))
        };
        Ok(match decided {
            Pinning::Pinned => PinOutcome::Pinned(load().await?),
            Pinning::Already => PinOutcome::AlreadyPinned(load().await?),
            Pinning::Full => PinOutcome::LimitReached,
            Pinning::Missing => PinOutcome::Missing,
        })
    }

    pub(crate) async fn unpin_message(&self, id: MessageId, audit: Option<&AuditEntry>) -> Res<bool> {
        let done = on_db!(self, write, |pool| {
            let mut tx = pool.begin().await?;
            let changed = sqlx::query(
                "UPDATE messages SET pinned_at = NULL, pinned_by = NULL WHERE id = $1 AND pinned_at IS NOT NULL",
            )
            .bind(id.uuid())
            .execute(&mut *tx)
            .await?
            .rows_affected();
            if changed > 0 {
                if let Some(entry) = audit {
                    insert_audit!(tx, entry);
                }
                tx.commit().await?;
            }
            changed > 0
        });
        Ok(done)
    }

    pub(crate) async fn pinned_messages(
        &self,
        channel_id: ChannelId,
        viewer: Option<UserId>,
    ) -> Res<Vec<Message>> {
        let sql = format!(
            "SELECT {MESSAGE_COLS} FROM messages WHERE channel_id = $1 AND pinned_at IS NOT NULL \
             AND deleted_at IS NULL ORDER BY pinned_at DESC, id DESC"
        );
        let rows = on_db!(self, read, |pool| {
            sqlx::query_as::<_, MessageRow>(&sql).bind(channel_id.uuid()).fetch_all(pool).await?
        });
        self.load_messages(rows, viewer, false).await
    }

    pub(crate) async fn history_settings(&self, server_id: ServerId) -> Res<HistorySettings> {
        let row: Option<(String, String, Option<i32>)> = on_db!(self, read, |pool| {
            sqlx::query_as(
                "SELECT edits, deletes, retention_days FROM server_history_settings WHERE server_id = $1",
            )
            .bind(server_id.uuid())
            .fetch_optional(pool)
            .await?
        });
        let Some((edits, deletes, days)) = row else { return Ok(HistorySettings::default()) };
        let days = days.map(|d| u32::try_from(d).map_err(|_| StoreError::Corrupt(format!("retention {d}"))));
        Ok(HistorySettings::new(visibility(&edits)?, visibility(&deletes)?, days.transpose()?))
    }

    pub(crate) async fn set_history_settings(
        &self,
        server_id: ServerId,
        settings: &HistorySettings,
        at: Timestamp,
        audit: Option<&AuditEntry>,
    ) -> Res<()> {
        let days = settings.retention_days.map(|d| i32::try_from(d).unwrap_or(i32::MAX));
        on_db!(self, write, |pool| {
            let mut tx = pool.begin().await?;
            sqlx::query(
                "INSERT INTO server_history_settings (server_id, edits, deletes, retention_days, updated_at) \
                 VALUES ($1, $2, $3, $4, $5) ON CONFLICT (server_id) DO UPDATE SET edits = excluded.edits, \
                 deletes = excluded.deletes, retention_days = excluded.retention_days, \
                 updated_at = excluded.updated_at",
            )
            .bind(server_id.uuid())
            .bind(settings.edits.as_str())
            .bind(settings.deletes.as_str())
            .bind(days)
            .bind(Ts::new(at))
            .execute(&mut *tx)
            .await
            .map_err(|e| crate::db::on_insert(e, Conflict::Key("server_history_settings"), "server"))?;
            if let Some(entry) = audit {
                insert_audit!(tx, entry);
            }
            tx.commit().await?;
        });
        Ok(())
    }

    pub(crate) async fn servers_with_retention(&self) -> Res<Vec<(ServerId, u32)>> {
        let rows: Vec<(Uuid, i32)> = on_db!(self, read, |pool| {
            sqlx::query_as(
                "SELECT server_id, retention_days FROM server_history_settings \
                 WHERE retention_days IS NOT NULL ORDER BY server_id",
            )
            .fetch_all(pool)
            .await?
        });
        Ok(rows
            .into_iter()
            .filter_map(|(id, days)| Some((ServerId::from_uuid(id), u32::try_from(days).ok()?)))
            .collect())
    }

    pub(crate) async fn purgeable_attachments(
        &self,
        server_id: ServerId,
        older_than: Timestamp,
    ) -> Res<Vec<UploadId>> {
        let ids: Vec<Uuid> = on_db!(self, read, |pool| {
            sqlx::query_scalar(&format!(
                "SELECT a.id FROM attachments a WHERE a.message_id IN ({PURGED_MESSAGES}) \
                 AND NOT EXISTS (SELECT 1 FROM users u WHERE u.avatar_url = a.url) \
                 AND NOT EXISTS (SELECT 1 FROM servers s WHERE s.icon_url = a.url) ORDER BY a.id"
            ))
            .bind(server_id.uuid())
            .bind(Ts::new(older_than))
            .fetch_all(pool)
            .await?
        });
        Ok(ids.into_iter().map(UploadId::from_uuid).collect())
    }

    pub(crate) async fn purge_history(
        &self,
        server_id: ServerId,
        older_than: Timestamp,
        attachments: &[UploadId],
        audit: &AuditEntry,
    ) -> Res<PurgeCounts> {
        let cutoff = Ts::new(older_than);
        const SERVER_MESSAGES: &str = "SELECT m.id FROM messages m WHERE m.channel_id IN (SELECT c.id FROM channels c WHERE c.server_id = $1)";
        let counts = on_db!(self, write, |pool| {
            let mut tx = pool.begin().await?;
            let versions = sqlx::query(&format!(
                "DELETE FROM message_audit_log WHERE action = 'edit' AND created_at < $2 \
                 AND message_id IN ({SERVER_MESSAGES})"
            ))
            .bind(server_id.uuid())
            .bind(cutoff)
            .execute(&mut *tx)
            .await?
            .rows_affected();
            let deleted_contents = sqlx::query(
                "UPDATE messages SET content = '' WHERE deleted_at IS NOT NULL AND deleted_at < $2 \
                 AND content <> '' AND channel_id IN (SELECT c.id FROM channels c WHERE c.server_id = $1)",
            )
            .bind(server_id.uuid())
            .bind(cutoff)
            .execute(&mut *tx)
            .await?
            .rows_affected();
            // The delete entries carry the deleted text too.
            sqlx::query(&format!(
                "UPDATE message_audit_log SET old_content = NULL WHERE action = 'delete' AND created_at < $2 \
                 AND old_content IS NOT NULL AND message_id IN ({SERVER_MESSAGES})"
            ))
            .bind(server_id.uuid())
            .bind(cutoff)
            .execute(&mut *tx)
            .await?;
            // Only attachments of this server's messages deleted before the cutoff, whatever ids
            // the caller passes.
            let mut removed_attachments = 0;
            for id in attachments {
                removed_attachments += sqlx::query(&format!(
                    "DELETE FROM attachments WHERE id = $3 AND message_id IN ({PURGED_MESSAGES})"
                ))
                .bind(server_id.uuid())
                .bind(cutoff)
                .bind(id.uuid())
                .execute(&mut *tx)
                .await?
                .rows_affected();
            }
            let counts = PurgeCounts { versions, deleted_contents, attachments: removed_attachments };
            if counts != PurgeCounts::default() {
                let mut entry = audit.clone();
                let counted = serde_json::json!({
                    "versions": versions,
                    "deleted_contents": deleted_contents,
                    "attachments": removed_attachments,
                });
                match (entry.changes.as_object_mut(), counted) {
                    (Some(changes), serde_json::Value::Object(counted)) => changes.extend(counted),
                    (_, counted) => entry.changes = counted,
                }
                insert_audit!(tx, &entry);
            }
            tx.commit().await?;
            counts
        });
        Ok(counts)
    }
}
