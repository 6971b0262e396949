//! The REST client against the fake REST API, over loopback, on a paused clock.

use std::time::Duration;

use rift_discord::Error;
use rift_discord::model::Snowflake;
use rift_discord::rest::{Client, CreateMessage, FileUpload, MessagePage};
use tokio::time::Instant;

use rift_testing::discord::{FORBIDDEN_CHANNEL, FakeRest, TOKEN};

const CHANNEL: Snowflake = Snowflake::new(1_100_000_000_000_000_002);

fn client(fake: &FakeRest) -> Client {
    Client::builder(TOKEN)
        .api_base(fake.api_base())
        .cdn_base(fake.cdn_base())
        // A request timeout would race the paused clock, which jumps while bytes are on loopback.
        .timeout(None)
        .build()
        .unwrap()
}

#[tokio::test(start_paused = true)]
async fn endpoints_speak_discords_routes() {
    let fake = FakeRest::start().await;
    fake.set_gateway_url("ws://127.0.0.1:9/gw");
    fake.set_limit(100, Duration::from_secs(1));
    let client = client(&fake);
    assert_eq!(client.gateway().await.unwrap().url, "ws://127.0.0.1:9/gw");
    assert_eq!(client.current_user().await.unwrap().username, "rift-bot");
    let guilds = client.current_user_guilds().await.unwrap();
    assert_eq!(guilds[0].name, "Rift");
    let channels = client.guild_channels(guilds[0].id).await.unwrap();
    assert_eq!(channels.len(), 2);
    let members = client.guild_members(guilds[0].id, Some(Snowflake::new(2)), 2).await.unwrap();
    let ids: Vec<u64> = members.iter().map(|m| m.user.as_ref().unwrap().id.get()).collect();
    assert_eq!(ids, [3, 4]);

    let sent = client.create_message(CHANNEL, &CreateMessage::text("hello").nonce("n-1")).await.unwrap();
    assert_eq!(sent.content, "hello");
    assert_eq!(sent.nonce.as_deref(), Some("n-1"));
    assert_eq!(fake.payload_json()[0]["enforce_nonce"], true);
    let edited = client.edit_message(CHANNEL, sent.id, "hello again").await.unwrap();
    assert_eq!(edited.content, "hello again");
    assert!(edited.edited_timestamp.is_some());
    assert_eq!(client.message(CHANNEL, sent.id).await.unwrap().content, "hello again");
    client.add_reaction(CHANNEL, sent.id, "👍").await.unwrap();
    client.add_reaction(CHANNEL, sent.id, "party:123").await.unwrap();
    client.remove_own_reaction(CHANNEL, sent.id, "👍").await.unwrap();
    client.trigger_typing(CHANNEL).await.unwrap();
    client.delete_message(CHANNEL, sent.id).await.unwrap();
    assert!(matches!(client.message(CHANNEL, sent.id).await, Err(Error::NotFound { .. })));
    let dm = client.create_dm(Snowflake::new(42)).await.unwrap();
    assert!(dm.is_dm());
    assert_eq!(dm.recipients[0].id.get(), 42);

    let paths: Vec<String> = fake.requests().into_iter().map(|(m, p)| format!("{m} {p}")).collect();
    assert!(paths.contains(&format!(
        "PUT /api/v10/channels/{CHANNEL}/messages/{}/reactions/%F0%9F%91%8D/@me",
        sent.id
    )));
    assert!(
        paths.contains(&format!(
            "PUT /api/v10/channels/{CHANNEL}/messages/{}/reactions/party:123/@me",
            sent.id
        ))
    );
    assert_eq!(fake.violations(), 0);
}

#[tokio::test(start_paused = true)]
async fn history_pages_backwards_a_hundred_at_a_time() {
    let fake = FakeRest::start().await;
    fake.set_limit(100, Duration::from_secs(1));
    let mut seeded = fake.seed_messages(CHANNEL.get(), 250);
    let client = client(&fake);
    let mut page = MessagePage::Latest;
    let mut fetched = Vec::new();
    let mut sizes = Vec::new();
    loop {
        let messages = client.messages(CHANNEL, page, 100).await.unwrap();
        sizes.push(messages.len());
        let Some(oldest) = messages.last() else { break };
        page = MessagePage::Before(oldest.id);
        fetched.extend(messages.iter().map(|m| m.id.get()));
    }
    assert_eq!(sizes, [100, 100, 50, 0]);
    seeded.reverse();
    assert_eq!(fetched, seeded, "newest first, nothing missed or repeated");
    let newer = client.messages(CHANNEL, MessagePage::After(Snowflake::new(seeded[10])), 5).await.unwrap();
    let ids: Vec<u64> = newer.iter().map(|m| m.id.get()).collect();
    assert_eq!(ids, seeded[5..10], "the five right after, newest first");
}

#[tokio::test(start_paused = true)]
async fn bucket_limits_are_never_exceeded() {
    let fake = FakeRest::start().await;
    fake.set_limit(5, Duration::from_secs(2));
    let client = client(&fake);
    let start = Instant::now();
    let sends = (0..23).map(|i| {
        let client = client.clone();
        async move { client.create_message(CHANNEL, &CreateMessage::text(format!("m{i}"))).await }
    });
    for result in futures_util::future::join_all(sends).await {
        result.unwrap();
    }
    assert_eq!(fake.message_count(CHANNEL.get()), 23);
    assert_eq!(fake.violations(), 0);
    // 23 requests at 5 per 2 s need at least four full windows.
    assert!(Instant::now() - start >= Duration::from_secs(8));
}

