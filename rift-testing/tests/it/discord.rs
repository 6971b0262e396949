//! The fake Discord through `rift_discord`'s real REST client and shard, over loopback, on a
//! paused clock.

use std::time::Duration;

use rift_discord::Error;
use rift_discord::gateway::{Config, Dispatch, Encoding, Event, Shard, ShardEvent, TokenKind};
use rift_discord::model::Snowflake;
use rift_discord::rest::{Client, CreateMessage, FileUpload, MessagePage};
use rift_testing::discord::{
    Account, ArrivalKind, Echo, FailAt, FakeDiscord, GatewayFault, NewMessage, channel_type, snowflake_ms,
};
use serde_json::{Value, json};

const ADA: u64 = 1_100_000_000_000_000_001;
const T0: u64 = 1_600_000_000_000;

fn user() -> Account {
    Account::user("tok-user", ADA, "ada")
}

fn bot() -> Account {
    Account::bot("tok-bot", ADA, "rift-bot")
}

fn client(discord: &FakeDiscord, account: &Account) -> Client {
    let kind = if account.bot { TokenKind::Bot } else { TokenKind::User };
    Client::builder(account.token.clone())
        .token_kind(kind)
        .api_base(discord.api_base())
        .cdn_base(discord.cdn_base())
        // A request timeout would race the paused clock.
        .timeout(None)
        .build()
        .unwrap()
}

fn shard(discord: &FakeDiscord, account: &Account, encoding: Encoding) -> Shard {
    let kind = if account.bot { TokenKind::Bot } else { TokenKind::User };
    let config = Config::builder(account.token.clone())
        .token_kind(kind)
        .gateway_url(discord.gateway_url())
        .encoding(encoding)
        .seed(7)
        .build();
    Shard::new(config)
}

async fn next_dispatch(shard: &mut Shard) -> Dispatch {
    loop {
        if let ShardEvent::Dispatch(dispatch) = shard.next_event().await.expect("the shard runs") {
            return dispatch;
        }
    }
}

/// The next dispatch that is not READY/RESUMED/GUILD_CREATE.
async fn next_event(shard: &mut Shard) -> Dispatch {
    loop {
        let dispatch = next_dispatch(shard).await;
        if !matches!(dispatch.name.as_str(), "READY" | "RESUMED" | "GUILD_CREATE") {
            return dispatch;
        }
    }
}

/// A raw GET with the user token, for routes the client does not wrap.
async fn get(discord: &FakeDiscord, path: &str) -> (u16, Value) {
    let response = reqwest::Client::new()
        .get(format!("{}{path}", discord.api_base()))
        .header("authorization", "tok-user")
        .send()
        .await
        .unwrap();
    (response.status().as_u16(), response.json().await.unwrap_or(Value::Null))
}

struct Small {
    guild: u64,
    general: u64,
    secret: u64,
    mods: u64,
    bob: u64,
    dm: u64,
    group: u64,
}

/// A guild with a category, text, voice and hidden channels, a role, a member, a DM and a group DM.
fn small_world(discord: &FakeDiscord) -> Small {
    let guild = discord.add_guild("Archive");
    let mods = discord.add_role(guild, "mods", 0x3498db, 1 << 13);
    let category = discord.add_channel(guild, channel_type::CATEGORY, "Text");
    let general = discord.add_channel_with(guild, channel_type::TEXT, "general", |c| {
        c["topic"] = json!("talk");
        c["parent_id"] = json!(category.to_string());
    });
    discord.add_channel(guild, channel_type::VOICE, "voice");
    let secret = discord.add_channel(guild, channel_type::TEXT, "secret");
    discord.hide_channel(secret);
    let bob = discord.add_user("bob", Some("Bob"));
    discord.set_avatar(bob, b"bob's face");
    discord.add_member_with(guild, bob, Some("bobby"), &[mods], T0);
    let carol = discord.add_user("carol", None);
    let dm = discord.add_dm(bob);
    let group = discord.add_group_dm(Some("trio"), &[bob, carol]);
    Small { guild, general, secret, mods, bob, dm, group }
}

