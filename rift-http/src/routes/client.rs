//! The web client at `/`: its built files from a directory when it holds them, else the copy
//! compiled into the binary (`HttpConfig::embedded_client`), else a page saying how to build it.
//!
//! Every page answer carries a strict Content-Security-Policy. Hashed assets under `/assets/` are
//! cached for a year; everything else (`index.html`, the client's own routes) is `no-cache`. Paths
//! under `/api` never reach the client: an unknown one is the API's JSON 404. An embedded file
//! with a gzip copy is sent compressed to clients that accept gzip.
//!
//! No counterpart in `rift/src/service/`: static files, no domain rule.

use std::convert::Infallible;
use std::path::Path;

use axum::Router;
use axum::body::Body;
use axum::extract::Request;
use axum::http::{HeaderMap, HeaderValue, Method, StatusCode, header};
use axum::response::{Html, IntoResponse, Response};
use tower::ServiceExt;
use tower_http::services::{ServeDir, ServeFile};

use crate::{ApiError, AppState, EmbeddedFile};

const NOT_BUILT: &str = "<!doctype html><meta charset=utf-8><title>Rift</title>\
<h1>Rift is running</h1><p>The web client is not built yet. Build it with \
<code>npm ci &amp;&amp; npm run build</code> in <code>client/</code>, then restart the server. \
The API is at <code>/api</code>.</p>";

/// The policy for every page of the client: no inline scripts, nothing from other origins.
const CONTENT_SECURITY_POLICY: &str = "default-src 'self'; script-src 'self'; \
style-src 'self' 'unsafe-inline'; img-src 'self' data: blob:; connect-src 'self' ws: wss:; \
object-src 'none'; base-uri 'none'; frame-ancestors 'none'; form-action 'self'";

const IMMUTABLE: &str = "public, max-age=31536000, immutable";

/// A directory's two file services: hashed assets (a miss is a 404) and the app (a miss is
/// `index.html`, so the client's own routes survive a reload).
#[derive(Clone)]
struct DirFiles {
    assets: ServeDir,
    app: ServeDir<ServeFile>,
}

/// Where the client's files come from.
#[derive(Clone)]
enum Files {
    /// A directory's file services.
    Dir(Box<DirFiles>),
    /// The copy compiled into the binary, with the same rules.
    Embedded(&'static [EmbeddedFile]),
}

pub(super) fn routes(
    client_dir: Option<&Path>,
    embedded: Option<&'static [EmbeddedFile]>,
) -> Router<AppState> {
    let has_index = |files: &[EmbeddedFile]| files.iter().any(|f| f.path() == "index.html");
    let files = match (client_dir, embedded) {
        (Some(dir), _) if dir.join("index.html").is_file() => Some(Files::Dir(Box::new(DirFiles {
            assets: ServeDir::new(dir),
            app: ServeDir::new(dir).fallback(ServeFile::new(dir.join("index.html"))),
        }))),
        (_, Some(files)) if has_index(files) => Some(Files::Embedded(files)),
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
        Some(Files::Dir(dir)) if immutable => into_response(dir.assets.oneshot(request).await),
        Some(Files::Dir(dir)) => into_response(dir.app.oneshot(request).await),
        Some(Files::Embedded(files)) => {
            serve_embedded(files, request.method(), path, request.headers(), immutable)
        }
    };
    let cache = if immutable && response.status().is_success() { IMMUTABLE } else { "no-cache" };
    let headers = response.headers_mut();
    headers.insert(header::CACHE_CONTROL, HeaderValue::from_static(cache));
    headers.insert(header::CONTENT_SECURITY_POLICY, HeaderValue::from_static(CONTENT_SECURITY_POLICY));
    headers.insert(header::X_CONTENT_TYPE_OPTIONS, HeaderValue::from_static("nosniff"));
    headers.insert(header::REFERRER_POLICY, HeaderValue::from_static("no-referrer"));
    response
}

/// An embedded file by the rules of the directory services: an exact path, else (outside
/// `/assets/`) `index.html`; GET and HEAD only.
fn serve_embedded(
    files: &'static [EmbeddedFile],
    method: &Method,
    path: &str,
    headers: &HeaderMap,
    immutable: bool,
) -> Response {
    if method != Method::GET && method != Method::HEAD {
        return ApiError::method_not_allowed().into_response();
    }
    let wanted = path.trim_start_matches('/');
    let exact = files.iter().find(|f| !wanted.is_empty() && f.path() == wanted);
    let file = match exact {
        Some(file) => file,
        None if immutable => return (StatusCode::NOT_FOUND, "not found").into_response(),
        None => match files.iter().find(|f| f.path() == "index.html") {
            Some(index) => index,
            None => return Html(NOT_BUILT).into_response(),
        },
    };
    let gzip = file.gzip().filter(|_| accepts_gzip(headers));
    let body = gzip.unwrap_or(file.bytes());
    let mut response =
        if method == Method::HEAD { Response::new(Body::empty()) } else { Response::new(Body::from(body)) };
    let out = response.headers_mut();
    out.insert(header::CONTENT_TYPE, HeaderValue::from_static(file.content_type()));
    out.insert(header::CONTENT_LENGTH, HeaderValue::from(body.len()));
    if file.gzip().is_some() {
        out.insert(header::VARY, HeaderValue::from_static("accept-encoding"));
    }
    if gzip.is_some() {
        out.insert(header::CONTENT_ENCODING, HeaderValue::from_static("gzip"));
    }
    response
}

/// Whether `Accept-Encoding` admits gzip (named without `q=0`, or `*`).
fn accepts_gzip(headers: &HeaderMap) -> bool {
    headers.get_all(header::ACCEPT_ENCODING).iter().filter_map(|v| v.to_str().ok()).any(|value| {
        value.split(',').any(|coding| {
            let mut parts = coding.split(';').map(str::trim);
            let name = parts.next().unwrap_or_default();
            let refused = parts
                .any(|p| p.replace(' ', "").eq_ignore_ascii_case("q=0") || p.replace(' ', "") == "q=0.0");
            (name.eq_ignore_ascii_case("gzip") || name == "*") && !refused
        })
    })
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
