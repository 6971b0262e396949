//! # rift-testing
//!
//! Test support shared by Rift's crates: fresh databases for each test — a temp SQLite file, or a
//! new PostgreSQL database (copied from a migrated template) in one throwaway cluster per test
//! process, which this crate starts itself and removes when the process ends — and a fake Discord.
//!
//! Without PostgreSQL installed, [`postgres`] prints a loud `SKIPPED` line and returns `None`;
//! under `CI=true` it panics instead, so a CI run cannot pass without the PostgreSQL half.
//!
//! ## A fake Discord
//!
//! No test may reach Discord, so [`discord::FakeDiscord`] is the only Discord the bridge meets in
//! CI. It serves one **world** on 127.0.0.1: REST (API v10) and the CDN on one HTTP port, the
//! gateway (v10; JSON or ETF, with or without zlib-stream) on a WebSocket port.
//!
//! ```no_run
//! # async fn demo() {
//! use rift_testing::discord::{Account, Echo, FailAt, FakeDiscord, NewMessage, channel_type};
//!
//! let discord = FakeDiscord::start(Account::user("tok-user", 0, "ada")).await;
//! // DISCORD_API_BASE, DISCORD_CDN_BASE, DISCORD_GATEWAY_URL for the bridge:
//! let (_api, _cdn, _gateway) = (discord.api_base(), discord.cdn_base(), discord.gateway_url());
//!
//! // The world: ids are snowflakes whose timestamp is the creation time.
//! let guild = discord.add_guild("Archive");
//! let mods = discord.add_role(guild, "mods", 0x3498db, 1 << 13);
//! let general = discord.add_channel_with(guild, channel_type::TEXT, "general", |c| {
//!     c["topic"] = "hello".into();
//! });
//! let secret = discord.add_channel(guild, channel_type::TEXT, "secret");
//! discord.hide_channel(secret); // 403 50001 for its messages; READY shows it, denied
//! let bob = discord.add_user("bob", Some("Bob"));
//! discord.set_avatar(bob, b"png bytes");
//! discord.add_member_with(guild, bob, Some("bobby"), &[mods], 1_600_000_000_000);
//! let dm = discord.add_dm(bob);
//! let first = discord.add_message(general, NewMessage::new(bob, "old").at(1_600_000_000_000));
//! discord.add_message(dm, NewMessage::new(bob, "see <@1>").attachment("a.png", "image/png", b"x"));
//! discord.add_reaction(general, first, bob, "👍");
//!
//! // Faults: the next POST fails after creating the message, its echo comes before the answer.
//! discord.fail_posts(1, FailAt::AfterCreate, 502);
//! discord.set_echo(Echo::BeforeResponse);
//!
//! // Live changes: applied to the world and dispatched on the gateway.
//! discord.create_message(general, NewMessage::new(bob, "new"));
//! discord.edit_message(general, first, "old, edited");
//!
//! // Checks.
//! assert!(discord.rate_limit_violations().is_empty());
//! assert!(discord.gateway_violations().is_empty());
//! let _ = (discord.messages(general), discord.nonces(), discord.requests(), discord.arrivals());
//! # }
//! ```
//!
//! **What it models.**
//! - *Auth*: a user token must come as `Authorization: TOKEN`, a bot token as `Authorization: Bot
//!   TOKEN`; anything else is 401 (`GET /gateway` needs none). An IDENTIFY with another token is
//!   closed with 4004.
//! - *READY*: a user account gets whole guilds (channels without `guild_id`, roles, members,
//!   `joined_at`) and its DMs and group DMs in `private_channels`; a bot gets
//!   `{id, unavailable: true}` stubs, then one GUILD_CREATE per guild. A channel the account
//!   cannot read is listed with an overwrite denying VIEW_CHANNEL to the account. A bot must send
//!   intents (else close 4013) and gets only the events they ask for; without GUILD_MEMBERS its
//!   GUILD_CREATEs list only itself, without MESSAGE_CONTENT guild messages it neither wrote nor
//!   is mentioned in arrive with empty content, embeds and attachments. A bot hears of a DM
//!   through its first message (no CHANNEL_CREATE).
//! - *REST*: `GET /gateway`, `/gateway/bot` (bots), `/users/@me`, `/users/@me/guilds`,
//!   `/users/@me/channels` (empty for bots, as on Discord), `/users/{id}`, `/guilds/{id}`,
//!   `/guilds/{id}/channels`, `/guilds/{id}/roles`, `/guilds/{id}/members?limit=&after=` (bots;
//!   403 for user accounts), `/channels/{id}`, `/channels/{id}/messages?before|after|around&limit`
//!   (1–100, default 50, newest first), `/channels/{id}/messages/{mid}`, reaction user lists
//!   (`?after=&limit=`, 1–100, default 25, by user id); `POST /channels/{id}/messages` (JSON or
//!   multipart `payload_json` + files; `nonce` of at most 25 characters, echoed in the answer and
//!   MESSAGE_CREATE but never in history pages; `mentions`/`mention_roles` filled from `<@id>`,
//!   `<@!id>`, `<@&id>` in the content; `enforce_nonce` returns
//!   the original message for a repeated nonce of the same author within the nonce window;
//!   content over 2,000 code points is 400 50035; empty is 400 50006; replies), `PATCH`/`DELETE`
//!   of messages (only the author edits: 403 50005), reactions `PUT`/`DELETE …/@me` (no event when
//!   nothing changes), `POST /channels/{id}/typing`, `POST /users/@me/channels`. Errors carry
//!   Discord's JSON codes (10003 Unknown Channel, 10008 Unknown Message, 50001 Missing Access,
//!   10014 Unknown Emoji, 50035 Invalid Form Body …). Every answer carries `X-RateLimit-*`
//!   headers per bucket (route with its major parameter); 429s carry `retry_after`, `global`
//!   and `X-RateLimit-Scope`.
//! - *CDN*: `/avatars/{user}/{hash}.png`, `/icons/{guild}/{hash}.png` and
//!   `/attachments/{channel}/{id}/{filename}` under
//!   `cdn_base()`. Attachment `url`s name `https://cdn.discordapp.com`, as on Discord;
//!   `rift_discord::rest::Client::download` maps that host onto the configured CDN base.
//!   `remove_file` makes a file 404.
//! - *Live changes* the test drives, applied to the world and dispatched as Discord does:
//!   MESSAGE_CREATE/UPDATE (whole message on edit, partial on an embed-only update)/DELETE/
//!   DELETE_BULK, MESSAGE_REACTION_ADD/REMOVE, GUILD_MEMBER_ADD/UPDATE/REMOVE,
//!   GUILD_ROLE_CREATE/UPDATE/DELETE, CHANNEL_CREATE/UPDATE/DELETE, GUILD_CREATE/UPDATE,
//!   CHANNEL_PINS_UPDATE. REST writes dispatch their events too (MESSAGE_CREATE with the nonce,
//!   before or after the HTTP answer as scripted by [`discord::Echo`]). `add_message` is history:
//!   no event.
//! - *Gateway*: Hello, heartbeats and ACKs, sessions with replay logs (RESUME replays what was
//!   missed, then RESUMED; an unknown session gets op 9 `false`), `resume_gateway_url` = the
//!   gateway URL + `/resume`; faults: op 7, op 9 (`true`/`false`), a dropped socket, missing
//!   ACKs, close codes — now, or when the nth REST request arrives (mid-sync). Message POSTs
//!   can fail with a 5xx before or after creating the message, or create it and stall the answer
//!   (the client's timeout path).
//! - *Checks*: every REST request (method, path, query, `Authorization`, JSON body, status), REST
//!   rate-limit violations (a request on a bucket whose announced Remaining was 0 before its
//!   reset, or inside a 429's `retry_after`), gateway violations (a heartbeat later than the
//!   interval + 2 s, IDENTIFYs less than 5 s apart, more than 120 client payloads in 60 s on a
//!   connection), where each IDENTIFY and RESUME arrived (`/` or `/resume`), the messages in each
//!   channel, the nonces sent, every CDN download with its status.
//!
//! **What it does not model**: permissions beyond "cannot read this channel" (no permission
//! computation from roles and overwrites; edits of others' messages are refused, deletes allowed
//! in guilds), threads, stickers, interactions, voice, presences, GUILD_MEMBERS_CHUNK,
//! per-user READY capabilities (`users`/`merged_members` deduplication), message search, the
//! 2-week limit of bulk deletes, sharding, the identify `max_concurrency` queue, Discord's real
//! bucket hashes and limits (one limit for every bucket, set by the test), CDN image resizing.
//! Clocks: nonce windows, rate limits and pacing use tokio's clock (so `start_paused` tests
//! work); snowflakes and timestamps use the wall clock unless the test gives a time.
//!
//! The lower-level [`discord::FakeGateway`] and [`discord::FakeRest`] (canned answers, no world)
//! serve `rift-discord`'s own protocol tests.

