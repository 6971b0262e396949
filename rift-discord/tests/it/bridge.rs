//! The Discord bridge end to end: a real Rift (service, store, HTTP API on 127.0.0.1) running
//! `DiscordBridge` against the fake Discord of `rift_testing::discord`, read back through the
//! REST API. Each body runs on SQLite and on PostgreSQL (see `bridge_tests!`).

use std::collections::BTreeSet;
use std::sync::Arc;
use std::time::Duration;

use rift::bridge::{BridgeFactory, BridgeManager};
use rift::{Config, RegisterInput, Rift};
use rift_discord::bridge::{BridgeConfig, DiscordBridge};
use rift_http::{AppState, HttpConfig};
use rift_testing::TestDb;
use rift_testing::discord::{Account, FailAt, FakeDiscord, GatewayFault, NewMessage, channel_type};
use serde_json::{Value, json};

/// Discord permission bits used by the scripts.
const VIEW: u64 = 1 << 10;
const SEND: u64 = 1 << 11;
const MANAGE_MESSAGES: u64 = 1 << 13;
const HISTORY: u64 = 1 << 16;
/// 2023-11-14T22:13:20Z, where scripted history starts.
pub(crate) const BASE_MS: u64 = 1_700_000_000_000;

/// Rift with the Discord bridge, serving its API on a free loopback port.
pub(crate) struct Rig {
    pub(crate) base: String,
    pub(crate) http: reqwest::Client,
    pub(crate) token: String,
    pub(crate) owner: String,
    pub(crate) rift: Rift,
    bridges: BridgeManager,
    server: tokio::task::JoinHandle<()>,
    _uploads: tempfile::TempDir,
}

impl Drop for Rig {
    fn drop(&mut self) {
        self.server.abort();
    }
}

fn manager(rift: &Rift, discord: &FakeDiscord) -> BridgeManager {
    let mut config = BridgeConfig::new();
    config.api_base = discord.api_base();
    config.cdn_base = discord.cdn_base();
    config.gateway_url = Some(discord.gateway_url());
    let factory: BridgeFactory = Arc::new(move |_| Arc::new(DiscordBridge::new(config.clone())));
    BridgeManager::new(rift.clone()).with_factory("discord", factory)
}

impl Rig {
    pub(crate) async fn start(db: &TestDb, discord: &FakeDiscord) -> Self {
        let mut config = Config::new(b"bridge test secret, long enough to sign".to_vec());
        config.rate_limits = false;
        let rift = Rift::new(Arc::clone(&db.store), config);
        let session = match rift.register(RegisterInput::new("owner", "password123")).await {
            Ok(session) => session,
            // A second rig on the same database (a restart): sign in instead.
            Err(_) => rift.login("owner", "password123").await.expect("login"),
        };
        Self::serve(rift, discord, session).await
    }

    async fn serve(rift: Rift, discord: &FakeDiscord, session: rift::AuthSession) -> Self {
        let uploads = tempfile::tempdir().expect("upload dir");
        let mut http_config = HttpConfig::new(uploads.path());
        http_config.rate_limits = false;
        let bridges = manager(&rift, discord);
        bridges.start_all().await.expect("start stored connections");
        let state = AppState::new(rift.clone(), http_config)
            .with_bridges(bridges.clone())
            .with_imports(rift_discord::import::import_jobs(&rift));
        let app = rift_http::router(state);
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.expect("bind");
        let base = format!("http://{}", listener.local_addr().expect("addr"));
        let server = tokio::spawn(async move {
            let app = app.into_make_service_with_connect_info::<std::net::SocketAddr>();
            let _ = axum::serve(listener, app).await;
        });
        Self {
            base,
            http: reqwest::Client::new(),
            token: session.access_token.expose().to_owned(),
            owner: session.user.id.to_string(),
            rift,
            bridges,
            server,
            _uploads: uploads,
        }
    }

    pub(crate) async fn call(
        &self,
        method: reqwest::Method,
        path: &str,
        body: Option<Value>,
    ) -> (u16, Value) {
        let mut request =
            self.http.request(method, format!("{}/api{path}", self.base)).bearer_auth(&self.token);
        if let Some(body) = body {
            request = request.json(&body);
        }
        let response = request.send().await.expect("request");
        let status = response.status().as_u16();
        let text = response.text().await.unwrap_or_default();
        (status, serde_json::from_str(&text).unwrap_or(Value::Null))
    }

    pub(crate) async fn get(&self, path: &str) -> Value {
        let (status, body) = self.call(reqwest::Method::GET, path, None).await;
        assert_eq!(status, 200, "GET {path}: {body}");
        body
    }

    pub(crate) async fn add_bridge(&self, token: &str, kind: &str, mode: &str) -> String {
        let body = json!({"token": token, "token_kind": kind, "mode": mode});
        let (status, body) = self.call(reqwest::Method::POST, "/bridges/discord", Some(body)).await;
        assert_eq!(status, 201, "{body}");
        assert!(body.get("token").is_none(), "the token is write-only: {body}");
        body["id"].as_str().expect("id").to_owned()
    }

