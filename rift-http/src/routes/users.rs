//! `/api/users/*`: profiles and passwords.

use axum::extract::State;
use rift::UserId;
use rift::model::User;
use rift::{ProfileUpdate, TokenPair};
use serde::Deserialize;

use crate::extract::{AuthUser, Json, Path};
use crate::{ApiResult, AppState};

#[derive(Deserialize)]
pub(super) struct PasswordBody {
    current_password: String,
    new_password: String,
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

/// PUT /api/users/me/password
pub(super) async fn change_password(
    State(state): State<AppState>,
    AuthUser(user): AuthUser,
    Json(body): Json<PasswordBody>,
) -> ApiResult<axum::Json<TokenPair>> {
    Ok(axum::Json(state.rift.change_password(user, &body.current_password, &body.new_password).await?))
}

/// GET /api/users/{user_id}
pub(super) async fn user(
    State(state): State<AppState>,
    AuthUser(viewer): AuthUser,
    Path(user_id): Path<UserId>,
) -> ApiResult<axum::Json<User>> {
    Ok(axum::Json(state.rift.user(viewer, user_id).await?))
}
