//! `/api/auth/*`: register, login, refresh, logout.

use axum::extract::State;
use axum::http::StatusCode;
use axum::response::IntoResponse;
use rift::{AuthSession, RegisterInput, TokenPair};
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
