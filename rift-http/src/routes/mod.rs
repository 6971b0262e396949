//! The route table: every route is in [`routes`], and nowhere else.
//!
//! The modules mirror `rift/src/service/` file for file: a handler lives in the module named like the
//! service file whose function it calls (`pins.rs` calls `service/pins.rs`, …), is headed by its
//! route, and does extract → one service call → map. Three modules have no service counterpart:
//! `client` (the static web client), `health` (`/api/health`) and `imports` (import jobs).
//! `GET /metrics` is `crate::metrics` and `/ws` is `crate::gateway`.

// One per `rift/src/service/` file that has routes.
mod auth;
mod bridges;
mod channels;
mod dms;
mod history;
mod invites;
mod messages;
mod pins;
mod presence;
mod roles;
mod search;
mod servers;
mod uploads;
mod users;
// No service counterpart.
mod client;
mod health;
mod imports;

use axum::Router;
use axum::extract::{DefaultBodyLimit, Request};
use axum::http::HeaderName;
use axum::middleware::Next;
use axum::response::Response;
use axum::routing::{delete, get, patch, post, put};

use crate::error::InternalCause;
use crate::{ApiError, AppState};

pub(crate) fn routes(state: &AppState) -> Router<AppState> {
    let upload_limit =
        usize::try_from(state.config.max_upload_bytes).unwrap_or(usize::MAX).saturating_add(64 * 1024);
    let import_limit =
        usize::try_from(state.config.max_import_bytes).unwrap_or(usize::MAX).saturating_add(64 * 1024);
    let api = Router::new()
        // auth
        .route("/auth/login", post(auth::login))
        .route("/auth/refresh", post(auth::refresh))
        .route("/auth/logout", post(auth::logout))
        .route("/auth/logout-all", post(auth::logout_all))
        .route("/users/me/password", put(auth::change_password))
        // bridges
        .route("/bridges/discord", post(bridges::create).get(bridges::list))
        .route("/bridges/discord/{id}", get(bridges::get).delete(bridges::delete))
        .route("/bridges/discord/{id}/backfill", post(bridges::backfill))
        .route("/bridges/discord/{id}/pause", post(bridges::pause))
        .route("/bridges/discord/{id}/resume", post(bridges::resume))
        // channels
        .route("/servers/{server_id}/channels", post(channels::create).get(channels::list))
        .route("/channels/{channel_id}", get(channels::get).patch(channels::update).delete(channels::delete))
        .route(
            "/channels/{channel_id}/permissions/{target_id}",
            put(channels::put_overwrite).delete(channels::delete_overwrite),
        )
        .route("/channels/{channel_id}/ack", put(channels::ack))
        // dms
        .route("/dm/channels", post(dms::open_dm).get(dms::dm_channels))
        // history
        .route(
            "/servers/{server_id}/history-settings",
            get(history::history_settings).patch(history::update_history_settings),
        )
        // invites
        .route("/servers/{server_id}/invites", post(invites::create_invite).get(invites::invites))
        .route("/invites/{code}", get(invites::invite).delete(invites::revoke_invite))
        // messages
        .route("/channels/{channel_id}/messages", post(messages::send).get(messages::list))
        .route("/dm/channels/{channel_id}/messages", post(messages::send).get(messages::list))
        .route("/messages/{message_id}", get(messages::get).patch(messages::edit).delete(messages::delete))
        .route("/messages/{message_id}/history", get(messages::history))
        .route("/messages/{message_id}/reactions/{emoji}", put(messages::react).delete(messages::unreact))
        .route("/messages/{message_id}/reactions/{emoji}/{user_id}", delete(messages::unreact_user))
        // pins
        .route("/channels/{channel_id}/pins", get(pins::pins))
        .route("/channels/{channel_id}/pins/{message_id}", put(pins::pin).delete(pins::unpin))
        // presence
        .route("/channels/{channel_id}/typing", post(presence::typing))
        // roles
        .route("/servers/{server_id}/roles", post(roles::create_role).get(roles::roles))
        .route("/roles/{role_id}", patch(roles::update_role).delete(roles::delete_role))
        .route("/roles/{role_id}/members/{user_id}", post(roles::assign_role).delete(roles::unassign_role))
        // search
        .route("/search", get(search::search))
        // servers
        .route("/servers", post(servers::create).get(servers::list))
        .route("/servers/{server_id}", get(servers::get).patch(servers::update).delete(servers::delete))
        .route("/servers/{server_id}/members", get(servers::members))
        .route("/servers/{server_id}/members/{user_id}", delete(servers::kick))
        .route("/servers/{server_id}/join", post(servers::join))
        .route("/servers/{server_id}/bans", get(servers::bans))
        .route("/servers/{server_id}/bans/{user_id}", put(servers::ban).delete(servers::unban))
        .route("/servers/{server_id}/audit-log", get(servers::audit_log))
        .route("/users/me/servers/{server_id}", delete(servers::leave))
        // uploads (downloads are outside /api, below)
        .route("/upload", post(uploads::upload).layer(DefaultBodyLimit::max(upload_limit)))
        // users
        .route("/auth/register", post(users::register))
        .route("/users/me", get(users::me).patch(users::update_me))
        .route("/users/{user_id}", get(users::user))
        // health
        .route("/health", get(health::health))
        // imports
        .route("/imports", get(imports::list))
        .route("/imports/discord", post(imports::create_discord).layer(DefaultBodyLimit::max(import_limit)))
        .route("/imports/{id}", get(imports::get))
        .fallback(unknown_route)
        .method_not_allowed_fallback(method_not_allowed);
    Router::new()
        .nest("/api", api)
        // uploads
        .route("/files/{upload_id}/{secret}/{filename}", get(uploads::download))
        // the gateway and metrics, outside `routes/`
        .route("/ws", get(crate::gateway::upgrade))
        .route("/metrics", get(crate::metrics::serve))
        // client
        .merge(client::routes(state.config.client_dir.as_deref(), state.config.embedded_client))
        .method_not_allowed_fallback(method_not_allowed)
}

async fn unknown_route() -> ApiError {
    ApiError::unknown_route()
}

async fn method_not_allowed() -> ApiError {
    ApiError::method_not_allowed()
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
