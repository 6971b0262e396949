//! The route table. One module per resource; each handler is headed by its route and does
//! extract → one service call → map.

mod auth;
mod bridges;
mod channels;
mod client;
mod imports;
mod messages;
mod servers;
mod users;

use axum::Router;
use axum::extract::{DefaultBodyLimit, Request, State};
use axum::http::{HeaderName, StatusCode};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post, put};
use serde_json::json;

use crate::error::InternalCause;
use crate::{ApiError, AppState, uploads};

pub(crate) fn routes(state: &AppState) -> Router<AppState> {
    let upload_limit =
        usize::try_from(state.config.max_upload_bytes).unwrap_or(usize::MAX).saturating_add(64 * 1024);
    let import_limit =
        usize::try_from(state.config.max_import_bytes).unwrap_or(usize::MAX).saturating_add(64 * 1024);
    let api = Router::new()
        .route("/health", get(health))
        .route("/auth/register", post(auth::register))
        .route("/auth/login", post(auth::login))
        .route("/auth/refresh", post(auth::refresh))
        .route("/auth/logout", post(auth::logout))
        .route("/auth/logout-all", post(auth::logout_all))
        .route("/users/me", get(users::me).patch(users::update_me))
        .route("/users/me/password", put(users::change_password))
        .route("/users/me/servers/{server_id}", axum::routing::delete(servers::leave))
        .route("/users/{user_id}", get(users::user))
        .route("/servers", post(servers::create).get(servers::list))
        .route("/servers/{server_id}", get(servers::get).patch(servers::update).delete(servers::delete))
        .route("/servers/{server_id}/members", get(servers::members))
        .route("/servers/{server_id}/members/{user_id}", axum::routing::delete(servers::kick))
        .route("/servers/{server_id}/join", post(servers::join))
        .route("/servers/{server_id}/bans", get(servers::bans))
        .route("/servers/{server_id}/bans/{user_id}", put(servers::ban).delete(servers::unban))
        .route("/servers/{server_id}/audit-log", get(servers::audit_log))
        .route(
            "/servers/{server_id}/history-settings",
            get(servers::history_settings).patch(servers::update_history_settings),
        )
        .route("/servers/{server_id}/channels", post(channels::create).get(channels::list))
        .route("/servers/{server_id}/roles", post(servers::create_role).get(servers::roles))
        .route("/servers/{server_id}/invites", post(servers::create_invite).get(servers::invites))
        .route("/roles/{role_id}", axum::routing::patch(servers::update_role).delete(servers::delete_role))
        .route(
            "/roles/{role_id}/members/{user_id}",
            post(servers::assign_role).delete(servers::unassign_role),
        )
        .route("/invites/{code}", get(servers::invite).delete(servers::revoke_invite))
        .route("/channels/{channel_id}", get(channels::get).patch(channels::update).delete(channels::delete))
        .route(
            "/channels/{channel_id}/permissions/{target_id}",
            put(channels::put_overwrite).delete(channels::delete_overwrite),
        )
        .route("/channels/{channel_id}/messages", post(messages::send).get(messages::list))
        .route("/channels/{channel_id}/ack", put(channels::ack))
        .route("/channels/{channel_id}/pins", get(messages::pins))
        .route("/channels/{channel_id}/pins/{message_id}", put(messages::pin).delete(messages::unpin))
        .route("/channels/{channel_id}/typing", post(channels::typing))
        .route("/dm/channels", post(channels::open_dm).get(channels::dm_channels))
        .route("/dm/channels/{channel_id}/messages", post(messages::send).get(messages::list))
        .route("/messages/{message_id}", get(messages::get).patch(messages::edit).delete(messages::delete))
        .route("/messages/{message_id}/history", get(messages::history))
        .route("/messages/{message_id}/reactions/{emoji}", put(messages::react).delete(messages::unreact))
        .route(
            "/messages/{message_id}/reactions/{emoji}/{user_id}",
            axum::routing::delete(messages::unreact_user),
        )
        .route("/search", get(messages::search))
        .route("/bridges/discord", post(bridges::create).get(bridges::list))
        .route("/bridges/discord/{id}", get(bridges::get).delete(bridges::delete))
        .route("/bridges/discord/{id}/backfill", post(bridges::backfill))
        .route("/bridges/discord/{id}/pause", post(bridges::pause))
        .route("/bridges/discord/{id}/resume", post(bridges::resume))
        .route("/upload", post(uploads::upload).layer(DefaultBodyLimit::max(upload_limit)))
        .route("/imports", get(imports::list))
        .route("/imports/discord", post(imports::create_discord).layer(DefaultBodyLimit::max(import_limit)))
        .route("/imports/{id}", get(imports::get))
        .fallback(unknown_route)
        .method_not_allowed_fallback(method_not_allowed);
    Router::new()
        .nest("/api", api)
        .route("/files/{upload_id}/{secret}/{filename}", get(uploads::download))
        .route("/ws", get(crate::gateway::upgrade))
        .route("/metrics", get(crate::metrics::serve))
        .merge(client::routes(state.config.client_dir.as_deref(), state.config.embedded_client))
        .method_not_allowed_fallback(method_not_allowed)
}

async fn unknown_route() -> ApiError {
    ApiError::unknown_route()
}

async fn method_not_allowed() -> ApiError {
    ApiError::method_not_allowed()
}

/// GET /api/health
async fn health(State(state): State<AppState>) -> Response {
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

/// Logs the cause of every 500 with its request id; the client only sees "internal error".
pub(crate) async fn log_internal_errors(request: Request, next: Next) -> Response {
    let request_id = request
        .headers()
        .get(HeaderName::from_static("x-request-id"))
        .and_then(|v| v.to_str().ok())
        .unwrap_or("-")
        .to_owned();
    let method = request.method().clone();
    let path = request.uri().path().to_owned();
    let response = next.run(request).await;
    if let Some(InternalCause(cause)) = response.extensions().get::<InternalCause>() {
        tracing::error!(%request_id, %method, %path, %cause, "internal error");
    }
    response
}
