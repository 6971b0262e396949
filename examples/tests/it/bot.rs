//! `bot`: a real server on 127.0.0.1 (SQLite and PostgreSQL), the bot signed in as a member; a
//! `!ping` by another user is answered `pong` in the same channel, in a channel made after the
//! bot connected too, and nothing else is answered.

use std::net::SocketAddr;
use std::sync::Arc;

use rift::event::{Event, Topic};
use rift::{ChannelId, ChannelInput, Config, RegisterInput, Rift, SendMessage, Store, UserId};

use crate::{HANG, Running};

#[tokio::test]
async fn sqlite_bot_answers_ping() {
    let db = rift_testing::sqlite().await;
    bot_answers_ping(Arc::clone(&db.store)).await;
}

#[tokio::test]
async fn postgres_bot_answers_ping() {
    let Some(db) = rift_testing::postgres().await else { return };
    bot_answers_ping(Arc::clone(&db.store)).await;
}

const BOT_PASSWORD: &str = "the bot's own password";

async fn bot_answers_ping(store: Arc<dyn Store>) {
    let uploads = tempfile::tempdir().unwrap();
    let rift = Rift::new(store, Config::new(b"bot example test secret, long enough".to_vec()));
    let app =
        rift_http::router(rift_http::AppState::new(rift.clone(), rift_http::HttpConfig::new(uploads.path())));
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(async move {
        axum::serve(listener, app.into_make_service_with_connect_info::<SocketAddr>()).await
    });

    let ada = rift.register(RegisterInput::new("ada", "correct horse battery")).await.unwrap().user;
    let bot = rift.register(RegisterInput::new("pingbot", BOT_PASSWORD)).await.unwrap().user;
    let server = rift.create_server(ada.id, "Bots welcome").await.unwrap();
    let invite = rift.create_invite(ada.id, server.id, Default::default()).await.unwrap();
    rift.join_server(bot.id, server.id, &invite.code).await.unwrap();
    let general = rift.channels(ada.id, server.id).await.unwrap().remove(0);

    let mut running = Running::start("bot", &[&format!("http://{addr}"), "pingbot", BOT_PASSWORD]);
    assert_eq!(running.line().await, r#"ready as "pingbot" in 1 server(s)"#);

    // Something else first: the bot must not answer it (checked by the history below).
    rift.send_message(ada.id, general.id, SendMessage::text("hello bot")).await.unwrap();
    ping_gets_pong(&rift, ada.id, bot.id, general.id).await;
    assert_eq!(running.line().await, format!("pong in {}", general.id));

    // A channel made after the bot identified: the gateway subscribes it there too.
    let later = rift.create_channel(ada.id, server.id, ChannelInput::text("later")).await.unwrap();
    // The session subscribes when its pump sees the new channel; a ping before that is not heard
    // by any client, so wait for the subscription (a bound on a hang, not a timing assertion).
    tokio::time::timeout(HANG, async {
        while rift.router().subscriber_count(Topic::Channel(later.id)) == 0 {
            tokio::time::sleep(std::time::Duration::from_millis(10)).await;
        }
    })
    .await
    .expect("the bot's session never subscribed to the new channel");
    ping_gets_pong(&rift, ada.id, bot.id, later.id).await;
    assert_eq!(running.line().await, format!("pong in {}", later.id));

    let history = rift.messages(ada.id, general.id, Default::default()).await.unwrap();
    let mut lines: Vec<String> =
        history.iter().map(|m| format!("{}: {}", m.author.username, m.content)).collect();
    lines.reverse();
    assert_eq!(lines, ["ada: hello bot", "ada: !ping", "pingbot: pong"]);
}

/// Sends `!ping` as `user` in `channel` and waits for the bot's `pong` there.
async fn ping_gets_pong(rift: &Rift, user: UserId, bot: UserId, channel: ChannelId) {
    let mut events = rift.router().subscribe(64);
    events.add(Topic::Channel(channel));
    rift.send_message(user, channel, SendMessage::text("!ping")).await.unwrap();
    let pong = tokio::time::timeout(HANG, async {
        loop {
            if let Event::MessageCreate(message) = &events.recv().await.unwrap().event
                && message.author.id == bot
            {
                return message.clone();
            }
        }
    })
    .await
    .expect("no answer from the bot");
    assert_eq!((pong.channel_id, pong.content.as_str()), (channel, "pong"));
}