#[tokio::test(start_paused = true)]
async fn a_user_ready_carries_whole_guilds_and_private_channels() {
    for encoding in [Encoding::Json, Encoding::Etf] {
        let discord = FakeDiscord::start(user()).await;
        let w = small_world(&discord);
        let mut shard = shard(&discord, &user(), encoding);
        let ready = next_dispatch(&mut shard).await;
        assert_eq!(ready.name, "READY");
        let Event::Ready(typed) = ready.event().unwrap() else { panic!("{ready:?}") };
        assert_eq!(typed.user.id.get(), ADA);
        assert_eq!(typed.resume_gateway_url, discord.resume_url());
        let ids: Vec<u64> = typed.private_channels.iter().map(|c| c.id.get()).collect();
        assert_eq!(ids, [w.dm, w.group]);
        assert_eq!(typed.private_channels[1].recipients.len(), 2, "the account is not a recipient");

        let guild = &ready.data["guilds"][0];
        let id = |v: &Value| v.as_str().map(str::to_owned).unwrap_or_else(|| v.to_string());
        assert_eq!(id(&guild["id"]), w.guild.to_string(), "{encoding:?}");
        assert_eq!(guild["name"], "Archive");
        assert_eq!(guild["channels"].as_array().unwrap().len(), 4);
        assert!(guild["channels"][0].get("guild_id").is_none(), "channels in a guild carry no guild_id");
        let roles: Vec<String> = guild["roles"].as_array().unwrap().iter().map(|r| id(&r["id"])).collect();
        assert_eq!(roles, [w.guild.to_string(), w.mods.to_string()], "@everyone has the guild's id");
        let members = guild["members"].as_array().unwrap();
        let bob = members.iter().find(|m| id(&m["user"]["id"]) == w.bob.to_string()).unwrap();
        assert_eq!(bob["nick"], "bobby");
        assert_eq!(bob["joined_at"], "2020-09-13T12:26:40.000000+00:00");
        let secret =
            guild["channels"].as_array().unwrap().iter().find(|c| id(&c["id"]) == w.secret.to_string());
        let overwrite = &secret.unwrap()["permission_overwrites"][0];
        assert_eq!((id(&overwrite["id"]), &overwrite["deny"]), (ADA.to_string(), &json!("1024")));
        let arrivals = discord.arrivals();
        assert_eq!(arrivals.len(), 1);
        assert_eq!((arrivals[0].kind, arrivals[0].path.as_str()), (ArrivalKind::Identify, "/"));
    }
}

#[tokio::test(start_paused = true)]
async fn a_bot_gets_unavailable_stubs_then_guild_creates() {
    let discord = FakeDiscord::start(bot()).await;
    let w = small_world(&discord);
    let second = discord.add_guild("Second");
    let mut shard = shard(&discord, &bot(), Encoding::Json);
    let ready = next_dispatch(&mut shard).await;
    let Event::Ready(typed) = ready.event().unwrap() else { panic!("{ready:?}") };
    let stubs: Vec<(u64, Option<bool>)> = typed.guilds.iter().map(|g| (g.id.get(), g.unavailable)).collect();
    assert_eq!(stubs, [(w.guild, Some(true)), (second, Some(true))]);
    assert!(typed.private_channels.is_empty());
    for expected in [w.guild, second] {
        let dispatch = next_dispatch(&mut shard).await;
        let Event::GuildCreate(guild) = dispatch.event().unwrap() else { panic!("{dispatch:?}") };
        assert_eq!(guild.id.get(), expected);
        assert_eq!(guild.unavailable, Some(false));
    }
    let client = client(&discord, &bot());
    assert!(client.gateway().await.unwrap().url.starts_with("ws://127.0.0.1"));
    let members = client.guild_members(Snowflake::new(w.guild), None, 1000).await.unwrap();
    assert_eq!(members.len(), 2);
    assert_eq!(discord.requests()[1].authorization.as_deref(), Some("Bot tok-bot"));
}

#[tokio::test(start_paused = true)]
async fn wrong_credentials_are_401_and_close_4004() {
    let discord = FakeDiscord::start(user()).await;
    // A user token sent the bot way is wrong.
    let wrong = client(&discord, &Account::bot("tok-user", ADA, "ada"));
    assert!(matches!(wrong.current_user().await, Err(Error::Unauthorized { .. })));
    let right = client(&discord, &user());
    assert_eq!(right.current_user().await.unwrap().username, "ada");
    let mut shard = shard(&discord, &Account::user("stolen", ADA, "ada"), Encoding::Json);
    let result = loop {
        match shard.next_event().await {
            Ok(_) => continue,
            Err(error) => break error,
        }
    };
    assert!(matches!(result, Error::FatalClose { code: 4004, .. }), "{result:?}");
}

