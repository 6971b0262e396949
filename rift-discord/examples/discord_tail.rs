//! `discord_tail`: connects to the Discord gateway and prints every dispatch as one JSON line
//! `{"t", "s", "d"}` on stdout; reconnects, resumes and invalid sessions go to stderr.
//!
//! ```text
//! DISCORD_TOKEN=... cargo run -p rift-discord --example discord_tail -- [--etf] [--user] [--no-compress]
//! ```
//!
//! `DISCORD_API_BASE` (default `https://discord.com/api/v10`) is asked for the gateway URL unless
//! `DISCORD_GATEWAY_URL` is set, so both can point at a fake Discord. `DISCORD_TAIL_LIMIT=N` stops
//! after N dispatches.

use std::process::ExitCode;

use rift_discord::gateway::{Config, Encoding, Shard, ShardEvent, TokenKind};
use rift_discord::rest::{Client, DEFAULT_API_BASE};

#[tokio::main]
async fn main() -> ExitCode {
    match run().await {
        Ok(()) => ExitCode::SUCCESS,
        Err(error) => {
            eprintln!("discord_tail: {error}");
            ExitCode::FAILURE
        }
    }
}

async fn run() -> Result<(), Box<dyn std::error::Error>> {
    let args: Vec<String> = std::env::args().skip(1).collect();
    if let Some(unknown) =
        args.iter().find(|a| !matches!(a.as_str(), "--etf" | "--json" | "--user" | "--no-compress"))
    {
        return Err(
            format!("unknown argument {unknown}; expected --etf, --json, --user, --no-compress").into()
        );
    }
    let flag = |name: &str| args.iter().any(|a| a == name);
    let token = std::env::var("DISCORD_TOKEN").map_err(|_| "DISCORD_TOKEN is not set")?;
    let kind = if flag("--user") { TokenKind::User } else { TokenKind::Bot };
    let encoding = if flag("--etf") { Encoding::Etf } else { Encoding::Json };
    let limit: Option<u64> = std::env::var("DISCORD_TAIL_LIMIT").ok().and_then(|v| v.parse().ok());

    let gateway_url = match std::env::var("DISCORD_GATEWAY_URL") {
        Ok(url) => url,
        Err(_) => {
            let api_base = std::env::var("DISCORD_API_BASE").unwrap_or_else(|_| DEFAULT_API_BASE.to_owned());
            let client = Client::builder(token.clone()).token_kind(kind).api_base(api_base).build()?;
            client.gateway().await?.url
        }
    };
    eprintln!("connecting to {gateway_url} ({})", encoding.as_str());
    let config = Config::builder(token)
        .token_kind(kind)
        .gateway_url(gateway_url)
        .encoding(encoding)
        .compress(!flag("--no-compress"))
        .build();
    let mut shard = Shard::new(config);
    let mut printed = 0;
    loop {
        match shard.next_event().await? {
            ShardEvent::Dispatch(dispatch) => {
                println!("{}", serde_json::to_string(&dispatch)?);
                printed += 1;
                if limit.is_some_and(|limit| printed >= limit) {
                    shard.close().await;
                    return Ok(());
                }
            }
            ShardEvent::Reconnecting { resume, attempt, delay, reason } => {
                let how = if resume { "resuming" } else { "identifying" };
                eprintln!("reconnecting ({how}, attempt {attempt}, in {delay:?}): {reason}");
            }
            ShardEvent::InvalidSession { resumable } => eprintln!("invalid session (resumable: {resumable})"),
            other => eprintln!("{other:?}"),
        }
    }
}
