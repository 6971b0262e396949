//! `/api/servers/{id}/channels` and `/api/channels/*`: channels, permission overwrites and read
//! state (`rift/src/service/channels.rs`).

use axum::extract::State;
use axum::http::StatusCode;
use axum::response::IntoResponse;
use rift::model::Channel;
use rift::{ChannelId, MessageId, ServerId};
use rift::{ChannelInput, ChannelUpdate, OverwriteInput};
use serde::Deserialize;
use uuid::Uuid;

use crate::extract::{AuthUser, Json, Path};
use crate::{ApiResult, AppState};

#[derive(Deserialize)]
pub(super) struct AckBody {
    message_id: MessageId,
}

/// POST /api/servers/{server_id}/channels
pub(super) async fn create(
    State(state): State<AppState>,
    AuthUser(user): AuthUser,
    Path(server_id): Path<ServerId>,
    Json(body): Json<ChannelInput>,
) -> ApiResult<impl IntoResponse> {
    Ok((StatusCode::CREATED, axum::Json(state.rift.create_channel(user, server_id, body).await?)))
}

/// GET /api/servers/{server_id}/channels
pub(super) async fn list(
    State(state): State<AppState>,
    AuthUser(user): AuthUser,
    Path(server_id): Path<ServerId>,
) -> ApiResult<axum::Json<Vec<Channel>>> {
    Ok(axum::Json(state.rift.channels(user, server_id).await?))
}

/// GET /api/channels/{channel_id}
pub(super) async fn get(
    State(state): State<AppState>,
    AuthUser(user): AuthUser,
    Path(channel_id): Path<ChannelId>,
) -> ApiResult<axum::Json<Channel>> {
    Ok(axum::Json(state.rift.channel(user, channel_id).await?))
}

/// PATCH /api/channels/{channel_id}
pub(super) async fn update(
    State(state): State<AppState>,
    AuthUser(user): AuthUser,
    Path(channel_id): Path<ChannelId>,
    Json(body): Json<ChannelUpdate>,
) -> ApiResult<axum::Json<Channel>> {
    Ok(axum::Json(state.rift.update_channel(user, channel_id, body).await?))
}

/// DELETE /api/channels/{channel_id}
pub(super) async fn delete(
    State(state): State<AppState>,
    AuthUser(user): AuthUser,
    Path(channel_id): Path<ChannelId>,
) -> ApiResult<StatusCode> {
    state.rift.delete_channel(user, channel_id).await?;
    Ok(StatusCode::NO_CONTENT)
}

/// PUT /api/channels/{channel_id}/permissions/{target_id}
pub(super) async fn put_overwrite(
    State(state): State<AppState>,
    AuthUser(user): AuthUser,
    Path((channel_id, target_id)): Path<(ChannelId, Uuid)>,
    Json(body): Json<OverwriteInput>,
) -> ApiResult<StatusCode> {
    state.rift.put_overwrite(user, channel_id, target_id, body).await?;
    Ok(StatusCode::NO_CONTENT)
}

/// DELETE /api/channels/{channel_id}/permissions/{target_id}
pub(super) async fn delete_overwrite(
    State(state): State<AppState>,
    AuthUser(user): AuthUser,
    Path((channel_id, target_id)): Path<(ChannelId, Uuid)>,
) -> ApiResult<StatusCode> {
    state.rift.delete_overwrite(user, channel_id, target_id).await?;
    Ok(StatusCode::NO_CONTENT)
}

/// PUT /api/channels/{channel_id}/ack
pub(super) async fn ack(
    State(state): State<AppState>,
    AuthUser(user): AuthUser,
    Path(channel_id): Path<ChannelId>,
    Json(body): Json<AckBody>,
) -> ApiResult<StatusCode> {
    state.rift.ack(user, channel_id, body.message_id).await?;
    Ok(StatusCode::NO_CONTENT)
}