#[tokio::test(start_paused = true)]
async fn rest_reads_the_world() {
    let discord = FakeDiscord::start(user()).await;
    let w = small_world(&discord);
    let client = client(&discord, &user());
    let guilds = client.current_user_guilds().await.unwrap();
    assert_eq!(guilds.iter().map(|g| g.id.get()).collect::<Vec<_>>(), [w.guild]);
    let guild = client.guild(Snowflake::new(w.guild)).await.unwrap();
    assert_eq!(guild.roles.len(), 2);
    let channels = client.guild_channels(Snowflake::new(w.guild)).await.unwrap();
    let general = channels.iter().find(|c| c.id.get() == w.general).unwrap();
    assert_eq!(general.topic.as_deref(), Some("talk"));
    assert_eq!(general.guild_id.map(|g| g.get()), Some(w.guild));
    let hidden = client.messages(Snowflake::new(w.secret), MessagePage::Latest, 100).await;
    assert!(
        matches!(&hidden, Err(Error::Forbidden { message }) if message == "Missing Access"),
        "{hidden:?}"
    );
    // A user account cannot list members.
    assert!(matches!(
        client.guild_members(Snowflake::new(w.guild), None, 100).await,
        Err(Error::Forbidden { .. })
    ));
    let dm = client.create_dm(Snowflake::new(w.bob)).await.unwrap();
    assert_eq!(dm.id.get(), w.dm, "the existing DM");
    let channel = client.channel(Snowflake::new(w.group)).await.unwrap();
    assert_eq!((channel.kind, channel.name.as_deref()), (3, Some("trio")));
}

#[tokio::test(start_paused = true)]
async fn history_pages_newest_first_and_a_429_is_waited_out() {
    let discord = FakeDiscord::start(user()).await;
    let w = small_world(&discord);
    let ids: Vec<u64> = (0..250)
        .map(|i| discord.add_message(w.general, NewMessage::new(w.bob, format!("m{i}")).at(T0 + i * 1000)))
        .collect();
    assert_eq!(snowflake_ms(ids[3]), T0 + 3000);
    let route = format!("GET /api/v10/channels/{}/messages", w.general);
    discord.storm(Some(&route), 1, 1.5, false);
    let client = client(&discord, &user());
    let start = tokio::time::Instant::now();
    let (mut page, mut fetched) = (MessagePage::Latest, Vec::new());
    loop {
        let messages = client.messages(Snowflake::new(w.general), page, 100).await.unwrap();
        let Some(oldest) = messages.last() else { break };
        page = MessagePage::Before(oldest.id);
        fetched.extend(messages.iter().map(|m| m.id.get()));
    }
    assert!(tokio::time::Instant::now() - start >= Duration::from_millis(1500));
    let mut expected = ids.clone();
    expected.reverse();
    assert_eq!(fetched, expected);
    let statuses: Vec<u16> = discord.requests().iter().map(|r| r.status).collect();
    assert_eq!(statuses, [429, 200, 200, 200, 200]);
    assert_eq!(discord.rate_limit_violations(), Vec::<String>::new());
    let first = client.message(Snowflake::new(w.general), Snowflake::new(ids[0])).await.unwrap();
    assert_eq!(first.timestamp, "2020-09-13T12:26:40.000000+00:00");
    let around =
        get(&discord, &format!("/channels/{}/messages?around={}&limit=5", w.general, ids[100])).await;
    let around: Vec<String> =
        around.1.as_array().unwrap().iter().map(|m| m["id"].as_str().unwrap().to_owned()).collect();
    let expected: Vec<String> = [102, 101, 100, 99, 98].iter().map(|i| ids[*i].to_string()).collect();
    assert_eq!(around, expected);
    let (status, body) = get(&discord, &format!("/channels/{}/messages?limit=101", w.general)).await;
    assert_eq!((status, &body["code"]), (400, &json!(50035)));
}

#[tokio::test(start_paused = true)]
async fn requests_past_an_announced_limit_are_counted() {
    let discord = FakeDiscord::start(user()).await;
    let w = small_world(&discord);
    discord.set_rate_limit(2, Duration::from_secs(10));
    let client = client(&discord, &user());
    for _ in 0..3 {
        client.trigger_typing(Snowflake::new(w.general)).await.unwrap();
    }
    assert_eq!(discord.rate_limit_violations(), Vec::<String>::new(), "the client waited for the reset");
    // A raw client that ignores the headers: its second request overruns the bucket.
    let raw = reqwest::Client::new();
    let url = format!("{}/channels/{}/typing", discord.api_base(), w.general);
    for _ in 0..2 {
        raw.post(&url).header("authorization", "tok-user").send().await.unwrap();
    }
    let violations = discord.rate_limit_violations();
    assert_eq!(violations.len(), 1, "{violations:?}");
    assert!(violations[0].contains("Remaining 0"), "{violations:?}");
}

