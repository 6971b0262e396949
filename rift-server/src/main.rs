//! `rift-server`: the REST API and the gateway with the web client, over SQLite by default or
//! PostgreSQL when `DATABASE_URL` says so (then several processes may share the database: events
//! cross between them), and every stored Discord bridge connection. A thin binary: configuration in, library crates composed, graceful
//! shutdown out.

mod embedded;

use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::sync::Arc;

use clap::Parser;
use rift::bridge::BridgeManager;
use rift::{BridgeInput, Config, Rift};
use rift_discord::bridge::BridgeConfig;
use rift_http::{AppState, HttpConfig, RestoredSessions};

/// mimalloc gives freed memory back to the system, where glibc's malloc keeps it: Argon2 needs
/// 19 MiB per password hash, and glibc kept those blocks in its per-thread arenas (dynamic mmap
/// threshold), so a burst of sign-ups and logins left the process at its peak for good. Measured
/// in the README ("Measured figures").
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

/// The Rift chat server.
#[derive(Debug, Parser)]
#[command(version, about)]
struct Args {
    /// Where Rift keeps its files by default (SQLite database, JWT secret, uploads).
    #[arg(long, env = "RIFT_DATA_DIR", default_value = rift_store::DEFAULT_DATA_DIR)]
    data_dir: PathBuf,
    /// `postgres://…` for PostgreSQL, `sqlite://path` for SQLite; default: SQLite in the data dir.
    #[arg(long, env = "DATABASE_URL")]
    database_url: Option<String>,
    /// Secret for signing access tokens (at least 32 bytes); default: generated once and kept in
    /// the data dir, so restarts keep everyone signed in.
    #[arg(long, env = "JWT_SECRET", hide_env_values = true)]
    jwt_secret: Option<String>,
    /// Address to listen on.
    #[arg(long, env = "LISTEN_ADDR", default_value = "0.0.0.0:3200")]
    listen_addr: SocketAddr,
    /// Where uploads are stored; default: `uploads` in the data dir.
    #[arg(long, env = "UPLOAD_DIR")]
    upload_dir: Option<PathBuf>,
    /// Largest upload in bytes.
    #[arg(long, env = "MAX_UPLOAD_BYTES", default_value_t = 26_214_400)]
    max_upload_bytes: u64,
    /// Longest message in characters.
    #[arg(long, env = "MAX_MESSAGE_CHARS", default_value_t = 10_000)]
    max_message_chars: usize,
    /// Comma-separated origins allowed by CORS.
    #[arg(long, env = "CORS_ALLOWED_ORIGINS", value_delimiter = ',')]
    cors_allowed_origins: Vec<String>,
    /// The built web client on disk; default: the copy built into this binary (release builds),
    /// else `./client/dist`.
    #[arg(long, env = "CLIENT_DIR")]
    client_dir: Option<PathBuf>,
    /// `on` or `off`: rate limits on auth routes and message sends.
    #[arg(long, env = "RATE_LIMITS", default_value = "on", value_parser = ["on", "off"])]
    rate_limits: String,
    /// `on` or `off`: Prometheus metrics at `GET /metrics` (`--metrics` alone means `on`).
    #[arg(long, env = "RIFT_METRICS", default_value = "off", value_parser = ["on", "off"], num_args = 0..=1, default_missing_value = "on")]
    metrics: String,
    /// Discord's REST API (a fake Discord in tests).
    #[arg(long, env = "DISCORD_API_BASE", default_value = rift_discord::rest::DEFAULT_API_BASE)]
    discord_api_base: String,
    /// Discord's CDN.
    #[arg(long, env = "DISCORD_CDN_BASE", default_value = rift_discord::rest::DEFAULT_CDN_BASE)]
    discord_cdn_base: String,
    /// Discord's gateway; default: asked from `GET /gateway`.
    #[arg(long, env = "DISCORD_GATEWAY_URL")]
    discord_gateway_url: Option<String>,
    /// A Discord token to bridge at start-up for `RIFT_USER_ID` (creates or updates that user's
    /// connection; connections can also be added through the API).
    #[arg(long, env = "DISCORD_TOKEN", hide_env_values = true)]
    discord_token: Option<String>,
    /// `user` or `bot`: what kind of token `DISCORD_TOKEN` is.
    #[arg(long, env = "DISCORD_TOKEN_KIND", default_value = "user", value_parser = ["user", "bot"])]
    discord_token_kind: String,
    /// `relay` (both ways) or `archive` (never writes to Discord) for `DISCORD_TOKEN`.
    #[arg(long, env = "DISCORD_BRIDGE_MODE", default_value = "relay", value_parser = ["relay", "archive"])]
    discord_bridge_mode: String,
    /// The Discord account's id (accepted for compatibility; the account is learnt from the token).
    #[arg(long, env = "DISCORD_USER_ID")]
    discord_user_id: Option<String>,
    /// The Rift user (id) who owns the `DISCORD_TOKEN` connection.
    #[arg(long, env = "RIFT_USER_ID")]
    rift_user_id: Option<String>,
    /// Seconds between history purges (servers' retention periods); 0 turns purging off.
    #[arg(long, env = "HISTORY_PURGE_INTERVAL_SECS", default_value_t = 3600)]
    history_purge_interval_secs: u64,
    /// Seconds between this node's presence heartbeats to the other nodes sharing the database.
    #[arg(long, env = "PRESENCE_HEARTBEAT_SECS", default_value_t = 5, value_parser = clap::value_parser!(u64).range(1..))]
    presence_heartbeat_secs: u64,
    /// Seconds without a heartbeat after which another node's users count as offline.
    #[arg(long, env = "PRESENCE_EXPIRY_SECS", default_value_t = 15, value_parser = clap::value_parser!(u64).range(1..))]
    presence_expiry_secs: u64,
}

