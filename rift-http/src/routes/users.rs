//! `POST /api/auth/register` and `/api/users/*`: accounts and profiles (`rift/src/service/users.rs`).

use axum::extract::State;
use axum::http::StatusCode;
use axum::response::IntoResponse;
use rift::UserId;
use rift::model::User;
use rift::{AuthSession, ProfileUpdate, RegisterInput};

use crate::extract::{AuthUser, ClientIp, Json, Path};
use crate::{ApiResult, AppState};

/// POST /api/auth/register
pub(super) async fn register(
    State(state): State<AppState>,
    ClientIp(ip): ClientIp,
    Json(body): Json<RegisterInput>,
) -> ApiResult<impl IntoResponse> {
    state.check_auth_rate(ip)?;
    let session: AuthSession = state.rift.register(body).await?;
    Ok((StatusCode::CREATED, axum::Json(session)))
}

/// GET /api/users/me
pub(super) async fn me(
    State(state): State<AppState>,
    AuthUser(user): AuthUser,
) -> ApiResult<axum::Json<User>> {
    Ok(axum::Json(state.rift.me(user).await?))
}

/// PATCH /api/users/me
pub(super) async fn update_me(
    State(state): State<AppState>,
    AuthUser(user): AuthUser,
    Json(body): Json<ProfileUpdate>,
) -> ApiResult<axum::Json<User>> {
    Ok(axum::Json(state.rift.update_profile(user, body).await?))
}

/// GET /api/users/{user_id}
pub(super) async fn user(
    State(state): State<AppState>,
    AuthUser(viewer): AuthUser,
    Path(user_id): Path<UserId>,
) -> ApiResult<axum::Json<User>> {
    Ok(axum::Json(state.rift.user(viewer, user_id).await?))
}
