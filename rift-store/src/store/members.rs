//! Members, bans and joining by invite.

use std::collections::HashMap;

use rift::Timestamp;
use rift::id::{RoleId, ServerId, UserId};
use rift::model::{Ban, Member};
use rift::store::JoinOutcome;
use sqlx::QueryBuilder;
use uuid::Uuid;

use crate::db::{Database, Res, Ts, limit, on_db, on_insert};
use crate::rows::{USER_COLS, UserRow, qualified};
use rift::Conflict;

#[derive(sqlx::FromRow)]
struct MemberRow {
    nickname: Option<String>,
    joined_at: Ts,
    #[sqlx(flatten)]
    user: UserRow,
}

#[derive(sqlx::FromRow)]
struct BanRow {
    reason: Option<String>,
    banned_at: Ts,
    #[sqlx(flatten)]
    user: UserRow,
}

fn member_select() -> String {
    format!(
        "SELECT m.nickname, m.joined_at, {} FROM members m JOIN users u ON u.id = m.user_id",
        qualified(USER_COLS, "u")
    )
}

impl Database {
    /// Members with their role ids (one query for all roles of the page).
    async fn load_members(&self, server_id: ServerId, rows: Vec<MemberRow>) -> Res<Vec<Member>> {
        if rows.is_empty() {
            return Ok(Vec::new());
        }
        let pairs: Vec<(Uuid, Uuid)> = on_db!(self, read, |pool| {
            let mut qb = QueryBuilder::new(
                "SELECT mr.user_id, mr.role_id FROM member_roles mr JOIN roles r ON r.id = mr.role_id \
                 WHERE mr.server_id = ",
            );
            qb.push_bind(server_id.uuid()).push(" AND mr.user_id IN (");
            let mut list = qb.separated(", ");
            for row in &rows {
                list.push_bind(row.user.id);
            }
            qb.push(") ORDER BY r.position");
            qb.build_query_as::<(Uuid, Uuid)>().fetch_all(pool).await?
        });
        let mut roles: HashMap<Uuid, Vec<RoleId>> = HashMap::new();
        for (user, role) in pairs {
            roles.entry(user).or_default().push(RoleId::from_uuid(role));
        }
        rows.into_iter()
            .map(|row| {
                Ok(Member {
                    roles: roles.remove(&row.user.id).unwrap_or_default(),
                    user: row.user.into_user()?,
                    server_id,
                    nickname: row.nickname,
                    joined_at: row.joined_at.0,
                })
            })
            .collect()
    }

    pub(crate) async fn member(&self, server_id: ServerId, user_id: UserId) -> Res<Option<Member>> {
        let sql = format!("{} WHERE m.server_id = $1 AND m.user_id = $2", member_select());
        let row = on_db!(self, read, |pool| {
            sqlx::query_as::<_, MemberRow>(&sql)
                .bind(server_id.uuid())
                .bind(user_id.uuid())
                .fetch_optional(pool)
                .await?
        });
        Ok(self.load_members(server_id, row.into_iter().collect()).await?.pop())
    }

    pub(crate) async fn members(
        &self,
        server_id: ServerId,
        after: Option<UserId>,
        count: u32,
    ) -> Res<Vec<Member>> {
        let sql = format!(
            "{} WHERE m.server_id = $1 AND ($2 IS NULL OR m.user_id > $2) ORDER BY m.user_id LIMIT $3",
            member_select()
        );
        let rows = on_db!(self, read, |pool| {
            sqlx::query_as::<_, MemberRow>(&sql)
                .bind(server_id.uuid())
                .bind(after.map(UserId::uuid))
                .bind(limit(count))
                .fetch_all(pool)
                .await?
        });
        self.load_members(server_id, rows).await
    }

    pub(crate) async fn member_ids(&self, server_id: ServerId) -> Res<Vec<UserId>> {
        let ids = on_db!(self, read, |pool| {
            sqlx::query_scalar::<_, Uuid>("SELECT user_id FROM members WHERE server_id = $1 ORDER BY user_id")
                .bind(server_id.uuid())
                .fetch_all(pool)
                .await?
        });
        Ok(ids.into_iter().map(UserId::from_uuid).collect())
    }

