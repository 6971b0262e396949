//! Backfill requests: asked for by any process, run by the holder of the connection's lease.

use chrono::{DateTime, Utc};
use rift::id::{BackfillRequestId, BridgeConnectionId, ChannelId};
use rift::model::{BackfillRequest, BackfillState};
use rift::{Conflict, StoreError};
use uuid::Uuid;

use crate::db::{Database, Res, Ts, on_db, on_insert};

const REQUEST_COLS: &str =
    "id, connection_id, channel_ids, state, error, requested_at, started_at, finished_at";

#[derive(sqlx::FromRow)]
struct RequestRow {
    id: Uuid,
    connection_id: Uuid,
    channel_ids: Option<String>,
    state: String,
    error: Option<String>,
    requested_at: Ts,
    started_at: Option<Ts>,
    finished_at: Option<Ts>,
}

impl RequestRow {
    fn into_request(self) -> Result<BackfillRequest, StoreError> {
        let corrupt = |what: &str, value: &str| StoreError::Corrupt(format!("unknown {what} {value:?}"));
        let channel_ids = match self.channel_ids {
            None => None,
            Some(json) => Some(
                serde_json::from_str::<Vec<ChannelId>>(&json)
                    .map_err(|_| corrupt("backfill channel list", &json))?,
            ),
        };
        Ok(BackfillRequest {
            id: BackfillRequestId::from_uuid(self.id),
            connection_id: BridgeConnectionId::from_uuid(self.connection_id),
            channel_ids,
            state: BackfillState::parse(&self.state).ok_or_else(|| corrupt("backfill state", &self.state))?,
            error: self.error,
            requested_at: self.requested_at.0,
            started_at: self.started_at.map(|t| t.0),
            finished_at: self.finished_at.map(|t| t.0),
        })
    }
}

fn into_requests(rows: Vec<RequestRow>) -> Result<Vec<BackfillRequest>, StoreError> {
    let mut requests = rows.into_iter().map(RequestRow::into_request).collect::<Result<Vec<_>, _>>()?;
    // RETURNING gives no order.
    requests.sort_by_key(|r| (r.requested_at, r.id));
    Ok(requests)
}

impl Database {
    pub(crate) async fn create_backfill_request(&self, r: &BackfillRequest) -> Res<()> {
        let channel_ids = match &r.channel_ids {
            Some(ids) => Some(serde_json::to_string(ids).map_err(|e| StoreError::Corrupt(e.to_string()))?),
            None => None,
        };
        on_db!(self, write, |pool| {
            sqlx::query(
                "INSERT INTO bridge_backfill_requests (id, connection_id, channel_ids, state, error, \
                 requested_at, started_at, finished_at) VALUES ($1, $2, $3, $4, $5, $6, $7, $8)",
            )
            .bind(r.id.uuid())
            .bind(r.connection_id.uuid())
            .bind(channel_ids.as_deref())
            .bind(r.state.as_str())
            .bind(r.error.as_deref())
            .bind(Ts::new(r.requested_at))
            .bind(r.started_at.map(Ts::new))
            .bind(r.finished_at.map(Ts::new))
            .execute(pool)
            .await
            .map_err(|e| on_insert(e, Conflict::Key("backfill_requests"), "bridge_connection"))?
            .rows_affected()
        });
        Ok(())
    }

    pub(crate) async fn backfill_request(&self, id: BackfillRequestId) -> Res<Option<BackfillRequest>> {
        let sql = format!("SELECT {REQUEST_COLS} FROM bridge_backfill_requests WHERE id = $1");
        let row = on_db!(self, read, |pool| {
            sqlx::query_as::<_, RequestRow>(&sql).bind(id.uuid()).fetch_optional(pool).await?
        });
        Ok(row.map(RequestRow::into_request).transpose()?)
    }

    pub(crate) async fn latest_backfill_request(
        &self,
        connection_id: BridgeConnectionId,
    ) -> Res<Option<BackfillRequest>> {
        let sql = format!(
            "SELECT {REQUEST_COLS} FROM bridge_backfill_requests WHERE connection_id = $1 \
             ORDER BY requested_at DESC, id DESC LIMIT 1"
        );
        let row = on_db!(self, read, |pool| {
            sqlx::query_as::<_, RequestRow>(&sql).bind(connection_id.uuid()).fetch_optional(pool).await?
        });
        Ok(row.map(RequestRow::into_request).transpose()?)
    }

    pub(crate) async fn take_backfill_requests(
        &self,
        connection_id: BridgeConnectionId,
        holder: Uuid,
        now: DateTime<Utc>,
    ) -> Res<Vec<BackfillRequest>> {
        // One statement, so two takers never both get a request.
        let sql = format!(
            "UPDATE bridge_backfill_requests SET state = 'running', taken_by = $2, started_at = $3 \
             WHERE connection_id = $1 AND (state = 'pending' OR (state = 'running' AND taken_by <> $2)) \
             RETURNING {REQUEST_COLS}"
        );
        let rows = on_db!(self, write, |pool| {
            sqlx::query_as::<_, RequestRow>(&sql)
                .bind(connection_id.uuid())
                .bind(holder)
                .bind(Ts::new(now))
                .fetch_all(pool)
                .await?
        });
        Ok(into_requests(rows)?)
    }

    pub(crate) async fn finish_backfill_request(
        &self,
        id: BackfillRequestId,
        holder: Uuid,
        error: Option<&str>,
        now: DateTime<Utc>,
    ) -> Res<bool> {
        let state = if error.is_some() { BackfillState::Failed } else { BackfillState::Done };
        let done = on_db!(self, write, |pool| {
            sqlx::query(
                "UPDATE bridge_backfill_requests SET state = $3, error = $4, finished_at = $5 \
                 WHERE id = $1 AND taken_by = $2 AND state = 'running'",
            )
            .bind(id.uuid())
            .bind(holder)
            .bind(state.as_str())
            .bind(error)
            .bind(Ts::new(now))
            .execute(pool)
            .await?
            .rows_affected()
        });
        Ok(done > 0)
    }

    pub(crate) async fn release_backfill_requests(
        &self,
        connection_id: BridgeConnectionId,
        holder: Uuid,
    ) -> Res<u64> {
        Ok(on_db!(self, write, |pool| {
            sqlx::query(
                "UPDATE bridge_backfill_requests SET state = 'pending', taken_by = NULL \
                 WHERE connection_id = $1 AND taken_by = $2 AND state = 'running'",
            )
            .bind(connection_id.uuid())
            .bind(holder)
            .execute(pool)
            .await?
            .rows_affected()
        }))
    }
}
