//! Invites (joining by invite is in `members`).

use rift::id::{ChannelId, ServerId, UserId};
use rift::model::{Invite, InviteServer};
use rift::store::NewInvite;
use uuid::Uuid;

use crate::db::{Database, Res, Ts, on_db, on_insert};
use rift::Conflict;

#[derive(sqlx::FromRow)]
struct InviteRow {
    code: String,
    server_id: Uuid,
    server_name: String,
    server_icon_url: Option<String>,
    channel_id: Option<Uuid>,
    uses: i64,
    max_uses: i64,
    expires_at: Option<Ts>,
    creator_id: Uuid,
    created_at: Ts,
}

impl InviteRow {
    fn into_invite(self) -> Invite {
        Invite {
            code: self.code,
            server: InviteServer {
                id: ServerId::from_uuid(self.server_id),
                name: self.server_name,
                icon_url: self.server_icon_url,
            },
            channel_id: self.channel_id.map(ChannelId::from_uuid),
            uses: self.uses,
            max_uses: self.max_uses,
            expires_at: self.expires_at.map(|t| t.0),
            creator_id: UserId::from_uuid(self.creator_id),
            created_at: self.created_at.0,
        }
    }
}

const INVITE_SELECT: &str = "SELECT i.code, i.server_id, s.name AS server_name, s.icon_url AS server_icon_url, \
     i.channel_id, i.uses, i.max_uses, i.expires_at, i.creator_id, i.created_at \
     FROM invites i JOIN servers s ON s.id = i.server_id";

impl Database {
    pub(crate) async fn create_invite(&self, invite: &NewInvite) -> Res<Invite> {
        on_db!(self, write, |pool| {
            sqlx::query(
                "INSERT INTO invites (code, server_id, channel_id, max_uses, expires_at, creator_id, created_at) \
                 VALUES ($1, $2, $3, $4, $5, $6, $7)",
            )
            .bind(&invite.code)
            .bind(invite.server_id.uuid())
            .bind(invite.channel_id.map(ChannelId::uuid))
            .bind(invite.max_uses)
            .bind(invite.expires_at.map(Ts::new))
            .bind(invite.creator_id.uuid())
            .bind(Ts::new(invite.created_at))
            .execute(pool)
            .await
            .map_err(|e| on_insert(e, Conflict::InviteCode, "server"))?.rows_affected()
        });
        self.invite(&invite.code).await?.ok_or_else(|| rift::StoreError::Missing("invite").into())
    }

    pub(crate) async fn invite(&self, code: &str) -> Res<Option<Invite>> {
        let sql = format!("{INVITE_SELECT} WHERE i.code = $1");
        let row = on_db!(self, read, |pool| {
            sqlx::query_as::<_, InviteRow>(&sql).bind(code).fetch_optional(pool).await?
        });
        Ok(row.map(InviteRow::into_invite))
    }

    pub(crate) async fn invites(&self, server_id: ServerId) -> Res<Vec<Invite>> {
        let sql = format!("{INVITE_SELECT} WHERE i.server_id = $1 ORDER BY i.created_at DESC, i.code");
        let rows = on_db!(self, read, |pool| {
            sqlx::query_as::<_, InviteRow>(&sql).bind(server_id.uuid()).fetch_all(pool).await?
        });
        Ok(rows.into_iter().map(InviteRow::into_invite).collect())
    }

    pub(crate) async fn delete_invite(&self, code: &str) -> Res<bool> {
        let done = on_db!(self, write, |pool| {
            sqlx::query("DELETE FROM invites WHERE code = $1").bind(code).execute(pool).await?.rows_affected()
        });
        Ok(done > 0)
    }
}
