//! DM channels: a `channels` row of kind `dm` plus `dm_channels` (the unordered user pair,
//! unique) and `dm_participants`.

use std::collections::HashMap;

use rift::Timestamp;
use rift::id::{ChannelId, MessageId, UserId};
use rift::model::{BridgeRef, ChannelKind, DmChannel, User};
use rift::store::{MirroredDm, MirroredDmOutcome};
use sqlx::QueryBuilder;
use uuid::Uuid;

use crate::db::{Database, Res, Ts, on_bridged_insert, on_db, on_insert};
use rift::Conflict;

/// A DM channel id with its kind, name, bridge ref and newest live message.
type DmRow = (Uuid, String, Option<String>, Option<String>, Option<String>, Option<Uuid>);

impl Database {
    async fn dm_between(&self, low: Uuid, high: Uuid) -> Res<Option<Uuid>> {
        Ok(on_db!(self, read, |pool| {
            sqlx::query_scalar::<_, Uuid>("SELECT id FROM dm_channels WHERE user_low = $1 AND user_high = $2")
                .bind(low)
                .bind(high)
                .fetch_optional(pool)
                .await?
        }))
    }

    pub(crate) async fn open_dm(
        &self,
        a: UserId,
        b: UserId,
        new_id: ChannelId,
        at: Timestamp,
    ) -> Res<(ChannelId, bool)> {
        let (low, high) = if a <= b { (a.uuid(), b.uuid()) } else { (b.uuid(), a.uuid()) };
        if let Some(id) = self.dm_between(low, high).await? {
            return Ok((ChannelId::from_uuid(id), false));
        }
        let created = on_db!(self, write, |pool| {
            let mut tx = pool.begin().await?;
            sqlx::query(
                "INSERT INTO channels (id, server_id, name, kind, position, created_at) VALUES ($1, NULL, '', 'dm', 0, $2)",
            )
            .bind(new_id.uuid())
            .bind(Ts::new(at))
            .execute(&mut *tx)
            .await
            .map_err(|e| on_insert(e, Conflict::Key("channels"), "user"))?;
            // The pair is unique: a concurrent open that got here first wins (PostgreSQL makes
            // this insert wait for it), and this transaction is dropped.
            let inserted = sqlx::query(
                "INSERT INTO dm_channels (id, user_low, user_high) VALUES ($1, $2, $3) \
                 ON CONFLICT (user_low, user_high) DO NOTHING",
            )
            .bind(new_id.uuid())
            .bind(low)
            .bind(high)
            .execute(&mut *tx)
            .await
            .map_err(|e| on_insert(e, Conflict::Key("dm_channels"), "user"))?;
            if inserted.rows_affected() == 0 {
                false
            } else {
                sqlx::query(
                    "INSERT INTO dm_participants (channel_id, user_id) VALUES ($1, $2), ($1, $3) \
                     ON CONFLICT (channel_id, user_id) DO NOTHING",
                )
                .bind(new_id.uuid())
                .bind(low)
                .bind(high)
                .execute(&mut *tx)
                .await?;
                tx.commit().await?;
                true
            }
        });
        if created {
            return Ok((new_id, true));
        }
        let id = self.dm_between(low, high).await?.ok_or(rift::StoreError::Missing("channel"))?;
        Ok((ChannelId::from_uuid(id), false))
    }

