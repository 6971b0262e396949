//! `/api/servers/{id}/roles` and `/api/roles/*`: roles and who holds them (`rift/src/service/roles.rs`).

use axum::extract::State;
use axum::http::StatusCode;
use axum::response::IntoResponse;
use rift::model::Role;
use rift::{RoleId, ServerId, UserId};
use rift::{RoleInput, RoleUpdate};

use crate::extract::{AuthUser, Json, Path};
use crate::{ApiResult, AppState};

/// POST /api/servers/{server_id}/roles
pub(super) async fn create_role(
    State(state): State<AppState>,
    AuthUser(user): AuthUser,
    Path(server_id): Path<ServerId>,
    Json(body): Json<RoleInput>,
) -> ApiResult<impl IntoResponse> {
    Ok((StatusCode::CREATED, axum::Json(state.rift.create_role(user, server_id, body).await?)))
}

/// GET /api/servers/{server_id}/roles
pub(super) async fn roles(
    State(state): State<AppState>,
    AuthUser(user): AuthUser,
    Path(server_id): Path<ServerId>,
) -> ApiResult<axum::Json<Vec<Role>>> {
    Ok(axum::Json(state.rift.roles(user, server_id).await?))
}

/// PATCH /api/roles/{role_id}
pub(super) async fn update_role(
    State(state): State<AppState>,
    AuthUser(user): AuthUser,
    Path(role_id): Path<RoleId>,
    Json(body): Json<RoleUpdate>,
) -> ApiResult<axum::Json<Role>> {
    Ok(axum::Json(state.rift.update_role(user, role_id, body).await?))
}

/// DELETE /api/roles/{role_id}
pub(super) async fn delete_role(
    State(state): State<AppState>,
    AuthUser(user): AuthUser,
    Path(role_id): Path<RoleId>,
) -> ApiResult<StatusCode> {
    state.rift.delete_role(user, role_id).await?;
    Ok(StatusCode::NO_CONTENT)
}

/// POST /api/roles/{role_id}/members/{user_id}
pub(super) async fn assign_role(
    State(state): State<AppState>,
    AuthUser(user): AuthUser,
    Path((role_id, target)): Path<(RoleId, UserId)>,
) -> ApiResult<StatusCode> {
    state.rift.set_member_role(user, role_id, target, true).await?;
    Ok(StatusCode::NO_CONTENT)
}

/// DELETE /api/roles/{role_id}/members/{user_id}
pub(super) async fn unassign_role(
    State(state): State<AppState>,
    AuthUser(user): AuthUser,
    Path((role_id, target)): Path<(RoleId, UserId)>,
) -> ApiResult<StatusCode> {
    state.rift.set_member_role(user, role_id, target, false).await?;
    Ok(StatusCode::NO_CONTENT)
}