    pub(crate) async fn add_member(&self, server_id: ServerId, user_id: UserId, at: Timestamp) -> Res<bool> {
        let done = on_db!(self, write, |pool| {
            sqlx::query(
                "INSERT INTO members (server_id, user_id, joined_at) VALUES ($1, $2, $3) \
                 ON CONFLICT (server_id, user_id) DO NOTHING",
            )
            .bind(server_id.uuid())
            .bind(user_id.uuid())
            .bind(Ts::new(at))
            .execute(pool)
            .await
            .map_err(|e| on_insert(e, Conflict::Key("members"), "server"))?
            .rows_affected()
        });
        Ok(done > 0)
    }

    pub(crate) async fn set_member_nickname(
        &self,
        server_id: ServerId,
        user_id: UserId,
        nickname: Option<&str>,
    ) -> Res<bool> {
        let done = on_db!(self, write, |pool| {
            sqlx::query("UPDATE members SET nickname = $3 WHERE server_id = $1 AND user_id = $2")
                .bind(server_id.uuid())
                .bind(user_id.uuid())
                .bind(nickname)
                .execute(pool)
                .await?
                .rows_affected()
        });
        Ok(done > 0)
    }

    pub(crate) async fn remove_member(&self, server_id: ServerId, user_id: UserId) -> Res<bool> {
        // member_roles rows go with the membership (ON DELETE CASCADE).
        let done = on_db!(self, write, |pool| {
            sqlx::query("DELETE FROM members WHERE server_id = $1 AND user_id = $2")
                .bind(server_id.uuid())
                .bind(user_id.uuid())
                .execute(pool)
                .await?
                .rows_affected()
        });
        Ok(done > 0)
    }

    pub(crate) async fn join_with_invite(
        &self,
        code: &str,
        server_id: ServerId,
        user_id: UserId,
        now: Timestamp,
    ) -> Res<JoinOutcome> {
        let now = Ts::new(now);
        enum Step {
            Unknown,
            Banned,
            Joined,
            Already,
        }
        let step = on_db!(self, write, |pool| {
            let mut tx = pool.begin().await?;
            let invite = sqlx::query_as::<_, (Uuid, Option<Ts>, i64, i64)>(
                "SELECT server_id, expires_at, uses, max_uses FROM invites WHERE code = $1",
            )
            .bind(code)
            .fetch_optional(&mut *tx)
            .await?;
            let usable = match invite {
                Some((server, expires, uses, max_uses)) => {
                    server == server_id.uuid()
                        && expires.is_none_or(|at| at > now)
                        && (max_uses == 0 || uses < max_uses)
                }
                None => false,
            };
            if !usable {
                Step::Unknown
            } else if sqlx::query_scalar::<_, bool>(
                "SELECT EXISTS (SELECT 1 FROM bans WHERE server_id = $1 AND user_id = $2)",
            )
            .bind(server_id.uuid())
            .bind(user_id.uuid())
            .fetch_one(&mut *tx)
            .await?
            {
                Step::Banned
            } else {
                let joined = sqlx::query(
                    "INSERT INTO members (server_id, user_id, joined_at) VALUES ($1, $2, $3) \
                     ON CONFLICT (server_id, user_id) DO NOTHING",
                )
                .bind(server_id.uuid())
                .bind(user_id.uuid())
                .bind(now)
                .execute(&mut *tx)
                .await
                .map_err(|e| on_insert(e, Conflict::Key("members"), "user"))?;
                if joined.rows_affected() == 0 {
                    // Already a member: no use is counted (the transaction is dropped).
                    Step::Already
                } else {
                    // The limit is re-checked in the UPDATE itself: of concurrent joins only
                    // `max_uses - uses` find a row to count (PostgreSQL re-evaluates the WHERE
                    // after waiting for the row lock; SQLite has one writer).
                    let counted = sqlx::query(
                        "UPDATE invites SET uses = uses + 1 WHERE code = $1 AND (max_uses = 0 OR uses < max_uses)",
                    )
                    .bind(code)
                    .execute(&mut *tx)
                    .await?;
                    if counted.rows_affected() == 0 {
                        Step::Unknown
                    } else {
                        tx.commit().await?;
                        Step::Joined
                    }
                }
            }
        });
        match step {
            Step::Unknown => Ok(JoinOutcome::UnknownInvite),
            Step::Banned => Ok(JoinOutcome::Banned),
            Step::Joined | Step::Already => {
                let member = self.member(server_id, user_id).await?;
                // Removed between the commit and this read: report what the join saw.
                let member = member.ok_or(rift::StoreError::Missing("member"))?;
                Ok(match step {
                    Step::Joined => JoinOutcome::Joined(member),
                    _ => JoinOutcome::AlreadyMember(member),
                })
            }
        }
    }