    /// DM channels of `viewer` (all, or just `only`), with recipients and last message.
    async fn load_dms(&self, viewer: UserId, only: Option<ChannelId>) -> Res<Vec<DmChannel>> {
        let rows: Vec<DmRow> = on_db!(self, read, |pool| {
            sqlx::query_as::<_, DmRow>(
                "SELECT d.id, d.kind, d.name, c.bridge_source, c.bridge_remote_id, \
                   (SELECT m.id FROM messages m WHERE m.channel_id = d.id AND m.deleted_at IS NULL \
                   ORDER BY m.id DESC LIMIT 1) AS last_message_id \
                 FROM dm_channels d JOIN channels c ON c.id = d.id \
                 JOIN dm_participants p ON p.channel_id = d.id \
                 WHERE p.user_id = $1 AND ($2 IS NULL OR d.id = $2)",
            )
            .bind(viewer.uuid())
            .bind(only.map(ChannelId::uuid))
            .fetch_all(pool)
            .await?
        });
        if rows.is_empty() {
            return Ok(Vec::new());
        }
        let participants: Vec<(Uuid, Uuid)> = on_db!(self, read, |pool| {
            let mut qb =
                QueryBuilder::new("SELECT channel_id, user_id FROM dm_participants WHERE channel_id IN (");
            let mut list = qb.separated(", ");
            for row in &rows {
                list.push_bind(row.0);
            }
            qb.push(") AND user_id <> ").push_bind(viewer.uuid());
            qb.push(" ORDER BY channel_id, user_id");
            qb.build_query_as::<(Uuid, Uuid)>().fetch_all(pool).await?
        });
        let mut user_ids: Vec<Uuid> = participants.iter().map(|(_, u)| *u).collect();
        user_ids.sort_unstable();
        user_ids.dedup();
        let users: HashMap<Uuid, User> =
            self.users(&user_ids).await?.into_iter().map(|u| (u.id.uuid(), u)).collect();
        let mut recipients: HashMap<Uuid, Vec<User>> = HashMap::new();
        for (channel, user) in participants {
            if let Some(user) = users.get(&user) {
                recipients.entry(channel).or_default().push(user.clone());
            }
        }
        let mut dms: Vec<DmChannel> = rows
            .into_iter()
            .map(|(id, kind, name, source, remote_id, last)| DmChannel {
                id: ChannelId::from_uuid(id),
                kind: if kind == "group_dm" { ChannelKind::GroupDm } else { ChannelKind::Dm },
                name,
                recipients: recipients.remove(&id).unwrap_or_default(),
                last_message_id: last.map(MessageId::from_uuid),
                bridge: source.zip(remote_id).map(|(source, remote_id)| BridgeRef::new(source, remote_id)),
            })
            .collect();
        // Newest activity first: the last message, or the channel's creation for an empty one
        // (both are UUIDv7, so they compare by time).
        dms.sort_by_key(|dm| {
            std::cmp::Reverse(dm.last_message_id.map_or(dm.id.uuid(), MessageId::uuid).max(dm.id.uuid()))
        });
        Ok(dms)
    }

    pub(crate) async fn dm_channels(&self, user_id: UserId) -> Res<Vec<DmChannel>> {
        self.load_dms(user_id, None).await
    }

    pub(crate) async fn dm_channel(&self, id: ChannelId, viewer: UserId) -> Res<Option<DmChannel>> {
        Ok(self.load_dms(viewer, Some(id)).await?.pop())
    }

    // ---- mirrored DMs and group DMs (rift::store::Store::mirror_dm) ----

