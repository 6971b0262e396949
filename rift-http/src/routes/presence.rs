//! `POST /api/channels/{id}/typing`: typing indicators (`rift/src/service/presence.rs`).

use axum::extract::State;
use axum::http::StatusCode;
use rift::ChannelId;

use crate::extract::{AuthUser, Path};
use crate::{ApiResult, AppState};

/// POST /api/channels/{channel_id}/typing
pub(super) async fn typing(
    State(state): State<AppState>,
    AuthUser(user): AuthUser,
    Path(channel_id): Path<ChannelId>,
) -> ApiResult<StatusCode> {
    state.rift.start_typing(user, channel_id).await?;
    Ok(StatusCode::NO_CONTENT)
}
