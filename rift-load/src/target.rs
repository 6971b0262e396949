//! What the load runs against: a loopback URL, optionally a `rift-server` this crate started
//! (so its pid, and with it its resident memory, is known).

use std::net::{IpAddr, Ipv4Addr, SocketAddr};
use std::path::Path;
use std::process::Stdio;
use std::time::{Duration, Instant};

use crate::{LoadError, Result};

/// Refuses anything but a loopback `http://` URL (`127.0.0.0/8`, `[::1]` or `localhost`).
///
/// # Errors
/// [`LoadError::Config`] naming the URL.
pub fn ensure_loopback(url: &str) -> Result<()> {
    let refuse = || {
        LoadError::Config(format!(
            "refusing {url:?}: rift-load only targets loopback (http://127.0.0.1:PORT)"
        ))
    };
    let rest = url.strip_prefix("http://").ok_or_else(refuse)?;
    let authority = rest.split(['/', '?', '#']).next().unwrap_or_default();
    if authority.contains('@') {
        return Err(refuse());
    }
    let host = match authority.strip_prefix('[') {
        Some(bracketed) => bracketed.split(']').next().unwrap_or_default(),
        None => authority.rsplit_once(':').map_or(authority, |(host, _)| host),
    };
    if host.eq_ignore_ascii_case("localhost") {
        return Ok(());
    }
    match host.parse::<IpAddr>() {
        Ok(ip) if ip.is_loopback() => Ok(()),
        _ => Err(refuse()),
    }
}

/// Refuses a PostgreSQL URL whose host is not loopback (SQLite paths are local by nature).
///
/// # Errors
/// [`LoadError::Config`] naming the URL's host.
pub fn ensure_loopback_database(url: &str) -> Result<()> {
    let Some(rest) = url.strip_prefix("postgres://").or_else(|| url.strip_prefix("postgresql://")) else {
        return Ok(());
    };
    let authority = rest.split(['/', '?']).next().unwrap_or_default();
    let host_port = authority.rsplit_once('@').map_or(authority, |(_, h)| h);
    ensure_loopback(&format!("http://{host_port}"))
        .map_err(|_| LoadError::Config("refusing a database that is not on loopback (127.0.0.1)".into()))
}

/// The server a scenario runs against.
#[derive(Debug, Clone)]
pub struct Target {
    /// `http://127.0.0.1:PORT`.
    pub base: String,
    /// The server's process id, when known: resident memory is read from `/proc/PID/status`.
    pub pid: Option<u32>,
    /// The server's database, when known: the search scenario can seed it directly.
    pub database_url: Option<String>,
}

impl Target {
    /// A target at `base` (loopback only).
    ///
    /// # Errors
    /// [`LoadError::Config`] when `base` is not loopback.
    pub fn new(base: &str, pid: Option<u32>, database_url: Option<String>) -> Result<Self> {
        ensure_loopback(base)?;
        if let Some(url) = &database_url {
            ensure_loopback_database(url)?;
        }
        Ok(Self { base: base.trim_end_matches('/').to_owned(), pid, database_url })
    }

    /// The server's resident memory in KiB, if its pid is known.
    pub fn rss_kib(&self) -> Option<u64> {
        self.pid.and_then(rss_kib)
    }
}

/// `VmRSS` of a process, in KiB.
pub fn rss_kib(pid: u32) -> Option<u64> {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).ok()?;
    let line = status.lines().find(|l| l.starts_with("VmRSS:"))?;
    line.split_whitespace().nth(1)?.parse().ok()
}

/// A `rift-server` started by the load generator on a temp data dir, `RATE_LIMITS=off`, on a free
/// loopback port; killed when dropped.
pub struct SpawnedServer {
    child: tokio::process::Child,
    target: Target,
    _data: tempfile::TempDir,
}

impl SpawnedServer {
    /// Starts `binary` with SQLite in a temp dir, or on `database_url` (PostgreSQL), and waits
    /// until `/api/health` answers.
    ///
    /// # Errors
    /// The binary cannot start, or the server is not healthy within 60 s.
    pub async fn start(binary: &Path, database_url: Option<&str>) -> Result<Self> {
        if let Some(url) = database_url {
            ensure_loopback_database(url)?;
        }
        let data = tempfile::tempdir().map_err(|e| LoadError::Io(format!("temp dir: {e}")))?;
        let port = free_port()?;
        let base = format!("http://127.0.0.1:{port}");
        let database_url = database_url
            .map(str::to_owned)
            .unwrap_or_else(|| format!("sqlite://{}", data.path().join("rift.db").display()));
        let mut command = tokio::process::Command::new(binary);
        command
            .env("RIFT_DATA_DIR", data.path())
            .env("DATABASE_URL", &database_url)
            .env("LISTEN_ADDR", format!("127.0.0.1:{port}"))
            .env("RATE_LIMITS", "off")
            .env("CLIENT_DIR", data.path().join("no-client"))
            .env("RUST_LOG", std::env::var("RUST_LOG").unwrap_or_else(|_| "warn".into()))
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .kill_on_drop(true);
        let child = command.spawn().map_err(|e| {
            LoadError::Config(format!("cannot start {} (--server-bin): {e}", binary.display()))
        })?;
        let pid = child.id();
        let target = Target::new(&base, pid, Some(database_url))?;
        let mut server = Self { child, target, _data: data };
        server.wait_healthy().await?;
        Ok(server)
    }

    async fn wait_healthy(&mut self) -> Result<()> {
        let http = reqwest::Client::new();
        let started = Instant::now();
        while started.elapsed() < Duration::from_secs(60) {
            if let Ok(Some(status)) = self.child.try_wait() {
                return Err(LoadError::Io(format!("rift-server exited at start-up ({status})")));
            }
            if let Ok(answer) = http.get(format!("{}/api/health", self.target.base)).send().await
                && answer.status().is_success()
            {
                return Ok(());
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
        Err(LoadError::Timeout("rift-server not healthy within 60 s".into()))
    }

    /// Where it listens, its pid and its database.
    pub fn target(&self) -> &Target {
        &self.target
    }

    /// Stops it (SIGKILL) and waits for it to exit.
    pub async fn stop(mut self) {
        let _ = self.child.kill().await;
    }
}

/// A loopback port nobody listens on right now.
fn free_port() -> Result<u16> {
    let listener = std::net::TcpListener::bind(SocketAddr::from((Ipv4Addr::LOCALHOST, 0)))
        .map_err(|e| LoadError::Io(format!("no free port: {e}")))?;
    listener.local_addr().map(|a| a.port()).map_err(|e| LoadError::Io(e.to_string()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_loopback_targets() {
        for ok in
            ["http://127.0.0.1:3200", "http://127.1.2.3:1/", "http://localhost:80", "http://[::1]:3200/x"]
        {
            assert!(ensure_loopback(ok).is_ok(), "{ok}");
        }
        for bad in [
            "http://10.0.0.1:3200",
            "http://example.com",
            "https://127.0.0.1:3200",
            "http://127.0.0.1@evil.example:80",
            "http://0.0.0.0:3200",
            "127.0.0.1:3200",
        ] {
            assert!(matches!(ensure_loopback(bad), Err(LoadError::Config(_))), "{bad}");
        }
        assert!(ensure_loopback_database("postgres://u:p@127.0.0.1:5432/db").is_ok());
        assert!(ensure_loopback_database("sqlite:///tmp/x.db").is_ok());
        assert!(ensure_loopback_database("postgres://u:p@db.example:5432/db").is_err());
    }
}
