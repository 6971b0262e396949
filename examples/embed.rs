//! The smallest embedding of Rift in an application: the service layer on an embedded SQLite
//! file, and Rift's HTTP API (REST and the `/ws` gateway) nested under `/chat` in the
//! application's own axum router, served on loopback. Asks the API for its health over a real
//! socket, prints the answer, and exits.
//!
//! `cargo run -p rift-examples --example embed`

use std::sync::Arc;

use rift::{Config, Rift};
use tokio::io::{AsyncReadExt, AsyncWriteExt};

#[tokio::main]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    // Storage and the service layer (see the `service` example for what it can do on its own).
    let dir = tempfile::tempdir()?;
    let store = rift_store::connect(&format!("sqlite://{}", dir.path().join("rift.db").display())).await?;
    let rift = Rift::new(Arc::new(store), Config::new(b"an example secret, long and random".to_vec()));

    // Rift's HTTP API inside the application's own router; uploads go to a folder of its choice.
    let chat = rift_http::router(rift_http::AppState::new(
        rift,
        rift_http::HttpConfig::new(dir.path().join("uploads")),
    ));
    let app =
        axum::Router::new().route("/", axum::routing::get(|| async { "my application" })).nest("/chat", chat);
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await?;
    let addr = listener.local_addr()?;
    let server_task = tokio::spawn(async move { axum::serve(listener, app).await });

    // A request over a real socket, to show it is served (a browser or curl works the same).
    let mut socket = tokio::net::TcpStream::connect(addr).await?;
    socket
        .write_all(b"GET /chat/api/health HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n\r\n")
        .await?;
    let mut answer = String::new();
    socket.read_to_string(&mut answer).await?;
    let body = answer.split("\r\n\r\n").nth(1).unwrap_or_default();
    println!("GET http://{addr}/chat/api/health -> {body}");
    server_task.abort();
    Ok(())
}