#[tokio::test(start_paused = true)]
async fn enforce_nonce_returns_the_original_after_a_failure_past_creation() {
    let discord = FakeDiscord::start(user()).await;
    let w = small_world(&discord);
    let client = client(&discord, &user());
    discord.fail_posts(1, FailAt::AfterCreate, 502);
    let sent =
        client.create_message(Snowflake::new(w.general), &CreateMessage::text("once").nonce("part-1")).await;
    let sent = sent.unwrap();
    assert_eq!(sent.nonce.as_deref(), Some("part-1"));
    let messages = discord.messages(w.general);
    assert_eq!(messages.len(), 1, "the retry created nothing");
    assert_eq!(messages[0]["id"], sent.id.to_string());
    assert_eq!(discord.nonces(), ["part-1", "part-1"]);
    let statuses: Vec<u16> = discord.requests().iter().map(|r| r.status).collect();
    assert_eq!(statuses, [502, 200]);
    assert_eq!(discord.requests()[0].body.as_ref().unwrap()["enforce_nonce"], true);
    let history = client.messages(Snowflake::new(w.general), MessagePage::Latest, 10).await.unwrap();
    assert_eq!(history[0].nonce, None, "history pages carry no nonce, as on Discord");

    discord.fail_posts(1, FailAt::BeforeCreate, 500);
    let again =
        client.create_message(Snowflake::new(w.general), &CreateMessage::text("two").nonce("part-2")).await;
    assert_ne!(again.unwrap().id, sent.id);
    assert_eq!(discord.messages(w.general).len(), 2);

    // Past the window, the nonce no longer deduplicates.
    tokio::time::sleep(Duration::from_secs(181)).await;
    client
        .create_message(Snowflake::new(w.general), &CreateMessage::text("once").nonce("part-1"))
        .await
        .unwrap();
    assert_eq!(discord.messages(w.general).len(), 3);
}

#[tokio::test(start_paused = true)]
async fn the_echo_can_come_before_the_answer() {
    let discord = FakeDiscord::start(user()).await;
    let w = small_world(&discord);
    let mut shard = shard(&discord, &user(), Encoding::Etf);
    next_dispatch(&mut shard).await;
    discord.set_echo(Echo::BeforeResponse);
    let client = client(&discord, &user());
    let sent = client
        .create_message(Snowflake::new(w.dm), &CreateMessage::text("hi bob").nonce("n-1"))
        .await
        .unwrap();
    let echo = next_event(&mut shard).await;
    let Event::MessageCreate(echo) = echo.event().unwrap() else { panic!("{echo:?}") };
    assert_eq!((echo.id, echo.nonce.as_deref()), (sent.id, Some("n-1")));
    assert_eq!(echo.guild_id, None, "a DM");
}

