//! A real `rift-server` process bridging the fake Discord: killed with SIGKILL in the middle of a
//! backfill and started again on the same data, it finishes with every message exactly once and
//! the connection `ready` by itself. And a full run's debug log holds no secret.

use std::collections::BTreeSet;
use std::net::TcpListener;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use rift_testing::discord::{Account, FakeDiscord, NewMessage, channel_type};
use serde_json::{Value, json};

const SECRET: &str = "a shared secret of at least thirty-two bytes";

struct Server {
    child: Child,
    base: String,
}

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0").and_then(|l| l.local_addr()).map(|a| a.port()).expect("free port")
}

async fn start(dir: &std::path::Path, discord: &FakeDiscord) -> Server {
    start_logging(dir, discord, "warn", None).await
}

/// Starts a server logging at `level`, its output (stdout, where the log goes, and stderr) written
/// to `log` when given.
async fn start_logging(
    dir: &std::path::Path,
    discord: &FakeDiscord,
    level: &str,
    log: Option<&std::path::Path>,
) -> Server {
    let port = free_port();
    let (stdout, stderr) = match log {
        Some(path) => {
            let file = std::fs::File::create(path).expect("log file");
            (Stdio::from(file.try_clone().expect("log file")), Stdio::from(file))
        }
        None => (Stdio::null(), Stdio::null()),
    };
    let child = Command::new(env!("CARGO_BIN_EXE_rift-server"))
        .env_clear()
        .env("RIFT_DATA_DIR", dir)
        .env("LISTEN_ADDR", format!("127.0.0.1:{port}"))
        .env("RATE_LIMITS", "off")
        .env("JWT_SECRET", SECRET)
        .env("CLIENT_DIR", dir.join("no-client"))
        .env("DISCORD_API_BASE", discord.api_base())
        .env("DISCORD_CDN_BASE", discord.cdn_base())
        .env("DISCORD_GATEWAY_URL", discord.gateway_url())
        .env("RUST_LOG", level)
        .stdin(Stdio::null())
        .stdout(stdout)
        .stderr(stderr)
        .spawn()
        .expect("spawn rift-server");
    let server = Server { child, base: format!("http://127.0.0.1:{port}") };
    let started = Instant::now();
    let http = reqwest::Client::new();
    loop {
        if let Ok(response) = http.get(format!("{}/api/health", server.base)).send().await
            && response.status() == 200
        {
            return server;
        }
        assert!(started.elapsed() < Duration::from_secs(30), "rift-server did not come up");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

async fn call(
    http: &reqwest::Client,
    method: reqwest::Method,
    url: String,
    token: &str,
    body: Option<Value>,
) -> Value {
    let mut request = http.request(method, url).bearer_auth(token);
    if let Some(body) = body {
        request = request.json(&body);
    }
    let response = request.send().await.expect("request");
    assert!(response.status().is_success(), "{}", response.status());
    response.json().await.unwrap_or(Value::Null)
}

/// Polls the connection until `done` holds.
async fn until(
    http: &reqwest::Client,
    server: &Server,
    token: &str,
    bridge: &str,
    done: impl Fn(&Value) -> bool,
) -> Value {
    let url = format!("{}/api/bridges/discord/{bridge}", server.base);
    let mut last = Value::Null;
    for _ in 0..1200 {
        last = call(http, reqwest::Method::GET, url.clone(), token, None).await;
        if done(&last) {
            return last;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    panic!("the bridge never got there: {last}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn killed_mid_backfill_it_finishes_with_every_message_once() {
    let discord = FakeDiscord::start(Account::user("user-token", 0, "ada")).await;
    let guild = discord.add_guild("Rift Fans");
    let bob = discord.add_user("bob", None);
    discord.add_member(guild, bob);
    let general = discord.add_channel(guild, channel_type::TEXT, "general");
    let expected: BTreeSet<String> = (0..700u64)
        .map(|i| {
            discord
                .add_message(general, NewMessage::new(bob, format!("m{i}")).at(1_700_000_000_000 + i * 1000))
        })
        .map(|id| id.to_string())
        .collect();
    // About two history pages a second, so the kill lands mid-way.
    discord.set_rate_limit(2, Duration::from_secs(1));

    let dir = tempfile::tempdir().expect("temp dir");
    let http = reqwest::Client::new();
    let server = start(dir.path(), &discord).await;
    let session = http
        .post(format!("{}/api/auth/register", server.base))
        .json(&json!({"username": "owner", "password": "password123"}))
        .send()
        .await
        .expect("register")
        .json::<Value>()
        .await
        .expect("json");
    let token = session["access_token"].as_str().expect("token").to_owned();
    let body = json!({"token": "user-token", "token_kind": "user", "mode": "archive"});
    let bridges = format!("{}/api/bridges/discord", server.base);
    let connection = call(&http, reqwest::Method::POST, bridges, &token, Some(body)).await;
    let bridge = connection["id"].as_str().expect("id").to_owned();
    let midway =
        until(&http, &server, &token, &bridge, |c| c["backfill"]["messages"].as_u64() >= Some(200)).await;
    assert_eq!(midway["backfill"]["channels_done"], 0, "{midway}");

    // SIGKILL: no shutdown path runs.
    drop(server);
    let server = start(dir.path(), &discord).await;
    let done = until(&http, &server, &token, &bridge, |c| {
        let b = &c["backfill"];
        c["status"] == "ready"
            && b["channels_total"] == 1
            && b["channels_done"] == 1
            && b["current_channel_id"].is_null()
    })
    .await;
    assert_eq!(done["status"], "ready");

    // Every message exactly once, read back through the API.
    let servers =
        call(&http, reqwest::Method::GET, format!("{}/api/servers", server.base), &token, None).await;
    let server_id = servers[0]["id"].as_str().expect("the mirrored server").to_owned();
    let channels = call(
        &http,
        reqwest::Method::GET,
        format!("{}/api/servers/{server_id}/channels", server.base),
        &token,
        None,
    )
    .await;
    let channel = channels[0]["id"].as_str().expect("general").to_owned();
    let mut seen = Vec::new();
    let mut before = String::new();
    loop {
        let url = format!("{}/api/channels/{channel}/messages?limit=100{before}", server.base);
        let page = call(&http, reqwest::Method::GET, url, &token, None).await;
        let page = page.as_array().cloned().unwrap_or_default();
        let Some(last) = page.last() else { break };
        before = format!("&before={}", last["id"].as_str().unwrap_or_default());
        seen.extend(page.iter().map(|m| m["bridge_remote_id"].as_str().unwrap_or_default().to_owned()));
    }
    assert_eq!(seen.len(), expected.len(), "no duplicates");
    assert_eq!(seen.into_iter().collect::<BTreeSet<_>>(), expected, "nothing lost");
    assert_eq!(discord.rate_limit_violations(), Vec::<String>::new());
    assert_eq!(discord.gateway_violations(), Vec::<String>::new());
}

/// A full run logged at debug level (sign-up, a refused and a good sign-in, a refresh, a bridge
/// connection with its Discord token that backfills, a message): no line holds the password, an
/// access or refresh token, the password hash, the Discord token or the JWT secret.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_full_run_at_debug_level_logs_no_secret() {
    const DISCORD_TOKEN: &str = "discord-token-f00dfeedcafe";
    const PASSWORD: &str = "a long password nobody logs";
    let discord = FakeDiscord::start(Account::user(DISCORD_TOKEN, 0, "ada")).await;
    let guild = discord.add_guild("Rift Fans");
    let bob = discord.add_user("bob", None);
    discord.add_member(guild, bob);
    let general = discord.add_channel(guild, channel_type::TEXT, "general");
    discord.add_message(general, NewMessage::new(bob, "hello from discord").at(1_700_000_000_000));

    let dir = tempfile::tempdir().expect("temp dir");
    let log = dir.path().join("server.log");
    let http = reqwest::Client::new();
    let server = start_logging(dir.path(), &discord, "debug", Some(&log)).await;
    let post = |path: &str, body: Value| http.post(format!("{}{path}", server.base)).json(&body).send();
    let registered: Value = post("/api/auth/register", json!({"username": "owner", "password": PASSWORD}))
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let wrong = post("/api/auth/login", json!({"username": "owner", "password": "not the password"})).await;
    assert_eq!(wrong.unwrap().status(), 401);
    let login: Value = post("/api/auth/login", json!({"username": "owner", "password": PASSWORD}))
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let refresh_token = login["refresh_token"].as_str().expect("refresh token");
    let refreshed: Value = post("/api/auth/refresh", json!({"refresh_token": refresh_token}))
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let token = refreshed["access_token"].as_str().expect("access token").to_owned();

    let body = json!({"token": DISCORD_TOKEN, "token_kind": "user", "mode": "archive"});
    let bridges = format!("{}/api/bridges/discord", server.base);
    let connection = call(&http, reqwest::Method::POST, bridges, &token, Some(body)).await;
    let bridge = connection["id"].as_str().expect("id").to_owned();
    until(&http, &server, &token, &bridge, |c| c["status"] == "ready" && c["backfill"]["channels_done"] == 1)
        .await;
    let servers =
        call(&http, reqwest::Method::GET, format!("{}/api/servers", server.base), &token, None).await;
    let server_id = servers[0]["id"].as_str().expect("the mirrored server");
    let url = format!("{}/api/servers/{server_id}/channels", server.base);
    let channels = call(&http, reqwest::Method::GET, url, &token, None).await;
    let channel = channels[0]["id"].as_str().expect("general");
    let url = format!("{}/api/channels/{channel}/messages", server.base);
    let messages = call(&http, reqwest::Method::GET, url, &token, None).await;
    assert_eq!(messages[0]["content"], "hello from discord");
    drop(server);

    let user_id: rift::UserId = registered["user"]["id"].as_str().expect("user id").parse().unwrap();
    let database = rift_store::Database::open_sqlite(dir.path().join("rift.db")).await.expect("the database");
    let hash = rift::Store::password_hash(&database, user_id).await.unwrap().expect("a password hash");
    database.close().await;

    let log = std::fs::read_to_string(&log).expect("the log");
    assert!(log.contains("DEBUG"), "the run really logged at debug level");
    let secrets = [
        ("the password", PASSWORD),
        ("the password hash", hash.as_str()),
        ("the Discord token", DISCORD_TOKEN),
        ("the JWT secret", SECRET),
        ("the first access token", registered["access_token"].as_str().unwrap()),
        ("the first refresh token", registered["refresh_token"].as_str().unwrap()),
        ("the login's access token", login["access_token"].as_str().unwrap()),
        ("the login's refresh token", refresh_token),
        ("the refreshed access token", &token),
        ("the refreshed refresh token", refreshed["refresh_token"].as_str().unwrap()),
    ];
    for (what, secret) in secrets {
        assert!(secret.len() >= 16, "{what} is long enough to grep for");
        if let Some(line) = log.lines().find(|line| line.contains(secret)) {
            panic!("{what} is in the log: {line}");
        }
    }
}
