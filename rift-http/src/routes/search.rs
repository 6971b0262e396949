//! `GET /api/search`: message search (`rift/src/service/search.rs`).

use axum::extract::State;
use axum::http::StatusCode;
use rift::{ChannelId, ServerId, Timestamp, UserId};
use rift::{SearchHit, SearchParams};
use serde::Deserialize;

use crate::extract::{AuthUser, Query};
use crate::{ApiError, ApiResult, AppState};

#[derive(Deserialize)]
pub(super) struct SearchQueryParams {
    #[serde(default)]
    q: String,
    #[serde(default)]
    server_id: Option<ServerId>,
    #[serde(default)]
    channel_id: Option<ChannelId>,
    #[serde(default)]
    author_id: Option<UserId>,
    #[serde(default)]
    before: Option<Timestamp>,
    #[serde(default)]
    after: Option<Timestamp>,
    #[serde(default)]
    has: Option<String>,
    #[serde(default)]
    limit: Option<u32>,
}

/// GET /api/search
pub(super) async fn search(
    State(state): State<AppState>,
    AuthUser(user): AuthUser,
    Query(query): Query<SearchQueryParams>,
) -> ApiResult<axum::Json<Vec<SearchHit>>> {
    let has_attachment = match query.has.as_deref() {
        None => false,
        Some("attachment") => true,
        Some(_) => {
            return Err(ApiError::new(
                StatusCode::BAD_REQUEST,
                rift::ErrorCode::InvalidQuery,
                "has must be `attachment`",
            ));
        }
    };
    let mut params = SearchParams::text(query.q);
    params.server_id = query.server_id;
    params.channel_id = query.channel_id;
    params.author_id = query.author_id;
    params.before = query.before;
    params.after = query.after;
    params.has_attachment = has_attachment;
    params.limit = query.limit;
    Ok(axum::Json(state.rift.search(user, params).await?))
}