/// Purges expired message history (`Rift::purge_expired_history`) every `every`, first at start.
fn spawn_history_purge(rift: Rift, every: std::time::Duration) -> tokio::task::JoinHandle<()> {
    tokio::spawn(async move {
        let mut ticks = tokio::time::interval(every);
        ticks.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        loop {
            ticks.tick().await;
            match rift.purge_expired_history().await {
                Ok(purged) => {
                    for (server_id, counts) in purged {
                        tracing::info!(%server_id, versions = counts.versions,
                            deleted_contents = counts.deleted_contents,
                            attachments = counts.attachments, "history purged");
                    }
                }
                Err(error) => tracing::warn!(%error, "history purge failed; retrying at the next interval"),
            }
        }
    })
}

/// The bridge manager with the Discord bridge aimed at the configured URLs.
fn bridges(args: &Args, rift: &Rift) -> BridgeManager {
    BridgeConfig::with_urls(
        &args.discord_api_base,
        &args.discord_cdn_base,
        args.discord_gateway_url.as_deref(),
    )
    .manager(rift)
}

/// The seed's front door: `DISCORD_TOKEN` for `RIFT_USER_ID` creates or updates that connection.
async fn bridge_from_env(args: &Args, bridges: &BridgeManager) -> Result<(), ConfigError> {
    let Some(token) = args.discord_token.as_deref().filter(|t| !t.trim().is_empty()) else { return Ok(()) };
    if let Some(id) = &args.discord_user_id
        && id.parse::<u64>().is_err()
    {
        return Err(ConfigError("DISCORD_USER_ID must be a Discord id (digits)".into()));
    }
    let owner = args.rift_user_id.as_deref().ok_or_else(|| {
        ConfigError("RIFT_USER_ID must name the Rift user who owns DISCORD_TOKEN's bridge".into())
    })?;
    let owner: rift::UserId =
        owner.parse().map_err(|_| ConfigError("RIFT_USER_ID must be a Rift user id (a UUID)".into()))?;
    match bridges.rift().me(owner).await {
        Ok(_) => {}
        Err(rift::Error::NotFound(_)) => {
            return Err(ConfigError(format!("RIFT_USER_ID: no Rift user {owner}")));
        }
        Err(e) => return Err(ConfigError(format!("DATABASE_URL: {e}"))),
    }
    let input = BridgeInput::new("discord", token, &args.discord_token_kind, &args.discord_bridge_mode);
    bridges.ensure(owner, input).await.map_err(|e| ConfigError(format!("DISCORD_TOKEN: {e}")))?;
    Ok(())
}

