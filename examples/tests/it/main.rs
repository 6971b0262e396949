//! Runs every example as its users would, the compiled `[[example]]` binary as a child process,
//! and checks what it did: its output, and for the bridge and the bot, the other side of their
//! sockets. Only loopback; no timing is asserted (the waits below only stop a hung example).

mod bot;
mod custom_bridge;
mod embed_and_service;

use std::path::PathBuf;
use std::process::Stdio;
use std::time::Duration;

use tokio::io::{AsyncBufReadExt, BufReader, Lines};
use tokio::process::{Child, ChildStdout};

/// How long an example may stay silent before the test gives up on it (a hang, not a slow run).
const HANG: Duration = Duration::from_secs(60);

/// The binary of example `name`, as `cargo build --examples` leaves it beside this test (the test
/// command builds them first: `cargo test --all-targets` compiles examples as test harnesses,
/// which are no use here, and plain `cargo test` leaves them under hashed names). Not built here: a nested `cargo build`
/// inherits this test's environment and would fight the outer build over fingerprints. A binary
/// missing or older than its own source or the examples' library fails the test with the command
/// that builds it (changes in other crates are not seen here; `cargo test` rebuilds for those).
fn example_binary(name: &str) -> PathBuf {
    // This test runs as <target>/<profile>/deps/it-<hash>; examples live in <profile>/examples.
    let exe = std::env::current_exe().expect("test binary path");
    let profile_dir = exe.parent().and_then(|deps| deps.parent()).expect("target profile dir");
    let binary = profile_dir.join("examples").join(format!("{name}{}", std::env::consts::EXE_SUFFIX));
    let built = std::fs::metadata(&binary).and_then(|m| m.modified()).ok();
    let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR"));
    let sources = newest_source(&dir.join("src")).max(modified(&dir.join(format!("{name}.rs"))));
    assert!(
        built.is_some_and(|built| built >= sources),
        "example {name} is not built or older than its sources: run \
         `cargo build -p rift-examples --examples` first"
    );
    binary
}

/// The newest modification time of the Rust files below `dir` (the examples' library).
fn newest_source(dir: &std::path::Path) -> std::time::SystemTime {
    let mut newest = std::time::SystemTime::UNIX_EPOCH;
    for entry in std::fs::read_dir(dir).expect("examples source dir").flatten() {
        let path = entry.path();
        if path.is_dir() {
            newest = newest.max(newest_source(&path));
        } else if path.extension().is_some_and(|e| e == "rs") {
            newest = newest.max(modified(&path));
        }
    }
    newest
}

fn modified(path: &std::path::Path) -> std::time::SystemTime {
    std::fs::metadata(path).and_then(|m| m.modified()).unwrap_or_else(|e| panic!("{}: {e}", path.display()))
}

/// A running example: its stdout line by line; killed when dropped.
struct Running {
    child: Child,
    stdout: Lines<BufReader<ChildStdout>>,
    seen: Vec<String>,
}

impl Running {
    /// Starts example `name` with `args`, stdin piped (closing it ends `custom_bridge`).
    fn start(name: &str, args: &[&str]) -> Self {
        let mut child = tokio::process::Command::new(example_binary(name))
            .args(args)
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .kill_on_drop(true)
            .spawn()
            .unwrap_or_else(|e| panic!("start example {name}: {e}"));
        let stdout = BufReader::new(child.stdout.take().expect("stdout")).lines();
        Self { child, stdout, seen: Vec::new() }
    }

    /// The next stdout line; panics with everything printed so far when the example ends first.
    async fn line(&mut self) -> String {
        let line = tokio::time::timeout(HANG, self.stdout.next_line()).await;
        match line {
            Ok(Ok(Some(line))) => {
                self.seen.push(line.clone());
                line
            }
            other => panic!("example ended or hung ({other:?}) after printing {:#?}", self.seen),
        }
    }

    /// Reads lines until one starts with `prefix`; returns it.
    async fn line_starting(&mut self, prefix: &str) -> String {
        loop {
            let line = self.line().await;
            if line.starts_with(prefix) {
                return line;
            }
        }
    }

    /// Waits for the example to exit by itself; returns the rest of its output.
    async fn finish(mut self) -> Vec<String> {
        drop(self.child.stdin.take());
        let status =
            tokio::time::timeout(HANG, self.child.wait()).await.expect("example did not exit").unwrap();
        while let Ok(Some(line)) = self.stdout.next_line().await {
            self.seen.push(line);
        }
        assert!(status.success(), "example failed ({status}) after printing {:#?}", self.seen);
        self.seen
    }
}
