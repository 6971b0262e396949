//! Messages (create with nonce and attachments, pages, edit and delete with history), uploads
//! and reactions. Pages load authors, attachments and reactions with one query per kind.

use std::collections::HashMap;

use rift::id::{HistoryEntryId, MessageId, UploadId, UserId};
use rift::model::{AuditEntry, Message, MessageHistoryEntry, ReactionSummary, Upload, User};
use rift::store::{CreateMessageOutcome, MessagePage, NewMessage};
use rift::{StoreError, Timestamp};
use sqlx::QueryBuilder;
use uuid::Uuid;

use crate::db::{Database, Dialect, Pools, Res, Ts, limit, on_bridged_insert, on_db, on_insert};
use crate::rows::{
    HistoryRow, MESSAGE_COLS, MessageRow, UPLOAD_COLS, UploadRow, bridge_cols, created_message, qualified,
};
use rift::Conflict;

#[derive(sqlx::FromRow)]
struct ReactionRow {
    message_id: Uuid,
    emoji: String,
    count: i64,
    me: i32,
}

/// What storing one message did.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Stored {
    /// Inserted (durable once the enclosing transaction commits).
    Created,
    /// The nonce was seen: the original's id; nothing was written.
    Duplicate(Uuid),
}

/// The statements that store one message (nonce check, insert, attachments; the full-text index
/// follows by trigger on SQLite, by generated column on PostgreSQL) inside the open transaction
/// `$tx`, which the caller commits. Written once, expanded for each driver. On an error the
/// caller must roll back whatever this wrote (drop the transaction or its savepoint).
macro_rules! store_message {
    ($tx:ident, $dialect:expr, $new:expr, $nonce_since:expr) => {
        async {
            let new: &NewMessage = $new;
            let (source, remote) = bridge_cols(new.bridge.as_ref());
            let bridged = new.bridge.is_some();
            if let Some(nonce) = &new.nonce {
                if $dialect == Dialect::Postgres {
                    // Two concurrent sends with one nonce: the second waits here, then sees the first.
                    sqlx::query("SELECT pg_advisory_xact_lock(hashtextextended($1, 0))")
                        .bind(format!("nonce:{}:{}:{nonce}", new.channel_id, new.author_id))
                        .execute(&mut *$tx)
                        .await?;
                }
                // Ordered by created_at, not id: ordering by id would lead SQLite to walk the whole
                // channel in id order instead of using the nonce index.
                let original: Option<Uuid> = sqlx::query_scalar(
                    "SELECT id FROM messages WHERE channel_id = $1 AND author_id = $2 AND nonce = $3 \
                     AND created_at >= $4 ORDER BY created_at, id LIMIT 1",
                )
                .bind(new.channel_id.uuid())
                .bind(new.author_id.uuid())
                .bind(nonce.as_str())
                .bind(Ts::new($nonce_since))
                .fetch_optional(&mut *$tx)
                .await?;
                if let Some(original) = original {
                    return Ok::<_, crate::db::Fail>(Stored::Duplicate(original));
                }
            }
            sqlx::query(
                "INSERT INTO messages (id, channel_id, author_id, content, reply_to, nonce, created_at, \
                 edited_at, bridge_source, bridge_remote_id, extras, mention_everyone) \
                 VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12)",
            )
            .bind(new.id.uuid())
            .bind(new.channel_id.uuid())
            .bind(new.author_id.uuid())
            .bind(&new.content)
            .bind(new.reply_to.map(MessageId::uuid))
            .bind(new.nonce.as_deref())
            .bind(Ts::new(new.created_at))
            .bind(new.edited_at.map(Ts::new))
            .bind(source)
            .bind(remote)
            .bind(new.extras.as_ref().map(serde_json::Value::to_string))
            .bind(new.mention_everyone)
            .execute(&mut *$tx)
            .await
            .map_err(|e| on_bridged_insert(e, Conflict::Key("messages"), "channel", bridged))?;
            for (position, upload) in (0_i32..).zip(&new.attachment_ids) {
                let attached = sqlx::query(
                    "UPDATE attachments SET message_id = $1, position = $2 \
                     WHERE id = $3 AND message_id IS NULL AND ($4 OR uploader_id = $5)",
                )
                .bind(new.id.uuid())
                .bind(position)
                .bind(upload.uuid())
                .bind(bridged)
                .bind(new.author_id.uuid())
                .execute(&mut *$tx)
                .await?;
                if attached.rows_affected() != 1 {
                    // The caller's rollback takes the message back too.
                    return Err(StoreError::Missing("upload").into());
                }
            }
            Ok(Stored::Created)
        }
    };
}

