//! `GET /api/health`: whether the database answers, with the version and the database kind.
//!
//! No file of its own in `rift/src/service/`: it asks `Rift::health`. `GET /metrics` is the other
//! operator's route; it is served by `crate::metrics`, which also keeps the counters.

use axum::extract::State;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use serde_json::json;

use crate::AppState;

/// GET /api/health
pub(super) async fn health(State(state): State<AppState>) -> Response {
    let version = env!("CARGO_PKG_VERSION");
    match state.rift.health().await {
        Ok(database) => {
            axum::Json(json!({ "status": "ok", "version": version, "database": database })).into_response()
        }
        Err(error) => {
            tracing::error!(%error, "health check: database unreachable");
            let body =
                json!({ "status": "unavailable", "version": version, "database": state.rift.backend_name() });
            (StatusCode::SERVICE_UNAVAILABLE, axum::Json(body)).into_response()
        }
    }
}
