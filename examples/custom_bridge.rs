//! Runs a custom bridge: [`rift_examples::LineBridge`] (in `src/line_bridge.rs`, the whole
//! `rift::bridge::Bridge` implementation) relays one Rift channel to and from a line-based TCP
//! socket on 127.0.0.1.
//!
//! `cargo run -p rift-examples --example custom_bridge -- [PORT]` (no port or 0: any free port,
//! printed). Then `nc 127.0.0.1 PORT`: a line `alice: hi` there becomes a message of the puppet
//! `alice` in Rift; a line typed into this program's stdin is sent in Rift by its user `ada` and
//! arrives on the socket as `ada: …`. Ends when stdin closes.

use std::net::{Ipv4Addr, SocketAddr};
use std::sync::Arc;

use rift::bridge::BridgeHost;
use rift::event::{Event, Topic};
use rift::{BridgeInput, Config, RegisterInput, Rift, SendMessage};
use rift_examples::LineBridge;
use tokio::io::AsyncBufReadExt;

#[tokio::main]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    let port: u16 = match std::env::args().nth(1) {
        Some(port) => port.parse().map_err(|_| format!("not a port number: {port}"))?,
        None => 0,
    };
    let dir = tempfile::tempdir()?;
    let store = rift_store::connect(&format!("sqlite://{}", dir.path().join("rift.db").display())).await?;
    let rift = Rift::new(Arc::new(store), Config::new(b"an example secret, long and random".to_vec()));

    // A bridge runs for a stored connection, on behalf of its owner (who owns what it mirrors).
    let ada = rift.register(RegisterInput::new("ada", "correct horse battery")).await?.user;
    let connection =
        rift.create_bridge_connection(ada.id, BridgeInput::new("lines", "none", "bot", "relay")).await?;

    // The host starts the bridge and feeds it the events of the channels it links. (A server runs
    // stored connections with `rift::bridge::BridgeManager` and a factory per bridge kind instead.)
    let bridge = Arc::new(LineBridge::new(SocketAddr::from((Ipv4Addr::LOCALHOST, port))));
    let host = BridgeHost::start(&rift, bridge.clone(), connection.id).await?;
    let (addr, channel) = (bridge.local_addr().ok_or("not started")?, bridge.channel().ok_or("not started")?);
    println!("listening on {addr}");

    // Show what reaches Rift's channel, from either side.
    let mut events = rift.router().subscribe(64);
    events.add(Topic::Channel(channel));
    let printer = tokio::spawn(async move {
        while let Ok(envelope) = events.recv().await {
            if let Event::MessageCreate(message) = &envelope.event {
                let from = if message.bridge.is_some() { "socket" } else { "rift" };
                println!("#general ({from}) {}: {}", message.author.username, message.content);
            }
        }
    });

    // Each stdin line: a native message by ada, which the bridge relays to the socket.
    let mut stdin = tokio::io::BufReader::new(tokio::io::stdin()).lines();
    while let Some(line) = stdin.next_line().await? {
        if let Err(error) = rift.send_message(ada.id, channel, SendMessage::text(line)).await {
            eprintln!("not sent: {error}");
        }
    }
    host.stop().await?;
    printer.abort();
    println!("bridge stopped");
    Ok(())
}