    pub(crate) async fn mirror_dm(&self, dm: &MirroredDm) -> Res<MirroredDmOutcome> {
        let mut wanted: Vec<Uuid> = dm.participants.iter().map(|u| u.uuid()).collect();
        wanted.sort_unstable();
        wanted.dedup();
        // A two-person DM keeps its pair (one DM per pair); anything larger is a group.
        let pair = match (dm.kind, wanted.as_slice()) {
            (ChannelKind::Dm, [only]) => Some((*only, *only)),
            (ChannelKind::Dm, [low, high]) => Some((*low, *high)),
            _ => None,
        };
        let (kind, name) = match pair {
            Some(_) => ("dm", None),
            None => ("group_dm", dm.name.clone()),
        };
        let source = dm.bridge.source.as_str();
        let remote_id = dm.bridge.remote_id.as_str();
        let outcome = on_db!(self, write, |pool| {
            let mut tx = pool.begin().await?;
            let found = sqlx::query_scalar::<_, Uuid>(
                "SELECT id FROM channels WHERE bridge_source = $1 AND bridge_remote_id = $2",
            )
            .bind(source)
            .bind(remote_id)
            .fetch_optional(&mut *tx)
            .await?;
            // A remote DM met for the first time takes over a native DM of the same pair.
            let adopted = match (found, pair) {
                (None, Some((low, high))) => {
                    let native = sqlx::query_scalar::<_, Uuid>(
                        "SELECT d.id FROM dm_channels d JOIN channels c ON c.id = d.id \
                         WHERE d.user_low = $1 AND d.user_high = $2 AND c.bridge_source IS NULL",
                    )
                    .bind(low)
                    .bind(high)
                    .fetch_optional(&mut *tx)
                    .await?;
                    if let Some(id) = native {
                        sqlx::query(
                            "UPDATE channels SET bridge_source = $1, bridge_remote_id = $2 WHERE id = $3",
                        )
                        .bind(source)
                        .bind(remote_id)
                        .bind(id)
                        .execute(&mut *tx)
                        .await
                        .map_err(|e| on_bridged_insert(e, Conflict::Key("channels"), "channel", true))?;
                    }
                    native
                }
                _ => None,
            };
            let (id, created) = match found.or(adopted) {
                Some(id) => (id, false),
                None => {
                    sqlx::query(
                        "INSERT INTO channels (id, server_id, name, kind, position, bridge_source, \
                         bridge_remote_id, created_at) VALUES ($1, NULL, '', 'dm', 0, $2, $3, $4)",
                    )
                    .bind(dm.new_id.uuid())
                    .bind(source)
                    .bind(remote_id)
                    .bind(Ts::new(dm.at))
                    .execute(&mut *tx)
                    .await
                    .map_err(|e| on_bridged_insert(e, Conflict::Key("channels"), "user", true))?;
                    sqlx::query(
                        "INSERT INTO dm_channels (id, kind, name, user_low, user_high) VALUES ($1, $2, $3, $4, $5)",
                    )
                    .bind(dm.new_id.uuid())
                    .bind(kind)
                    .bind(name.as_deref())
                    .bind(pair.map(|p| p.0))
                    .bind(pair.map(|p| p.1))
                    .execute(&mut *tx)
                    .await
                    // The pair's DM was made concurrently: the caller tries again and takes it.
                    .map_err(|e| on_insert(e, Conflict::DmPair, "user"))?;
                    (dm.new_id.uuid(), true)
                }
            };
            let (stored_kind, stored_name) = sqlx::query_as::<_, (String, Option<String>)>(
                "SELECT kind, name FROM dm_channels WHERE id = $1",
            )
            .bind(id)
            .fetch_optional(&mut *tx)
            .await?
            .ok_or(rift::StoreError::Missing("channel"))?;
            let mut renamed = false;
            if stored_kind == "group_dm" && stored_name != name {
                sqlx::query("UPDATE dm_channels SET name = $1 WHERE id = $2")
                    .bind(name.as_deref())
                    .bind(id)
                    .execute(&mut *tx)
                    .await?;
                renamed = !created;
            }
            let current: Vec<Uuid> =
                sqlx::query_scalar::<_, Uuid>("SELECT user_id FROM dm_participants WHERE channel_id = $1")
                    .bind(id)
                    .fetch_all(&mut *tx)
                    .await?;
            // A two-person DM's participants are its pair; a group's follow the remote list.
            let wanted: Vec<Uuid> =
                if stored_kind == "dm" && !created { current.clone() } else { wanted.clone() };
            let mut added = Vec::new();
            for user in wanted.iter().filter(|u| !current.contains(u)) {
                sqlx::query(
                    "INSERT INTO dm_participants (channel_id, user_id) VALUES ($1, $2) \
                     ON CONFLICT (channel_id, user_id) DO NOTHING",
                )
                .bind(id)
                .bind(*user)
                .execute(&mut *tx)
                .await
                .map_err(|e| on_insert(e, Conflict::Key("dm_participants"), "user"))?;
                added.push(UserId::from_uuid(*user));
            }
            let mut removed = Vec::new();
            for user in current.iter().filter(|u| !wanted.contains(u)) {
                sqlx::query("DELETE FROM dm_participants WHERE channel_id = $1 AND user_id = $2")
                    .bind(id)
                    .bind(*user)
                    .execute(&mut *tx)
                    .await?;
                removed.push(UserId::from_uuid(*user));
            }
            tx.commit().await?;
            MirroredDmOutcome { id: ChannelId::from_uuid(id), created, added, removed, renamed }
        });
        Ok(outcome)
    }

    pub(crate) async fn dm_participants(&self, id: ChannelId) -> Res<Vec<UserId>> {
        let ids = on_db!(self, read, |pool| {
            sqlx::query_scalar::<_, Uuid>(
                "SELECT user_id FROM dm_participants WHERE channel_id = $1 ORDER BY user_id",
            )
            .bind(id.uuid())
            .fetch_all(pool)
            .await?
        });
        Ok(ids.into_iter().map(UserId::from_uuid).collect())
    }
}
