//! `rift-bridge`: runs the stored bridge connections outside `rift-server`, against the
//! PostgreSQL database the servers share. Its mirrored events reach the servers' gateways through
//! the database's event fan-out, and its mirrored files go to the upload directory the servers
//! serve. A connection runs in one process at a time (the one holding its lease), so any number of
//! `rift-bridge` and `rift-server` processes may run side by side. A thin binary: configuration
//! in, library crates composed, graceful shutdown out.

use std::path::PathBuf;
use std::process::ExitCode;
use std::sync::Arc;

use clap::Parser;
use rift::files::DirFileStore;
use rift::{Config, Rift};
use rift_discord::bridge::BridgeConfig;

/// Runs Rift's bridge connections against a shared PostgreSQL.
#[derive(Debug, Parser)]
#[command(version, about)]
struct Args {
    /// The shared database: `postgres://…` (the one the rift-server processes use).
    #[arg(long, env = "DATABASE_URL")]
    database_url: Option<String>,
    /// Where mirrored files go: the directory the rift-server processes serve uploads from.
    #[arg(long, env = "UPLOAD_DIR", default_value = "./rift-data/uploads")]
    upload_dir: PathBuf,
    /// Discord's REST API (a fake Discord in tests).
    #[arg(long, env = "DISCORD_API_BASE", default_value = rift_discord::rest::DEFAULT_API_BASE)]
    discord_api_base: String,
    /// Discord's CDN.
    #[arg(long, env = "DISCORD_CDN_BASE", default_value = rift_discord::rest::DEFAULT_CDN_BASE)]
    discord_cdn_base: String,
    /// Discord's gateway; default: asked from `GET /gateway`.
    #[arg(long, env = "DISCORD_GATEWAY_URL")]
    discord_gateway_url: Option<String>,
}

/// A configuration problem: one line naming the variable.
struct ConfigError(String);

async fn run(args: Args) -> Result<(), ConfigError> {
    let database_url = args
        .database_url
        .as_deref()
        .filter(|url| url.starts_with("postgres://") || url.starts_with("postgresql://"))
        .ok_or_else(|| {
            ConfigError("DATABASE_URL must be the shared PostgreSQL database (postgres://…)".into())
        })?;
    std::fs::create_dir_all(&args.upload_dir)
        .map_err(|e| ConfigError(format!("UPLOAD_DIR: cannot create {}: {e}", args.upload_dir.display())))?;
    let database = rift_store::connect(database_url)
        .await
        .map_err(|e| ConfigError(format!("DATABASE_URL: cannot open the database: {e}")))?;
    let store: Arc<dyn rift::Store> = Arc::new(database.clone());

    // Events this process causes reach the servers' gateways through the database; no tokens are
    // signed here, so the JWT secret is a throwaway.
    let (router, inbox) = rift::router::Router::with_inbox();
    let fanout = database
        .fanout(rift::fanout::NodeId::random(), inbox)
        .await
        .map_err(|e| ConfigError(format!("DATABASE_URL: cannot start event fan-out: {e}")))?;
    let secret: [u8; 32] = rand::random();
    let rift = Rift::builder(store, Config::new(secret.to_vec())).router(router).fanout(fanout).build();
    rift.set_file_store(Arc::new(DirFileStore::new(args.upload_dir.clone())));
    // Authors in mirrored events carry their presence as the servers see it.
    rift.start_cluster_presence();

    let bridges = BridgeConfig::with_urls(
        &args.discord_api_base,
        &args.discord_cdn_base,
        args.discord_gateway_url.as_deref(),
    )
    .manager(&rift);
    bridges
        .start_all()
        .await
        .map_err(|e| ConfigError(format!("DATABASE_URL: cannot read bridge connections: {e}")))?;
    tracing::info!(holder = %bridges.holder(), "rift-bridge running");
    shutdown_signal().await;
    // Bridges stop without changing their stored status, and give up their leases.
    bridges.shutdown().await;
    rift.stop_cluster_presence();
    rift.shutdown_fanout().await;
    database.close().await;
    tracing::info!("rift-bridge stopped: bridges stopped, leases released, database closed");
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

fn main() -> ExitCode {
    let args = Args::parse();
    tracing_subscriber::fmt()
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_from_default_env()
                .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("info")),
        )
        .init();
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
