//! Users and refresh tokens.

use rift::id::{TokenFamilyId, UserId};
use rift::model::User;
use rift::store::{NewRefreshToken, NewUser, RefreshOutcome, UserPatch};
use rift::{Conflict, StoreError};
use sqlx::QueryBuilder;
use uuid::Uuid;

use crate::db::{Database, Fail, Res, Ts, Violation, on_db, violation};
use crate::rows::{USER_COLS, UserRow, bridge_cols};

impl Database {
    pub(crate) async fn create_user(&self, user: &NewUser) -> Res<User> {
        let (source, remote) = bridge_cols(user.bridge.as_ref());
        let sql = format!(
            "INSERT INTO users (id, username, display_name, email, password_hash, bridge_source, \
             bridge_remote_id, created_at) VALUES ($1, $2, $3, $4, $5, $6, $7, $8) RETURNING {USER_COLS}"
        );
        let inserted = on_db!(self, write, |pool| {
            sqlx::query_as::<_, UserRow>(&sql)
                .bind(user.id.uuid())
                .bind(&user.username)
                .bind(&user.display_name)
                .bind(user.email.as_deref())
                .bind(user.password_hash.as_ref().map(rift::Secret::expose))
                .bind(source)
                .bind(remote)
                .bind(Ts::new(user.created_at))
                .fetch_one(pool)
                .await
        });
        match inserted {
            Ok(row) => Ok(row.into_user()?),
            Err(e) => Err(self.user_conflict(e, user).await),
        }
    }

    /// Names the unique rule a new user broke: by index name where the backend reports it,
    /// otherwise by looking for the clashing row (the failed insert changed nothing).
    async fn user_conflict(&self, e: sqlx::Error, user: &NewUser) -> Fail {
        let Some(Violation::Unique(index)) = violation(&e) else { return e.into() };
        let kind = match index {
            Some("users_username_key") => Conflict::Username,
            Some("users_email_key") => Conflict::Email,
            Some("users_bridge_key") => Conflict::BridgeRef,
            Some("users_pkey") => Conflict::Key("users"),
            _ => {
                if self.user_by_username(&user.username).await.ok().flatten().is_some() {
                    Conflict::Username
                } else if user.email.is_some()
                    && self.email_taken(user.email.as_deref()).await.unwrap_or(false)
                {
                    Conflict::Email
                } else if user.bridge.is_some() {
                    Conflict::BridgeRef
                } else {
                    Conflict::Key("users")
                }
            }
        };
        StoreError::Conflict(kind).into()
    }

    async fn email_taken(&self, email: Option<&str>) -> Res<bool> {
        Ok(on_db!(self, read, |pool| {
            sqlx::query_scalar::<_, bool>(
                "SELECT EXISTS (SELECT 1 FROM users WHERE lower(email) = lower($1))",
            )
            .bind(email)
            .fetch_one(pool)
            .await?
        }))
    }

    pub(crate) async fn user(&self, id: UserId) -> Res<Option<User>> {
        let sql = format!("SELECT {USER_COLS} FROM users WHERE id = $1");
        let row = on_db!(self, read, |pool| {
            sqlx::query_as::<_, UserRow>(&sql).bind(id.uuid()).fetch_optional(pool).await?
        });
        Ok(row.map(UserRow::into_user).transpose()?)
    }

    pub(crate) async fn users(&self, ids: &[Uuid]) -> Res<Vec<User>> {
        if ids.is_empty() {
            return Ok(Vec::new());
        }
        let rows: Vec<UserRow> = on_db!(self, read, |pool| {
            let mut qb = QueryBuilder::new(format!("SELECT {USER_COLS} FROM users WHERE id IN ("));
            let mut list = qb.separated(", ");
            for id in ids {
                list.push_bind(*id);
            }
            qb.push(")");
            qb.build_query_as::<UserRow>().fetch_all(pool).await?
        });
        Ok(rows.into_iter().map(UserRow::into_user).collect::<Result<_, _>>()?)
    }

    pub(crate) async fn user_by_username(&self, username: &str) -> Res<Option<User>> {
        let sql = format!("SELECT {USER_COLS} FROM users WHERE lower(username) = lower($1)");
        let row = on_db!(self, read, |pool| {
            sqlx::query_as::<_, UserRow>(&sql).bind(username).fetch_optional(pool).await?
        });
        Ok(row.map(UserRow::into_user).transpose()?)
    }

    pub(crate) async fn password_hash(&self, id: UserId) -> Res<Option<String>> {
        Ok(on_db!(self, read, |pool| {
            sqlx::query_scalar::<_, Option<String>>("SELECT password_hash FROM users WHERE id = $1")
                .bind(id.uuid())
                .fetch_optional(pool)
                .await?
        })
        .flatten())
    }

    pub(crate) async fn set_password_hash(&self, id: UserId, hash: &str) -> Res<()> {
        on_db!(self, write, |pool| {
            sqlx::query("UPDATE users SET password_hash = $2 WHERE id = $1")
                .bind(id.uuid())
                .bind(hash)
                .execute(pool)
                .await?
                .rows_affected()
        });
        Ok(())
    }

