//! `rift`: the administrator's command for a Rift installation. It finds the database and the
//! upload directory exactly as `rift-server` does (`./rift-data` or `DATABASE_URL`, `UPLOAD_DIR`;
//! `rift_store::DataLocation`), and does everything through the service layer (`rift::Rift`)
//! or the `rift::Store` contract: no SQL here. A thin binary: arguments in, one call per step,
//! one line per error.

mod archive;
mod commands;
mod progress;

use std::path::PathBuf;
use std::process::ExitCode;

use clap::{Args, Parser, Subcommand};

/// Administer a Rift installation (the database and uploads `rift-server` uses).
#[derive(Debug, Parser)]
#[command(name = "rift", version, about)]
pub(crate) struct Cli {
    #[command(flatten)]
    pub(crate) location: LocationArgs,
    #[command(subcommand)]
    pub(crate) command: Command,
}

/// The installation to work on: the same settings, defaults and environment as `rift-server`.
#[derive(Debug, Args)]
pub(crate) struct LocationArgs {
    /// Where Rift keeps its files by default (SQLite database, uploads).
    #[arg(long, global = true, env = "RIFT_DATA_DIR", default_value = rift_store::DEFAULT_DATA_DIR)]
    pub(crate) data_dir: PathBuf,
    /// `postgres://…` for PostgreSQL, `sqlite://path` for SQLite; default: SQLite in the data dir.
    #[arg(long, global = true, env = "DATABASE_URL", hide_env_values = true)]
    pub(crate) database_url: Option<String>,
    /// Where uploads are stored; default: `uploads` in the data dir.
    #[arg(long, global = true, env = "UPLOAD_DIR")]
    pub(crate) upload_dir: Option<PathBuf>,
}

#[derive(Debug, Subcommand)]
pub(crate) enum Command {
    /// Create or update the database schema (the server also does this at start-up).
    Migrate,
    /// Manage user accounts.
    #[command(subcommand)]
    User(UserCommand),
    /// List servers.
    #[command(subcommand)]
    Server(ServerCommand),
    /// Search messages as a given user sees them (the API's filters).
    Search(SearchArgs),
    /// Export the database, one server, one channel or one DM to JSON Lines (with the attachment
    /// files beside it) or to a static HTML archive.
    Export(ExportArgs),
    /// Import an export into an empty database.
    #[command(subcommand)]
    Import(ImportCommand),
    /// Copy the database while it runs (SQLite), or print the pg_dump command (PostgreSQL).
    Backup(BackupArgs),
    /// Manage bridge connections.
    #[command(subcommand)]
    Bridge(BridgeCommand),
}

#[derive(Debug, Subcommand)]
pub(crate) enum UserCommand {
    /// Create a user that can sign in.
    Create {
        /// 2–32 of `A-Z a-z 0-9 _ . -`.
        username: String,
        /// The password (8–256 characters); prefer `--password-stdin`.
        #[arg(long, env = "RIFT_PASSWORD", hide_env_values = true, conflicts_with = "password_stdin")]
        password: Option<String>,
        /// Read the password from the first line of standard input.
        #[arg(long)]
        password_stdin: bool,
        /// Optional e-mail address.
        #[arg(long)]
        email: Option<String>,
        /// Shown name; default: the username.
        #[arg(long)]
        display_name: Option<String>,
        /// Print the user as JSON.
        #[arg(long)]
        json: bool,
    },
    /// List every user (puppets of bridges included).
    List {
        /// One JSON array instead of a table.
        #[arg(long)]
        json: bool,
    },
    /// Disable an account: it cannot sign in, refresh, or use the tokens it holds.
    Disable {
        /// Username or user id.
        user: String,
    },
    /// Enable a disabled account again.
    Enable {
        /// Username or user id.
        user: String,
    },
    /// Set a new password; every session of the user must sign in again.
    ResetPassword {
        /// Username or user id.
        user: String,
        /// The new password; prefer `--password-stdin`.
        #[arg(long, env = "RIFT_PASSWORD", hide_env_values = true, conflicts_with = "password_stdin")]
        password: Option<String>,
        /// Read the password from the first line of standard input.
        #[arg(long)]
        password_stdin: bool,
    },
}