pub mod archive;
pub mod discord;
pub mod sample;

use std::net::TcpListener;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::sync::atomic::{AtomicU32, Ordering};
use std::sync::{Arc, OnceLock};

use rift_store::Database;
use sqlx::Connection;
use sqlx::postgres::PgConnection;

/// A database for one test, and what keeps it alive. A failed test's database is kept and named.
pub struct TestDb {
    /// The store, as the service layer takes it.
    pub store: Arc<dyn rift::Store>,
    /// The same database, for backend-specific calls.
    pub database: Database,
    dir: Option<tempfile::TempDir>,
    name: String,
}

impl TestDb {
    /// The SQLite file, for tests that look at the schema directly; `None` on PostgreSQL.
    pub fn path(&self) -> Option<PathBuf> {
        self.dir.as_ref().map(|d| d.path().join(&self.name))
    }
}

impl Drop for TestDb {
    fn drop(&mut self) {
        if !std::thread::panicking() {
            return;
        }
        match self.dir.take() {
            Some(dir) => {
                eprintln!("kept the failed test's database: {}", dir.keep().join("rift.db").display())
            }
            None => eprintln!(
                "the failed test's database is {:?} in the throwaway cluster; run with RIFT_KEEP_PG=1 to keep the cluster",
                self.name
            ),
        }
    }
}

