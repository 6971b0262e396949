//! `/api/servers/{id}/invites` and `/api/invites/*`: invites (`rift/src/service/invites.rs`).

use axum::extract::State;
use axum::http::StatusCode;
use axum::response::IntoResponse;
use rift::InviteInput;
use rift::ServerId;
use rift::model::Invite;

use crate::extract::{AuthUser, JsonOrEmpty, Path};
use crate::{ApiResult, AppState};

/// POST /api/servers/{server_id}/invites
pub(super) async fn create_invite(
    State(state): State<AppState>,
    AuthUser(user): AuthUser,
    Path(server_id): Path<ServerId>,
    JsonOrEmpty(input): JsonOrEmpty<InviteInput>,
) -> ApiResult<impl IntoResponse> {
    Ok((StatusCode::CREATED, axum::Json(state.rift.create_invite(user, server_id, input).await?)))
}

/// GET /api/servers/{server_id}/invites
pub(super) async fn invites(
    State(state): State<AppState>,
    AuthUser(user): AuthUser,
    Path(server_id): Path<ServerId>,
) -> ApiResult<axum::Json<Vec<Invite>>> {
    Ok(axum::Json(state.rift.invites(user, server_id).await?))
}

/// GET /api/invites/{code} (no sign-in needed)
pub(super) async fn invite(
    State(state): State<AppState>,
    Path(code): Path<String>,
) -> ApiResult<axum::Json<Invite>> {
    Ok(axum::Json(state.rift.invite(&code).await?))
}

/// DELETE /api/invites/{code}
pub(super) async fn revoke_invite(
    State(state): State<AppState>,
    AuthUser(user): AuthUser,
    Path(code): Path<String>,
) -> ApiResult<StatusCode> {
    state.rift.revoke_invite(user, &code).await?;
    Ok(StatusCode::NO_CONTENT)
}
