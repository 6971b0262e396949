//! `/api/bridges/discord/*`: the owner's bridge connections. The token is write-only.

use axum::extract::State;
use axum::http::StatusCode;
use rift::id::{BridgeConnectionId, ChannelId};
use rift::model::BackfillRequest;
use rift::{BridgeInput, BridgeView};
use serde::Deserialize;

use crate::extract::{AuthUser, Json, JsonOrEmpty, Path};
use crate::{ApiResult, AppState};

/// The only bridge kind these routes manage.
const DISCORD: &str = "discord";

#[derive(Deserialize)]
pub(super) struct CreateBody {
    token: String,
    token_kind: String,
    mode: String,
}

#[derive(Deserialize, Default)]
pub(super) struct BackfillBody {
    #[serde(default)]
    channel_ids: Option<Vec<ChannelId>>,
}

/// POST /api/bridges/discord
pub(super) async fn create(
    State(state): State<AppState>,
    AuthUser(user): AuthUser,
    Json(body): Json<CreateBody>,
) -> ApiResult<(StatusCode, axum::Json<BridgeView>)> {
    let input = BridgeInput::new(DISCORD, body.token, body.token_kind, body.mode);
    Ok((StatusCode::CREATED, axum::Json(state.bridges.create(user, input).await?)))
}

/// GET /api/bridges/discord
pub(super) async fn list(
    State(state): State<AppState>,
    AuthUser(user): AuthUser,
) -> ApiResult<axum::Json<Vec<BridgeView>>> {
    Ok(axum::Json(state.rift.bridge_connections(user).await?))
}

/// GET /api/bridges/discord/{id}
pub(super) async fn get(
    State(state): State<AppState>,
    AuthUser(user): AuthUser,
    Path(id): Path<BridgeConnectionId>,
) -> ApiResult<axum::Json<BridgeView>> {
    Ok(axum::Json(state.rift.bridge_connection(user, id).await?))
}

/// DELETE /api/bridges/discord/{id}
pub(super) async fn delete(
    State(state): State<AppState>,
    AuthUser(user): AuthUser,
    Path(id): Path<BridgeConnectionId>,
) -> ApiResult<StatusCode> {
    state.bridges.delete(user, id).await?;
    Ok(StatusCode::NO_CONTENT)
}

/// POST /api/bridges/discord/{id}/backfill
///
/// Records the request; the process running the connection (this one or another node's) runs it.
pub(super) async fn backfill(
    State(state): State<AppState>,
    AuthUser(user): AuthUser,
    Path(id): Path<BridgeConnectionId>,
    JsonOrEmpty(body): JsonOrEmpty<BackfillBody>,
) -> ApiResult<(StatusCode, axum::Json<BackfillRequest>)> {
    let request = state.bridges.backfill(user, id, body.channel_ids).await?;
    Ok((StatusCode::ACCEPTED, axum::Json(request)))
}

/// POST /api/bridges/discord/{id}/pause
pub(super) async fn pause(
    State(state): State<AppState>,
    AuthUser(user): AuthUser,
    Path(id): Path<BridgeConnectionId>,
) -> ApiResult<axum::Json<BridgeView>> {
    Ok(axum::Json(state.bridges.pause(user, id).await?))
}

/// POST /api/bridges/discord/{id}/resume
pub(super) async fn resume(
    State(state): State<AppState>,
    AuthUser(user): AuthUser,
    Path(id): Path<BridgeConnectionId>,
) -> ApiResult<axum::Json<BridgeView>> {
    Ok(axum::Json(state.bridges.resume(user, id).await?))
}