/// Stores one message on SQLite inside the caller's open transaction (or savepoint); the caller
/// commits, or rolls back on an error.
pub(crate) async fn store_sqlite_message(
    tx: &mut sqlx::SqliteConnection,
    new: &NewMessage,
    nonce_since: Timestamp,
) -> Res<Stored> {
    store_message!(tx, Dialect::Sqlite, new, nonce_since).await
}

impl Database {
    /// Turns message rows into messages, keeping their order: authors, attachments and (for live
    /// messages) reaction summaries come from one batched query each.
    pub(crate) async fn load_messages(
        &self,
        rows: Vec<MessageRow>,
        viewer: Option<UserId>,
        keep_nonce: bool,
    ) -> Res<Vec<Message>> {
        if rows.is_empty() {
            return Ok(Vec::new());
        }
        let mut author_ids: Vec<Uuid> = rows.iter().map(|r| r.author_id).collect();
        author_ids.sort_unstable();
        author_ids.dedup();
        let authors: HashMap<Uuid, User> =
            self.users(&author_ids).await?.into_iter().map(|u| (u.id.uuid(), u)).collect();
        let ids: Vec<Uuid> = rows.iter().map(|r| r.id).collect();
        let live: Vec<Uuid> = rows.iter().filter(|r| r.deleted_at.is_none()).map(|r| r.id).collect();
        let viewer = viewer.map_or(Uuid::nil(), UserId::uuid);
        let upload_sql =
            format!("SELECT {} FROM attachments a WHERE a.message_id IN (", qualified(UPLOAD_COLS, "a"));
        let (uploads, reactions) = on_db!(self, read, |pool| {
            let mut qb = QueryBuilder::new(upload_sql.as_str());
            let mut list = qb.separated(", ");
            for id in &ids {
                list.push_bind(*id);
            }
            qb.push(") ORDER BY a.message_id, a.position, a.id");
            let uploads = qb.build_query_as::<UploadRow>().fetch_all(pool).await?;
            let reactions = if live.is_empty() {
                Vec::new()
            } else {
                let mut qb = QueryBuilder::new(
                    "SELECT message_id, emoji, COUNT(*) AS count, MAX(CASE WHEN user_id = ",
                );
                qb.push_bind(viewer);
                qb.push(" THEN 1 ELSE 0 END) AS me FROM reactions WHERE message_id IN (");
                let mut list = qb.separated(", ");
                for id in &live {
                    list.push_bind(*id);
                }
                qb.push(") GROUP BY message_id, emoji ORDER BY MIN(created_at), emoji");
                qb.build_query_as::<ReactionRow>().fetch_all(pool).await?
            };
            (uploads, reactions)
        });
        let mut attachments: HashMap<Uuid, Vec<Upload>> = HashMap::new();
        for row in uploads {
            let Some(message) = row.message_id else { continue };
            attachments.entry(message).or_default().push(row.into_upload()?);
        }
        let mut summaries: HashMap<Uuid, Vec<ReactionSummary>> = HashMap::new();
        for row in reactions {
            summaries.entry(row.message_id).or_default().push(ReactionSummary {
                emoji: row.emoji,
                count: row.count,
                me: row.me != 0,
            });
        }
        rows.into_iter()
            .map(|row| {
                let author = authors
                    .get(&row.author_id)
                    .cloned()
                    .ok_or_else(|| StoreError::Corrupt(format!("message {} has no author", row.id)))?;
                let id = row.id;
                let nonce = row.nonce.clone();
                let mut message = row.into_message(author)?;
                message.attachments = attachments.remove(&id).unwrap_or_default();
                message.reactions = summaries.remove(&id).unwrap_or_default();
                if keep_nonce {
                    message.nonce = nonce;
                }
                Ok(message)
            })
            .collect()
    }