    pub(crate) async fn update_user(&self, id: UserId, patch: &UserPatch) -> Res<Option<User>> {
        if patch.display_name.is_none() && patch.avatar_url.is_none() && patch.status.is_none() {
            return self.user(id).await;
        }
        let row: Option<UserRow> = on_db!(self, write, |pool| {
            let mut qb = QueryBuilder::new("UPDATE users SET ");
            let mut set = qb.separated(", ");
            if let Some(name) = &patch.display_name {
                set.push("display_name = ").push_bind_unseparated(name.as_str());
            }
            if let Some(avatar) = &patch.avatar_url {
                set.push("avatar_url = ").push_bind_unseparated(avatar.as_deref());
            }
            if let Some(status) = patch.status {
                set.push("status = ").push_bind_unseparated(status.as_str());
            }
            qb.push(" WHERE id = ").push_bind(id.uuid());
            qb.push(format!(" RETURNING {USER_COLS}"));
            qb.build_query_as::<UserRow>().fetch_optional(pool).await?
        });
        Ok(row.map(UserRow::into_user).transpose()?)
    }

    // ---- refresh tokens ----

    pub(crate) async fn insert_refresh_token(&self, token: &NewRefreshToken) -> Res<()> {
        let result = on_db!(self, write, |pool| {
            sqlx::query(
                "INSERT INTO refresh_tokens (token_hash, family_id, user_id, created_at, expires_at) \
                 VALUES ($1, $2, $3, $4, $5)",
            )
            .bind(&token.token_hash)
            .bind(token.family_id.uuid())
            .bind(token.user_id.uuid())
            .bind(Ts::new(token.created_at))
            .bind(Ts::new(token.expires_at))
            .execute(pool)
            .await
            .map(|done| done.rows_affected())
        });
        result.map_err(|e| crate::db::on_insert(e, rift::Conflict::Key("refresh_tokens"), "user"))?;
        Ok(())
    }

    pub(crate) async fn use_refresh_token(
        &self,
        token_hash: &str,
        now: rift::Timestamp,
    ) -> Res<RefreshOutcome> {
        let now = Ts::new(now);
        on_db!(self, write, |pool| {
            let mut tx = pool.begin().await?;
            // The conditional update decides: of two concurrent uses only one finds `used_at`
            // still NULL (PostgreSQL re-checks the WHERE after waiting for the row lock).
            let fresh = sqlx::query_as::<_, (Uuid, Uuid)>(
                "UPDATE refresh_tokens SET used_at = $2 WHERE token_hash = $1 AND used_at IS NULL \
                 AND revoked = FALSE AND expires_at > $2 RETURNING user_id, family_id",
            )
            .bind(token_hash)
            .bind(now)
            .fetch_optional(&mut *tx)
            .await?;
            if let Some((user, family)) = fresh {
                tx.commit().await?;
                return Ok(RefreshOutcome::Valid {
                    user_id: UserId::from_uuid(user),
                    family_id: TokenFamilyId::from_uuid(family),
                });
            }
            let stored = sqlx::query_as::<_, (Uuid, Uuid, Option<Ts>, bool)>(
                "SELECT user_id, family_id, used_at, revoked FROM refresh_tokens WHERE token_hash = $1",
            )
            .bind(token_hash)
            .fetch_optional(&mut *tx)
            .await?;
            match stored {
                Some((user, family, Some(_), false)) => {
                    sqlx::query("UPDATE refresh_tokens SET revoked = TRUE WHERE family_id = $1")
                        .bind(family)
                        .execute(&mut *tx)
                        .await?;
                    tx.commit().await?;
                    Ok(RefreshOutcome::Reused {
                        user_id: UserId::from_uuid(user),
                        family_id: TokenFamilyId::from_uuid(family),
                    })
                }
                // Unknown, revoked, or unused but expired.
                _ => Ok(RefreshOutcome::Invalid),
            }
        })
    }

    pub(crate) async fn refresh_token_family(
        &self,
        token_hash: &str,
    ) -> Res<Option<(UserId, TokenFamilyId)>> {
        let row = on_db!(self, read, |pool| {
            sqlx::query_as::<_, (Uuid, Uuid)>(
                "SELECT user_id, family_id FROM refresh_tokens WHERE token_hash = $1",
            )
            .bind(token_hash)
            .fetch_optional(pool)
            .await?
        });
        Ok(row.map(|(u, f)| (UserId::from_uuid(u), TokenFamilyId::from_uuid(f))))
    }

    pub(crate) async fn revoke_token_family(&self, family_id: TokenFamilyId) -> Res<()> {
        on_db!(self, write, |pool| {
            sqlx::query("UPDATE refresh_tokens SET revoked = TRUE WHERE family_id = $1")
                .bind(family_id.uuid())
                .execute(pool)
                .await?
                .rows_affected()
        });
        Ok(())
    }

    pub(crate) async fn revoke_user_tokens(&self, user_id: UserId, keep: Option<TokenFamilyId>) -> Res<()> {
        on_db!(self, write, |pool| {
            sqlx::query(
                "UPDATE refresh_tokens SET revoked = TRUE WHERE user_id = $1 AND ($2 IS NULL OR family_id <> $2)",
            )
            .bind(user_id.uuid())
            .bind(keep.map(TokenFamilyId::uuid))
            .execute(pool)
            .await?.rows_affected()
        });
        Ok(())
    }
}
