//! `/api/servers/{id}/history-settings`: who sees a server's past and how long it is kept
//! (`rift/src/service/history.rs`).

use axum::extract::State;
use rift::HistorySettingsUpdate;
use rift::ServerId;
use rift::model::HistorySettings;

use crate::extract::{AuthUser, Json, Path};
use crate::{ApiResult, AppState};

/// GET /api/servers/{server_id}/history-settings
pub(super) async fn history_settings(
    State(state): State<AppState>,
    AuthUser(user): AuthUser,
    Path(server_id): Path<ServerId>,
) -> ApiResult<axum::Json<HistorySettings>> {
    Ok(axum::Json(state.rift.history_settings(user, server_id).await?))
}

/// PATCH /api/servers/{server_id}/history-settings
pub(super) async fn update_history_settings(
    State(state): State<AppState>,
    AuthUser(user): AuthUser,
    Path(server_id): Path<ServerId>,
    Json(body): Json<HistorySettingsUpdate>,
) -> ApiResult<axum::Json<HistorySettings>> {
    Ok(axum::Json(state.rift.update_history_settings(user, server_id, body).await?))
}