/// A configuration problem: one line naming the variable.
struct ConfigError(String);

fn jwt_secret(args: &Args) -> Result<Vec<u8>, ConfigError> {
    if let Some(secret) = &args.jwt_secret {
        if secret.len() < 32 {
            return Err(ConfigError("JWT_SECRET must be at least 32 bytes long".into()));
        }
        return Ok(secret.as_bytes().to_vec());
    }
    let path = args.data_dir.join("jwt-secret");
    match std::fs::read_to_string(&path) {
        Ok(secret) if secret.trim().len() >= 32 => Ok(secret.trim().as_bytes().to_vec()),
        Ok(_) => Err(ConfigError(format!("JWT_SECRET: {} is shorter than 32 bytes", path.display()))),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
            let bytes: [u8; 32] = rand::random();
            let secret: String = bytes.iter().map(|b| format!("{b:02x}")).collect();
            write_private(&path, &secret)
                .map_err(|e| ConfigError(format!("RIFT_DATA_DIR: cannot write {}: {e}", path.display())))?;
            Ok(secret.into_bytes())
        }
        Err(e) => Err(ConfigError(format!("JWT_SECRET: cannot read {}: {e}", path.display()))),
    }
}

/// This installation's name, generated once and kept in the data dir: the gateway sessions it
/// saves at shutdown are its own to take back at start, even when several servers share a
/// PostgreSQL database.
fn installation_name(data_dir: &Path) -> Result<String, ConfigError> {
    let path = data_dir.join("installation-id");
    match std::fs::read_to_string(&path) {
        Ok(name) if !name.trim().is_empty() => Ok(name.trim().to_owned()),
        Ok(_) => Err(ConfigError(format!("RIFT_DATA_DIR: {} is empty", path.display()))),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
            let name = uuid_name();
            write_private(&path, &name)
                .map_err(|e| ConfigError(format!("RIFT_DATA_DIR: cannot write {}: {e}", path.display())))?;
            Ok(name)
        }
        Err(e) => Err(ConfigError(format!("RIFT_DATA_DIR: cannot read {}: {e}", path.display()))),
    }
}