    pub(crate) async fn share_a_server(&self, a: UserId, b: UserId) -> Res<bool> {
        Ok(on_db!(self, read, |pool| {
            sqlx::query_scalar::<_, bool>(
                "SELECT EXISTS (SELECT 1 FROM members x JOIN members y ON x.server_id = y.server_id \
                 WHERE x.user_id = $1 AND y.user_id = $2)",
            )
            .bind(a.uuid())
            .bind(b.uuid())
            .fetch_one(pool)
            .await?
        }))
    }

    pub(crate) async fn ban(
        &self,
        server_id: ServerId,
        user_id: UserId,
        reason: Option<&str>,
        at: Timestamp,
    ) -> Res<()> {
        on_db!(self, write, |pool| {
            let mut tx = pool.begin().await?;
            sqlx::query("DELETE FROM members WHERE server_id = $1 AND user_id = $2")
                .bind(server_id.uuid())
                .bind(user_id.uuid())
                .execute(&mut *tx)
                .await?;
            sqlx::query(
                "INSERT INTO bans (server_id, user_id, reason, created_at) VALUES ($1, $2, $3, $4) \
                 ON CONFLICT (server_id, user_id) DO UPDATE SET reason = excluded.reason",
            )
            .bind(server_id.uuid())
            .bind(user_id.uuid())
            .bind(reason)
            .bind(Ts::new(at))
            .execute(&mut *tx)
            .await
            .map_err(|e| on_insert(e, Conflict::Key("bans"), "user"))?;
            tx.commit().await?;
        });
        Ok(())
    }

    pub(crate) async fn unban(&self, server_id: ServerId, user_id: UserId) -> Res<bool> {
        let done = on_db!(self, write, |pool| {
            sqlx::query("DELETE FROM bans WHERE server_id = $1 AND user_id = $2")
                .bind(server_id.uuid())
                .bind(user_id.uuid())
                .execute(pool)
                .await?
                .rows_affected()
        });
        Ok(done > 0)
    }

    /// A server's bans in user-id order, after `after`, at most `count`; `user` narrows them to
    /// that one user's. Serves both `Store::bans` (a page) and `Store::ban_entry` (one user).
    pub(crate) async fn find_bans(
        &self,
        server_id: ServerId,
        user: Option<UserId>,
        after: Option<UserId>,
        count: u32,
    ) -> Res<Vec<Ban>> {
        let sql = format!(
            "SELECT b.reason, b.created_at AS banned_at, {} FROM bans b JOIN users u ON u.id = b.user_id \
             WHERE b.server_id = $1 AND ($2 IS NULL OR b.user_id = $2) AND ($3 IS NULL OR b.user_id > $3) \
             ORDER BY b.user_id LIMIT $4",
            qualified(USER_COLS, "u")
        );
        let rows = on_db!(self, read, |pool| {
            sqlx::query_as::<_, BanRow>(&sql)
                .bind(server_id.uuid())
                .bind(user.map(UserId::uuid))
                .bind(after.map(UserId::uuid))
                .bind(limit(count))
                .fetch_all(pool)
                .await?
        });
        rows.into_iter()
            .map(|row| {
                Ok(Ban { user: row.user.into_user()?, reason: row.reason, created_at: row.banned_at.0 })
            })
            .collect()
    }
}
