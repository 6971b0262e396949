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
