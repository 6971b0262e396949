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

impl Node {
    /// The port it listens on.
    pub(crate) fn port(&self) -> u16 {
        self.base.rsplit(':').next().and_then(|p| p.parse().ok()).expect("a port")
    }

    /// Sends SIGTERM (unless it has exited already) and waits (up to 30 s) for a successful exit.
    pub(crate) async fn terminate(&mut self) {
        if self.child.try_wait().unwrap().is_none() {
            let pid = self.child.id().to_string();
            let status = Command::new("kill").args(["-TERM", &pid]).status().expect("kill");
            assert!(status.success());
        }
        let started = Instant::now();
        loop {
            if let Some(exit) = self.child.try_wait().unwrap() {
                assert!(exit.success(), "{exit:?}");
                return;
            }
            assert!(started.elapsed() < Duration::from_secs(30), "no exit after SIGTERM");
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    }

    /// Kills it with SIGKILL and reaps it.
    pub(crate) fn kill(&mut self) {
        self.child.kill().unwrap();
        self.child.wait().unwrap();
    }
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
    start_on(dir, free_port(), database_url, env).await
}

/// A server on `dir` and `port` with extra environment variables, answering its health check.
pub(crate) async fn start_on(
    dir: Arc<tempfile::TempDir>,
    port: u16,
    database_url: Option<&str>,
    env: &[(&str, &str)],
) -> Node {
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

/// A gateway client of one server, over a real socket.
pub(crate) struct GatewayClient {
    socket: tokio_tungstenite::WebSocketStream<tokio_tungstenite::MaybeTlsStream<tokio::net::TcpStream>>,
}

impl GatewayClient {
    /// Connects to `base`'s gateway and sends `frame` (an Identify or a Resume).
    pub(crate) async fn open(base: &str, frame: Value) -> Self {
        use futures_util::SinkExt;
        let url = base.replacen("http://", "ws://", 1) + "/ws";
        let (mut socket, _) = tokio_tungstenite::connect_async(url).await.expect("ws");
        socket.send(tokio_tungstenite::tungstenite::Message::text(frame.to_string())).await.unwrap();
        Self { socket }
    }

    /// Identifies with `token` and waits for Ready; returns it.
    pub(crate) async fn identify(base: &str, token: &str) -> (Self, Value) {
        let mut client = Self::open(base, serde_json::json!({ "type": "Identify", "token": token })).await;
        let ready = client.until(|frame| frame["type"] == "Ready").await;
        (client, ready)
    }

    /// The next frame (text as JSON, or a close as `{"close": code}`), within 30 s.
    pub(crate) async fn next(&mut self) -> Value {
        use futures_util::StreamExt;
        use tokio_tungstenite::tungstenite::Message;
        loop {
            let frame = tokio::time::timeout(Duration::from_secs(30), self.socket.next())
                .await
                .expect("a frame within 30 s");
            match frame {
                Some(Ok(Message::Text(text))) => return serde_json::from_str(text.as_str()).unwrap(),
                Some(Ok(Message::Close(close))) => {
                    return serde_json::json!({ "close": close.map(|c| u16::from(c.code)) });
                }
                Some(Ok(_)) => {}
                other => return serde_json::json!({ "close": null, "error": format!("{other:?}") }),
            }
        }
    }

    /// Frames until one matches; panics when the connection closes first.
    pub(crate) async fn until(&mut self, mut wanted: impl FnMut(&Value) -> bool) -> Value {
        loop {
            let frame = self.next().await;
            if wanted(&frame) {
                return frame;
            }
            assert!(frame.get("close").is_none(), "closed before the awaited frame: {frame}");
        }
    }

    /// Every frame up to and including the first that matches.
    pub(crate) async fn collect_until(&mut self, mut wanted: impl FnMut(&Value) -> bool) -> Vec<Value> {
        let mut frames = Vec::new();
        loop {
            let frame = self.next().await;
            let done = wanted(&frame);
            assert!(done || frame.get("close").is_none(), "closed first: {frames:?} {frame}");
            frames.push(frame);
            if done {
                return frames;
            }
        }
    }

    /// Closes with 1000 (the session ends) and waits for the server's close.
    pub(crate) async fn close(mut self) {
        use tokio_tungstenite::tungstenite::protocol::{CloseFrame, frame::coding::CloseCode};
        let normal = CloseFrame { code: CloseCode::Normal, reason: "".into() };
        let _ = self.socket.close(Some(normal)).await;
        let _ = tokio::time::timeout(Duration::from_secs(5), async {
            use futures_util::StreamExt;
            while let Some(Ok(_)) = self.socket.next().await {}
        })
        .await;
    }
}
