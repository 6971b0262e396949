//! The web client: its built files at `/` when they exist, otherwise a page saying how to build it.

use std::path::Path;

use axum::Router;
use axum::response::Html;
use axum::routing::get;
use tower_http::services::{ServeDir, ServeFile};

use crate::AppState;

const NOT_BUILT: &str = "<!doctype html><meta charset=utf-8><title>Rift</title>\
<h1>Rift is running</h1><p>The web client is not built yet. Build it with \
<code>npm ci &amp;&amp; npm run build</code> in <code>client/</code>, then restart the server. \
The API is at <code>/api</code>.</p>";

pub(super) fn routes(client_dir: Option<&Path>) -> Router<AppState> {
    match client_dir {
        Some(dir) if dir.join("index.html").is_file() => {
            // Unknown paths get index.html, so the client's own routes survive a reload.
            let files = ServeDir::new(dir).fallback(ServeFile::new(dir.join("index.html")));
            Router::new().fallback_service(files)
        }
        _ => Router::new().fallback(get(|| async { Html(NOT_BUILT) })),
    }
}
