//! The web client: its built files at `/` when they exist, otherwise a page saying how to build it.
//!
//! Every page answer carries a strict Content-Security-Policy. Hashed assets under `/assets/` are
//! cached for a year; everything else (`index.html`, the client's own routes) is `no-cache`. Paths
//! under `/api` never reach the client: an unknown one is the API's JSON 404.

use std::convert::Infallible;
use std::path::Path;

use axum::Router;
use axum::body::Body;
use axum::extract::Request;
use axum::http::{HeaderValue, header};
use axum::response::{Html, IntoResponse, Response};
use tower::ServiceExt;
use tower_http::services::{ServeDir, ServeFile};

use crate::{ApiError, AppState};

const NOT_BUILT: &str = "<!doctype html><meta charset=utf-8><title>Rift</title>\
<h1>Rift is running</h1><p>The web client is not built yet. Build it with \
<code>npm ci &amp;&amp; npm run build</code> in <code>client/</code>, then restart the server. \
The API is at <code>/api</code>.</p>";

/// The policy for every page of the client: no inline scripts, nothing from other origins.
const CONTENT_SECURITY_POLICY: &str = "default-src 'self'; script-src 'self'; \
style-src 'self' 'unsafe-inline'; img-src 'self' data: blob:; connect-src 'self' ws: wss:; \
object-src 'none'; base-uri 'none'; frame-ancestors 'none'; form-action 'self'";

const IMMUTABLE: &str = "public, max-age=31536000, immutable";

/// The built client's two file services: hashed assets (a miss is a 404) and the app (a miss is
/// `index.html`, so the client's own routes survive a reload).
#[derive(Clone)]
struct Files {
    assets: ServeDir,
    app: ServeDir<ServeFile>,
}

pub(super) fn routes(client_dir: Option<&Path>) -> Router<AppState> {
    let files = match client_dir {
        Some(dir) if dir.join("index.html").is_file() => Some(Files {
            assets: ServeDir::new(dir),
            app: ServeDir::new(dir).fallback(ServeFile::new(dir.join("index.html"))),
        }),
        _ => None,
    };
    Router::new().fallback(move |request: Request| serve(files.clone(), request))
}

async fn serve(files: Option<Files>, request: Request) -> Response {
    let path = request.uri().path();
    if path == "/api" || path.starts_with("/api/") {
        return ApiError::unknown_route().into_response();
    }
    let immutable = path.starts_with("/assets/");
    let mut response = match files {
        None => Html(NOT_BUILT).into_response(),
        Some(files) if immutable => into_response(files.assets.oneshot(request).await),
        Some(files) => into_response(files.app.oneshot(request).await),
    };
    let cache = if immutable && response.status().is_success() { IMMUTABLE } else { "no-cache" };
    let headers = response.headers_mut();
    headers.insert(header::CACHE_CONTROL, HeaderValue::from_static(cache));
    headers.insert(header::CONTENT_SECURITY_POLICY, HeaderValue::from_static(CONTENT_SECURITY_POLICY));
    headers.insert(header::X_CONTENT_TYPE_OPTIONS, HeaderValue::from_static("nosniff"));
    headers.insert(header::REFERRER_POLICY, HeaderValue::from_static("no-referrer"));
    response
}

fn into_response<B>(result: Result<axum::http::Response<B>, Infallible>) -> Response
where
    B: axum::body::HttpBody<Data = axum::body::Bytes> + Send + 'static,
    B::Error: Into<axum::BoxError>,
{
    match result {
        Ok(response) => response.map(Body::new),
        Err(never) => match never {},
    }
}