fn uuid_name() -> String {
    let bytes: [u8; 16] = rand::random();
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

fn write_private(path: &Path, contents: &str) -> std::io::Result<()> {
    use std::io::Write;
    #[cfg(unix)]
    use std::os::unix::fs::OpenOptionsExt;
    let mut options = std::fs::OpenOptions::new();
    options.write(true).create_new(true);
    #[cfg(unix)]
    options.mode(0o600);
    options.open(path)?.write_all(contents.as_bytes())
}

async fn run(args: Args) -> Result<(), ConfigError> {
    std::fs::create_dir_all(&args.data_dir)
        .map_err(|e| ConfigError(format!("RIFT_DATA_DIR: cannot create {}: {e}", args.data_dir.display())))?;
    let location = rift_store::DataLocation::resolve(
        &args.data_dir,
        args.database_url.as_deref(),
        args.upload_dir.as_deref(),
    );
    let store = rift_store::connect(&location.database_url)
        .await
        .map_err(|e| ConfigError(format!("DATABASE_URL: cannot open the database: {e}")))?;
    let database = store.clone();
    let store: Arc<dyn rift::Store> = Arc::new(store);

    let mut config = Config::new(jwt_secret(&args)?);
    config.max_message_chars = args.max_message_chars;
    config.rate_limits = args.rate_limits == "on";
    config.presence_heartbeat = std::time::Duration::from_secs(args.presence_heartbeat_secs);
    config.presence_expiry = std::time::Duration::from_secs(args.presence_expiry_secs);
    let mut http = HttpConfig::new(location.upload_dir.clone());
    http.max_upload_bytes = args.max_upload_bytes;
    http.cors_allowed_origins = args.cors_allowed_origins.iter().map(|o| o.trim().to_owned()).collect();
    embedded::choose_client(&mut http, args.client_dir.as_deref());
    http.rate_limits = args.rate_limits == "on";
    http.metrics = args.metrics == "on";
    std::fs::create_dir_all(&http.upload_dir)
        .map_err(|e| ConfigError(format!("UPLOAD_DIR: cannot create {}: {e}", http.upload_dir.display())))?;

    // Gateway sessions the last graceful shutdown saved are subscribed again before the fan-out
    // starts, so that what other nodes published meanwhile (PostgreSQL) is replayed into them.
    let (router, inbox) = rift::router::Router::with_inbox();
    let installation = installation_name(&args.data_dir)?;
    let restored = RestoredSessions::load(store.as_ref(), &router, &installation, &http.gateway)
        .await
        .map_err(|e| ConfigError(format!("DATABASE_URL: cannot read saved gateway sessions: {e}")))?;
    // Events of other processes sharing the database (PostgreSQL) reach this node's router.
    let (fanout, replayed) = database
        .fanout_after(rift::fanout::NodeId::random(), inbox, restored.fanout_position())
        .await
        .map_err(|e| ConfigError(format!("DATABASE_URL: cannot start event fan-out: {e}")))?;
    let restored = if replayed || restored.is_empty() {
        Some(restored)
    } else {
        let discarded = restored.discard();
        tracing::warn!(
            sessions = discarded,
            "events missed while stopped are gone; saved gateway sessions are not resumable"
        );
        None
    };
    let rift = Rift::builder(Arc::clone(&store), config).router(router).fanout(fanout).build();
    // Users connected to several nodes are online until their last session anywhere closes.
    rift.start_cluster_presence();

    // Every stored bridge connection runs (paused and stopped ones excepted): here, or in the
    // process sharing the database (another rift-server, a rift-bridge) that holds its lease.
    let bridges = bridges(&args, &rift);
    bridge_from_env(&args, &bridges).await?;
    bridges
        .start_all()
        .await
        .map_err(|e| ConfigError(format!("DATABASE_URL: cannot read bridge connections: {e}")))?;

    let imports = rift_discord::import::import_jobs(&rift);
    let state = AppState::new(rift.clone(), http).with_bridges(bridges.clone()).with_imports(imports);
    if let Some(restored) = restored {
        let count = state.restore_gateway_sessions(restored).await;
        if count > 0 {
            tracing::info!(sessions = count, "gateway sessions saved at the last shutdown are resumable");
        }
    }
    let app = rift_http::router(state.clone());
    // After `AppState::new` gave the service its file store: the purge removes files too.
    let purge = (args.history_purge_interval_secs > 0).then(|| {
        spawn_history_purge(rift.clone(), std::time::Duration::from_secs(args.history_purge_interval_secs))
    });
    let listener = tokio::net::TcpListener::bind(args.listen_addr)
        .await
        .map_err(|e| ConfigError(format!("LISTEN_ADDR: cannot listen on {}: {e}", args.listen_addr)))?;
    let local = listener.local_addr().map_err(|e| ConfigError(format!("LISTEN_ADDR: {e}")))?;
    tracing::info!(addr = %local, database = store.backend().as_str(), "rift-server listening");
    // Small frames (a gateway event, a send's answer) go out at once instead of waiting on
    // Nagle's algorithm for the peer's delayed ACK.
    let listener = axum::serve::ListenerExt::tap_io(listener, |tcp| {
        if let Err(e) = tcp.set_nodelay(true) {
            tracing::debug!(error = %e, "TCP_NODELAY not set");
        }
    });
    axum::serve(listener, app.into_make_service_with_connect_info::<SocketAddr>())
        .with_graceful_shutdown(shutdown_signal())
        .await
        .map_err(|e| ConfigError(format!("server error: {e}")))?;
    // In-flight requests have finished. Gateway clients are told to resume (1012); their
    // sessions stay, and keep collecting events until nothing publishes any more.
    state.close_gateway_connections().await;
    if let Some(purge) = purge {
        purge.abort();
    }
    // Bridges stop without changing their stored status: they come back after a restart.
    bridges.shutdown().await;
    // The other nodes hear that this one's users left with it; then events still queued for
    // other nodes go out before the database closes.
    rift.stop_cluster_presence();
    rift.shutdown_fanout().await;
    // Saved with where the fan-out stopped reading, so a restart within the resume window
    // resumes them with nothing missed (a SIGKILL saves nothing: Resume is then refused).
    match state.save_gateway_sessions(&installation).await {
        Ok(0) => {}
        Ok(saved) => tracing::info!(sessions = saved, "gateway sessions saved for a resume after restart"),
        Err(error) => tracing::warn!(%error, "gateway sessions not saved; clients will identify afresh"),
    }
    database.close().await;
    tracing::info!("rift-server stopped: in-flight requests finished, database closed");
    Ok(())
}

/// Resolves on Ctrl-C or SIGTERM.
async fn shutdown_signal() {
    let ctrl_c = async {
        let _ = tokio::signal::ctrl_c().await;
    };
    #[cfg(unix)]
    let terminate = async {
        match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(mut signal) => {
                signal.recv().await;
            }
            Err(_) => std::future::pending::<()>().await,
        }
    };
    #[cfg(not(unix))]
    let terminate = std::future::pending::<()>();
    tokio::select! {
        () = ctrl_c => {},
        () = terminate => {},
    }
    tracing::info!("shutting down");
}

