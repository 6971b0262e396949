//! # rift-testing
//!
//! Test support shared by Rift's crates: fresh databases for each test — a temp SQLite file, or a
//! new PostgreSQL database (copied from a migrated template) in one throwaway cluster per test
//! process, which this crate starts itself and removes when the process ends.
//!
//! Without PostgreSQL installed, [`postgres`] prints a loud `SKIPPED` line and returns `None`;
//! under `CI=true` it panics instead, so a CI run cannot pass without the PostgreSQL half.

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