#[tokio::test(start_paused = true)]
async fn live_changes_are_dispatched_as_discord_does() {
    let discord = FakeDiscord::start(user()).await;
    let w = small_world(&discord);
    let mut shard = shard(&discord, &user(), Encoding::Json);
    next_dispatch(&mut shard).await;
    let client = client(&discord, &user());

    let id = discord.create_message(w.general, NewMessage::new(w.bob, "hello <@1>"));
    let Event::MessageCreate(m) = next_event(&mut shard).await.event().unwrap() else { panic!() };
    assert_eq!((m.id.get(), m.guild_id.map(|g| g.get())), (id, Some(w.guild)));
    assert_eq!(m.member.unwrap().nick.as_deref(), Some("bobby"));

    discord.edit_message(w.general, id, "hello again");
    let Event::MessageUpdate(u) = next_event(&mut shard).await.event().unwrap() else { panic!() };
    assert!(u.is_complete() && u.edited_timestamp.is_some());
    discord.set_embeds(w.general, id, vec![json!({"type": "link", "url": "https://example.com"})]);
    let Event::MessageUpdate(u) = next_event(&mut shard).await.event().unwrap() else { panic!() };
    assert!(!u.is_complete());
    assert_eq!(u.embeds.unwrap().len(), 1);

    discord.add_reaction(w.general, id, w.bob, "👍");
    let Event::ReactionAdd(r) = next_event(&mut shard).await.event().unwrap() else { panic!() };
    assert_eq!((r.user_id.get(), r.emoji.name.as_deref()), (w.bob, Some("👍")));
    client.add_reaction(Snowflake::new(w.general), Snowflake::new(id), "👍").await.unwrap();
    let Event::ReactionAdd(r) = next_event(&mut shard).await.event().unwrap() else { panic!() };
    assert_eq!(r.user_id.get(), ADA);
    let fetched = client.message(Snowflake::new(w.general), Snowflake::new(id)).await.unwrap();
    assert_eq!((fetched.reactions[0].count, fetched.reactions[0].me), (2, true));
    client.remove_own_reaction(Snowflake::new(w.general), Snowflake::new(id), "👍").await.unwrap();
    let Event::ReactionRemove(_) = next_event(&mut shard).await.event().unwrap() else { panic!() };
    assert_eq!(discord.reactors(w.general, id, "👍"), [w.bob]);
    let carol = discord.add_user("carol", None);
    discord.add_member(w.guild, carol);
    assert_eq!(next_event(&mut shard).await.name, "GUILD_MEMBER_ADD");
    discord.add_reaction(w.general, id, carol, "party:123");
    next_event(&mut shard).await;
    discord.add_reaction(w.general, id, w.bob, "party:123");
    next_event(&mut shard).await;
    let path = format!("/channels/{}/messages/{id}/reactions/party:123", w.general);
    let (_, users) = get(&discord, &format!("{path}?limit=1")).await;
    assert_eq!(users[0]["id"], w.bob.to_string(), "by user id");
    let (_, users) = get(&discord, &format!("{path}?after={}", w.bob)).await;
    assert_eq!(users.as_array().unwrap().len(), 1);
    assert_eq!(users[0]["id"], carol.to_string());

    discord.rename_user(w.bob, "robert", Some("Robert"));
    let Event::GuildMemberUpdate(m) = next_event(&mut shard).await.event().unwrap() else { panic!() };
    assert_eq!((m.user.username.as_str(), m.user.global_name.as_deref()), ("robert", Some("Robert")));
    discord.update_member(w.guild, w.bob, None, &[]);
    let Event::GuildMemberUpdate(m) = next_event(&mut shard).await.event().unwrap() else { panic!() };
    assert!(m.roles.is_empty() && m.nick.is_none());
    discord.update_role(w.guild, w.mods, |r| r["name"] = json!("moderators"));
    assert_eq!(next_event(&mut shard).await.name, "GUILD_ROLE_UPDATE");
    discord.update_channel(w.general, |c| c["name"] = json!("lobby"));
    let Event::ChannelUpdate(c) = next_event(&mut shard).await.event().unwrap() else { panic!() };
    assert_eq!(c.name.as_deref(), Some("lobby"));
    discord.pin_message(w.general, id, true);
    assert_eq!(next_event(&mut shard).await.name, "MESSAGE_UPDATE");
    assert_eq!(next_event(&mut shard).await.name, "CHANNEL_PINS_UPDATE");

    let other = discord.create_message(w.general, NewMessage::new(w.bob, "bye").reply_to(id));
    let Event::MessageCreate(reply) = next_event(&mut shard).await.event().unwrap() else { panic!() };
    assert_eq!(reply.kind, 19);
    assert_eq!(reply.referenced_message.unwrap().id.get(), id);
    discord.delete_messages(w.general, &[id, other]);
    let Event::MessageDeleteBulk(b) = next_event(&mut shard).await.event().unwrap() else { panic!() };
    assert_eq!(b.ids.len(), 2);
    discord.remove_member(w.guild, w.bob);
    assert_eq!(next_event(&mut shard).await.name, "GUILD_MEMBER_REMOVE");
    assert!(discord.messages(w.general).is_empty());
}

#[tokio::test(start_paused = true)]
async fn attachments_are_on_the_cdn_until_removed() {
    let discord = FakeDiscord::start(user()).await;
    let w = small_world(&discord);
    let id =
        discord.add_message(w.group, NewMessage::new(w.bob, "").attachment("cat.png", "image/png", b"meow"));
    let client = client(&discord, &user());
    let page = client.messages(Snowflake::new(w.group), MessagePage::Latest, 100).await.unwrap();
    let attachment = &page[0].attachments[0];
    assert_eq!(page[0].id.get(), id);
    assert!(attachment.url.starts_with("https://cdn.discordapp.com/attachments/"), "{}", attachment.url);
    assert_eq!((attachment.size, attachment.content_type.as_deref()), (4, Some("image/png")));
    assert_eq!(client.download(&attachment.url).await.unwrap(), b"meow");
    assert!(discord.remove_file(&attachment.url));
    assert!(matches!(client.download(&attachment.url).await, Err(Error::NotFound { .. })));
    let path = attachment.url.trim_start_matches("https://cdn.discordapp.com").to_owned();
    assert_eq!(discord.downloads(), [(path.clone(), 200), (path, 404)]);

    let user = client.current_user().await.unwrap();
    assert_eq!(user.id.get(), ADA);
    let hash = discord.set_avatar(w.bob, b"new face");
    let url = client.avatar_url(Snowflake::new(w.bob), &hash);
    assert_eq!(client.download(&url).await.unwrap(), b"new face");

    let sent = client
        .create_message(
            Snowflake::new(w.dm),
            &CreateMessage::text("file").file(FileUpload::new("a.txt", b"alpha".to_vec())),
        )
        .await
        .unwrap();
    assert_eq!(sent.attachments[0].filename, "a.txt");
    assert_eq!(client.download(&sent.attachments[0].url).await.unwrap(), b"alpha");
}