/// Raises the soft open-file limit to the hard limit: every gateway connection holds a socket,
/// and the usual soft limit (1,024) would refuse connections long before memory runs out.
fn raise_open_file_limit() {
    use rustix::process::{Resource, Rlimit, getrlimit, setrlimit};
    let limit = getrlimit(Resource::Nofile);
    let show = |value: Option<u64>| value.map_or_else(|| "unlimited".to_owned(), |v| v.to_string());
    if limit.current == limit.maximum {
        tracing::info!(limit = %show(limit.current), "open-file limit already at its maximum");
        return;
    }
    match setrlimit(Resource::Nofile, Rlimit { current: limit.maximum, maximum: limit.maximum }) {
        Ok(()) => tracing::info!(
            from = %show(limit.current),
            to = %show(limit.maximum),
            "raised the open-file limit to its maximum"
        ),
        Err(error) => {
            tracing::warn!(%error, limit = %show(limit.current), "could not raise the open-file limit")
        }
    }
}

fn main() -> ExitCode {
    let args = Args::parse();
    tracing_subscriber::fmt()
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_from_default_env()
                .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("info")),
        )
        .init();
    raise_open_file_limit();
    let runtime = match tokio::runtime::Runtime::new() {
        Ok(runtime) => runtime,
        Err(e) => {
            eprintln!("error: cannot start the async runtime: {e}");
            return ExitCode::FAILURE;
        }
    };
    match runtime.block_on(run(args)) {
        Ok(()) => ExitCode::SUCCESS,
        Err(ConfigError(message)) => {
            eprintln!("error: {message}");
            ExitCode::from(2)
        }
    }
}
