//! # rift-http
//!
//! Rift's HTTP face: the REST API under `/api`, the real-time gateway at `/ws`, file downloads
//! under `/files`, and the built web client at `/`. [`router`] builds it all from the service layer, so an application can serve it
//! as is or `nest` it inside its own axum app. Handlers only translate HTTP to service calls and
//! service errors to responses (in [`error`]); every rule lives in `rift`'s service layer ([`rift::Rift`]).
//!
//! ```
//! # #[tokio::main(flavor = "current_thread")]
//! # async fn main() -> Result<(), Box<dyn std::error::Error>> {
//! # let dir = tempfile::tempdir()?;
//! # let store = rift_store::connect(&format!("sqlite://{}", dir.path().join("rift.db").display())).await?;
//! # let config = rift::Config::new(b"a long random secret for tokens".to_vec());
//! # let rift = rift::Rift::new(std::sync::Arc::new(store), config);
//! let state = rift_http::AppState::new(rift, rift_http::HttpConfig::new(dir.path().join("uploads")));
//! let app = rift_http::router(state).into_make_service_with_connect_info::<std::net::SocketAddr>();
//! let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await?;
//! let addr = listener.local_addr()?;
//! tokio::spawn(async move { axum::serve(listener, app).await });
//!
//! let health: serde_json::Value = reqwest::get(format!("http://{addr}/api/health")).await?.json().await?;
//! assert_eq!(health["status"], "ok");
//! # Ok(())
//! # }
//! ```

mod embedded;
pub mod error;
pub mod extract;
mod gateway;
mod metrics;
mod routes;

use std::net::IpAddr;
use std::path::PathBuf;
use std::sync::Arc;

use axum::Router;
use axum::extract::DefaultBodyLimit;
use axum::http::{HeaderName, HeaderValue, Method, header};
use rift::bridge::BridgeManager;
use rift::import::ImportJobs;
use rift::{RateLimiter, Rift};
use tower_http::cors::{AllowOrigin, CorsLayer};
use tower_http::request_id::{MakeRequestUuid, PropagateRequestIdLayer, SetRequestIdLayer};

pub use embedded::{EmbeddedFile, content_type};
pub use error::{ApiError, ApiResult};
pub use gateway::{GatewayConfig, RestoredSessions};
pub use rift::files::DirFileStore;

/// Settings of the HTTP layer.
#[derive(Debug, Clone)]
#[non_exhaustive]
pub struct HttpConfig {
    /// Where uploaded files are stored.
    pub upload_dir: PathBuf,
    /// Largest upload in bytes (default 25 MiB); the request may be 64 KiB larger.
    pub max_upload_bytes: u64,
    /// Largest import file in bytes (default 2 GiB; it is streamed to disk, never held whole).
    pub max_import_bytes: u64,
    /// Largest JSON body (1 MiB).
    pub max_json_bytes: usize,
    /// The built web client on disk, served at `/` when it holds an `index.html` (before
    /// `embedded_client`).
    pub client_dir: Option<PathBuf>,
    /// A web client compiled into the binary, served at `/` when `client_dir` serves nothing.
    pub embedded_client: Option<&'static [EmbeddedFile]>,
    /// Origins allowed by CORS (none: same origin only).
    pub cors_allowed_origins: Vec<String>,
    /// Per-address limit on register/login/refresh (10 per minute) and the gateway's per-session
    /// frame limit when true.
    pub rate_limits: bool,
    /// The gateway's settings.
    pub gateway: GatewayConfig,
    /// Whether `GET /metrics` answers Prometheus metrics (otherwise the JSON 404).
    pub metrics: bool,
}

impl HttpConfig {
    /// Defaults, storing uploads under `upload_dir`.
    pub fn new(upload_dir: impl Into<PathBuf>) -> Self {
        Self {
            upload_dir: upload_dir.into(),
            max_upload_bytes: 25 * 1024 * 1024,
            max_import_bytes: 2 * 1024 * 1024 * 1024,
            max_json_bytes: 1024 * 1024,
            client_dir: None,
            embedded_client: None,
            cors_allowed_origins: Vec::new(),
            rate_limits: true,
            gateway: GatewayConfig::default(),
            metrics: false,
        }
    }
}

/// What every handler gets: the service layer and the HTTP settings. Cheap to clone.
#[derive(Clone)]
pub struct AppState {
    /// The service layer.
    pub rift: Rift,
    config: Arc<HttpConfig>,
    auth_limiter: Arc<RateLimiter<IpAddr>>,
    gateway: Arc<gateway::Gateway>,
    metrics: Arc<metrics::Metrics>,
    bridges: BridgeManager,
    imports: ImportJobs,
}

impl std::fmt::Debug for AppState {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("AppState").field("config", &self.config).finish_non_exhaustive()
    }
}

impl AppState {
    /// State over a service layer.
    pub fn new(rift: Rift, mut config: HttpConfig) -> Self {
        config.gateway.rate_limits = config.gateway.rate_limits && config.rate_limits;
        let gateway = Arc::new(gateway::Gateway::new(config.gateway.clone()));
        // Files the service is handed (mirrored attachments) go where uploads go.
        rift.set_file_store(Arc::new(DirFileStore::new(config.upload_dir.clone())));
        Self {
            bridges: BridgeManager::new(rift.clone()),
            imports: ImportJobs::new(rift.clone()),
            rift,
            config: Arc::new(config),
            auth_limiter: Arc::new(RateLimiter::new(10.0 / 60.0, 10.0)),
            gateway,
            metrics: Arc::default(),
        }
    }

    /// Runs bridge connections with `bridges` (by default no bridge kind runs, and creating a
    /// connection answers 400 `unknown_bridge_kind`).
    #[must_use]
    pub fn with_bridges(mut self, bridges: BridgeManager) -> Self {
        self.bridges = bridges;
        self
    }

    /// Runs history imports with `imports` (by default no importer is set, and an import
    /// answers 400 `unknown_import_kind`).
    #[must_use]
    pub fn with_imports(mut self, imports: ImportJobs) -> Self {
        self.imports = imports;
        self
    }

    /// The HTTP settings.
    pub fn config(&self) -> &HttpConfig {
        &self.config
    }

    /// Takes one auth attempt for `ip`; 429 when over the limit.
    fn check_auth_rate(&self, ip: IpAddr) -> ApiResult<()> {
        if !self.config.rate_limits {
            return Ok(());
        }
        self.auth_limiter.check(&ip).map_err(|wait| ApiError::rate_limited(rift::retry_after_secs(wait)))
    }
}

/// The whole HTTP surface: `/api/...`, `/files/...` and the web client.
pub fn router(state: AppState) -> Router {
    let request_id = HeaderName::from_static("x-request-id");
    let cors = cors_layer(&state.config.cors_allowed_origins);
    routes::routes(&state)
        .layer(DefaultBodyLimit::max(state.config.max_json_bytes))
        .layer(axum::middleware::from_fn(routes::log_internal_errors))
        .layer(PropagateRequestIdLayer::new(request_id.clone()))
        .layer(SetRequestIdLayer::new(request_id, MakeRequestUuid))
        .layer(cors)
        .with_state(state)
}

fn cors_layer(origins: &[String]) -> CorsLayer {
    let origins: Vec<HeaderValue> = origins.iter().filter_map(|o| HeaderValue::from_str(o).ok()).collect();
    CorsLayer::new()
        .allow_origin(AllowOrigin::list(origins))
        .allow_methods([Method::GET, Method::POST, Method::PUT, Method::PATCH, Method::DELETE])
        .allow_headers([header::AUTHORIZATION, header::CONTENT_TYPE])
}
