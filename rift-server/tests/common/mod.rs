//! Starting and stopping real `rift-server` processes on loopback, shared by the process tests.

// Each test binary uses a different part of this module.
#![allow(dead_code)]

use std::net::TcpListener;
use std::process::{Child, Command, Stdio};
use std::sync::Arc;
use std::time::{Duration, Instant};

use serde_json::Value;

pub(crate) const SECRET: &str = "a shared secret of at least thirty-two bytes";

/// A running `rift-server`; killed (SIGKILL) when dropped.
pub(crate) struct Node {
    pub(crate) child: Child,
    pub(crate) base: String,
    /// The data dir, shared with a later process started on the same data.
    pub(crate) dir: Arc<tempfile::TempDir>,
}

impl Drop for Node {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

pub(crate) fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0").and_then(|l| l.local_addr()).map(|a| a.port()).expect("free port")
}

pub(crate) fn command(dir: &std::path::Path, port: u16) -> Command {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_rift-server"));
    cmd.env_clear()
        .env("RIFT_DATA_DIR", dir)
        .env("LISTEN_ADDR", format!("127.0.0.1:{port}"))
        .env("RATE_LIMITS", "off")
        .env("CLIENT_DIR", dir.join("no-client"))
        .env("RUST_LOG", "warn")
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::piped());
    cmd
}

/// A server on a fresh data dir (SQLite there unless `database_url` says otherwise).
pub(crate) async fn start(database_url: Option<&str>) -> Node {
    start_in(Arc::new(tempfile::tempdir().expect("temp dir")), database_url).await
}

/// A server on a fresh data dir with extra environment variables.
pub(crate) async fn start_with(database_url: Option<&str>, env: &[(&str, &str)]) -> Node {
    start_in_with(Arc::new(tempfile::tempdir().expect("temp dir")), database_url, env).await
}

/// A server on `dir`, answering its health check.
pub(crate) async fn start_in(dir: Arc<tempfile::TempDir>, database_url: Option<&str>) -> Node {
    start_in_with(dir, database_url, &[]).await
}

/// A server on `dir` with extra environment variables, answering its health check.
pub(crate) async fn start_in_with(
    dir: Arc<tempfile::TempDir>,
    database_url: Option<&str>,
    env: &[(&str, &str)],
) -> Node {
    let port = free_port();
    let mut cmd = command(dir.path(), port);
    cmd.env("JWT_SECRET", SECRET);
    if let Some(url) = database_url {
        cmd.env("DATABASE_URL", url);
    }
    cmd.envs(env.iter().copied());
    let child = cmd.spawn().expect("spawn rift-server");
    let node = Node { child, base: format!("http://127.0.0.1:{port}"), dir };
    let started = Instant::now();
    let http = reqwest::Client::new();
    loop {
        if let Ok(response) = http.get(format!("{}/api/health", node.base)).send().await
            && response.status() == 200
        {
            return node;
        }
        assert!(started.elapsed() < Duration::from_secs(30), "rift-server did not come up");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

pub(crate) async fn post(http: &reqwest::Client, url: String, token: Option<&str>, body: Value) -> Value {
    let mut request = http.post(url).json(&body);
    if let Some(token) = token {
        request = request.bearer_auth(token);
    }
    let response = request.send().await.expect("request");
    assert!(response.status().is_success(), "{}", response.status());
    response.json().await.expect("json")
}