#[tokio::test(start_paused = true)]
async fn a_429_storm_is_waited_out() {
    for global in [false, true] {
        let fake = FakeRest::start().await;
        fake.set_limit(100, Duration::from_secs(1));
        let client = client(&fake);
        fake.storm(6, 0.75, global);
        let start = Instant::now();
        let sent = client.create_message(CHANNEL, &CreateMessage::text("through the storm")).await.unwrap();
        assert_eq!(sent.content, "through the storm");
        assert!(Instant::now() - start >= Duration::from_millis(6 * 750));
        assert_eq!(fake.requests().len(), 7);
        assert_eq!(fake.violations(), 0, "global: {global}");
    }
}

#[tokio::test(start_paused = true)]
async fn an_endless_429_storm_gives_up() {
    let fake = FakeRest::start().await;
    fake.storm(1000, 0.5, false);
    let client = Client::builder(TOKEN)
        .api_base(fake.api_base())
        .timeout(None)
        .max_rate_limit_retries(3)
        .build()
        .unwrap();
    let result = client.trigger_typing(CHANNEL).await;
    assert!(matches!(result, Err(Error::RateLimited { retry_after }) if retry_after == 0.5), "{result:?}");
    assert_eq!(fake.requests().len(), 4);
    assert_eq!(fake.violations(), 0);
}

#[tokio::test(start_paused = true)]
async fn server_errors_are_retried_with_backoff() {
    let fake = FakeRest::start().await;
    fake.set_limit(100, Duration::from_secs(1));
    let client = client(&fake);
    fake.fail(2);
    client.trigger_typing(CHANNEL).await.unwrap();
    assert_eq!(fake.requests().len(), 3);
    fake.fail(10);
    let result = client.trigger_typing(CHANNEL).await;
    assert!(matches!(result, Err(Error::Http { status: 502, .. })), "{result:?}");
    assert_eq!(fake.requests().len(), 3 + 4, "the first try and three retries");
}

#[tokio::test(start_paused = true)]
async fn auth_access_and_missing_resources_are_typed_errors() {
    let fake = FakeRest::start().await;
    fake.set_limit(100, Duration::from_secs(1));
    let wrong = Client::builder("wrong").api_base(fake.api_base()).timeout(None).build().unwrap();
    assert!(matches!(wrong.current_user().await, Err(Error::Unauthorized { .. })));
    let client = client(&fake);
    let forbidden = client.messages(Snowflake::new(FORBIDDEN_CHANNEL), MessagePage::Latest, 10).await;
    assert!(
        matches!(&forbidden, Err(Error::Forbidden { message }) if message == "Missing Access"),
        "{forbidden:?}"
    );
    let missing = client.messages(Snowflake::new(5), MessagePage::Latest, 10).await;
    assert!(
        matches!(&missing, Err(Error::NotFound { message }) if message == "Unknown Channel"),
        "{missing:?}"
    );
    let bad = client.add_reaction(CHANNEL, Snowflake::new(1), "").await;
    assert!(matches!(bad, Err(Error::Http { status: 400, code: Some(10014), .. })));
}

#[tokio::test(start_paused = true)]
async fn attachments_upload_as_multipart() {
    let fake = FakeRest::start().await;
    let client = client(&fake);
    let message = CreateMessage::text("with files")
        .file(FileUpload::new("a.txt", b"alpha".to_vec()))
        .file(FileUpload::new("b.bin", vec![0, 159, 146, 150]));
    let sent = client.create_message(CHANNEL, &message).await.unwrap();
    assert_eq!(sent.content, "with files");
    assert_eq!(
        fake.uploads(),
        [("a.txt".to_owned(), b"alpha".to_vec()), ("b.bin".to_owned(), vec![0, 159, 146, 150])]
    );
    let payload = &fake.payload_json()[0];
    assert_eq!(payload["attachments"][1]["filename"], "b.bin");
}

#[tokio::test(start_paused = true)]
async fn downloads_come_from_the_configured_cdn() {
    let fake = FakeRest::start().await;
    fake.put_file("/attachments/1/2/cat.png", b"png bytes");
    let client = client(&fake);
    let bytes = client.download("https://cdn.discordapp.com/attachments/1/2/cat.png").await.unwrap();
    assert_eq!(bytes, b"png bytes");
    let missing = client.download("https://cdn.discordapp.com/attachments/1/2/gone.png").await;
    assert!(matches!(missing, Err(Error::NotFound { .. })));
    let avatar = client.avatar_url(Snowflake::new(7), "a_abc");
    assert_eq!(avatar, format!("{}/avatars/7/a_abc.gif", fake.cdn_base()));
}

#[tokio::test(start_paused = true)]
async fn network_errors_are_retried_then_reported() {
    let port = std::net::TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port();
    let client = Client::builder(TOKEN)
        .api_base(format!("http://127.0.0.1:{port}/api/v10"))
        .timeout(None)
        .build()
        .unwrap();
    assert!(matches!(client.current_user().await, Err(Error::Request(_))));
}
