//! `rift-load`: runs one load scenario against a Rift server on loopback and prints what it
//! measured (a table, or JSON with `--json`). Without `--url` it starts its own `rift-server` on a
//! temp data dir with `RATE_LIMITS=off` (SQLite, or `--database-url`) and stops it afterwards.

use std::path::PathBuf;
use std::process::ExitCode;
use std::time::Duration;

use clap::{Parser, Subcommand};
use rift_load::scenarios::{self, Seed, Via};
use rift_load::target::{SpawnedServer, Target};
use rift_load::{LoadError, Result};
use serde::Serialize;

/// Rift's load generator (loopback only, bounded in time and count).
#[derive(Debug, Parser)]
#[command(version, about)]
struct Args {
    /// A running server (`http://127.0.0.1:PORT`); default: start one.
    #[arg(long, global = true)]
    url: Option<String>,
    /// The running server's pid (with `--url`), to read its memory.
    #[arg(long, global = true)]
    pid: Option<u32>,
    /// The `rift-server` to start; default: the one beside this binary.
    #[arg(long, global = true)]
    server_bin: Option<PathBuf>,
    /// The database of the server to start (`postgres://…@127.0.0.1…`; default: SQLite in a temp
    /// dir), or of the running one (for `search --seed store`).
    #[arg(long, global = true)]
    database_url: Option<String>,
    /// Print JSON instead of a table.
    #[arg(long, global = true)]
    json: bool,
    /// Give up after this many seconds.
    #[arg(long, global = true, default_value_t = 900)]
    timeout: u64,
    #[command(subcommand)]
    scenario: Scenario,
}

#[derive(Debug, Subcommand)]
enum Scenario {
    /// A sends at a fixed rate, B receives on the gateway: p50/p90/p99/max.
    Latency {
        /// Offered messages per second.
        #[arg(long, default_value_t = 20.0)]
        rate: f64,
        /// Messages per rate.
        #[arg(long, default_value_t = 1000)]
        messages: usize,
        /// Leading messages left out of the percentiles.
        #[arg(long, default_value_t = 20)]
        warmup: usize,
        /// How A sends.
        #[arg(long, value_enum, default_value_t = Via::Rest)]
        via: Via,
        /// A comma-separated list of rates to run one after another (replaces `--rate`).
        #[arg(long, value_delimiter = ',')]
        sweep: Vec<f64>,
        /// With `--sweep`: write an SVG chart of p50/p90/p99 against offered load here.
        #[arg(long)]
        svg: Option<PathBuf>,
        /// The chart's title.
        #[arg(long, default_value = "Rift: send → received on the gateway")]
        title: String,
    },
    /// N senders × M in flight: persisted messages per second.
    Throughput {
        /// Senders (one account and server each).
        #[arg(long, default_value_t = 4)]
        senders: usize,
        /// Messages in flight per sender.
        #[arg(long, default_value_t = 1)]
        in_flight: usize,
        /// Messages in all.
        #[arg(long, default_value_t = 20_000)]
        messages: usize,
        /// Stop sending after this many seconds.
        #[arg(long, default_value_t = 120)]
        duration: u64,
        /// How they send.
        #[arg(long, value_enum, default_value_t = Via::Rest)]
        via: Via,
        /// Skip reading every channel back afterwards.
        #[arg(long)]
        no_verify: bool,
    },
    /// One message to N connected members: time until all have it.
    Fanout {
        /// Connected members.
        #[arg(long, default_value_t = 1000)]
        members: usize,
        /// Distinct accounts behind them (default: one per member).
        #[arg(long)]
        accounts: Option<usize>,
        /// Messages, one after another.
        #[arg(long, default_value_t = 20)]
        messages: usize,
    },
    /// M idle gateway connections: server memory per connection.
    Idle {
        /// Connections.
        #[arg(long, default_value_t = 1000)]
        connections: usize,
        /// Distinct accounts behind them.
        #[arg(long, default_value_t = 1)]
        accounts: usize,
        /// Connections opened at a time.
        #[arg(long, default_value_t = 64)]
        concurrency: usize,
        /// Seconds to wait after the last one before reading memory.
        #[arg(long, default_value_t = 2)]
        settle: u64,
    },
    /// Seed a corpus into one channel, then time searches.
    Search {
        /// Messages to seed.
        #[arg(long, default_value_t = 10_000)]
        messages: usize,
        /// How to seed: through the API, or straight through rift-store into the database.
        #[arg(long, value_enum, default_value_t = Seed::Api)]
        seed: Seed,
        /// Runs per query.
        #[arg(long, default_value_t = 50)]
        runs: usize,
    },
    /// A burst of registrations then logins; server memory before, at peak, after, and later.
    Signup {
        /// Registrations.
        #[arg(long, default_value_t = 200)]
        signups: usize,
        /// Logins afterwards.
        #[arg(long, default_value_t = 1000)]
        logins: usize,
        /// Requests at a time.
        #[arg(long, default_value_t = 8)]
        concurrency: usize,
        /// Seconds between the burst's end and the last memory reading.
        #[arg(long, default_value_t = 10)]
        settle: u64,
    },
    /// A mixed workload for a while; memory, errors, and every acknowledged message read back.
    Soak {
        /// Seconds.
        #[arg(long, default_value_t = 600)]
        duration: u64,
        /// REST messages per second.
        #[arg(long, default_value_t = 100.0)]
        rest_rate: f64,
        /// Gateway messages per second.
        #[arg(long, default_value_t = 100.0)]
        gateway_rate: f64,
        /// Seconds between memory samples.
        #[arg(long, default_value_t = 5)]
        sample_every: u64,
    },
}

