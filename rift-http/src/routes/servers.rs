//! `/api/servers/*` and leaving one: servers, members, joining, bans and the audit log
//! (`rift/src/service/servers.rs`).

use axum::extract::State;
use axum::http::StatusCode;
use axum::response::IntoResponse;
use rift::ServerUpdate;
use rift::model::{AuditEntry, Ban, Member, Server};
use rift::{AuditEntryId, ServerId, UserId};
use serde::Deserialize;

use crate::extract::{AuthUser, Json, JsonOrEmpty, Path, Query};
use crate::{ApiResult, AppState};

#[derive(Deserialize)]
pub(super) struct CreateServer {
    name: String,
}

#[derive(Deserialize)]
pub(super) struct JoinBody {
    code: String,
}

#[derive(Deserialize, Default)]
pub(super) struct BanBody {
    #[serde(default)]
    reason: Option<String>,
}

#[derive(Deserialize)]
pub(super) struct UserPage {
    #[serde(default)]
    after: Option<UserId>,
    #[serde(default)]
    limit: Option<u32>,
}

#[derive(Deserialize)]
pub(super) struct AuditPage {
    #[serde(default)]
    before: Option<AuditEntryId>,
    #[serde(default)]
    limit: Option<u32>,
}

/// POST /api/servers
pub(super) async fn create(
    State(state): State<AppState>,
    AuthUser(user): AuthUser,
    Json(body): Json<CreateServer>,
) -> ApiResult<impl IntoResponse> {
    let server = state.rift.create_server(user, &body.name).await?;
    Ok((StatusCode::CREATED, axum::Json(server)))
}

/// GET /api/servers
pub(super) async fn list(
    State(state): State<AppState>,
    AuthUser(user): AuthUser,
) -> ApiResult<axum::Json<Vec<Server>>> {
    Ok(axum::Json(state.rift.servers(user).await?))
}

/// GET /api/servers/{server_id}
pub(super) async fn get(
    State(state): State<AppState>,
    AuthUser(user): AuthUser,
    Path(server_id): Path<ServerId>,
) -> ApiResult<axum::Json<Server>> {
    Ok(axum::Json(state.rift.server(user, server_id).await?))
}

/// PATCH /api/servers/{server_id}
pub(super) async fn update(
    State(state): State<AppState>,
    AuthUser(user): AuthUser,
    Path(server_id): Path<ServerId>,
    Json(body): Json<ServerUpdate>,
) -> ApiResult<axum::Json<Server>> {
    Ok(axum::Json(state.rift.update_server(user, server_id, body).await?))
}

/// DELETE /api/servers/{server_id}
pub(super) async fn delete(
    State(state): State<AppState>,
    AuthUser(user): AuthUser,
    Path(server_id): Path<ServerId>,
) -> ApiResult<StatusCode> {
    state.rift.delete_server(user, server_id).await?;
    Ok(StatusCode::NO_CONTENT)
}

/// GET /api/servers/{server_id}/members
pub(super) async fn members(
    State(state): State<AppState>,
    AuthUser(user): AuthUser,
    Path(server_id): Path<ServerId>,
    Query(page): Query<UserPage>,
) -> ApiResult<axum::Json<Vec<Member>>> {
    Ok(axum::Json(state.rift.members(user, server_id, page.after, page.limit).await?))
}

/// DELETE /api/servers/{server_id}/members/{user_id}
pub(super) async fn kick(
    State(state): State<AppState>,
    AuthUser(user): AuthUser,
    Path((server_id, target)): Path<(ServerId, UserId)>,
) -> ApiResult<StatusCode> {
    state.rift.kick(user, server_id, target).await?;
    Ok(StatusCode::NO_CONTENT)
}

/// DELETE /api/users/me/servers/{server_id}
pub(super) async fn leave(
    State(state): State<AppState>,
    AuthUser(user): AuthUser,
    Path(server_id): Path<ServerId>,
) -> ApiResult<StatusCode> {
    state.rift.leave(user, server_id).await?;
    Ok(StatusCode::NO_CONTENT)
}

/// POST /api/servers/{server_id}/join
pub(super) async fn join(
    State(state): State<AppState>,
    AuthUser(user): AuthUser,
    Path(server_id): Path<ServerId>,
    Json(body): Json<JoinBody>,
) -> ApiResult<axum::Json<Server>> {
    Ok(axum::Json(state.rift.join_server(user, server_id, &body.code).await?))
}

/// GET /api/servers/{server_id}/bans
pub(super) async fn bans(
    State(state): State<AppState>,
    AuthUser(user): AuthUser,
    Path(server_id): Path<ServerId>,
    Query(page): Query<UserPage>,
) -> ApiResult<axum::Json<Vec<Ban>>> {
    Ok(axum::Json(state.rift.bans(user, server_id, page.after, page.limit).await?))
}

/// PUT /api/servers/{server_id}/bans/{user_id}
pub(super) async fn ban(
    State(state): State<AppState>,
    AuthUser(user): AuthUser,
    Path((server_id, target)): Path<(ServerId, UserId)>,
    JsonOrEmpty(body): JsonOrEmpty<BanBody>,
) -> ApiResult<StatusCode> {
    state.rift.ban(user, server_id, target, body.reason).await?;
    Ok(StatusCode::NO_CONTENT)
}

/// DELETE /api/servers/{server_id}/bans/{user_id}
pub(super) async fn unban(
    State(state): State<AppState>,
    AuthUser(user): AuthUser,
    Path((server_id, target)): Path<(ServerId, UserId)>,
) -> ApiResult<StatusCode> {
    state.rift.unban(user, server_id, target).await?;
    Ok(StatusCode::NO_CONTENT)
}

/// GET /api/servers/{server_id}/audit-log
pub(super) async fn audit_log(
    State(state): State<AppState>,
    AuthUser(user): AuthUser,
    Path(server_id): Path<ServerId>,
    Query(page): Query<AuditPage>,
) -> ApiResult<axum::Json<Vec<AuditEntry>>> {
    Ok(axum::Json(state.rift.audit_log(user, server_id, page.before, page.limit).await?))
}