#[tokio::test(start_paused = true)]
async fn a_drop_mid_sync_resumes_at_the_resume_url() {
    let discord = FakeDiscord::start(user()).await;
    let w = small_world(&discord);
    for i in 0..300 {
        discord.add_message(w.general, NewMessage::new(w.bob, format!("m{i}")).at(T0 + i));
    }
    let mut shard = shard(&discord, &user(), Encoding::Json);
    next_dispatch(&mut shard).await;
    discord.gateway_fault_at_request(2, GatewayFault::Drop);
    let client = client(&discord, &user());
    let runner = tokio::spawn(async move {
        let mut names = Vec::new();
        loop {
            match shard.next_event().await {
                Ok(ShardEvent::Dispatch(d)) => {
                    names.push(d.name.clone());
                    if d.name == "MESSAGE_CREATE" {
                        return names;
                    }
                }
                Ok(_) => {}
                Err(error) => panic!("{error}"),
            }
        }
    });
    let mut page = MessagePage::Latest;
    while let Some(oldest) = client.messages(Snowflake::new(w.general), page, 100).await.unwrap().last() {
        page = MessagePage::Before(oldest.id);
    }
    while !discord.arrivals().iter().any(|a| a.kind == ArrivalKind::Resume) {
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    discord.create_message(w.general, NewMessage::new(w.bob, "after"));
    let names = runner.await.unwrap();
    assert_eq!(names, ["RESUMED", "MESSAGE_CREATE"]);
    let arrivals = discord.arrivals();
    assert_eq!((arrivals[1].kind, arrivals[1].path.as_str()), (ArrivalKind::Resume, "/resume"));
    assert_eq!(discord.gateway_violations(), Vec::<String>::new());
}

#[tokio::test(start_paused = true)]
async fn a_fresh_identify_after_invalid_session_arrives_on_the_gateway_url() {
    let discord = FakeDiscord::start(user()).await;
    small_world(&discord);
    let mut shard = shard(&discord, &user(), Encoding::Json);
    next_dispatch(&mut shard).await;
    discord.gateway_fault(GatewayFault::Reconnect);
    assert_eq!(next_dispatch(&mut shard).await.name, "RESUMED");
    discord.gateway_fault(GatewayFault::InvalidSession(false));
    assert_eq!(next_dispatch(&mut shard).await.name, "READY");
    let arrivals: Vec<(ArrivalKind, String)> =
        discord.arrivals().into_iter().map(|a| (a.kind, a.path)).collect();
    assert_eq!(
        arrivals[..2],
        [(ArrivalKind::Identify, "/".to_owned()), (ArrivalKind::Resume, "/resume".to_owned())]
    );
    // A new session starts on the gateway URL; the resume URL is for RESUME only.
    assert_eq!(arrivals[2], (ArrivalKind::Identify, "/".to_owned()));
    assert_eq!(discord.gateway_violations(), Vec::<String>::new(), "identifies 5 s apart");
}

#[tokio::test(start_paused = true)]
async fn invalid_requests_get_discords_errors() {
    let discord = FakeDiscord::start(user()).await;
    let w = small_world(&discord);
    let client = client(&discord, &user());
    let channel = Snowflake::new(w.general);
    let long = client.create_message(channel, &CreateMessage::text("x".repeat(2001))).await;
    assert!(matches!(long, Err(Error::Http { status: 400, code: Some(50035), .. })), "{long:?}");
    let nonce = client.create_message(channel, &CreateMessage::text("x").nonce("n".repeat(26))).await;
    assert!(matches!(nonce, Err(Error::Http { status: 400, code: Some(50035), .. })), "{nonce:?}");
    let category = discord.add_channel(w.guild, channel_type::CATEGORY, "cat");
    let in_category = client.create_message(Snowflake::new(category), &CreateMessage::text("x")).await;
    assert!(
        matches!(in_category, Err(Error::Http { status: 400, code: Some(50008), .. })),
        "{in_category:?}"
    );
    let empty = client.create_message(channel, &CreateMessage::text("")).await;
    assert!(matches!(empty, Err(Error::Http { status: 400, code: Some(50006), .. })), "{empty:?}");
    let theirs = discord.add_message(w.general, NewMessage::new(w.bob, "bob's"));
    let edit = client.edit_message(channel, Snowflake::new(theirs), "mine now").await;
    assert!(matches!(edit, Err(Error::Forbidden { .. })), "{edit:?}");
    let missing = client.message(channel, Snowflake::new(5)).await;
    assert!(matches!(&missing, Err(Error::NotFound { message }) if message == "Unknown Message"));
    let unknown = client.channel(Snowflake::new(5)).await;
    assert!(matches!(&unknown, Err(Error::NotFound { message }) if message == "Unknown Channel"));
}

/// A raw JSON gateway client that does whatever the test says.
struct Raw(tokio_tungstenite::WebSocketStream<tokio_tungstenite::MaybeTlsStream<tokio::net::TcpStream>>);

impl Raw {
    async fn connect(url: &str) -> Self {
        let slash = if url.trim_start_matches("ws://").contains('/') { "" } else { "/" };
        let url = format!("{url}{slash}?v=10&encoding=json");
        let (socket, _) = tokio_tungstenite::connect_async(url).await.unwrap();
        let mut raw = Self(socket);
        assert_eq!(raw.recv().await["op"], 10, "Hello first");
        raw
    }

    async fn send(&mut self, payload: Value) {
        use futures_util::SinkExt;
        self.0.send(tokio_tungstenite::tungstenite::Message::Text(payload.to_string().into())).await.unwrap();
    }

    /// The next payload, or the close code as `{"close": code}`.
    async fn recv(&mut self) -> Value {
        use futures_util::StreamExt;
        use tokio_tungstenite::tungstenite::Message;
        loop {
            match self.0.next().await {
                Some(Ok(Message::Text(text))) => return serde_json::from_str(&text).unwrap(),
                Some(Ok(Message::Close(frame))) => return json!({"close": frame.map(|f| u16::from(f.code))}),
                Some(Ok(_)) => continue,
                other => return json!({"gone": format!("{other:?}")}),
            }
        }
    }
}

fn identify(token: &str) -> Value {
    json!({"op": 2, "d": {"token": token, "properties": {"os": "linux", "browser": "t", "device": "t"}}})
}

#[tokio::test(start_paused = true)]
async fn pacing_violations_are_recorded() {
    let discord = FakeDiscord::start(user()).await;
    discord.set_heartbeat_interval(10_000);
    let mut first = Raw::connect(&discord.gateway_url()).await;
    first.send(identify("tok-user")).await;
    assert_eq!(first.recv().await["t"], "READY");
    assert!(discord.gateway_violations().is_empty());

    // A second identify at once, on another connection.
    let mut second = Raw::connect(&discord.gateway_url()).await;
    second.send(identify("tok-user")).await;
    assert_eq!(second.recv().await["t"], "READY");
    // 121 payloads in a minute.
    for _ in 0..121 {
        second.send(json!({"op": 1, "d": 1})).await;
        assert_eq!(second.recv().await["op"], 11);
    }
    let violations = discord.gateway_violations();
    assert_eq!(violations.len(), 2, "{violations:?}");
    assert!(violations[0].starts_with("identify"), "{violations:?}");
    assert!(violations[1].contains("more than 120"), "{violations:?}");
    // Silence past the interval and its tolerance, on both connections.
    tokio::time::sleep(Duration::from_millis(12_500)).await;
    let violations = discord.gateway_violations();
    assert_eq!(violations.iter().filter(|v| v.contains("no heartbeat")).count(), 2, "{violations:?}");
    // A late beat after a silence is not counted twice.
    second.send(json!({"op": 1, "d": 1})).await;
    assert_eq!(second.recv().await["op"], 11);
    assert_eq!(discord.gateway_violations().len(), 4);

    // A RESUME with the wrong token is closed like a wrong IDENTIFY.
    let session = discord.arrivals().len();
    let mut third = Raw::connect(&discord.resume_url()).await;
    third.send(json!({"op": 6, "d": {"token": "nope", "session_id": "session-2", "seq": 1}})).await;
    assert_eq!(third.recv().await, json!({"close": 4004}));
    assert_eq!(discord.arrivals()[session].path, "/resume");
}

#[tokio::test(start_paused = true)]
async fn a_bot_hears_of_a_dm_through_its_first_message() {
    let discord = FakeDiscord::start(bot()).await;
    let bob = discord.add_user("bob", None);
    let mut shard = shard(&discord, &bot(), Encoding::Json);
    assert_eq!(next_dispatch(&mut shard).await.name, "READY");
    let dm = discord.add_dm(bob);
    discord.create_message(dm, NewMessage::new(bob, "psst"));
    let dispatch = next_event(&mut shard).await;
    assert_eq!(dispatch.name, "MESSAGE_CREATE", "no CHANNEL_CREATE for a bot's DM");
    let client = client(&discord, &bot());
    assert!(client.current_user().await.unwrap().bot);
    let (status, _) = get(&discord, "/users/@me/channels").await;
    assert_eq!(status, 401, "the user-token form is refused for a bot");
    let guild = discord.add_guild("G");
    let icon = discord.set_guild_icon(guild, b"icon");
    let url = format!("{}/icons/{guild}/{icon}.png", discord.cdn_base());
    assert_eq!(client.download(&url).await.unwrap(), b"icon");
}

#[tokio::test(start_paused = true)]
async fn a_bot_gets_what_its_intents_ask_for() {
    let discord = FakeDiscord::start(bot()).await;
    let w = small_world(&discord);
    // GUILDS and GUILD_MESSAGES, without GUILD_MEMBERS and MESSAGE_CONTENT.
    let config = Config::builder("tok-bot").gateway_url(discord.gateway_url()).intents(1 | 1 << 9).build();
    let mut shard = Shard::new(config);
    assert_eq!(next_dispatch(&mut shard).await.name, "READY");
    let Event::GuildCreate(guild) = next_dispatch(&mut shard).await.event().unwrap() else { panic!() };
    let members: Vec<u64> = guild.members.iter().map(|m| m.user.as_ref().unwrap().id.get()).collect();
    assert_eq!(members, [ADA], "only itself without GUILD_MEMBERS");
    discord.add_member(w.guild, discord.add_user("dave", None));
    discord.create_message(w.general, NewMessage::new(w.bob, "secret words"));
    discord.create_message(w.general, NewMessage::new(w.bob, format!("hey <@{ADA}>")));
    let Event::MessageCreate(first) = next_event(&mut shard).await.event().unwrap() else { panic!() };
    assert_eq!(first.content, "", "no GUILD_MEMBER_ADD, and no content without MESSAGE_CONTENT");
    let Event::MessageCreate(second) = next_event(&mut shard).await.event().unwrap() else { panic!() };
    assert_eq!(second.content, format!("hey <@{ADA}>"), "a mention shows the content");
    assert_eq!(second.mentions[0].id.get(), ADA);
}

#[tokio::test(start_paused = true)]
async fn a_stalled_post_retried_with_its_nonce_creates_one_message() {
    let discord = FakeDiscord::start(user()).await;
    let w = small_world(&discord);
    let client = Client::builder("tok-user")
        .token_kind(TokenKind::User)
        .api_base(discord.api_base())
        .timeout(Some(Duration::from_secs(5)))
        .build()
        .unwrap();
    discord.stall_posts(1, Duration::from_secs(60));
    let message = CreateMessage::text("slow").nonce("part-9");
    // The client times out, retries the same body, and gets the original back.
    let sent = client.create_message(Snowflake::new(w.general), &message).await.unwrap();
    let messages = discord.messages(w.general);
    assert_eq!(messages.len(), 1, "one message for two POSTs");
    assert_eq!(sent.id.to_string(), messages[0]["id"]);
    assert_eq!(discord.nonces(), ["part-9", "part-9"]);
}

#[tokio::test(start_paused = true)]
async fn pins_are_listed_newest_first_and_dispatched() {
    let discord = FakeDiscord::start(user()).await;
    let w = small_world(&discord);
    let mut shard = shard(&discord, &user(), Encoding::Json);
    next_dispatch(&mut shard).await;
    let client = client(&discord, &user());
    let channel = Snowflake::new(w.general);
    let older = discord.add_message(w.general, NewMessage::new(w.bob, "older").at(T0));
    let newer = discord.add_message(w.general, NewMessage::new(w.bob, "newer").at(T0 + 1000));

    // Pinned through REST: 204, then MESSAGE_UPDATE and CHANNEL_PINS_UPDATE.
    client.pin_message(channel, Snowflake::new(newer)).await.unwrap();
    let Event::MessageUpdate(u) = next_event(&mut shard).await.event().unwrap() else { panic!() };
    assert_eq!((u.id.get(), u.pinned), (newer, Some(true)));
    let Event::ChannelPinsUpdate(p) = next_event(&mut shard).await.event().unwrap() else { panic!() };
    assert_eq!((p.channel_id, p.guild_id), (channel, Some(Snowflake::new(w.guild))));
    assert!(p.last_pin_timestamp.is_some());
    // Pinned from the Discord side: the newest pin comes first, whatever the message's age.
    discord.pin_message(w.general, older, true);
    let pins = client.pinned_messages(channel).await.unwrap();
    assert_eq!(pins.iter().map(|m| m.id.get()).collect::<Vec<_>>(), [older, newer]);
    assert!(pins.iter().all(|m| m.pinned));
    assert_eq!(discord.pins(w.general), [older, newer]);

    client.unpin_message(channel, Snowflake::new(older)).await.unwrap();
    assert_eq!(discord.pins(w.general), [newer]);
    let unknown = client.pin_message(channel, Snowflake::new(12345)).await;
    assert!(matches!(unknown, Err(Error::NotFound { .. })), "{unknown:?}");
    let hidden = client.pinned_messages(Snowflake::new(w.secret)).await;
    assert!(matches!(hidden, Err(Error::Forbidden { .. })), "{hidden:?}");
    let statuses: Vec<u16> = discord.requests().iter().map(|r| r.status).collect();
    assert_eq!(statuses, [204, 200, 204, 404, 403]);
}