    async fn load_one(&self, id: Uuid, viewer: Option<UserId>, keep_nonce: bool) -> Res<Option<Message>> {
        let sql = format!("SELECT {MESSAGE_COLS} FROM messages WHERE id = $1");
        let row = on_db!(self, read, |pool| {
            sqlx::query_as::<_, MessageRow>(&sql).bind(id).fetch_optional(pool).await?
        });
        Ok(self.load_messages(row.into_iter().collect(), viewer, keep_nonce).await?.pop())
    }

    pub(crate) async fn create_message(
        &self,
        new: &NewMessage,
        nonce_since: Timestamp,
    ) -> Res<CreateMessageOutcome> {
        let stored = match &self.pools {
            // Concurrent sends share one transaction (group commit); see `sqlite::writer`.
            Pools::Sqlite { messages, .. } => messages.write(new.clone(), nonce_since).await?,
            Pools::Postgres(pool) => {
                let mut tx = pool.begin().await?;
                let stored = store_message!(tx, Dialect::Postgres, new, nonce_since).await?;
                tx.commit().await?;
                stored
            }
        };
        let (id, duplicate) = match stored {
            Stored::Created => (new.id.uuid(), false),
            Stored::Duplicate(original) => (original, true),
        };
        let message = if !duplicate && new.attachment_ids.is_empty() {
            // The row is what was just written: only the author is read (one query, not four).
            let author = self.users(&[new.author_id.uuid()]).await?.pop();
            let author = author.ok_or_else(|| StoreError::Corrupt(format!("message {id} has no author")))?;
            created_message(new, author)
        } else {
            // Read back (with authors, attachments) so both outcomes look like any loaded message.
            self.load_one(id, Some(new.author_id), true).await?.ok_or(StoreError::Missing("message"))?
        };
        Ok(if duplicate {
            CreateMessageOutcome::Duplicate(message)
        } else {
            CreateMessageOutcome::Created(message)
        })
    }

    pub(crate) async fn message(&self, id: MessageId, viewer: Option<UserId>) -> Res<Option<Message>> {
        self.load_one(id.uuid(), viewer, false).await
    }

    pub(crate) async fn messages(
        &self,
        channel_id: rift::id::ChannelId,
        page: MessagePage,
        viewer: Option<UserId>,
    ) -> Res<Vec<Message>> {
        // `after` alone wants the messages just newer than it: read upwards, then reverse.
        let ascending = page.after.is_some() && page.before.is_none();
        let mut rows: Vec<MessageRow> = on_db!(self, read, |pool| {
            let mut qb = QueryBuilder::new(format!(
                "SELECT {MESSAGE_COLS} FROM messages WHERE deleted_at IS NULL AND channel_id = "
            ));
            qb.push_bind(channel_id.uuid());
            if let Some(before) = page.before {
                qb.push(" AND id < ").push_bind(before.uuid());
            }
            if let Some(after) = page.after {
                qb.push(" AND id > ").push_bind(after.uuid());
            }
            qb.push(if ascending { " ORDER BY id ASC LIMIT " } else { " ORDER BY id DESC LIMIT " });
            qb.push_bind(limit(page.limit));
            qb.build_query_as::<MessageRow>().fetch_all(pool).await?
        });
        if ascending {
            rows.reverse();
        }
        self.load_messages(rows, viewer, false).await
    }

