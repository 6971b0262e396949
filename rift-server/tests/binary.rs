//! The `rift-server` binary as an operator meets it: `--version`, and `/api/health` naming the
//! version and the database kind, on SQLite and PostgreSQL.

mod common;

use std::process::Command;

use serde_json::Value;

#[test]
fn version_flag_prints_the_package_version() {
    let out =
        Command::new(env!("CARGO_BIN_EXE_rift-server")).arg("--version").output().expect("run rift-server");
    assert!(out.status.success());
    assert_eq!(
        String::from_utf8(out.stdout).unwrap(),
        format!("rift-server {}\n", env!("CARGO_PKG_VERSION"))
    );
}

async fn health(database_url: Option<&str>) -> Value {
    let node = common::start(database_url).await;
    let response = reqwest::get(format!("{}/api/health", node.base)).await.expect("health");
    assert_eq!(response.status(), 200);
    response.json().await.expect("json")
}

#[tokio::test]
async fn sqlite_health_reports_the_version_and_database() {
    let health = health(None).await;
    assert_eq!(
        health,
        serde_json::json!({"status": "ok", "version": env!("CARGO_PKG_VERSION"), "database": "sqlite"})
    );
}

#[tokio::test]
async fn postgres_health_reports_the_version_and_database() {
    let Some((url, _)) = rift_testing::postgres_url().await else { return };
    let health = health(Some(&url)).await;
    assert_eq!(
        health,
        serde_json::json!({"status": "ok", "version": env!("CARGO_PKG_VERSION"), "database": "postgres"})
    );
}

/// `DISCORD_TOKEN` for a `RIFT_USER_ID` that names nobody: one line naming the variable, and a
/// non-zero exit before the server starts.
#[test]
fn a_bridge_owner_who_does_not_exist_is_refused_clearly() {
    let dir = tempfile::tempdir().expect("temp dir");
    let nobody = "01890000-0000-7000-8000-000000000000";
    let mut child = common::command(dir.path(), common::free_port())
        .env("DISCORD_TOKEN", "a-token")
        .env("RIFT_USER_ID", nobody)
        .spawn()
        .expect("run rift-server");
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(60);
    let status = loop {
        if let Some(status) = child.try_wait().expect("wait") {
            break status;
        }
        if std::time::Instant::now() > deadline {
            let _ = child.kill();
            panic!("rift-server kept running with an unknown RIFT_USER_ID");
        }
        std::thread::sleep(std::time::Duration::from_millis(50));
    };
    let mut stderr = String::new();
    std::io::Read::read_to_string(&mut child.stderr.take().expect("stderr"), &mut stderr).expect("stderr");
    assert!(!status.success());
    assert!(stderr.contains(&format!("RIFT_USER_ID: no Rift user {nobody}")), "{stderr}");
}
