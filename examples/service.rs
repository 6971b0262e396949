//! Drives Rift's service layer with no HTTP at all: the same calls the REST handlers, the gateway,
//! bridges and the `rift` command make. Registers two users, makes a server and a channel, sends
//! messages, searches them and receives an event from the in-process router, on a temp SQLite
//! file; prints what happened and exits.
//!
//! `cargo run -p rift-examples --example service`

use std::sync::Arc;

use rift::event::{Event, Topic};
use rift::{ChannelInput, Config, RegisterInput, Rift, SearchParams, SendMessage};

#[tokio::main]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    // Any `rift::Store` will do: here rift-store's SQLite backend on a temp file (a
    // `postgres://…` URL gives the PostgreSQL backend behind the same trait).
    let dir = tempfile::tempdir()?;
    let store = rift_store::connect(&format!("sqlite://{}", dir.path().join("rift.db").display())).await?;
    let rift = Rift::new(Arc::new(store), Config::new(b"an example secret, long and random".to_vec()));

    // Every call names the user acting: the service checks their permissions itself.
    let ada = rift.register(RegisterInput::new("ada", "correct horse battery")).await?.user;
    let grace = rift.register(RegisterInput::new("grace", "another good password")).await?.user;
    let server = rift.create_server(ada.id, "Analytical Engines").await?;
    let notes = rift.create_channel(ada.id, server.id, ChannelInput::text("notes")).await?;
    let invite = rift.create_invite(ada.id, server.id, Default::default()).await?;
    rift.join_server(grace.id, server.id, &invite.code).await?;
    println!("{} made {} with #{}; {} joined", ada.username, server.name, notes.name, grace.username);

    // Events go through the router: a subscriber (a gateway session, a bridge) picks its topics.
    let mut events = rift.router().subscribe(16);
    events.add(Topic::Channel(notes.id));

    // A send is answered once the message is stored; only then is its event published.
    rift.send_message(ada.id, notes.id, SendMessage::text("The engine weaves algebraic patterns")).await?;
    if let Event::MessageCreate(message) = &events.recv().await?.event {
        println!(
            "event: MessageCreate in #{} by {}: {}",
            notes.name, message.author.username, message.content
        );
    }

    // A rule the service enforces: an empty message is refused with a stable error code.
    match rift.send_message(grace.id, notes.id, SendMessage::text("   ")).await {
        Err(error) => println!("refused: {} ({error})", error.code()),
        Ok(_) => println!("an empty message was accepted"),
    }

    rift.send_message(grace.id, notes.id, SendMessage::text("Like the Jacquard loom weaves flowers")).await?;
    for query in ["patterns", "weaves from:grace"] {
        let hits = rift.search(grace.id, SearchParams::text(query)).await?;
        let found: Vec<&str> = hits.iter().map(|hit| hit.message.content.as_str()).collect();
        println!("search {query:?}: {found:?}");
    }
    Ok(())
}