    pub(crate) async fn edit_message(
        &self,
        id: MessageId,
        content: &str,
        mention_everyone: bool,
        actor_id: Option<UserId>,
        at: Timestamp,
    ) -> Res<Option<Message>> {
        let at = Ts::new(at);
        let edited = on_db!(self, write, |pool, dialect| {
            let mut tx = pool.begin().await?;
            let old: Option<String> = sqlx::query_scalar(if dialect == Dialect::Postgres {
                "SELECT content FROM messages WHERE id = $1 AND deleted_at IS NULL FOR UPDATE"
            } else {
                "SELECT content FROM messages WHERE id = $1 AND deleted_at IS NULL"
            })
            .bind(id.uuid())
            .fetch_optional(&mut *tx)
            .await?;
            match old {
                None => false,
                Some(old) => {
                    sqlx::query(
                        "UPDATE messages SET content = $2, edited_at = $3, mention_everyone = $4 WHERE id = $1",
                    )
                    .bind(id.uuid())
                    .bind(content)
                    .bind(at)
                    .bind(mention_everyone)
                    .execute(&mut *tx)
                        .await?;
                    sqlx::query(
                        "INSERT INTO message_audit_log (id, message_id, action, old_content, new_content, actor_id, \
                         created_at) VALUES ($1, $2, 'edit', $3, $4, $5, $6)",
                    )
                    .bind(HistoryEntryId::new().uuid())
                    .bind(id.uuid())
                    .bind(old)
                    .bind(content)
                    .bind(actor_id.map(UserId::uuid))
                    .bind(at)
                    .execute(&mut *tx)
                    .await?;
                    tx.commit().await?;
                    true
                }
            }
        });
        if !edited {
            return Ok(None);
        }
        // As the editor sees it: their own reactions are `me`.
        self.load_one(id.uuid(), actor_id, false).await
    }

    pub(crate) async fn delete_message(
        &self,
        id: MessageId,
        actor_id: Option<UserId>,
        at: Timestamp,
        audit: Option<&AuditEntry>,
    ) -> Res<Option<Message>> {
        let at = Ts::new(at);
        // The message as it was, read before the delete (the delete re-checks it is still live).
        let Some(mut before) = self.load_one(id.uuid(), None, false).await? else { return Ok(None) };
        if before.deleted_at.is_some() {
            return Ok(None);
        }
        let deleted = on_db!(self, write, |pool| {
            let mut tx = pool.begin().await?;
            let old: Option<String> = sqlx::query_scalar(
                "UPDATE messages SET deleted_at = $2 WHERE id = $1 AND deleted_at IS NULL RETURNING content",
            )
            .bind(id.uuid())
            .bind(at)
            .fetch_optional(&mut *tx)
            .await?;
            match old {
                None => None,
                Some(old) => {
                    sqlx::query(
                        "INSERT INTO message_audit_log (id, message_id, action, old_content, new_content, actor_id, \
                         created_at) VALUES ($1, $2, 'delete', $3, NULL, $4, $5)",
                    )
                    .bind(HistoryEntryId::new().uuid())
                    .bind(id.uuid())
                    .bind(&old)
                    .bind(actor_id.map(UserId::uuid))
                    .bind(at)
                    .execute(&mut *tx)
                    .await?;
                    if let Some(entry) = audit {
                        crate::store::audit::insert_audit!(tx, entry);
                    }
                    tx.commit().await?;
                    Some(old)
                }
            }
        });
        let Some(old) = deleted else { return Ok(None) };
        // An edit may have landed between the read and the delete: report the deleted content.
        before.content = old;
        Ok(Some(before))
    }

    pub(crate) async fn message_history(&self, id: MessageId) -> Res<Vec<MessageHistoryEntry>> {
        let rows = on_db!(self, read, |pool| {
            sqlx::query_as::<_, HistoryRow>(
                "SELECT id, message_id, action, old_content, new_content, actor_id, created_at \
                 FROM message_audit_log WHERE message_id = $1 ORDER BY created_at, id",
            )
            .bind(id.uuid())
            .fetch_all(pool)
            .await?
        });
        Ok(rows.into_iter().map(HistoryRow::into_entry).collect::<Result<_, _>>()?)
    }

    // ---- uploads ----