/// A migrated SQLite database in a fresh temp file.
///
/// # Panics
/// If the temp dir or the database cannot be made.
pub async fn sqlite() -> TestDb {
    let dir = tempfile::tempdir().expect("temp dir");
    let store = Database::open_sqlite(dir.path().join("rift.db")).await.expect("open sqlite");
    TestDb { store: Arc::new(store.clone()), database: store, dir: Some(dir), name: "rift.db".into() }
}

/// A fresh PostgreSQL database, or `None` (after a loud message) when PostgreSQL is not installed
/// and `CI` is not `true`. Under `CI=true` a missing PostgreSQL fails the test.
///
/// # Panics
/// Under `CI=true` when PostgreSQL is missing, or when the cluster misbehaves.
pub async fn postgres() -> Option<TestDb> {
    let (url, name) = postgres_url().await?;
    let store = Database::connect_postgres(&url).await.expect("connect test database");
    Some(TestDb { store: Arc::new(store.clone()), database: store, dir: None, name })
}

/// The URL and name of a fresh, migrated PostgreSQL database (see [`postgres`]).
pub async fn postgres_url() -> Option<(String, String)> {
    let cluster = match cluster() {
        Ok(cluster) => cluster,
        Err(Unavailable(reason)) => {
            if std::env::var("CI").as_deref() == Ok("true") {
                panic!("PostgreSQL is required under CI=true: {reason}");
            }
            eprintln!(
                "SKIPPED: PostgreSQL not installed ({reason}); install the `postgresql` package to run these"
            );
            return None;
        }
    };
    TEMPLATE
        .get_or_init(|| async {
            let mut admin =
                PgConnection::connect(&cluster.url("postgres")).await.expect("connect to postgres");
            sqlx::query("CREATE DATABASE rift_template").execute(&mut admin).await.expect("create template");
            admin.close().await.ok();
            // Migrating once and copying is faster than migrating every test database.
            let template =
                Database::connect_postgres(&cluster.url("rift_template")).await.expect("migrate template");
            template.close().await;
        })
        .await;
    static NEXT: AtomicU32 = AtomicU32::new(0);
    let name = format!("t{}", NEXT.fetch_add(1, Ordering::Relaxed));
    {
        // CREATE DATABASE copies the template, which must have no other session at the moment.
        let _one_at_a_time = CREATE.lock().await;
        let mut admin = PgConnection::connect(&cluster.url("postgres")).await.expect("connect to postgres");
        sqlx::query(&format!("CREATE DATABASE {name} TEMPLATE rift_template"))
            .execute(&mut admin)
            .await
            .expect("create test database");
        admin.close().await.ok();
    }
    Some((cluster.url(&name), name))
}

static TEMPLATE: tokio::sync::OnceCell<()> = tokio::sync::OnceCell::const_new();
static CREATE: tokio::sync::Mutex<()> = tokio::sync::Mutex::const_new(());

struct Cluster {
    port: u16,
}

impl Cluster {
    fn url(&self, db: &str) -> String {
        format!("postgres://postgres:secret@127.0.0.1:{}/{db}", self.port)
    }
}

#[derive(Clone, Debug)]
struct Unavailable(String);

