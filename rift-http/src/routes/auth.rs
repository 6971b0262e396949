//! `/api/auth/*` and `PUT /api/users/me/password`: sign-in, token refresh, sign-out and password
//! changes (`rift/src/service/auth.rs`). Registering creates a user, so it is in `users.rs`.

use axum::extract::State;
use axum::http::StatusCode;
use rift::{AuthSession, TokenPair};
use serde::Deserialize;

use crate::extract::{AuthUser, ClientIp, Json};
use crate::{ApiResult, AppState};

#[derive(Deserialize)]
pub(super) struct LoginBody {
    username: String,
    password: String,
}

#[derive(Deserialize)]
pub(super) struct RefreshBody {
    refresh_token: String,
}

#[derive(Deserialize)]
pub(super) struct PasswordBody {
    current_password: String,
    new_password: String,
}

/// POST /api/auth/login
pub(super) async fn login(
    State(state): State<AppState>,
    ClientIp(ip): ClientIp,
    Json(body): Json<LoginBody>,
) -> ApiResult<axum::Json<AuthSession>> {
    state.check_auth_rate(ip)?;
    Ok(axum::Json(state.rift.login(&body.username, &body.password).await?))
}

/// POST /api/auth/refresh
pub(super) async fn refresh(
    State(state): State<AppState>,
    ClientIp(ip): ClientIp,
    Json(body): Json<RefreshBody>,
) -> ApiResult<axum::Json<TokenPair>> {
    state.check_auth_rate(ip)?;
    Ok(axum::Json(state.rift.refresh(&body.refresh_token).await?))
}

/// POST /api/auth/logout
pub(super) async fn logout(
    State(state): State<AppState>,
    AuthUser(user): AuthUser,
    Json(body): Json<RefreshBody>,
) -> ApiResult<StatusCode> {
    state.rift.logout(user, &body.refresh_token).await?;
    Ok(StatusCode::NO_CONTENT)
}

/// POST /api/auth/logout-all
pub(super) async fn logout_all(
    State(state): State<AppState>,
    AuthUser(user): AuthUser,
) -> ApiResult<StatusCode> {
    state.rift.logout_all(user).await?;
    Ok(StatusCode::NO_CONTENT)
}

/// PUT /api/users/me/password
pub(super) async fn change_password(
    State(state): State<AppState>,
    AuthUser(user): AuthUser,
    Json(body): Json<PasswordBody>,
) -> ApiResult<axum::Json<TokenPair>> {
    Ok(axum::Json(state.rift.change_password(user, &body.current_password, &body.new_password).await?))
}