    pub(crate) async fn create_upload(&self, upload: &Upload) -> Res<()> {
        let (source, remote) = bridge_cols(upload.bridge.as_ref());
        let created_at =
            upload.created_at.or_else(|| upload.id.created_at()).unwrap_or_else(chrono::Utc::now);
        on_db!(self, write, |pool| {
            sqlx::query(
                "INSERT INTO attachments (id, uploader_id, message_id, filename, content_type, size, url, secret, \
                 width, height, bridge_source, bridge_remote_id, content_hash, created_at) \
                 VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14)",
            )
            .bind(upload.id.uuid())
            .bind(upload.uploader_id.map(UserId::uuid))
            .bind(upload.message_id.map(MessageId::uuid))
            .bind(&upload.filename)
            .bind(&upload.content_type)
            .bind(upload.size)
            .bind(&upload.url)
            .bind(&upload.secret)
            .bind(upload.width)
            .bind(upload.height)
            .bind(source)
            .bind(remote)
            .bind(upload.content_hash.as_deref())
            .bind(Ts::new(created_at))
            .execute(pool)
            .await
            .map_err(|e| on_bridged_insert(e, Conflict::Key("attachments"), "user", upload.bridge.is_some()))?.rows_affected()
        });
        Ok(())
    }

    pub(crate) async fn upload(&self, id: UploadId) -> Res<Option<Upload>> {
        let sql = format!("SELECT {UPLOAD_COLS} FROM attachments WHERE id = $1");
        let row = on_db!(self, read, |pool| {
            sqlx::query_as::<_, UploadRow>(&sql).bind(id.uuid()).fetch_optional(pool).await?
        });
        Ok(row.map(UploadRow::into_upload).transpose()?)
    }

    pub(crate) async fn set_message_extras(
        &self,
        id: MessageId,
        extras: Option<&serde_json::Value>,
    ) -> Res<bool> {
        let extras = extras.map(serde_json::Value::to_string);
        let done = on_db!(self, write, |pool| {
            sqlx::query("UPDATE messages SET extras = $2 WHERE id = $1")
                .bind(id.uuid())
                .bind(extras.as_deref())
                .execute(pool)
                .await?
                .rows_affected()
        });
        Ok(done > 0)
    }

    pub(crate) async fn upload_by_hash(&self, hash: &str) -> Res<Option<Upload>> {
        let sql =
            format!("SELECT {UPLOAD_COLS} FROM attachments WHERE content_hash = $1 ORDER BY id LIMIT 1");
        let row = on_db!(self, read, |pool| {
            sqlx::query_as::<_, UploadRow>(&sql).bind(hash).fetch_optional(pool).await?
        });
        Ok(row.map(UploadRow::into_upload).transpose()?)
    }

    // ---- reactions ----

    pub(crate) async fn add_reaction(
        &self,
        message: MessageId,
        user: UserId,
        emoji: &str,
        at: Timestamp,
    ) -> Res<bool> {
        let done = on_db!(self, write, |pool| {
            sqlx::query(
                "INSERT INTO reactions (message_id, user_id, emoji, created_at) VALUES ($1, $2, $3, $4) \
                 ON CONFLICT (message_id, emoji, user_id) DO NOTHING",
            )
            .bind(message.uuid())
            .bind(user.uuid())
            .bind(emoji)
            .bind(Ts::new(at))
            .execute(pool)
            .await
            .map_err(|e| on_insert(e, Conflict::Key("reactions"), "message"))?
            .rows_affected()
        });
        Ok(done > 0)
    }

    pub(crate) async fn remove_reaction(&self, message: MessageId, user: UserId, emoji: &str) -> Res<bool> {
        let done = on_db!(self, write, |pool| {
            sqlx::query("DELETE FROM reactions WHERE message_id = $1 AND user_id = $2 AND emoji = $3")
                .bind(message.uuid())
                .bind(user.uuid())
                .bind(emoji)
                .execute(pool)
                .await?
                .rows_affected()
        });
        Ok(done > 0)
    }

    pub(crate) async fn clear_reactions(
        &self,
        message: MessageId,
        emoji: Option<&str>,
    ) -> Res<Vec<(UserId, String)>> {
        let removed: Vec<(Uuid, String)> = on_db!(self, write, |pool| {
            sqlx::query_as(
                "DELETE FROM reactions WHERE message_id = $1 AND ($2 IS NULL OR emoji = $2) \
                 RETURNING user_id, emoji",
            )
            .bind(message.uuid())
            .bind(emoji)
            .fetch_all(pool)
            .await?
        });
        Ok(removed.into_iter().map(|(user, emoji)| (UserId::from_uuid(user), emoji)).collect())
    }
}