fn cluster() -> Result<&'static Cluster, Unavailable> {
    static CLUSTER: OnceLock<Result<Cluster, Unavailable>> = OnceLock::new();
    CLUSTER.get_or_init(start_cluster).as_ref().map_err(Clone::clone)
}

/// The newest installed PostgreSQL's `bin` directory.
fn pg_bin() -> Option<PathBuf> {
    let mut dirs: Vec<(Vec<u32>, PathBuf)> = std::fs::read_dir("/usr/lib/postgresql")
        .ok()?
        .filter_map(Result::ok)
        .filter_map(|e| {
            let version =
                e.file_name().to_str()?.split('.').map(|p| p.parse().ok()).collect::<Option<Vec<u32>>>()?;
            let bin = e.path().join("bin");
            bin.join("initdb").exists().then_some((version, bin))
        })
        .collect();
    dirs.sort();
    dirs.pop().map(|(_, bin)| bin)
}

fn is_root() -> bool {
    Command::new("id").arg("-u").output().map(|o| o.stdout.starts_with(b"0\n")).unwrap_or(false)
}

/// A command run as the `postgres` user when we are root (PostgreSQL refuses to run as root).
fn as_pg_user(program: &Path) -> Command {
    if is_root() {
        let mut cmd = Command::new("runuser");
        cmd.args(["-u", "postgres", "--"]).arg(program);
        cmd
    } else {
        Command::new(program)
    }
}

fn run(cmd: &mut Command, what: &str) -> Result<(), Unavailable> {
    let out = cmd.stdin(Stdio::null()).output().map_err(|e| Unavailable(format!("{what}: {e}")))?;
    if out.status.success() {
        Ok(())
    } else {
        Err(Unavailable(format!(
            "{what} failed: {}{}",
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        )))
    }
}

fn start_cluster() -> Result<Cluster, Unavailable> {
    let bin = pg_bin().ok_or_else(|| Unavailable("no /usr/lib/postgresql/*/bin/initdb".into()))?;
    let dir = std::env::temp_dir().join(format!("rift-test-pg-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).map_err(|e| Unavailable(format!("create {}: {e}", dir.display())))?;
    std::fs::write(dir.join("pw"), "secret\n").map_err(|e| Unavailable(format!("password file: {e}")))?;
    if is_root() {
        run(Command::new("chown").args(["-R", "postgres:"]).arg(&dir), "chown")?;
    }
    run(
        as_pg_user(&bin.join("initdb"))
            .arg("-D")
            .arg(dir.join("data"))
            .args([
                "-U",
                "postgres",
                "--auth-local=trust",
                "--auth-host=scram-sha-256",
                "--no-sync",
                "-E",
                "UTF8",
            ])
            .args(["--locale=C.UTF-8"])
            .arg(format!("--pwfile={}", dir.join("pw").display())),
        "initdb",
    )?;
    // A free loopback port (a race with another process is possible but unlikely).
    let port = TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .map_err(|e| Unavailable(format!("free port: {e}")))?
        .port();
    // Remove the cluster when this test process is gone, however it ends (no atexit without
    // unsafe code): a detached watchdog waits for our pid, then stops the server and deletes it.
    // RIFT_KEEP_PG=1 keeps it for a post-mortem.
    if std::env::var("RIFT_KEEP_PG").as_deref() != Ok("1") {
        let runas = if is_root() { "runuser -u postgres -- " } else { "" };
        let script = format!(
            "while kill -0 {pid} 2>/dev/null; do sleep 0.5; done; \
             {runas}'{pg_ctl}' -D '{data}' -m immediate -w stop >/dev/null 2>&1; rm -rf '{dir}'",
            pid = std::process::id(),
            pg_ctl = bin.join("pg_ctl").display(),
            data = dir.join("data").display(),
            dir = dir.display(),
        );
        Command::new("setsid")
            .args(["sh", "-c", &script])
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .map_err(|e| Unavailable(format!("watchdog: {e}")))?;
    }
    let options = format!(
        "-p {port} -k {dir} -c listen_addresses=127.0.0.1 -c fsync=off -c synchronous_commit=off \
         -c full_page_writes=off -c max_connections=300",
        dir = dir.display()
    );
    run(
        as_pg_user(&bin.join("pg_ctl"))
            .arg("-D")
            .arg(dir.join("data"))
            .arg("-l")
            .arg(dir.join("log"))
            .args(["-w", "-t", "30", "-o", &options, "start"])
            .stdout(Stdio::null())
            .stderr(Stdio::null()),
        "pg_ctl start",
    )?;
    Ok(Cluster { port })
}