#[derive(Debug, Subcommand)]
pub(crate) enum ServerCommand {
    /// List every server.
    List {
        /// One JSON array instead of a table.
        #[arg(long)]
        json: bool,
    },
}

#[derive(Debug, Args)]
pub(crate) struct SearchArgs {
    /// Words (all must match) and "quoted phrases".
    pub(crate) query: String,
    /// Search as this user (username or id): only what they may read is found.
    #[arg(long = "as", value_name = "USER")]
    pub(crate) as_user: String,
    /// Only this server (id).
    #[arg(long)]
    pub(crate) server: Option<String>,
    /// Only this channel or DM (id).
    #[arg(long)]
    pub(crate) channel: Option<String>,
    /// Only this author (username or id).
    #[arg(long)]
    pub(crate) author: Option<String>,
    /// Only messages before this RFC 3339 time.
    #[arg(long)]
    pub(crate) before: Option<String>,
    /// Only messages after this RFC 3339 time.
    #[arg(long)]
    pub(crate) after: Option<String>,
    /// Only messages with an attachment.
    #[arg(long)]
    pub(crate) has_attachment: bool,
    /// 1–100 (default 25).
    #[arg(long)]
    pub(crate) limit: Option<u32>,
    /// Print the messages as a JSON array (the API's message objects).
    #[arg(long)]
    pub(crate) json: bool,
}

#[derive(Debug, Args)]
pub(crate) struct ExportArgs {
    /// Only this server (id).
    #[arg(long, conflicts_with_all = ["channel", "dm"])]
    pub(crate) server: Option<String>,
    /// Only this channel (id).
    #[arg(long, conflicts_with = "dm")]
    pub(crate) channel: Option<String>,
    /// Only this DM or group DM (its channel id).
    #[arg(long)]
    pub(crate) dm: Option<String>,
    /// JSON Lines: the file to write (attachments go to `<name>.files/` beside it). HTML: the
    /// directory to write (`index.html`, `files/`).
    #[arg(long, short)]
    pub(crate) out: PathBuf,
    /// Write a static HTML archive instead of JSON Lines.
    #[arg(long)]
    pub(crate) html: bool,
    /// Put password hashes into the user records (for moving an installation; keep the file safe).
    #[arg(long, conflicts_with = "html")]
    pub(crate) password_hashes: bool,
}

#[derive(Debug, Subcommand)]
pub(crate) enum ImportCommand {
    /// Import a `rift export` JSON Lines file (and its `.files/` folder) into an empty database.
    Json {
        /// The `.jsonl` file.
        file: PathBuf,
    },
    /// Import the ZIP from Discord's "Request all of my data" (your own messages, per channel),
    /// through the bridge's idempotent path: importing twice, or bridging later, adds nothing twice.
    DiscordPackage {
        /// The package ZIP.
        file: PathBuf,
        #[command(flatten)]
        target: DiscordImportArgs,
    },
    /// Import DiscordChatExporter JSON exports (whole channels; media downloaded with `--media`
    /// is read from beside each file), through the bridge's idempotent path.
    Dce {
        /// One or more exported `.json` files.
        #[arg(required = true)]
        files: Vec<PathBuf>,
        /// Your Discord user id: its messages in the export become yours (default: the account
        /// your Discord bridge connection names, if any).
        #[arg(long)]
        discord_id: Option<u64>,
        #[command(flatten)]
        target: DiscordImportArgs,
    },
}

/// Who owns a Discord import, and how to report it.
#[derive(Debug, Args)]
pub(crate) struct DiscordImportArgs {
    /// The Rift user who owns the import (username or id): imported servers are theirs.
    #[arg(long)]
    pub(crate) owner: String,
    /// Print the report as JSON.
    #[arg(long)]
    pub(crate) json: bool,
}

