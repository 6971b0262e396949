//! Embeds Rift in an application: the service layer on an embedded SQLite file, then Rift's HTTP
//! API nested under `/chat` in the application's own axum router, served on loopback. Runs a short
//! conversation, asks the API for its health over a real socket, prints what happened, and exits.
//!
//! `cargo run -p rift-examples --example embed`

use std::sync::Arc;

use rift::service::{Config, RegisterInput, Rift, SearchParams, SendMessage};
use tokio::io::{AsyncReadExt, AsyncWriteExt};

#[tokio::main]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    let dir = tempfile::tempdir()?;
    let store = rift_store::connect(&format!("sqlite://{}", dir.path().join("rift.db").display())).await?;
    let rift = Rift::new(Arc::new(store), Config::new(b"an example secret, long and random".to_vec()));

    // The service layer directly: what REST handlers, the gateway and bridges call.
    let ada = rift.register(RegisterInput::new("ada", "correct horse battery")).await?.user;
    let grace = rift.register(RegisterInput::new("grace", "another good password")).await?.user;
    let server = rift.create_server(ada.id, "Analytical Engines").await?;
    let invite = rift.create_invite(ada.id, server.id, Default::default()).await?;
    rift.join_server(grace.id, server.id, &invite.code).await?;
    let general = rift.channels(ada.id, server.id).await?.remove(0);
    rift.send_message(ada.id, general.id, SendMessage::text("The engine weaves algebraic patterns")).await?;
    rift.send_message(grace.id, general.id, SendMessage::text("Like the Jacquard loom weaves flowers"))
        .await?;
    let found = rift.search(grace.id, SearchParams::text("patterns")).await?;
    println!(
        "{} found {} message(s) for \"patterns\": {:?}",
        grace.username,
        found.len(),
        found[0].message.content
    );

    // Rift's HTTP API inside the application's own router.
    let app = axum::Router::new().route("/", axum::routing::get(|| async { "my application" })).nest(
        "/chat",
        rift_http::router(rift_http::AppState::new(
            rift,
            rift_http::HttpConfig::new(dir.path().join("uploads")),
        )),
    );
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await?;
    let addr = listener.local_addr()?;
    let server_task = tokio::spawn(async move { axum::serve(listener, app).await });

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