/// A report, as a table or as JSON.
trait Report: std::fmt::Display + Serialize {}
impl<T: std::fmt::Display + Serialize> Report for T {}

fn print(json: bool, report: &impl Report) {
    if json {
        println!(
            "{}",
            serde_json::to_string_pretty(report).unwrap_or_else(|e| format!("{{\"error\": \"{e}\"}}"))
        );
    } else {
        println!("{report}");
    }
}

/// The `rift-server` beside this binary (both land in the same target directory).
fn default_server_bin() -> Result<PathBuf> {
    let me =
        std::env::current_exe().map_err(|e| LoadError::Config(format!("cannot locate rift-load: {e}")))?;
    let bin = me.with_file_name(format!("rift-server{}", std::env::consts::EXE_SUFFIX));
    if bin.exists() {
        Ok(bin)
    } else {
        Err(LoadError::Config(format!(
            "no rift-server at {} (build it: cargo build --release -p rift-server, or pass --server-bin or --url)",
            bin.display()
        )))
    }
}

async fn run(args: Args) -> Result<()> {
    let mut spawned = None;
    let target = match &args.url {
        Some(url) => Target::new(url, args.pid, args.database_url.clone())?,
        None => {
            let bin = match &args.server_bin {
                Some(bin) => bin.clone(),
                None => default_server_bin()?,
            };
            let server = SpawnedServer::start(&bin, args.database_url.as_deref()).await?;
            let target = server.target().clone();
            spawned = Some(server);
            target
        }
    };
    if !args.json {
        eprintln!(
            "target {} (pid {})",
            target.base,
            target.pid.map_or_else(|| "unknown".into(), |p| p.to_string())
        );
    }
    let outcome = tokio::time::timeout(Duration::from_secs(args.timeout), scenario(&args, &target)).await;
    if let Some(server) = spawned {
        server.stop().await;
    }
    outcome
        .map_err(|_| LoadError::Timeout(format!("the run took longer than --timeout {} s", args.timeout)))?
}

async fn scenario(args: &Args, target: &Target) -> Result<()> {
    match &args.scenario {
        Scenario::Latency { rate, messages, warmup, via, sweep, svg, title } => {
            let rates = if sweep.is_empty() { vec![*rate] } else { sweep.clone() };
            let mut reports = Vec::new();
            for rate in rates {
                let options =
                    scenarios::LatencyOptions { rate, messages: *messages, warmup: *warmup, via: *via };
                let report = scenarios::latency(target, &options).await?;
                if !args.json {
                    println!("{report}");
                }
                reports.push(report);
            }
            if args.json {
                println!("{}", serde_json::to_string_pretty(&reports).unwrap_or_default());
            }
            if let Some(path) = svg {
                std::fs::write(path, rift_load::svg::latency_chart(title, &reports))
                    .map_err(|e| LoadError::Io(format!("cannot write {}: {e}", path.display())))?;
            }
        }
        Scenario::Throughput { senders, in_flight, messages, duration, via, no_verify } => {
            let options = scenarios::ThroughputOptions {
                senders: *senders,
                in_flight: *in_flight,
                messages: *messages,
                duration: Duration::from_secs(*duration),
                via: *via,
                verify: !no_verify,
            };
            print(args.json, &scenarios::throughput(target, &options).await?);
        }
        Scenario::Fanout { members, accounts, messages } => {
            let options = scenarios::FanoutOptions {
                members: *members,
                accounts: accounts.unwrap_or(*members),
                messages: *messages,
            };
            print(args.json, &scenarios::fanout(target, &options).await?);
        }
        Scenario::Idle { connections, accounts, concurrency, settle } => {
            let options = scenarios::IdleOptions {
                connections: *connections,
                accounts: *accounts,
                concurrency: *concurrency,
                settle: Duration::from_secs(*settle),
            };
            print(args.json, &scenarios::idle(target, &options).await?);
        }
        Scenario::Search { messages, seed, runs } => {
            let options = scenarios::SearchOptions { messages: *messages, seed: *seed, runs: *runs };
            print(args.json, &scenarios::search(target, &options).await?);
        }
        Scenario::Signup { signups, logins, concurrency, settle } => {
            let options = scenarios::SignupOptions {
                signups: *signups,
                logins: *logins,
                concurrency: *concurrency,
                settle: Duration::from_secs(*settle),
            };
            print(args.json, &scenarios::signup(target, &options).await?);
        }
        Scenario::Soak { duration, rest_rate, gateway_rate, sample_every } => {
            let options = scenarios::SoakOptions {
                duration: Duration::from_secs(*duration),
                rest_rate: *rest_rate,
                gateway_rate: *gateway_rate,
                sample_every: Duration::from_secs((*sample_every).max(1)),
            };
            print(args.json, &scenarios::soak(target, &options).await?);
        }
    }
    Ok(())
}

fn main() -> ExitCode {
    let args = Args::parse();
    let runtime = match tokio::runtime::Runtime::new() {
        Ok(runtime) => runtime,
        Err(e) => {
            eprintln!("error: cannot start the async runtime: {e}");
            return ExitCode::FAILURE;
        }
    };
    match runtime.block_on(run(args)) {
        Ok(()) => ExitCode::SUCCESS,
        Err(error @ LoadError::Config(_)) => {
            eprintln!("error: {error}");
            ExitCode::from(2)
        }
        Err(error) => {
            eprintln!("error: {error}");
            ExitCode::FAILURE
        }
    }
}
