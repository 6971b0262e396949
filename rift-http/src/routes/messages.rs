//! `/api/channels/{id}/messages`, `/api/dm/channels/{id}/messages` and `/api/messages/*`:
//! messages, their edit history and reactions (`rift/src/service/messages.rs`).

use axum::extract::State;
use axum::http::StatusCode;
use axum::response::IntoResponse;
use rift::model::{Message, MessageHistoryEntry};
use rift::{ChannelId, MessageId, UserId};
use rift::{MessageQuery, SendMessage};
use serde::Deserialize;

use crate::extract::{AuthUser, Json, Path, Query};
use crate::{ApiResult, AppState};

#[derive(Deserialize)]
pub(super) struct EditBody {
    content: String,
}

/// POST /api/channels/{channel_id}/messages (and /api/dm/channels/{channel_id}/messages)
pub(super) async fn send(
    State(state): State<AppState>,
    AuthUser(user): AuthUser,
    Path(channel_id): Path<ChannelId>,
    Json(body): Json<SendMessage>,
) -> ApiResult<impl IntoResponse> {
    let sent = state.rift.send_message(user, channel_id, body).await?;
    if sent.created {
        state.metrics.message_sent(crate::metrics::Via::Rest);
    }
    let status = if sent.created { StatusCode::CREATED } else { StatusCode::OK };
    Ok((status, axum::Json(sent.message)))
}

/// GET /api/channels/{channel_id}/messages (and /api/dm/channels/{channel_id}/messages)
pub(super) async fn list(
    State(state): State<AppState>,
    AuthUser(user): AuthUser,
    Path(channel_id): Path<ChannelId>,
    Query(query): Query<MessageQuery>,
) -> ApiResult<axum::Json<Vec<Message>>> {
    Ok(axum::Json(state.rift.messages(user, channel_id, query).await?))
}

/// GET /api/messages/{message_id}
pub(super) async fn get(
    State(state): State<AppState>,
    AuthUser(user): AuthUser,
    Path(message_id): Path<MessageId>,
) -> ApiResult<axum::Json<Message>> {
    Ok(axum::Json(state.rift.message(user, message_id).await?))
}

/// PATCH /api/messages/{message_id}
pub(super) async fn edit(
    State(state): State<AppState>,
    AuthUser(user): AuthUser,
    Path(message_id): Path<MessageId>,
    Json(body): Json<EditBody>,
) -> ApiResult<axum::Json<Message>> {
    Ok(axum::Json(state.rift.edit_message(user, message_id, &body.content).await?))
}

/// DELETE /api/messages/{message_id}
pub(super) async fn delete(
    State(state): State<AppState>,
    AuthUser(user): AuthUser,
    Path(message_id): Path<MessageId>,
) -> ApiResult<StatusCode> {
    state.rift.delete_message(user, message_id).await?;
    Ok(StatusCode::NO_CONTENT)
}

/// GET /api/messages/{message_id}/history
pub(super) async fn history(
    State(state): State<AppState>,
    AuthUser(user): AuthUser,
    Path(message_id): Path<MessageId>,
) -> ApiResult<axum::Json<Vec<MessageHistoryEntry>>> {
    Ok(axum::Json(state.rift.message_history(user, message_id).await?))
}

/// PUT /api/messages/{message_id}/reactions/{emoji}
pub(super) async fn react(
    State(state): State<AppState>,
    AuthUser(user): AuthUser,
    Path((message_id, emoji)): Path<(MessageId, String)>,
) -> ApiResult<StatusCode> {
    state.rift.add_reaction(user, message_id, &emoji).await?;
    Ok(StatusCode::NO_CONTENT)
}

/// DELETE /api/messages/{message_id}/reactions/{emoji}
pub(super) async fn unreact(
    State(state): State<AppState>,
    AuthUser(user): AuthUser,
    Path((message_id, emoji)): Path<(MessageId, String)>,
) -> ApiResult<StatusCode> {
    state.rift.remove_reaction(user, message_id, &emoji, None).await?;
    Ok(StatusCode::NO_CONTENT)
}

/// DELETE /api/messages/{message_id}/reactions/{emoji}/{user_id}
pub(super) async fn unreact_user(
    State(state): State<AppState>,
    AuthUser(user): AuthUser,
    Path((message_id, emoji, target)): Path<(MessageId, String, UserId)>,
) -> ApiResult<StatusCode> {
    state.rift.remove_reaction(user, message_id, &emoji, Some(target)).await?;
    Ok(StatusCode::NO_CONTENT)
}