    /// Polls the connection until `done` holds (the bridge works in the background).
    async fn until(&self, bridge: &str, what: &str, done: impl Fn(&Value) -> bool) -> Value {
        let mut last = Value::Null;
        for _ in 0..1200 {
            last = self.get(&format!("/bridges/discord/{bridge}")).await;
            if done(&last) {
                return last;
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
        panic!("{what} did not happen; the connection is {last}");
    }

    pub(crate) async fn backfilled(&self, bridge: &str) -> Value {
        self.until(bridge, "backfill", |c| {
            let b = &c["backfill"];
            c["status"] == "ready"
                && b["channels_total"].as_u64() > Some(0)
                && b["channels_done"] == b["channels_total"]
                && b["current_channel_id"].is_null()
        })
        .await
    }

    /// Polls a REST read until `done` holds.
    pub(crate) async fn until_get(&self, path: &str, what: &str, done: impl Fn(&Value) -> bool) -> Value {
        let mut last = Value::Null;
        for _ in 0..1200 {
            last = self.get(path).await;
            if done(&last) {
                return last;
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
        panic!("{what} did not happen; GET {path} is {last}");
    }

    /// Every live message of a channel, oldest first, read through the API's pages.
    pub(crate) async fn all_messages(&self, channel: &str) -> Vec<Value> {
        let mut all = Vec::new();
        let mut before: Option<String> = None;
        loop {
            let cursor = before.as_ref().map(|b| format!("&before={b}")).unwrap_or_default();
            let page = self.get(&format!("/channels/{channel}/messages?limit=100{cursor}")).await;
            let page = page.as_array().cloned().unwrap_or_default();
            let Some(last) = page.last() else { break };
            before = last["id"].as_str().map(str::to_owned);
            all.extend(page);
        }
        all.reverse();
        all
    }

    pub(crate) async fn server_named(&self, name: &str) -> Value {
        let servers = self.get("/servers").await;
        servers
            .as_array()
            .into_iter()
            .flatten()
            .find(|s| s["name"] == name)
            .cloned()
            .unwrap_or_else(|| panic!("no server {name}: {servers}"))
    }

    pub(crate) async fn channel_named(&self, server: &str, name: &str) -> Value {
        let channels = self.get(&format!("/servers/{server}/channels")).await;
        channels
            .as_array()
            .into_iter()
            .flatten()
            .find(|c| c["name"] == name)
            .cloned()
            .unwrap_or_else(|| panic!("no channel {name}: {channels}"))
    }
}

pub(crate) fn id_of(value: &Value) -> String {
    value["id"].as_str().expect("an id").to_owned()
}

/// The scripted guild: a category, a readable text channel in it, a hidden one, a voice channel,
/// a role, members with a nickname, and history (`count` messages from three authors, an edited
/// one, a reply to the very first message, reactions).
struct Script {
    guild: u64,
    general: u64,
    secret: u64,
    bob: u64,
    carol: u64,
    mods: u64,
    first: u64,
    edited: u64,
    reply: u64,
    /// A message with an embed.
    embedded: u64,
    /// Two messages carrying the same picture, and one whose file is gone from the CDN.
    pictures: [u64; 2],
    gone: u64,
    history: Vec<u64>,
}

/// A 1×1 PNG.
pub(crate) const PNG: &[u8] = &[
    0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a, 0x00, 0x00, 0x00, 0x0d, 0x49, 0x48, 0x44, 0x52, 0x00,
    0x00, 0x00, 0x01, 0x00, 0x00, 0x00, 0x01, 0x08, 0x06, 0x00, 0x00, 0x00, 0x1f, 0x15, 0xc4, 0x89, 0x00,
    0x00, 0x00, 0x0d, 0x49, 0x44, 0x41, 0x54, 0x78, 0x9c, 0x63, 0xf8, 0xcf, 0xc0, 0xf0, 0x1f, 0x00, 0x05,
    0x00, 0x01, 0xff, 0x89, 0x99, 0x3d, 0x1d, 0x00, 0x00, 0x00, 0x00, 0x49, 0x45, 0x4e, 0x44, 0xae, 0x42,
    0x60, 0x82,
];

fn script(discord: &FakeDiscord, count: u64) -> Script {
    let me = discord.me();
    let guild = discord.add_guild("Rift Fans");
    discord.set_guild_icon(guild, PNG);
    let bob = discord.add_user("bob", Some("Bob B."));
    let carol = discord.add_user("carol", None);
    // Bob owns the guild, so the account is subject to its overwrites.
    discord.update_guild(guild, |g| g["owner_id"] = json!(bob.to_string()));
    let mods = discord.add_role(guild, "mods", 0x3498db, VIEW | SEND | HISTORY | MANAGE_MESSAGES);
    discord.add_member_with(guild, bob, Some("bobby"), &[mods], BASE_MS - 86_400_000);
    discord.add_member(guild, carol);
    let category = discord.add_channel(guild, channel_type::CATEGORY, "Text Channels");
    let general = discord.add_channel_with(guild, channel_type::TEXT, "general", |c| {
        c["parent_id"] = json!(category.to_string());
        c["topic"] = json!("all things rift");
    });
    let secret = discord.add_channel(guild, channel_type::TEXT, "secret");
    discord.hide_channel(secret);
    discord.add_channel(guild, channel_type::VOICE, "Lounge");
    discord.add_message(secret, NewMessage::new(bob, "nobody sees this").at(BASE_MS));
    let first = discord.add_message(general, NewMessage::new(bob, "first!").at(BASE_MS));
    let mut history = vec![first];
    for i in 1..count {
        let author = [me, bob, carol][usize::try_from(i % 3).unwrap_or(0)];
        history.push(
            discord
                .add_message(general, NewMessage::new(author, format!("message {i}")).at(BASE_MS + i * 1000)),
        );
    }
    let later = BASE_MS + count * 1000;
    let edited =
        discord.add_message(general, NewMessage::new(carol, "fixed typo").at(later).edited_at(later + 5_000));
    let reply = discord.add_message(
        general,
        NewMessage::new(bob, "@here replying to the first").at(later + 10_000).reply_to(first),
    );
    discord.add_reaction(general, reply, carol, "👍");
    discord.add_reaction(general, reply, me, "👍");
    discord.add_reaction(general, reply, bob, "🎉");
    discord.set_avatar(bob, PNG);
    let pictures = [
        discord.add_message(
            general,
            NewMessage::new(bob, "a picture").at(later + 20_000).attachment("dot.png", "image/png", PNG),
        ),
        discord.add_message(
            general,
            NewMessage::new(carol, "the same").at(later + 21_000).attachment("again.png", "image/png", PNG),
        ),
    ];
    let embedded = discord.add_message(
        general,
        NewMessage::new(bob, "look https://example.invalid")
            .at(later + 19_000)
            .embed(json!({"type": "link", "title": "Example"})),
    );
    let gone = discord.add_message(
        general,
        NewMessage::new(carol, "lost file").at(later + 22_000).attachment("lost.txt", "text/plain", b"bye"),
    );
    let url = discord.message(general, gone).expect("the message")["attachments"][0]["url"]
        .as_str()
        .expect("url")
        .to_owned();
    assert!(discord.remove_file(&url), "the CDN had {url}");
    history.extend([edited, reply, embedded, pictures[0], pictures[1], gone]);
    Script {
        guild,
        general,
        secret,
        bob,
        carol,
        mods,
        first,
        edited,
        reply,
        embedded,
        pictures,
        gone,
        history,
    }
}

pub(crate) fn by_remote(messages: &[Value], remote: u64) -> &Value {
    let remote = remote.to_string();
    messages
        .iter()
        .find(|m| m["bridge_remote_id"] == remote.as_str())
        .unwrap_or_else(|| panic!("message {remote} not mirrored"))
}

pub(crate) async fn a_scripted_guild_mirrors_whole_and_follows_live_changes(db: TestDb) {
    let discord = FakeDiscord::start(Account::user("user-token", 0, "ada")).await;
    let s = script(&discord, 230);
    let rig = Rig::start(&db, &discord).await;
    let bridge = rig.add_bridge("user-token", "user", "archive").await;
    let connection = rig.backfilled(&bridge).await;
    assert_eq!(connection["discord_user_id"], discord.me().to_string());
    assert_eq!(connection["backfill"]["channels_total"], 1, "only the readable text channel: {connection}");
    assert_eq!(connection["guilds"][0]["id"], s.guild.to_string());

    // The server, its channels (not the hidden one), roles and members.
    let server = rig.server_named("Rift Fans").await;
    let server_id = id_of(&server);
    assert_eq!(
        (server["bridge_source"].as_str(), server["owner_id"].as_str()),
        (Some("discord"), Some(rig.owner.as_str()))
    );
    assert_eq!(connection["guilds"][0]["server_id"], server_id.as_str());
    let icon = server["icon_url"].as_str().expect("the guild's icon");
    let bytes = rig.http.get(format!("{}{icon}", rig.base)).send().await.unwrap().bytes().await.unwrap();
    assert_eq!(&bytes[..], PNG);
    let channels = rig.get(&format!("/servers/{server_id}/channels")).await;
    let names: BTreeSet<&str> =
        channels.as_array().unwrap().iter().filter_map(|c| c["name"].as_str()).collect();
    assert_eq!(names, BTreeSet::from(["Lounge", "Text Channels", "general"]));
    assert!(!channels.to_string().contains(&s.secret.to_string()));
    let category = rig.channel_named(&server_id, "Text Channels").await;
    let general = rig.channel_named(&server_id, "general").await;
    assert_eq!(
        (general["parent_id"].clone(), general["topic"].clone()),
        (category["id"].clone(), json!("all things rift"))
    );
    assert_eq!(rig.channel_named(&server_id, "Lounge").await["kind"], "voice");
    let roles = rig.get(&format!("/servers/{server_id}/roles")).await;
    let mods = roles.as_array().unwrap().iter().find(|r| r["name"] == "mods").expect("mods role").clone();
    assert_eq!(mods["bridge_remote_id"], s.mods.to_string());
    assert_eq!(mods["color"], 0x3498db);
    assert_ne!(mods["permissions"].as_u64().unwrap() & (1 << 3), 0, "MANAGE_MESSAGES maps onto Rift's bit 3");
    let members = rig.get(&format!("/servers/{server_id}/members")).await;
    let bob = members
        .as_array()
        .unwrap()
        .iter()
        .find(|m| m["user"]["bridge_remote_id"].as_str() == Some(s.bob.to_string().as_str()))
        .expect("bob")
        .clone();
    assert_eq!(
        (bob["nickname"].as_str(), bob["user"]["display_name"].as_str()),
        (Some("bobby"), Some("Bob B."))
    );
    assert_eq!(bob["roles"], json!([mods["id"]]));

    // History: every message once, authors mapped (the account's own are the owner's).
    let general_id = id_of(&general);
    let messages = rig.all_messages(&general_id).await;
    assert_eq!(messages.len(), s.history.len());
    let remote: BTreeSet<String> =
        messages.iter().map(|m| m["bridge_remote_id"].as_str().unwrap().to_owned()).collect();
    assert_eq!(remote, s.history.iter().map(u64::to_string).collect());
    let first = by_remote(&messages, s.first);
    assert_eq!(first["content"], "first!");
    assert_eq!(
        first["created_at"].as_str().map(|t| t.starts_with("2023-11-14T22:13:20")),
        Some(true),
        "{first}"
    );
    let own = messages.iter().filter(|m| m["author"]["id"] == rig.owner.as_str()).count();
    assert_eq!(
        own,
        (1..230u64).filter(|i| i % 3 == 0).count(),
        "every third scripted message is the account's"
    );
    let edited = by_remote(&messages, s.edited);
    assert!(edited["edited_at"].as_str().is_some_and(|t| t.contains("22:17:15")), "{edited}");
    assert_eq!(
        rig.get(&format!("/messages/{}/history", id_of(edited))).await,
        json!([]),
        "no earlier version is known"
    );
    let reply = by_remote(&messages, s.reply);
    assert_eq!(reply["reply_to"], first["id"], "the reply points at a message stored later");
    // Discord decided whether its @here notified; the mirror keeps that, not a re-reading.
    assert_eq!(
        (reply["mention_everyone"].as_bool(), first["mention_everyone"].as_bool()),
        (Some(true), Some(false))
    );
    let reactions = &reply["reactions"];
    let thumbs = reactions.as_array().unwrap().iter().find(|r| r["emoji"] == "👍").expect("👍");
    assert_eq!((thumbs["count"].as_u64(), thumbs["me"].as_bool()), (Some(2), Some(true)));
    assert!(reactions.as_array().unwrap().iter().any(|r| r["emoji"] == "🎉" && r["count"] == 1));

    // Embeds are kept beside the content, never in it; an embed-only update is not a version.
    let embedded = by_remote(&messages, s.embedded).clone();
    assert_eq!(embedded["content"], "look https://example.invalid");
    assert_eq!(embedded["extras"]["embeds"][0]["title"], "Example");
    discord.set_embeds(s.general, s.embedded, vec![json!({"type": "link", "title": "Resolved"})]);
    rig.until_get(&format!("/messages/{}", id_of(&embedded)), "the embed update", |m| {
        m["extras"]["embeds"][0]["title"] == "Resolved"
    })
    .await;
    assert_eq!(rig.get(&format!("/messages/{}/history", id_of(&embedded))).await, json!([]));

    // Files are kept in Rift's storage, once per distinct content; a file gone from the CDN
    // leaves its message stored without it; avatars come along.
    let [one, two] = s.pictures.map(|p| by_remote(&messages, p)["attachments"][0].clone());
    assert_eq!(
        (one["filename"].as_str(), one["content_type"].as_str(), one["size"].as_u64()),
        (Some("dot.png"), Some("image/png"), Some(PNG.len() as u64))
    );
    assert_eq!(two["filename"], "again.png");
    assert_ne!(one["id"], two["id"]);
    for file in [&one, &two] {
        let bytes = rig
            .http
            .get(format!("{}{}", rig.base, file["url"].as_str().unwrap()))
            .send()
            .await
            .unwrap()
            .bytes()
            .await
            .unwrap();
        assert_eq!(&bytes[..], PNG, "served from Rift, not Discord");
    }
    use std::os::unix::fs::MetadataExt;
    let inode = |file: &Value| {
        std::fs::metadata(rig._uploads.path().join(file["id"].as_str().unwrap())).unwrap().ino()
    };
    assert_eq!(inode(&one), inode(&two), "the same bytes are stored once");
    let gone = by_remote(&messages, s.gone);
    assert_eq!((gone["content"].as_str(), gone["attachments"].clone()), (Some("lost file"), json!([])));
    let avatar = bob["user"]["avatar_url"].as_str().expect("bob's avatar");
    let bytes = rig.http.get(format!("{}{avatar}", rig.base)).send().await.unwrap().bytes().await.unwrap();
    assert_eq!(&bytes[..], PNG);

    // Live changes follow.
    let live = discord.create_message(s.general, NewMessage::new(s.carol, "live hello"));
    discord.edit_message(s.general, live, "live hello, edited");
    discord.delete_message(s.general, s.history[5]);
    discord.delete_messages(s.general, &[s.history[6], s.history[7]]);
    discord.add_reaction(s.general, live, s.bob, "🔥");
    let dave = discord.add_user("dave", Some("Dave"));
    discord.add_member(s.guild, dave);
    discord.remove_member(s.guild, s.carol);
    let path = format!("/channels/{general_id}/messages?limit=5");
    let newest = rig
        .until_get(&path, "the live message, edited and reacted to", |page| {
            page[0]["content"] == "live hello, edited" && page[0]["reactions"][0]["emoji"] == "🔥"
        })
        .await;
    let live_id = id_of(&newest[0]);
    let history = rig.get(&format!("/messages/{live_id}/history")).await;
    assert_eq!(
        (history[0]["old_content"].as_str(), history[0]["new_content"].as_str()),
        (Some("live hello"), Some("live hello, edited"))
    );
    let deleted = by_remote(&messages, s.history[5]).clone();
    rig.until_get(&format!("/messages/{}/history", id_of(&deleted)), "the delete", |h| {
        h.as_array().is_some_and(|h| h.iter().any(|e| e["action"] == "delete"))
    })
    .await;
    let messages_now = rig
        .until_get(
            &format!("/channels/{general_id}/messages?limit=100&after={}", id_of(first)),
            "the bulk delete",
            |page| !page.to_string().contains(&format!("\"{}\"", s.history[7])),
        )
        .await;
    assert!(!messages_now.to_string().contains(&format!("\"{}\"", s.history[6])));
    let audit = rig.get(&format!("/servers/{server_id}/audit-log")).await;
    let deletes: Vec<&Value> =
        audit.as_array().unwrap().iter().filter(|e| e["action"] == "message_delete").collect();
    assert_eq!(deletes.len(), 3, "{audit}");
    assert!(deletes.iter().all(|e| e["actor_id"].is_null() && e["reason"] == "discord"));
    let members = rig
        .until_get(&format!("/servers/{server_id}/members"), "dave joins and carol leaves", |m| {
            let text = m.to_string();
            text.contains(&dave.to_string()) && !text.contains(&format!("\"{}\"", s.carol))
        })
        .await;
    assert_eq!(members.as_array().unwrap().len(), 3, "owner, bob, dave: {members}");

    // The same sync again changes nothing.
    let before = rig.all_messages(&general_id).await;
    let (status, _) =
        rig.call(reqwest::Method::POST, &format!("/bridges/discord/{bridge}/backfill"), None).await;
    assert_eq!(status, 202);
    tokio::time::sleep(Duration::from_millis(200)).await;
    rig.backfilled(&bridge).await;
    assert_eq!(rig.all_messages(&general_id).await, before);
    assert_eq!(rig.get(&format!("/servers/{server_id}/channels")).await, channels);
    assert_eq!(discord.rate_limit_violations(), Vec::<String>::new());
    assert_eq!(discord.gateway_violations(), Vec::<String>::new());
    // Archive mode never wrote to Discord.
    assert!(discord.requests().iter().all(|r| r.method == "GET"), "archive mode only reads");
}

pub(crate) async fn relay_splits_retries_and_recognises_its_echoes(db: TestDb) {
    let discord = FakeDiscord::start(Account::user("user-token", 0, "ada")).await;
    let s = script(&discord, 3);
    let rig = Rig::start(&db, &discord).await;
    let bridge = rig.add_bridge("user-token", "user", "relay").await;
    rig.backfilled(&bridge).await;
    let server = rig.server_named("Rift Fans").await;
    let general = rig.channel_named(&id_of(&server), "general").await;
    let general_id = id_of(&general);
    let before = discord.messages(s.general).len();

    // 4,500 characters with a code block across the split; one POST fails before creating its
    // part and one after.
    let code: String = (0..120).map(|i| format!("let value_{i:03} = {i};\n")).collect();
    let text = format!(
        "{}\n```rust\n{code}```\n{}",
        "intro ".repeat(200).trim_end(),
        "outro ".repeat(100).trim_end()
    );
    assert!(text.chars().count() > 4000, "{}", text.chars().count());
    discord.fail_posts(1, FailAt::BeforeCreate, 502);
    discord.fail_posts(1, FailAt::AfterCreate, 502);
    let (status, sent) = rig
        .call(
            reqwest::Method::POST,
            &format!("/channels/{general_id}/messages"),
            Some(json!({"content": text})),
        )
        .await;
    assert_eq!(status, 201, "{sent}");
    let sent_id = id_of(&sent);
    wait_for(|| (discord.messages(s.general).len() >= before + 3).then_some(())).await;
    tokio::time::sleep(Duration::from_millis(300)).await;
    let parts: Vec<Value> = discord.messages(s.general).into_iter().skip(before).collect();
    assert_eq!(parts.len(), 3, "each part exactly once: {parts:#?}");
    assert!(parts.iter().all(|p| p["content"].as_str().unwrap().chars().count() <= 2000));
    assert!(parts[0]["content"].as_str().unwrap().ends_with("\n```"));
    assert!(parts[1]["content"].as_str().unwrap().starts_with("```rust\n"));
    // No echo was stored: Rift has the one message it sent.
    let messages = rig.all_messages(&general_id).await;
    assert_eq!(
        messages.iter().filter(|m| m["content"].as_str().is_some_and(|c| c.contains("value_001"))).count(),
        1
    );
    assert!(messages.iter().all(|m| m["bridge_remote_id"] != parts[0]["id"]));

    // An edit patches only the parts that changed; a delete removes them all.
    let edited = text.replacen("outro", "OUTRO", 1);
    let (status, _) = rig
        .call(reqwest::Method::PATCH, &format!("/messages/{sent_id}"), Some(json!({"content": edited})))
        .await;
    assert_eq!(status, 200);
    wait_for(|| {
        discord
            .messages(s.general)
            .iter()
            .any(|m| m["content"].as_str().is_some_and(|c| c.contains("OUTRO")))
            .then_some(())
    })
    .await;
    let patches = discord.requests().iter().filter(|r| r.method == "PATCH").count();
    assert_eq!(patches, 1, "only the last part changed");
    let history = rig.get(&format!("/messages/{sent_id}/history")).await;
    assert_eq!(history.as_array().map(Vec::len), Some(1), "Rift's history is [old, new]: {history}");
    assert_eq!(history[0]["old_content"].as_str(), Some(text.as_str()));
    let (status, _) = rig.call(reqwest::Method::DELETE, &format!("/messages/{sent_id}"), None).await;
    assert_eq!(status, 204);
    wait_for(|| (discord.messages(s.general).len() == before).then_some(())).await;

    // A file the owner attaches goes to Discord with the message.
    let form = reqwest::multipart::Form::new().part(
        "file",
        reqwest::multipart::Part::bytes(PNG.to_vec()).file_name("mine.png").mime_str("image/png").unwrap(),
    );
    let upload: Value = rig
        .http
        .post(format!("{}/api/upload", rig.base))
        .bearer_auth(&rig.token)
        .multipart(form)
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let body = json!({"content": "", "attachment_ids": [upload["id"]]});
    let (status, sent) =
        rig.call(reqwest::Method::POST, &format!("/channels/{general_id}/messages"), Some(body)).await;
    assert_eq!(status, 201, "{sent}");
    let relayed = wait_for(|| {
        discord.messages(s.general).into_iter().find(|m| m["attachments"][0]["filename"] == "mine.png")
    })
    .await;
    assert_eq!(relayed["attachments"].as_array().map(Vec::len), Some(1));
    assert_eq!(relayed["attachments"][0]["size"], PNG.len(), "the bytes Rift stored");
    tokio::time::sleep(Duration::from_millis(300)).await;
    let with_file = rig.all_messages(&general_id).await;
    assert_eq!(
        with_file.iter().filter(|m| m["attachments"][0]["filename"] == "mine.png").count(),
        1,
        "no echo stored"
    );
    assert!(
        discord.requests().iter().filter(|r| r.method == "POST").count() >= 4,
        "three parts and the file were posted"
    );

    // A reaction by the owner reaches Discord once.
    let first = by_remote(&rig.all_messages(&general_id).await, s.first).clone();
    let emoji = "%F0%9F%91%8D";
    let (status, _) =
        rig.call(reqwest::Method::PUT, &format!("/messages/{}/reactions/{emoji}", id_of(&first)), None).await;
    assert_eq!(status, 204);
    wait_for(|| discord.reactors(s.general, s.first, "👍").contains(&discord.me()).then_some(())).await;
    assert_eq!(discord.rate_limit_violations(), Vec::<String>::new());
    let _ = (s.edited, s.reply, s.bob, s.mods, s.secret);
}

pub(crate) async fn a_restart_mid_backfill_finishes_with_every_message_once(db: TestDb) {
    let discord = FakeDiscord::start(Account::user("user-token", 0, "ada")).await;
    let s = script(&discord, 600);
    // About two history pages a second, so the restart lands mid-way.
    discord.set_rate_limit(2, Duration::from_secs(1));
    let rig = Rig::start(&db, &discord).await;
    let bridge = rig.add_bridge("user-token", "user", "archive").await;
    rig.until(&bridge, "the first pages", |c| c["backfill"]["messages"].as_u64() >= Some(150)).await;
    // A 429 storm on history and a dropped gateway while it reads.
    discord.storm(Some(&format!("GET /api/v10/channels/{}/messages", s.general)), 3, 0.3, false);
    discord.gateway_fault(GatewayFault::Drop);
    rig.until(&bridge, "more pages", |c| c["backfill"]["messages"].as_u64() >= Some(250)).await;
    // The process goes away: bridges stop without touching their status, the server stops.
    rig.bridges.shutdown().await;
    let stored_before = rig.get(&format!("/bridges/discord/{bridge}")).await;
    assert_ne!(stored_before["status"], "stopped", "a shutdown is not a stop: {stored_before}");
    assert_eq!(stored_before["backfill"]["channels_done"], 0, "stopped mid-way: {stored_before}");
    let session = rig.rift.login("owner", "password123").await.expect("login");
    let rift = rig.rift.clone();
    drop(rig);
    // Said while Rift was down: caught up after the restart.
    let while_down = discord.create_message(s.general, NewMessage::new(s.bob, "while you were away"));
    let rig = Rig::serve(rift, &discord, session).await;
    rig.backfilled(&bridge).await;
    let server = rig.server_named("Rift Fans").await;
    let general = id_of(&rig.channel_named(&id_of(&server), "general").await);
    let messages = rig.all_messages(&general).await;
    let remote: Vec<String> =
        messages.iter().map(|m| m["bridge_remote_id"].as_str().unwrap().to_owned()).collect();
    let unique: BTreeSet<&String> = remote.iter().collect();
    assert_eq!(unique.len(), remote.len(), "no duplicates");
    let mut expected: BTreeSet<String> = s.history.iter().map(u64::to_string).collect();
    expected.insert(while_down.to_string());
    assert_eq!(unique.into_iter().cloned().collect::<BTreeSet<_>>(), expected, "nothing lost");
    assert_eq!(discord.rate_limit_violations(), Vec::<String>::new());
    assert_eq!(discord.gateway_violations(), Vec::<String>::new());
}

pub(crate) async fn bad_tokens_and_other_owners_get_clear_answers(db: TestDb) {
    let discord = FakeDiscord::start(Account::user("user-token", 0, "ada")).await;
    let rig = Rig::start(&db, &discord).await;
    for body in [
        json!({"token": "", "token_kind": "user", "mode": "relay"}),
        json!({"token_kind": "user", "mode": "relay"}),
        json!({"token": 42, "token_kind": "user", "mode": "relay"}),
        json!({"token": "t", "token_kind": "robot", "mode": "relay"}),
        json!({"token": "t", "token_kind": "user", "mode": "mirror"}),
    ] {
        let (status, answer) = rig.call(reqwest::Method::POST, "/bridges/discord", Some(body.clone())).await;
        assert_eq!(status, 400, "{body} → {answer}");
        assert!(answer["error"]["code"].is_string(), "{answer}");
    }
    // A token Discord refuses stops the connection for good, with a reason.
    let bridge = rig.add_bridge("wrong-token", "user", "relay").await;
    let stopped = rig.until(&bridge, "the stop", |c| c["status"] == "stopped").await;
    assert!(stopped["status_reason"].as_str().is_some_and(|r| r.contains("token")), "{stopped}");
    let (status, body) =
        rig.call(reqwest::Method::POST, &format!("/bridges/discord/{bridge}/backfill"), None).await;
    assert_eq!((status, body["error"]["code"].as_str()), (409, Some("bridge_not_running")));
    // Resume tries again (and Discord refuses again); pause and resume answer the connection;
    // another user sees none of it.
    let refusals = || discord.arrivals().len();
    let before = refusals();
    let resumed = rig.call(reqwest::Method::POST, &format!("/bridges/discord/{bridge}/resume"), None).await;
    assert_eq!(resumed.0, 200, "{}", resumed.1);
    rig.until(&bridge, "the second refusal", |c| c["status"] == "stopped" && refusals() > before).await;
    let paused = rig.call(reqwest::Method::POST, &format!("/bridges/discord/{bridge}/pause"), None).await;
    assert_eq!((paused.0, paused.1["status"].as_str()), (200, Some("paused")));
    let other = rig.rift.register(RegisterInput::new("mallory", "password123")).await.expect("register");
    let foreign = rig
        .http
        .get(format!("{}/api/bridges/discord/{bridge}", rig.base))
        .bearer_auth(other.access_token.expose())
        .send()
        .await
        .expect("request");
    assert_eq!(foreign.status().as_u16(), 404);
    let list = rig
        .http
        .get(format!("{}/api/bridges/discord", rig.base))
        .bearer_auth(other.access_token.expose())
        .send()
        .await
        .expect("request");
    assert_eq!(list.json::<Value>().await.expect("json"), json!([]));
    let (status, _) = rig.call(reqwest::Method::DELETE, &format!("/bridges/discord/{bridge}"), None).await;
    assert_eq!(status, 204);
    let (status, _) = rig.call(reqwest::Method::GET, &format!("/bridges/discord/{bridge}"), None).await;
    assert_eq!(status, 404);
}

/// Polls `check` until it gives a value (generous: background work on a busy machine).
async fn wait_for<T>(check: impl Fn() -> Option<T>) -> T {
    for _ in 0..1200 {
        if let Some(value) = check() {
            return value;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    panic!("the condition never held");
}

// ---- DMs and group DMs ----

/// The DM channel mirroring a Discord DM, as the owner lists it.
fn dm_of(dms: &Value, remote: u64) -> &Value {
    let remote = remote.to_string();
    dms.as_array()
        .into_iter()
        .flatten()
        .find(|d| d["bridge_remote_id"] == remote.as_str())
        .unwrap_or_else(|| panic!("DM {remote} not mirrored: {dms}"))
}

fn recipient_remote_ids(dm: &Value) -> BTreeSet<String> {
    dm["recipients"]
        .as_array()
        .into_iter()
        .flatten()
        .filter_map(|u| u["bridge_remote_id"].as_str().map(str::to_owned))
        .collect()
}

pub(crate) async fn dms_and_group_dms_mirror_with_history_and_relay(db: TestDb) {
    let mut discord = FakeDiscord::start(Account::user("user-token", 0, "ada")).await;
    let me = discord.me();
    let bob = discord.add_user("bob", Some("Bob B."));
    let carol = discord.add_user("carol", None);
    let dm = discord.add_dm(bob);
    let group = discord.add_group_dm(Some("the trio"), &[bob, carol]);
    let mut dm_history = Vec::new();
    for i in 0..150u64 {
        let author = if i % 2 == 0 { bob } else { me };
        dm_history
            .push(discord.add_message(dm, NewMessage::new(author, format!("dm {i}")).at(BASE_MS + i * 1000)));
    }
    let edited = discord.add_message(
        group,
        NewMessage::new(carol, "group hello, fixed").at(BASE_MS).edited_at(BASE_MS + 5_000),
    );
    let doomed = discord.add_message(group, NewMessage::new(bob, "soon deleted").at(BASE_MS + 1_000));
    let mine = discord.add_message(group, NewMessage::new(me, "a needle from me").at(BASE_MS + 2_000));
    discord.add_reaction(group, mine, carol, "👍");
    let group_history = [edited, doomed, mine];

    let rig = Rig::start(&db, &discord).await;
    let bridge = rig.add_bridge("user-token", "user", "relay").await;
    let connection = rig.backfilled(&bridge).await;
    assert_eq!(connection["backfill"]["channels_total"], 2, "the DM and the group DM: {connection}");

    // Listed with kind, name and recipients (the owner left out).
    let dms = rig.get("/dm/channels").await;
    assert_eq!(dms.as_array().map(Vec::len), Some(2), "{dms}");
    let one = dm_of(&dms, dm).clone();
    assert_eq!((one["kind"].as_str(), one.get("name")), (Some("dm"), None), "{one}");
    assert_eq!(recipient_remote_ids(&one), BTreeSet::from([bob.to_string()]));
    assert_eq!(one["recipients"][0]["display_name"], "Bob B.");
    assert_eq!(one["bridge_source"], "discord");
    let trio = dm_of(&dms, group).clone();
    assert_eq!((trio["kind"].as_str(), trio["name"].as_str()), (Some("group_dm"), Some("the trio")));
    assert_eq!(recipient_remote_ids(&trio), BTreeSet::from([bob.to_string(), carol.to_string()]));
    assert!(!trio["recipients"].to_string().contains(&rig.owner), "recipients leave out the caller");

    // Messages complete, the account's own as the owner's.
    let (one_id, trio_id) = (id_of(&one), id_of(&trio));
    let messages = rig.all_messages(&one_id).await;
    let remote: Vec<String> =
        messages.iter().map(|m| m["bridge_remote_id"].as_str().unwrap().to_owned()).collect();
    assert_eq!(
        remote,
        dm_history.iter().map(u64::to_string).collect::<Vec<_>>(),
        "every message once, in order"
    );
    assert_eq!(messages.iter().filter(|m| m["author"]["id"] == rig.owner.as_str()).count(), 75);
    assert_eq!(one["last_message_id"], messages.last().unwrap()["id"]);
    let group_messages = rig.all_messages(&trio_id).await;
    assert_eq!(group_messages.len(), group_history.len());
    let fixed = by_remote(&group_messages, edited);
    assert_eq!(fixed["content"], "group hello, fixed");
    assert!(fixed["edited_at"].is_string(), "{fixed}");
    let needle = by_remote(&group_messages, mine);
    assert_eq!(needle["author"]["id"], rig.owner.as_str());
    assert_eq!(needle["reactions"][0]["emoji"], "👍");
    let found = rig.get(&format!("/search?q=needle&channel_id={trio_id}")).await;
    assert_eq!(found.as_array().map(Vec::len), Some(1), "{found}");
    let found = rig.get("/search?q=needle").await;
    assert_eq!(found[0]["id"], needle["id"], "search covers mirrored DMs: {found}");

    // Live: a delete (whose trail the owner reads), a new message, a rename.
    let doomed_id = id_of(by_remote(&group_messages, doomed));
    discord.delete_message(group, doomed);
    rig.until_get(&format!("/messages/{doomed_id}/history"), "the delete", |h| {
        h.as_array().is_some_and(|h| h.iter().any(|e| e["action"] == "delete"))
    })
    .await;
    let live = discord.create_message(dm, NewMessage::new(bob, "live in the dm"));
    rig.until_get(&format!("/channels/{one_id}/messages?limit=1"), "the live DM message", |page| {
        page[0]["content"] == "live in the dm" && page[0]["bridge_remote_id"] == live.to_string().as_str()
    })
    .await;
    discord.update_channel(group, |c| c["name"] = json!("the quartet"));
    let owner = rift::UserId::from_uuid(rig.owner.parse().expect("owner id"));
    let channel = rift::ChannelId::from_uuid(trio_id.parse().expect("channel id"));
    let puppet_of = |remote: u64| {
        let rift = rig.rift.clone();
        async move {
            let found = rift
                .find_mirrored(
                    rift::store::BridgedKind::User,
                    &rift::model::BridgeRef::new("discord", remote.to_string()),
                )
                .await;
            found.expect("lookup").map(rift::UserId::from_uuid)
        }
    };
    rig.until_get("/dm/channels", "the rename", |dms| dm_of(dms, group)["name"] == "the quartet").await;
    let bob_puppet = puppet_of(bob).await.expect("bob's puppet");
    assert!(rig.rift.dm_channel(bob_puppet, channel).await.is_ok(), "participants see it");
    let carol_puppet = puppet_of(carol).await.expect("carol's puppet");
    assert!(rig.rift.dm_channel(carol_puppet, channel).await.is_ok());
    // Recipients come and go (raw dispatches: the fake's world has no such change).
    let dave = discord.add_user("dave", Some("Dave"));
    let user_json = |id: u64, name: &str| json!({"id": id.to_string(), "username": name, "global_name": null, "discriminator": "0", "avatar": null});
    let add = json!({"channel_id": group.to_string(), "user": user_json(dave, "dave")});
    discord.gateway().dispatch("CHANNEL_RECIPIENT_ADD", add);
    let remove = json!({"channel_id": group.to_string(), "user": user_json(carol, "carol")});
    discord.gateway().dispatch("CHANNEL_RECIPIENT_REMOVE", remove);
    rig.until_get("/dm/channels", "dave joins and carol leaves the group", |dms| {
        recipient_remote_ids(dm_of(dms, group)) == BTreeSet::from([bob.to_string(), dave.to_string()])
    })
    .await;
    assert!(matches!(rig.rift.dm_channel(carol_puppet, channel).await, Err(rift::Error::NotFound(_))));
    let dave_puppet = puppet_of(dave).await.expect("dave's puppet");
    assert!(rig.rift.dm_channel(dave_puppet, channel).await.is_ok());
    // A stranger gets 404 for the channel, its messages and their history.
    let stranger =
        rig.rift.register(RegisterInput::new("stranger", "password123")).await.expect("register").user.id;
    assert!(matches!(rig.rift.dm_channel(stranger, channel).await, Err(rift::Error::NotFound(_))));
    let needle_id = rift::MessageId::from_uuid(id_of(needle).parse().expect("message id"));
    assert!(matches!(rig.rift.message_history(stranger, needle_id).await, Err(rift::Error::NotFound(_))));
    assert!(rig.rift.dm_channel(owner, channel).await.is_ok());

    // The same sync again changes nothing.
    let dms_before = rig.get("/dm/channels").await;
    let (before_one, before_trio) = (rig.all_messages(&one_id).await, rig.all_messages(&trio_id).await);
    let (status, _) =
        rig.call(reqwest::Method::POST, &format!("/bridges/discord/{bridge}/backfill"), None).await;
    assert_eq!(status, 202);
    tokio::time::sleep(Duration::from_millis(200)).await;
    rig.backfilled(&bridge).await;
    assert_eq!(rig.get("/dm/channels").await, dms_before);
    assert_eq!(rig.all_messages(&one_id).await, before_one);
    assert_eq!(rig.all_messages(&trio_id).await, before_trio);
    assert!(discord.requests().iter().all(|r| r.method == "GET"), "nothing was written to Discord yet");

    // Relay: what the owner writes in the mirrored DM reaches Discord once.
    let before = discord.messages(dm).len();
    let (status, sent) = rig
        .call(
            reqwest::Method::POST,
            &format!("/channels/{one_id}/messages"),
            Some(json!({"content": "from rift"})),
        )
        .await;
    assert_eq!(status, 201, "{sent}");
    wait_for(|| (discord.messages(dm).len() > before).then_some(())).await;
    tokio::time::sleep(Duration::from_millis(300)).await;
    let relayed: Vec<Value> = discord.messages(dm).into_iter().skip(before).collect();
    assert_eq!(relayed.len(), 1, "exactly once: {relayed:#?}");
    assert_eq!(
        (relayed[0]["content"].as_str(), relayed[0]["author"]["id"].as_str()),
        (Some("from rift"), Some(me.to_string().as_str()))
    );
    let messages = rig.all_messages(&one_id).await;
    assert_eq!(
        messages.iter().filter(|m| m["content"] == "from rift").count(),
        1,
        "the echo is not stored again"
    );
    assert_eq!(discord.rate_limit_violations(), Vec::<String>::new());
}

// ---- pins ----

/// The requests the fake saw to pin (`PUT`) or unpin (`DELETE`) messages.
fn pin_writes(discord: &FakeDiscord, method: &str) -> usize {
    discord.requests().iter().filter(|r| r.method == method && r.path.contains("/pins/")).count()
}

/// The remote ids of a Rift channel's pinned messages, newest pin first.
fn pinned_remotes(pins: &Value) -> Vec<String> {
    pins.as_array()
        .into_iter()
        .flatten()
        .map(|m| m["bridge_remote_id"].as_str().unwrap_or("(not mirrored)").to_owned())
        .collect()
}

pub(crate) async fn pins_round_trip_through_discord_without_echo(db: TestDb) {
    let discord = FakeDiscord::start(Account::user("user-token", 0, "ada")).await;
    let s = script(&discord, 3);
    // Pinned before the bridge ran: the backfill reads it.
    discord.pin_message(s.general, s.first, true);
    let rig = Rig::start(&db, &discord).await;
    let bridge = rig.add_bridge("user-token", "user", "relay").await;
    rig.backfilled(&bridge).await;
    let server = rig.server_named("Rift Fans").await;
    let general_id = id_of(&rig.channel_named(&id_of(&server), "general").await);
    let pins_path = format!("/channels/{general_id}/pins");
    let first = s.first.to_string();
    rig.until_get(&pins_path, "the backfill's pin", |p| pinned_remotes(p) == [first.clone()]).await;

    // Pinned and unpinned on Discord: mirrored, and nothing written back.
    discord.pin_message(s.general, s.edited, true);
    let edited = s.edited.to_string();
    rig.until_get(&pins_path, "a Discord pin", |p| pinned_remotes(p) == [edited.clone(), first.clone()])
        .await;
    discord.pin_message(s.general, s.first, false);
    rig.until_get(&pins_path, "a Discord unpin", |p| pinned_remotes(p) == [edited.clone()]).await;
    tokio::time::sleep(Duration::from_millis(300)).await;
    assert_eq!((pin_writes(&discord, "PUT"), pin_writes(&discord, "DELETE")), (0, 0), "no echo to Discord");

    // Pinned in Rift: Discord gets exactly one PUT, and its CHANNEL_PINS_UPDATE changes nothing.
    let messages = rig.all_messages(&general_id).await;
    let reply = id_of(by_remote(&messages, s.reply));
    let (status, body) = rig.call(reqwest::Method::PUT, &format!("{pins_path}/{reply}"), None).await;
    assert_eq!(status, 204, "{body}");
    wait_for(|| (discord.pins(s.general) == [s.reply, s.edited]).then_some(())).await;
    tokio::time::sleep(Duration::from_millis(300)).await;
    assert_eq!(pin_writes(&discord, "PUT"), 1, "one PUT, no echo loop");
    let reply_remote = s.reply.to_string();
    rig.until_get(&pins_path, "the pin kept", |p| {
        pinned_remotes(p) == [reply_remote.clone(), edited.clone()]
    })
    .await;

    // Unpinned in Rift: one DELETE.
    let (status, body) = rig.call(reqwest::Method::DELETE, &format!("{pins_path}/{reply}"), None).await;
    assert_eq!(status, 204, "{body}");
    wait_for(|| (discord.pins(s.general) == [s.edited]).then_some(())).await;
    tokio::time::sleep(Duration::from_millis(300)).await;
    assert_eq!((pin_writes(&discord, "PUT"), pin_writes(&discord, "DELETE")), (1, 1));
    rig.until_get(&pins_path, "the unpin kept", |p| pinned_remotes(p) == [edited.clone()]).await;

    // A long message sent from Rift is pinned on Discord as its first relayed part; Discord's
    // update maps the part back to the Rift message, which stays pinned.
    let before = discord.messages(s.general).len();
    // 2,001 code points: two parts, split at the line break.
    let long = format!("pin me\n{}", "word ".repeat(399).trim_end());
    assert_eq!(long.chars().count(), 2001);
    let (status, sent) = rig
        .call(
            reqwest::Method::POST,
            &format!("/channels/{general_id}/messages"),
            Some(json!({"content": long})),
        )
        .await;
    assert_eq!(status, 201, "{sent}");
    wait_for(|| (discord.messages(s.general).len() == before + 2).then_some(())).await;
    let part = discord
        .messages(s.general)
        .into_iter()
        .find(|m| m["content"].as_str().is_some_and(|c| c.starts_with("pin me")))
        .expect("first part");
    let part: u64 = part["id"].as_str().and_then(|id| id.parse().ok()).expect("part id");
    let sent_id = id_of(&sent);
    let (status, body) = rig.call(reqwest::Method::PUT, &format!("{pins_path}/{sent_id}"), None).await;
    assert_eq!(status, 204, "{body}");
    wait_for(|| (discord.pins(s.general) == [part, s.edited]).then_some(())).await;
    tokio::time::sleep(Duration::from_millis(300)).await;
    let pins = rig.get(&pins_path).await;
    let ids: Vec<&str> = pins.as_array().into_iter().flatten().filter_map(|m| m["id"].as_str()).collect();
    assert_eq!(ids.len(), 2, "{pins}");
    assert_eq!(ids[0], sent_id, "still pinned after Discord's update: {pins}");
    assert_eq!(pin_writes(&discord, "PUT"), 2);

    // Unpinned on Discord: the relayed message is unpinned in Rift too.
    discord.pin_message(s.general, part, false);
    rig.until_get(&pins_path, "the part's unpin", |p| pinned_remotes(p) == [edited.clone()]).await;
    assert_eq!(discord.rate_limit_violations(), Vec::<String>::new());
}

pub(crate) async fn archive_mode_mirrors_pins_and_writes_none(db: TestDb) {
    let discord = FakeDiscord::start(Account::user("user-token", 0, "ada")).await;
    let s = script(&discord, 3);
    let rig = Rig::start(&db, &discord).await;
    let bridge = rig.add_bridge("user-token", "user", "archive").await;
    rig.backfilled(&bridge).await;
    let server = rig.server_named("Rift Fans").await;
    let general_id = id_of(&rig.channel_named(&id_of(&server), "general").await);
    let pins_path = format!("/channels/{general_id}/pins");

    discord.pin_message(s.general, s.edited, true);
    let edited = s.edited.to_string();
    rig.until_get(&pins_path, "a Discord pin", |p| pinned_remotes(p) == [edited.clone()]).await;

    let messages = rig.all_messages(&general_id).await;
    let reply = id_of(by_remote(&messages, s.reply));
    let (status, body) = rig.call(reqwest::Method::PUT, &format!("{pins_path}/{reply}"), None).await;
    assert_eq!(status, 204, "{body}");
    let (status, body) = rig
        .call(
            reqwest::Method::DELETE,
            &format!("{pins_path}/{}", id_of(by_remote(&messages, s.edited))),
            None,
        )
        .await;
    assert_eq!(status, 204, "{body}");
    tokio::time::sleep(Duration::from_millis(500)).await;
    assert_eq!(
        (pin_writes(&discord, "PUT"), pin_writes(&discord, "DELETE")),
        (0, 0),
        "archive writes nothing"
    );
    assert_eq!(discord.pins(s.general), [s.edited], "Discord unchanged");
    let reply_remote = s.reply.to_string();
    assert_eq!(pinned_remotes(&rig.get(&pins_path).await), [reply_remote], "Rift keeps its own pins");
}