#[derive(Debug, Args)]
pub(crate) struct BackupArgs {
    /// The file to write (must not exist). Ignored for PostgreSQL.
    pub(crate) out: Option<PathBuf>,
}

#[derive(Debug, Subcommand)]
pub(crate) enum BridgeCommand {
    /// Store a new connection (a running server or rift-bridge picks it up).
    Add {
        /// The Rift user who owns it (username or id).
        #[arg(long)]
        owner: String,
        /// The remote token.
        #[arg(long, env = "RIFT_BRIDGE_TOKEN", hide_env_values = true)]
        token: String,
        /// `user` or `bot`.
        #[arg(long, default_value = "user")]
        token_kind: String,
        /// `relay` (both ways) or `archive` (never writes remotely).
        #[arg(long, default_value = "relay")]
        mode: String,
        /// Print the connection as JSON.
        #[arg(long)]
        json: bool,
    },
    /// List connections (all, or one owner's).
    List {
        /// Only this owner (username or id).
        #[arg(long)]
        owner: Option<String>,
        /// One JSON array instead of a table.
        #[arg(long)]
        json: bool,
    },
    /// One connection's status and backfill progress.
    Status {
        /// The connection id.
        id: String,
        /// Print it as JSON.
        #[arg(long)]
        json: bool,
    },
    /// Read a connection's history again, of every channel or of `--channels`. The request is
    /// recorded in the database and run by the process running the connection (a rift-server or
    /// rift-bridge on this database), which takes it within seconds; this waits for it with a
    /// progress bar (`rift bridge status` shows the same progress).
    Backfill {
        /// The connection id.
        id: String,
        /// Only these mirrored channels (Rift channel ids, comma-separated).
        #[arg(long, value_delimiter = ',', value_name = "IDS")]
        channels: Vec<String>,
        /// Return once the request is recorded instead of waiting for it.
        #[arg(long)]
        no_wait: bool,
        /// Stop waiting after this many seconds (the request stays and still runs).
        #[arg(long, value_name = "SECS")]
        timeout: Option<u64>,
        /// Print the request and the connection as JSON.
        #[arg(long)]
        json: bool,
    },
    /// Pause a connection (its process stops it within seconds).
    Pause {
        /// The connection id.
        id: String,
    },
    /// Resume a paused connection (a running process starts it within seconds).
    Resume {
        /// The connection id.
        id: String,
    },
    /// Delete a connection (the mirrored data stays).
    Remove {
        /// The connection id.
        id: String,
    },
}

/// A failure: one line on stderr and exit code 1.
#[derive(Debug)]
pub(crate) struct Failure(pub(crate) String);

impl<E: std::fmt::Display> From<E> for Failure {
    fn from(e: E) -> Self {
        Self(e.to_string())
    }
}

fn main() -> ExitCode {
    let cli = match Cli::try_parse() {
        Ok(cli) => cli,
        Err(e) if e.kind() == clap::error::ErrorKind::DisplayHelpOnMissingArgumentOrSubcommand => {
            eprintln!("error: a subcommand is missing (see rift --help)");
            return ExitCode::from(2);
        }
        Err(e) if e.use_stderr() => {
            // One line, not clap's usage block: the first line names what is wrong.
            let text = e.to_string();
            let line = text.lines().next().unwrap_or("invalid arguments").trim_start_matches("error: ");
            eprintln!("error: {line} (see rift --help)");
            return ExitCode::from(2);
        }
        Err(e) => {
            // --help and --version.
            let _ = e.print();
            return ExitCode::SUCCESS;
        }
    };
    let runtime = match tokio::runtime::Runtime::new() {
        Ok(runtime) => runtime,
        Err(e) => {
            eprintln!("error: cannot start the async runtime: {e}");
            return ExitCode::FAILURE;
        }
    };
    match runtime.block_on(commands::run(cli)) {
        Ok(()) => ExitCode::SUCCESS,
        Err(Failure(message)) => {
            let line = message.replace('\n', " ");
            eprintln!("error: {line}");
            ExitCode::FAILURE
        }
    }
}
