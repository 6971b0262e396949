//! `/api/channels/{id}/pins`: pinned messages (`rift/src/service/pins.rs`).

use axum::extract::State;
use axum::http::StatusCode;
use rift::model::Message;
use rift::{ChannelId, MessageId};

use crate::extract::{AuthUser, Path};
use crate::{ApiResult, AppState};

/// GET /api/channels/{channel_id}/pins
pub(super) async fn pins(
    State(state): State<AppState>,
    AuthUser(user): AuthUser,
    Path(channel_id): Path<ChannelId>,
) -> ApiResult<axum::Json<Vec<Message>>> {
    Ok(axum::Json(state.rift.pinned_messages(user, channel_id).await?))
}

/// PUT /api/channels/{channel_id}/pins/{message_id}
pub(super) async fn pin(
    State(state): State<AppState>,
    AuthUser(user): AuthUser,
    Path((channel_id, message_id)): Path<(ChannelId, MessageId)>,
) -> ApiResult<StatusCode> {
    state.rift.pin_message(user, channel_id, message_id).await?;
    Ok(StatusCode::NO_CONTENT)
}

/// DELETE /api/channels/{channel_id}/pins/{message_id}
pub(super) async fn unpin(
    State(state): State<AppState>,
    AuthUser(user): AuthUser,
    Path((channel_id, message_id)): Path<(ChannelId, MessageId)>,
) -> ApiResult<StatusCode> {
    state.rift.unpin_message(user, channel_id, message_id).await?;
    Ok(StatusCode::NO_CONTENT)
}
