//! The server audit log, and read states.

use rift::id::{AuditEntryId, ChannelId, MessageId, ServerId, UserId};
use rift::model::{AuditEntry, ReadState};
use sqlx::QueryBuilder;
use std::collections::HashMap;
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
        .map_err(|e| $crate::db::on_insert(e, rift::Conflict::Key("server_audit_log"), "server"))?;
    }};
}
pub(crate) use insert_audit;

impl Database {
    pub(crate) async fn add_audit_entry(&self, entry: &AuditEntry) -> Res<()> {
        on_db!(self, write, |pool| {
            let mut tx = pool.begin().await?;
            insert_audit!(tx, entry);
            tx.commit().await?;
        });
        Ok(())
    }

    pub(crate) async fn audit_log(
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

    pub(crate) async fn ack(&self, user: UserId, channel: ChannelId, message: MessageId) -> Res<()> {
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
            .map_err(|e| crate::db::on_insert(e, rift::Conflict::Key("read_states"), "channel"))?.rows_affected()
        });
        Ok(())
    }

    pub(crate) async fn read_states(&self, user: UserId) -> Res<Vec<ReadState>> {
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

    pub(crate) async fn last_message_ids(
        &self,
        channels: &[ChannelId],
    ) -> Res<HashMap<ChannelId, MessageId>> {
        let mut newest = HashMap::with_capacity(channels.len());
        // Chunked only to stay under the backends' bind-parameter limits; a user's channels fit in one.
        for chunk in channels.chunks(LAST_MESSAGE_CHUNK) {
            let rows: Vec<(Uuid, Uuid)> = on_db!(self, read, |pool| {
                // One backwards step on `messages_channel_idx` per channel (skipping deleted rows).
                let mut qb = QueryBuilder::new(
                    "SELECT c.id, (SELECT m.id FROM messages m WHERE m.channel_id = c.id AND m.deleted_at IS NULL \
                     ORDER BY m.id DESC LIMIT 1) AS last_id FROM channels c WHERE c.id IN (",
                );
                let mut list = qb.separated(", ");
                for channel in chunk {
                    list.push_bind(channel.uuid());
                }
                qb.push(")");
                let rows: Vec<(Uuid, Option<Uuid>)> = qb.build_query_as().fetch_all(pool).await?;
                rows.into_iter().filter_map(|(c, m)| Some((c, m?))).collect()
            });
            newest.extend(rows.into_iter().map(|(c, m)| (ChannelId::from_uuid(c), MessageId::from_uuid(m))));
        }
        Ok(newest)
    }
}

impl Database {
    pub(crate) async fn unread_mention_candidates(
        &self,
        user: UserId,
        channels: &[ChannelId],
        patterns: &[String],
        every_message: &[ChannelId],
        scan: u32,
    ) -> Res<Vec<rift::store::MentionCandidate>> {
        let mut out = Vec::new();
        let every: std::collections::HashSet<Uuid> = every_message.iter().map(|c| c.uuid()).collect();
        for chunk in channels.chunks(LAST_MESSAGE_CHUNK) {
            let rows: Vec<(Uuid, String, bool)> = on_db!(self, read, |pool| {
                // After the read position, by someone else, live, and among the channel's newest
                // `scan` messages (one backwards step on `messages_channel_idx` bounds the scan).
                let mut qb = QueryBuilder::new(
                    "SELECT m.channel_id, m.content, m.mention_everyone FROM read_states r \
                     JOIN messages m ON m.channel_id = r.channel_id AND m.id > r.last_read_message_id \
                     WHERE r.user_id = ",
                );
                qb.push_bind(user.uuid());
                qb.push(" AND m.deleted_at IS NULL AND m.author_id <> ").push_bind(user.uuid());
                qb.push(
                    " AND m.id >= COALESCE((SELECT n.id FROM messages n WHERE n.channel_id = r.channel_id \
                     ORDER BY n.id DESC LIMIT 1 OFFSET ",
                );
                qb.push_bind(i64::from(scan.saturating_sub(1)));
                qb.push("), r.last_read_message_id) AND r.channel_id IN (");
                let mut list = qb.separated(", ");
                for channel in chunk {
                    list.push_bind(channel.uuid());
                }
                qb.push(") AND (m.mention_everyone");
                for pattern in patterns {
                    qb.push(" OR m.content LIKE ").push_bind(pattern.clone());
                }
                let dms: Vec<Uuid> = chunk.iter().map(|c| c.uuid()).filter(|c| every.contains(c)).collect();
                if !dms.is_empty() {
                    qb.push(" OR m.channel_id IN (");
                    let mut inner = qb.separated(", ");
                    for dm in &dms {
                        inner.push_bind(*dm);
                    }
                    qb.push(")");
                }
                qb.push(") ORDER BY m.channel_id, m.id");
                qb.build_query_as().fetch_all(pool).await?
            });
            out.extend(rows.into_iter().map(|(channel, content, mention_everyone)| {
                rift::store::MentionCandidate {
                    channel_id: ChannelId::from_uuid(channel),
                    content,
                    mention_everyone,
                }
            }));
        }
        Ok(out)
    }
}

/// Channels per newest-message query (well under SQLite's and PostgreSQL's bind limits).
const LAST_MESSAGE_CHUNK: usize = 1000;
