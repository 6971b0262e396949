//! Gateway sessions saved across a graceful restart.

use rift::Conflict;
use rift::id::{SessionId, UserId};
use rift::store::SavedSession;
use uuid::Uuid;

use crate::db::{Database, Res, Ts, on_db, on_insert};

impl Database {
    pub(crate) async fn save_gateway_sessions(&self, owner: &str, sessions: &[SavedSession]) -> Res<()> {
        on_db!(self, write, |pool| {
            let mut tx = pool.begin().await?;
            for session in sessions {
                sqlx::query(
                    "INSERT INTO gateway_sessions (id, owner, user_id, state, saved_at) \
                     VALUES ($1, $2, $3, $4, $5) \
                     ON CONFLICT (id) DO UPDATE SET owner = excluded.owner, user_id = excluded.user_id, \
                     state = excluded.state, saved_at = excluded.saved_at",
                )
                .bind(session.id.uuid())
                .bind(owner)
                .bind(session.user_id.uuid())
                .bind(&session.state)
                .bind(Ts::new(session.saved_at))
                .execute(&mut *tx)
                .await
                .map_err(|e| on_insert(e, Conflict::Key("gateway_sessions"), "user"))?;
            }
            tx.commit().await?;
        });
        Ok(())
    }

    pub(crate) async fn take_gateway_sessions(&self, owner: &str) -> Res<Vec<SavedSession>> {
        let rows: Vec<(Uuid, Uuid, String, Ts)> = on_db!(self, write, |pool| {
            sqlx::query_as(
                "DELETE FROM gateway_sessions WHERE owner = $1 RETURNING id, user_id, state, saved_at",
            )
            .bind(owner)
            .fetch_all(pool)
            .await?
        });
        Ok(rows
            .into_iter()
            .map(|(id, user_id, state, saved_at)| {
                SavedSession::new(SessionId::from_uuid(id), UserId::from_uuid(user_id), state, saved_at.0)
            })
            .collect())
    }
}
