//! `/api/dm/channels`: opening and listing DMs (`rift/src/service/dms.rs`); a DM's messages are in
//! `messages.rs`.

use axum::extract::State;
use axum::http::StatusCode;
use axum::response::IntoResponse;
use rift::UserId;
use rift::model::DmChannel;
use serde::Deserialize;

use crate::extract::{AuthUser, Json};
use crate::{ApiResult, AppState};

#[derive(Deserialize)]
pub(super) struct OpenDm {
    recipient_id: UserId,
}

/// POST /api/dm/channels
pub(super) async fn open_dm(
    State(state): State<AppState>,
    AuthUser(user): AuthUser,
    Json(body): Json<OpenDm>,
) -> ApiResult<impl IntoResponse> {
    let dm = state.rift.open_dm(user, body.recipient_id).await?;
    let status = if dm.created { StatusCode::CREATED } else { StatusCode::OK };
    Ok((status, axum::Json(dm.value)))
}

/// GET /api/dm/channels
pub(super) async fn dm_channels(
    State(state): State<AppState>,
    AuthUser(user): AuthUser,
) -> ApiResult<axum::Json<Vec<DmChannel>>> {
    Ok(axum::Json(state.rift.dm_channels(user).await?))
}
