//! The real `rift-bridge` process: a database that is not PostgreSQL is refused in one line, and
//! against a throwaway PostgreSQL it starts and stops cleanly on SIGTERM.

use std::io::{BufRead, BufReader};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

fn command() -> Command {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_rift-bridge"));
    cmd.env_clear()
        .env("RUST_LOG", "info")
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped());
    cmd
}

#[test]
fn a_database_that_is_not_postgres_is_one_line_naming_database_url() {
    for url in [Some("sqlite:///tmp/rift.db"), Some("mysql://localhost/rift"), None] {
        let mut cmd = command();
        if let Some(url) = url {
            cmd.env("DATABASE_URL", url);
        }
        let output = cmd.output().expect("run rift-bridge");
        assert_eq!(output.status.code(), Some(2), "{url:?}");
        let stderr = String::from_utf8_lossy(&output.stderr);
        let lines: Vec<&str> = stderr.lines().collect();
        assert_eq!(lines.len(), 1, "{stderr}");
        assert!(lines[0].starts_with("error: ") && lines[0].contains("DATABASE_URL"), "{stderr}");
    }
}

#[tokio::test]
async fn starts_and_stops_cleanly_on_sigterm_against_postgres() {
    let Some((url, _)) = rift_testing::postgres_url().await else { return };
    let temp = tempfile::tempdir().expect("temp dir");
    let dir = temp.path().join("uploads");
    let mut child = command()
        .env("DATABASE_URL", &url)
        .env("UPLOAD_DIR", &dir)
        // Nothing listens here: with no connections stored, Discord is never asked.
        .env("DISCORD_API_BASE", "http://127.0.0.1:9/api/v10")
        .spawn()
        .expect("spawn rift-bridge");
    // The log goes to stdout, as rift-server's does.
    let stdout = child.stdout.take().expect("stdout");
    let (lines_tx, lines) = std::sync::mpsc::channel();
    std::thread::spawn(move || {
        for line in BufReader::new(stdout).lines().map_while(Result::ok) {
            if lines_tx.send(line).is_err() {
                return;
            }
        }
    });
    let started = Instant::now();
    loop {
        let line = lines.recv_timeout(Duration::from_secs(30)).expect("rift-bridge did not come up");
        if line.contains("rift-bridge running") {
            break;
        }
        assert!(started.elapsed() < Duration::from_secs(30), "rift-bridge did not come up");
    }
    assert!(child.try_wait().unwrap().is_none(), "rift-bridge exited early");
    let status = Command::new("kill").args(["-TERM", &child.id().to_string()]).status().unwrap();
    assert!(status.success());
    let stopped = Instant::now();
    let status = loop {
        if let Some(status) = child.try_wait().unwrap() {
            break status;
        }
        assert!(stopped.elapsed() < Duration::from_secs(10), "no graceful exit after SIGTERM");
        std::thread::sleep(Duration::from_millis(50));
    };
    assert!(status.success(), "{status}");
    // The reader ends when the process's stdout closes.
    let rest: Vec<String> = lines.iter().collect();
    assert!(rest.iter().any(|l| l.contains("rift-bridge stopped")), "{rest:?}");
    assert!(dir.is_dir(), "the upload dir is made at start-up");
}
