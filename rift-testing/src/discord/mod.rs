//! A fake Discord on loopback for the bridge's tests: REST (API v10) and the CDN on one HTTP port,
//! the gateway (v10, zlib-stream, JSON or ETF) on a WebSocket port, both serving one world the
//! test builds and changes.
//!
//! See the [crate docs](crate#a-fake-discord) for what it models and how a test scripts it.

mod gateway;
mod rest;
mod server;
mod world;

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use serde_json::{Value, json};
use tokio::time::Instant;

use self::gateway::GatewayHandle;
pub use self::gateway::{Arrival, ArrivalKind, FakeGateway, Seen};
use self::rest::Limiter;
pub use self::rest::{FORBIDDEN_CHANNEL, FakeRest, TOKEN};
pub use self::world::{Account, DISCORD_EPOCH_MS, NewMessage, iso, snowflake_ms};
use self::world::{ChannelW, GuildW, MemberW, UserW, World, parse_emoji};

/// Discord's channel types the fake knows.
pub mod channel_type {
    /// A guild text channel.
    pub const TEXT: u8 = 0;
    /// A DM.
    pub const DM: u8 = 1;
    /// A guild voice channel.
    pub const VOICE: u8 = 2;
    /// A group DM.
    pub const GROUP_DM: u8 = 3;
    /// A category.
    pub const CATEGORY: u8 = 4;
    /// An announcement channel.
    pub const ANNOUNCEMENT: u8 = 5;
    /// A stage channel.
    pub const STAGE: u8 = 13;
    /// A forum channel.
    pub const FORUM: u8 = 15;
}

/// When a scripted 5xx on `POST /channels/{id}/messages` strikes.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum FailAt {
    /// Before the message is created: nothing happened.
    BeforeCreate,
    /// After the message was created (and dispatched): the client still sees the error.
    AfterCreate,
}

/// When the MESSAGE_CREATE echo of a REST-created message is dispatched.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum Echo {
    /// Written to the gateway socket before the HTTP answer is sent.
    BeforeResponse,
    /// Dispatched this long after the HTTP answer is prepared (the default, with zero delay).
    AfterResponse(Duration),
}

/// A fault on the live gateway connection.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum GatewayFault {
    /// Drop the TCP connection without a close frame.
    Drop,
    /// Op 7 RECONNECT.
    Reconnect,
    /// Op 9 INVALID_SESSION with `d` = resumable.
    InvalidSession(bool),
    /// Close with this code.
    Close(u16),
}

/// One REST request as the fake received it.
#[derive(Clone, Debug, PartialEq)]
#[non_exhaustive]
pub struct RecordedRequest {
    /// `GET`, `POST`, …
    pub method: String,
    /// The path, percent-encoded as sent (`/api/v10/channels/1/messages`).
    pub path: String,
    /// The query string, empty if none.
    pub query: String,
    /// The `Authorization` header, if any.
    pub authorization: Option<String>,
    /// The JSON body, or a multipart request's `payload_json`.
    pub body: Option<Value>,
    /// The HTTP status answered.
    pub status: u16,
}

/// The fake's scripts and records, beside the world.
pub(crate) struct Control {
    pub(crate) limiter: Limiter,
    pub(crate) requests: Vec<RecordedRequest>,
    pub(crate) nonces: Vec<String>,
    /// (author, nonce) to the message it created, and when.
    pub(crate) nonce_index: HashMap<(u64, String), (u64, u64, Instant)>,
    pub(crate) nonce_window: Duration,
    pub(crate) post_failures: Vec<(u32, FailAt, u16)>,
    /// Message POSTs that create the message, then hold the answer this long.
    pub(crate) post_stalls: Vec<(u32, Duration)>,
    /// CDN paths asked for, with the status answered.
    pub(crate) downloads: Vec<(String, u16)>,
    pub(crate) echo: Echo,
    pub(crate) faults: Vec<(usize, GatewayFault)>,
    pub(crate) dispatching: bool,
    /// The intents of the last bot IDENTIFY; `None` for user accounts (no intents: everything).
    pub(crate) intents: Option<u64>,
}

/// The MESSAGE_CONTENT intent.
const MESSAGE_CONTENT: u64 = 1 << 15;

/// The intent a bot needs to receive an event; 0 for events every session gets.
fn intent_of(name: &str, data: &Value) -> u64 {
    let in_guild = data.get("guild_id").is_some_and(|g| !g.is_null());
    let pick = |guild: u64, direct: u64| if in_guild { guild } else { direct };
    match name {
        "GUILD_CREATE" | "GUILD_UPDATE" | "GUILD_DELETE" | "GUILD_ROLE_CREATE" | "GUILD_ROLE_UPDATE"
        | "GUILD_ROLE_DELETE" | "CHANNEL_CREATE" | "CHANNEL_UPDATE" | "CHANNEL_DELETE" => 1,
        "CHANNEL_PINS_UPDATE" => pick(1, 1 << 12),
        "GUILD_MEMBER_ADD" | "GUILD_MEMBER_UPDATE" | "GUILD_MEMBER_REMOVE" => 1 << 1,
        "MESSAGE_CREATE" | "MESSAGE_UPDATE" | "MESSAGE_DELETE" | "MESSAGE_DELETE_BULK" => {
            pick(1 << 9, 1 << 12)
        }
        "MESSAGE_REACTION_ADD" | "MESSAGE_REACTION_REMOVE" => pick(1 << 10, 1 << 13),
        "TYPING_START" => pick(1 << 11, 1 << 14),
        _ => 0,
    }
}

/// Shared by the HTTP server and the test's handle.
pub(crate) struct State {
    pub(crate) world: Mutex<World>,
    pub(crate) control: Mutex<Control>,
    pub(crate) gateway: GatewayHandle,
}

impl State {
    /// Dispatches events on the gateway's current session, unless dispatching is off; a bot's
    /// session gets only what its intents ask for, and guild message content only with
    /// MESSAGE_CONTENT (or when it wrote or is mentioned in the message).
    pub(crate) fn dispatch(&self, events: Vec<(&'static str, Value)>) {
        let (dispatching, intents) = {
            let control = self.control.lock().unwrap();
            (control.dispatching, control.intents)
        };
        if !dispatching {
            return;
        }
        let me = self.world.lock().unwrap().me().to_string();
        for (name, mut data) in events {
            if let Some(intents) = intents {
                if intents & intent_of(name, &data) == 0 && intent_of(name, &data) != 0 {
                    continue;
                }
                let in_guild = data.get("guild_id").is_some_and(|g| !g.is_null());
                let mentioned = data["mentions"].as_array().is_some_and(|m| m.iter().any(|u| u["id"] == me));
                let own = data["author"]["id"] == me;
                if matches!(name, "MESSAGE_CREATE" | "MESSAGE_UPDATE")
                    && in_guild
                    && intents & MESSAGE_CONTENT == 0
                    && !own
                    && !mentioned
                {
                    for (key, empty) in [
                        ("content", json!("")),
                        ("embeds", json!([])),
                        ("attachments", json!([])),
                        ("components", json!([])),
                    ] {
                        if data.get(key).is_some() {
                            data[key] = empty;
                        }
                    }
                }
            }
            self.gateway.dispatch(name, data);
        }
    }
}

/// A fake Discord: one world served over REST, the CDN and the gateway. Dropping it stops both
/// servers.
///
/// # Examples
///
/// ```no_run
/// # async fn demo() {
/// use rift_testing::discord::{Account, FakeDiscord, NewMessage, channel_type};
///
/// let discord = FakeDiscord::start(Account::user("tok-user", 0, "ada")).await;
/// let guild = discord.add_guild("Archive");
/// let general = discord.add_channel(guild, channel_type::TEXT, "general");
/// let bob = discord.add_user("bob", Some("Bob"));
/// discord.add_member(guild, bob);
/// discord.add_message(general, NewMessage::new(bob, "hello").at(1_700_000_000_000));
/// // DISCORD_API_BASE, DISCORD_CDN_BASE, DISCORD_GATEWAY_URL:
/// let _ = (discord.api_base(), discord.cdn_base(), discord.gateway_url());
/// # }
/// ```
pub struct FakeDiscord {
    state: Arc<State>,
    gateway: FakeGateway,
    url: String,
    server: tokio::task::JoinHandle<()>,
}

impl Drop for FakeDiscord {
    fn drop(&mut self) {
        self.server.abort();
    }
}

impl FakeDiscord {
    /// Starts a fake Discord for one account on 127.0.0.1; the account's user exists in the world.
    ///
    /// # Panics
    /// If no loopback port can be bound.
    pub async fn start(account: Account) -> Self {
        let gateway = FakeGateway::start().await;
        let world = World::new(account);
        let mut control = Control {
            limiter: Limiter::new(),
            requests: Vec::new(),
            nonces: Vec::new(),
            nonce_index: HashMap::new(),
            nonce_window: Duration::from_secs(180),
            post_failures: Vec::new(),
            post_stalls: Vec::new(),
            downloads: Vec::new(),
            echo: Echo::AfterResponse(Duration::ZERO),
            faults: Vec::new(),
            dispatching: true,
            intents: None,
        };
        // Generous by default: a test about pacing lowers it with `set_rate_limit`.
        control.limiter.set_limit(50, Duration::from_secs(1));
        let state = Arc::new(State {
            world: Mutex::new(world),
            control: Mutex::new(control),
            gateway: gateway.handle(),
        });
        let hook_state = state.clone();
        let token = state.world.lock().unwrap().account.token.clone();
        let hook = Arc::new(move |identify: &Value, session: &str, resume: &str| {
            server::ready(&hook_state, identify, session, resume)
        });
        gateway.set_identify_hook(hook, token);
        let (url, server) = server::serve(state.clone()).await;
        Self { state, gateway, url, server }
    }

    /// The API base URL, for `DISCORD_API_BASE` (`http://127.0.0.1:PORT/api/v10`).
    pub fn api_base(&self) -> String {
        format!("{}/api/v10", self.url)
    }

    /// The CDN base URL, for `DISCORD_CDN_BASE`.
    pub fn cdn_base(&self) -> String {
        format!("{}/cdn", self.url)
    }

    /// The gateway URL, for `DISCORD_GATEWAY_URL`; `GET /gateway` answers it too.
    pub fn gateway_url(&self) -> String {
        self.gateway.url()
    }

    /// The URL READY names as `resume_gateway_url`.
    pub fn resume_url(&self) -> String {
        self.gateway.resume_url()
    }

    /// The gateway, for raw dispatches, faults and what it saw.
    pub fn gateway(&mut self) -> &mut FakeGateway {
        &mut self.gateway
    }

    /// The account's user id.
    pub fn me(&self) -> u64 {
        self.state.world.lock().unwrap().me()
    }

    /// A fresh snowflake created at a Unix ms time (`(id >> 22) + DISCORD_EPOCH_MS == ms`).
    pub fn snowflake_at(&self, ms: u64) -> u64 {
        self.state.world.lock().unwrap().mint(Some(ms))
    }

    fn world<T>(&self, f: impl FnOnce(&mut World) -> T) -> T {
        f(&mut self.state.world.lock().unwrap())
    }

    fn dispatch(&self, events: Vec<(&'static str, Value)>) {
        self.state.dispatch(events);
    }

    /// CHANNEL_CREATE of a DM or group DM: user accounts only.
    fn dispatch_private(&self, channel: Value) {
        if !self.state.world.lock().unwrap().account.bot {
            self.dispatch(vec![("CHANNEL_CREATE", channel)]);
        }
    }

    /// Whether world changes are dispatched on the gateway (default yes). Off, the world changes
    /// silently, as if the change happened while nobody listened.
    pub fn set_dispatching(&self, on: bool) {
        self.state.control.lock().unwrap().dispatching = on;
    }

    // ---------------------------------------------------------------- users and guilds

    /// Adds a user; returns its id.
    pub fn add_user(&self, username: &str, global_name: Option<&str>) -> u64 {
        self.world(|w| {
            let id = w.mint(None);
            let user = UserW {
                username: username.to_owned(),
                global_name: global_name.map(str::to_owned),
                avatar: None,
                bot: false,
            };
            w.users.insert(id, user);
            id
        })
    }

    /// Gives a user an avatar served at `/avatars/{user}/{hash}.png`; dispatches
    /// GUILD_MEMBER_UPDATE for each guild the user is in. Returns the hash.
    pub fn set_avatar(&self, user: u64, bytes: &[u8]) -> String {
        let (hash, events) = self.world(|w| {
            let hash = format!("{:032x}", u128::from(w.mint(None)).wrapping_mul(0x9e37_79b9_7f4a_7c15));
            w.files.insert(format!("/avatars/{user}/{hash}.png"), ("image/png".into(), bytes.to_vec()));
            if let Some(u) = w.users.get_mut(&user) {
                u.avatar = Some(hash.clone());
            }
            (hash, member_updates(w, user))
        });
        self.dispatch(events);
        hash
    }

    /// Renames a user (`username`, `global_name`); dispatches GUILD_MEMBER_UPDATE for each guild
    /// the user is in.
    ///
    /// # Panics
    /// If the user does not exist.
    pub fn rename_user(&self, user: u64, username: &str, global_name: Option<&str>) {
        let events = self.world(|w| {
            let u = w.users.get_mut(&user).expect("the user exists");
            u.username = username.to_owned();
            u.global_name = global_name.map(str::to_owned);
            member_updates(w, user)
        });
        self.dispatch(events);
    }

    /// Adds a guild owned by the account, with its `@everyone` role (id = the guild's) and the
    /// account as a member; dispatches GUILD_CREATE. Returns its id.
    pub fn add_guild(&self, name: &str) -> u64 {
        let (id, event) = self.world(|w| {
            let id = w.mint(None);
            let me = w.me();
            let everyone = json!({
                "id": id.to_string(), "name": "@everyone", "color": 0, "colors": {"primary_color": 0},
                "hoist": false, "icon": null, "unicode_emoji": null, "position": 0,
                "permissions": "2248473465835073", "managed": false, "mentionable": false, "flags": 0,
            });
            let mut members = std::collections::BTreeMap::new();
            members.insert(
                me,
                MemberW { nick: None, roles: Vec::new(), joined_at: world::iso(world::now_ms()) },
            );
            let guild = GuildW {
                base: json!({"id": id.to_string(), "name": name, "icon": null, "owner_id": me.to_string(),
                             "description": null, "verification_level": 0, "premium_tier": 0}),
                roles: [(id, everyone)].into(),
                members,
            };
            w.guilds.insert(id, guild);
            (id, w.whole_guild(id).unwrap())
        });
        self.dispatch(vec![("GUILD_CREATE", event)]);
        id
    }

    /// Gives a guild an icon served at `/icons/{guild}/{hash}.png`; dispatches GUILD_UPDATE.
    /// Returns the hash.
    pub fn set_guild_icon(&self, guild: u64, bytes: &[u8]) -> String {
        let hash = self.world(|w| {
            let hash = format!("{:032x}", u128::from(w.mint(None)).wrapping_mul(0x9e37_79b9_7f4a_7c15));
            w.files.insert(format!("/icons/{guild}/{hash}.png"), ("image/png".into(), bytes.to_vec()));
            hash
        });
        self.update_guild(guild, |g| g["icon"] = json!(hash));
        hash
    }

    /// Changes a guild's object (`name`, `icon`, `owner_id`, …); dispatches GUILD_UPDATE.
    ///
    /// # Panics
    /// If the guild does not exist.
    pub fn update_guild(&self, guild: u64, change: impl FnOnce(&mut Value)) {
        let event = self.world(|w| {
            change(&mut w.guilds.get_mut(&guild).expect("the guild exists").base);
            w.guild(guild).unwrap()
        });
        self.dispatch(vec![("GUILD_UPDATE", event)]);
    }

    /// Adds a role; dispatches GUILD_ROLE_CREATE. Returns its id.
    ///
    /// # Panics
    /// If the guild does not exist.
    pub fn add_role(&self, guild: u64, name: &str, color: u32, permissions: u64) -> u64 {
        let (id, event) = self.world(|w| {
            let id = w.mint(None);
            let g = w.guilds.get_mut(&guild).expect("the guild exists");
            let position = g.roles.len();
            let role = json!({
                "id": id.to_string(), "name": name, "color": color, "colors": {"primary_color": color},
                "hoist": false, "icon": null, "unicode_emoji": null, "position": position,
                "permissions": permissions.to_string(), "managed": false, "mentionable": false, "flags": 0,
            });
            g.roles.insert(id, role.clone());
            (id, json!({"guild_id": guild.to_string(), "role": role}))
        });
        self.dispatch(vec![("GUILD_ROLE_CREATE", event)]);
        id
    }

    /// Changes a role object (`name`, `color`, `position`, `permissions`, …); dispatches
    /// GUILD_ROLE_UPDATE.
    ///
    /// # Panics
    /// If the role does not exist.
    pub fn update_role(&self, guild: u64, role: u64, change: impl FnOnce(&mut Value)) {
        let event = self.world(|w| {
            let r = w.guilds.get_mut(&guild).and_then(|g| g.roles.get_mut(&role)).expect("the role exists");
            change(r);
            json!({"guild_id": guild.to_string(), "role": r.clone()})
        });
        self.dispatch(vec![("GUILD_ROLE_UPDATE", event)]);
    }

    /// Deletes a role (members lose it); dispatches GUILD_ROLE_DELETE.
    pub fn delete_role(&self, guild: u64, role: u64) {
        self.world(|w| {
            if let Some(g) = w.guilds.get_mut(&guild) {
                g.roles.remove(&role);
                g.members.values_mut().for_each(|m| m.roles.retain(|r| *r != role));
            }
        });
        self.dispatch(vec![(
            "GUILD_ROLE_DELETE",
            json!({"guild_id": guild.to_string(), "role_id": role.to_string()}),
        )]);
    }

    /// Adds a member (joined now, no nick or roles); dispatches GUILD_MEMBER_ADD.
    pub fn add_member(&self, guild: u64, user: u64) {
        self.add_member_with(guild, user, None, &[], world::now_ms());
    }

    /// Adds a member with a nick, roles and join time (Unix ms); dispatches GUILD_MEMBER_ADD.
    ///
    /// # Panics
    /// If the guild does not exist.
    pub fn add_member_with(&self, guild: u64, user: u64, nick: Option<&str>, roles: &[u64], joined_ms: u64) {
        let event = self.world(|w| {
            let member =
                MemberW { nick: nick.map(str::to_owned), roles: roles.to_vec(), joined_at: iso(joined_ms) };
            w.guilds.get_mut(&guild).expect("the guild exists").members.insert(user, member);
            let mut event = w.member(guild, user).unwrap();
            event["guild_id"] = json!(guild.to_string());
            event
        });
        self.dispatch(vec![("GUILD_MEMBER_ADD", event)]);
    }

    /// Changes a member's nick and roles; dispatches GUILD_MEMBER_UPDATE.
    ///
    /// # Panics
    /// If the member does not exist.
    pub fn update_member(&self, guild: u64, user: u64, nick: Option<&str>, roles: &[u64]) {
        let event = self.world(|w| {
            let m =
                w.guilds.get_mut(&guild).and_then(|g| g.members.get_mut(&user)).expect("the member exists");
            m.nick = nick.map(str::to_owned);
            m.roles = roles.to_vec();
            let mut event = w.member(guild, user).unwrap();
            event["guild_id"] = json!(guild.to_string());
            event
        });
        self.dispatch(vec![("GUILD_MEMBER_UPDATE", event)]);
    }

    /// Removes a member (left, kicked or banned); dispatches GUILD_MEMBER_REMOVE.
    pub fn remove_member(&self, guild: u64, user: u64) {
        let event = self.world(|w| {
            if let Some(g) = w.guilds.get_mut(&guild) {
                g.members.remove(&user);
            }
            json!({"guild_id": guild.to_string(), "user": w.user(user)})
        });
        self.dispatch(vec![("GUILD_MEMBER_REMOVE", event)]);
    }

    // ---------------------------------------------------------------- channels

    /// Adds a guild channel of a [`channel_type`] at the end; dispatches CHANNEL_CREATE.
    pub fn add_channel(&self, guild: u64, kind: u8, name: &str) -> u64 {
        self.add_channel_with(guild, kind, name, |_| {})
    }

    /// Adds a guild channel and lets the test set more fields (`topic`, `position`, `parent_id`,
    /// `permission_overwrites`, …) before it is announced; dispatches CHANNEL_CREATE.
    ///
    /// # Panics
    /// If the guild does not exist.
    pub fn add_channel_with(&self, guild: u64, kind: u8, name: &str, change: impl FnOnce(&mut Value)) -> u64 {
        let (id, event) = self.world(|w| {
            assert!(w.guilds.contains_key(&guild), "the guild exists");
            let id = w.mint(None);
            let position = w.channels.values().filter(|c| c.guild == Some(guild)).count();
            let mut base = json!({
                "id": id.to_string(), "type": kind, "name": name, "position": position,
                "permission_overwrites": [], "parent_id": null, "flags": 0,
            });
            if matches!(kind, 0 | 5 | 15) {
                base["topic"] = Value::Null;
                base["nsfw"] = json!(false);
                base["rate_limit_per_user"] = json!(0);
            }
            if matches!(kind, 2 | 13) {
                base["bitrate"] = json!(64000);
                base["user_limit"] = json!(0);
                base["rtc_region"] = Value::Null;
            }
            change(&mut base);
            w.channels
                .insert(id, ChannelW { base, guild: Some(guild), recipients: Vec::new(), hidden: false });
            (id, w.channel(id, true).unwrap())
        });
        self.dispatch(vec![("CHANNEL_CREATE", event)]);
        id
    }

    /// Makes a guild channel unreadable for the account: REST answers 403 50001 Missing Access for
    /// its messages, and the listings show an overwrite denying VIEW_CHANNEL to the account.
    pub fn hide_channel(&self, channel: u64) {
        self.world(|w| {
            if let Some(c) = w.channels.get_mut(&channel) {
                c.hidden = true;
            }
        });
    }

    /// Changes a channel object; dispatches CHANNEL_UPDATE.
    ///
    /// # Panics
    /// If the channel does not exist.
    pub fn update_channel(&self, channel: u64, change: impl FnOnce(&mut Value)) {
        let event = self.world(|w| {
            change(&mut w.channels.get_mut(&channel).expect("the channel exists").base);
            w.channel(channel, true).unwrap()
        });
        self.dispatch(vec![("CHANNEL_UPDATE", event)]);
    }

    /// Deletes a channel and its messages; dispatches CHANNEL_DELETE.
    pub fn delete_channel(&self, channel: u64) {
        let event = self.world(|w| {
            let event = w.channel(channel, true);
            w.channels.remove(&channel);
            w.messages.remove(&channel);
            event
        });
        if let Some(event) = event {
            self.dispatch(vec![("CHANNEL_DELETE", event)]);
        }
    }

    /// Opens a DM between the account and a user (type 1); dispatches CHANNEL_CREATE to a user
    /// account (a bot hears of a DM only through its first message, as on Discord).
    pub fn add_dm(&self, user: u64) -> u64 {
        let (id, event) = self.world(|w| {
            let id = w.mint(None);
            let base = json!({"id": id.to_string(), "type": 1, "flags": 0});
            let me = w.me();
            w.channels.insert(id, ChannelW { base, guild: None, recipients: vec![me, user], hidden: false });
            (id, w.channel(id, false).unwrap())
        });
        self.dispatch_private(event);
        id
    }

    /// Makes a group DM (type 3) of the account and these users, owned by the account; dispatches
    /// CHANNEL_CREATE (to a user account, as for [`add_dm`](Self::add_dm)).
    pub fn add_group_dm(&self, name: Option<&str>, users: &[u64]) -> u64 {
        let (id, event) = self.world(|w| {
            let id = w.mint(None);
            let me = w.me();
            let base = json!({"id": id.to_string(), "type": 3, "name": name, "icon": null,
                              "owner_id": me.to_string(), "flags": 0});
            let mut recipients = vec![me];
            recipients.extend_from_slice(users);
            w.channels.insert(id, ChannelW { base, guild: None, recipients, hidden: false });
            (id, w.channel(id, false).unwrap())
        });
        self.dispatch_private(event);
        id
    }

    // ---------------------------------------------------------------- messages

    /// Puts a message into a channel's history without dispatching anything (it was sent before
    /// anyone listened). Returns its id.
    pub fn add_message(&self, channel: u64, message: NewMessage) -> u64 {
        self.world(|w| w.insert_message(channel, message, None))
    }

    /// Someone sends a message now: stored and dispatched as MESSAGE_CREATE. Returns its id.
    pub fn create_message(&self, channel: u64, message: NewMessage) -> u64 {
        let (id, event) = self.world(|w| {
            let id = w.insert_message(channel, message, None);
            (id, w.gateway_message(channel, id).unwrap())
        });
        self.dispatch(vec![("MESSAGE_CREATE", event)]);
        id
    }

    /// Edits a message's content now; dispatches MESSAGE_UPDATE with the whole message.
    ///
    /// # Panics
    /// If the message does not exist.
    pub fn edit_message(&self, channel: u64, message: u64, content: &str) {
        let event = self.world(|w| {
            let m =
                w.messages.get_mut(&channel).and_then(|m| m.get_mut(&message)).expect("the message exists");
            m.base["content"] = json!(content);
            m.base["edited_timestamp"] = json!(iso(world::now_ms()));
            w.gateway_message(channel, message).unwrap()
        });
        self.dispatch(vec![("MESSAGE_UPDATE", event)]);
    }

    /// Replaces a message's embeds (as when a link preview resolves); dispatches the partial
    /// MESSAGE_UPDATE Discord sends for it: `id`, `channel_id`, `guild_id`, `embeds`, no
    /// `edited_timestamp`.
    ///
    /// # Panics
    /// If the message does not exist.
    pub fn set_embeds(&self, channel: u64, message: u64, embeds: Vec<Value>) {
        let event = self.world(|w| {
            let m =
                w.messages.get_mut(&channel).and_then(|m| m.get_mut(&message)).expect("the message exists");
            m.base["embeds"] = json!(embeds);
            let mut event =
                json!({"id": message.to_string(), "channel_id": channel.to_string(), "embeds": embeds});
            if let Some(guild) = w.guild_of(channel) {
                event["guild_id"] = json!(guild.to_string());
            }
            event
        });
        self.dispatch(vec![("MESSAGE_UPDATE", event)]);
    }

    /// Deletes a message; dispatches MESSAGE_DELETE.
    pub fn delete_message(&self, channel: u64, message: u64) {
        let event = self.world(|w| {
            w.messages.get_mut(&channel).and_then(|m| m.remove(&message));
            delete_event(w, channel, json!(message.to_string()), "id")
        });
        self.dispatch(vec![("MESSAGE_DELETE", event)]);
    }

    /// Deletes messages at once (a moderator's purge); dispatches MESSAGE_DELETE_BULK.
    pub fn delete_messages(&self, channel: u64, messages: &[u64]) {
        let event = self.world(|w| {
            if let Some(m) = w.messages.get_mut(&channel) {
                messages.iter().for_each(|id| {
                    m.remove(id);
                });
            }
            let ids: Vec<String> = messages.iter().map(u64::to_string).collect();
            delete_event(w, channel, json!(ids), "ids")
        });
        self.dispatch(vec![("MESSAGE_DELETE_BULK", event)]);
    }

    /// Someone pins or unpins a message on Discord; dispatches MESSAGE_UPDATE and
    /// CHANNEL_PINS_UPDATE (nothing if it already was so). `GET /channels/{id}/pins` lists it.
    ///
    /// # Panics
    /// If the message does not exist.
    pub fn pin_message(&self, channel: u64, message: u64, pinned: bool) {
        let events = self.world(|w| w.set_pin(channel, message, pinned)).expect("the message exists");
        self.dispatch(events);
    }

    /// The ids of a channel's pinned messages, newest pin first.
    pub fn pins(&self, channel: u64) -> Vec<u64> {
        self.world(|w| w.pins.get(&channel).cloned().unwrap_or_default())
    }

    /// A user reacts with an emoji (`👍`, or `name:id` for a custom one); dispatches
    /// MESSAGE_REACTION_ADD unless the user had already reacted so.
    ///
    /// # Panics
    /// If the emoji is empty or malformed.
    pub fn add_reaction(&self, channel: u64, message: u64, user: u64, emoji: &str) {
        self.react(channel, message, user, emoji, true);
    }

    /// A user takes a reaction back; dispatches MESSAGE_REACTION_REMOVE if there was one.
    ///
    /// # Panics
    /// If the emoji is empty or malformed.
    pub fn remove_reaction(&self, channel: u64, message: u64, user: u64, emoji: &str) {
        self.react(channel, message, user, emoji, false);
    }

    fn react(&self, channel: u64, message: u64, user: u64, emoji: &str, on: bool) {
        let emoji = parse_emoji(emoji).expect("a valid emoji");
        let events = self.world(|w| server::reaction_events(w, channel, message, user, &emoji, on));
        self.dispatch(events);
    }

    // ---------------------------------------------------------------- CDN

    /// Serves bytes at a CDN path (`/attachments/…`, `/avatars/…`).
    pub fn put_file(&self, path: &str, content_type: &str, bytes: &[u8]) {
        self.world(|w| w.files.insert(path.to_owned(), (content_type.to_owned(), bytes.to_vec())));
    }

    /// Removes a file from the CDN (later downloads get 404); takes a CDN path or a full URL.
    /// Returns whether it was there.
    pub fn remove_file(&self, path_or_url: &str) -> bool {
        let path = path_or_url.strip_prefix(world::CDN_HOST).unwrap_or(path_or_url);
        let path = path.strip_prefix(&self.cdn_base()).unwrap_or(path);
        self.world(|w| w.files.remove(path).is_some())
    }

    // ---------------------------------------------------------------- faults

    /// Each REST bucket allows `limit` requests per `window` (default 50 per second).
    pub fn set_rate_limit(&self, limit: u32, window: Duration) {
        self.state.control.lock().unwrap().limiter.set_limit(limit, window);
    }

    /// The next `count` requests whose `METHOD /path` contains `route` (all requests if `None`),
    /// e.g. `Some("GET /api/v10/channels/123/messages")`, get 429 with `retry_after` seconds, on
    /// their bucket or global.
    pub fn storm(&self, route: Option<&str>, count: u32, retry_after: f64, global: bool) {
        let route = route.map(str::to_owned);
        self.state.control.lock().unwrap().limiter.storm(count, retry_after, global, route);
    }

    /// The next `count` requests matching `route` (as in [`storm`](Self::storm)) get `status`
    /// (a 5xx) before anything happens.
    pub fn fail_requests(&self, route: Option<&str>, count: u32, status: u16) {
        let route = route.map(str::to_owned);
        self.state.control.lock().unwrap().limiter.fail(count, status, route);
    }

    /// The next `count` message POSTs answer `status` (a 5xx), before or after the message is
    /// created. After creation the message exists and is dispatched; a retry with the same nonce
    /// and `enforce_nonce` gets the original back.
    pub fn fail_posts(&self, count: u32, at: FailAt, status: u16) {
        self.state.control.lock().unwrap().post_failures.push((count, at, status));
    }

    /// The next `count` message POSTs create (and dispatch) the message, then hold the answer for
    /// `stall`: a client with a shorter timeout gives up and retries, and with the same nonce and
    /// `enforce_nonce` gets the original.
    pub fn stall_posts(&self, count: u32, stall: Duration) {
        self.state.control.lock().unwrap().post_stalls.push((count, stall));
    }

    /// When the MESSAGE_CREATE echo of a REST-created message goes out.
    pub fn set_echo(&self, echo: Echo) {
        self.state.control.lock().unwrap().echo = echo;
    }

    /// How long a nonce sent with `enforce_nonce` keeps deduplicating (default 3 minutes).
    pub fn set_nonce_window(&self, window: Duration) {
        self.state.control.lock().unwrap().nonce_window = window;
    }

    /// Runs a gateway fault when the `nth` REST request (counting from 1 since the start)
    /// arrives, e.g. to drop the gateway in the middle of a backfill.
    pub fn gateway_fault_at_request(&self, nth: usize, fault: GatewayFault) {
        self.state.control.lock().unwrap().faults.push((nth, fault));
    }

    /// Runs a fault on the live gateway connection now (nothing if none is connected).
    pub fn gateway_fault(&self, fault: GatewayFault) {
        self.state.gateway.fault(fault);
    }

    /// The heartbeat interval Hello announces, in ms (default 41250).
    pub fn set_heartbeat_interval(&self, ms: u64) {
        self.gateway.set_heartbeat_interval(ms);
    }

    // ---------------------------------------------------------------- checks

    /// Every CDN download so far: path below the CDN base and the status answered.
    pub fn downloads(&self) -> Vec<(String, u16)> {
        self.state.control.lock().unwrap().downloads.clone()
    }

    /// Every REST request so far, in order (CDN downloads are in [`downloads`](Self::downloads)).
    pub fn requests(&self) -> Vec<RecordedRequest> {
        self.state.control.lock().unwrap().requests.clone()
    }

    /// REST rate-limit violations: requests sent while a bucket announced Remaining 0 before its
    /// reset, or inside a 429's `retry_after`.
    pub fn rate_limit_violations(&self) -> Vec<String> {
        self.state.control.lock().unwrap().limiter.violations.clone()
    }

    /// Gateway pacing violations (see [`FakeGateway::violations`]).
    pub fn gateway_violations(&self) -> Vec<String> {
        self.gateway.violations()
    }

    /// Every IDENTIFY and RESUME with where it arrived (see [`FakeGateway::arrivals`]).
    pub fn arrivals(&self) -> Vec<Arrival> {
        self.gateway.arrivals()
    }

    /// The messages now in a channel, oldest first, as REST shows them.
    pub fn messages(&self, channel: u64) -> Vec<Value> {
        self.world(|w| {
            let ids: Vec<u64> =
                w.messages.get(&channel).map(|m| m.keys().copied().collect()).unwrap_or_default();
            ids.into_iter().filter_map(|id| w.message(channel, id)).collect()
        })
    }

    /// One message as REST shows it.
    pub fn message(&self, channel: u64, message: u64) -> Option<Value> {
        self.world(|w| w.message(channel, message))
    }

    /// The users who reacted to a message with an emoji, by id.
    pub fn reactors(&self, channel: u64, message: u64, emoji: &str) -> Vec<u64> {
        let emoji = parse_emoji(emoji).unwrap_or(Value::Null);
        self.world(|w| w.reaction_users(channel, message, &emoji).unwrap_or_default())
    }

    /// Every nonce sent with a message POST, in order (repeats included).
    pub fn nonces(&self) -> Vec<String> {
        self.state.control.lock().unwrap().nonces.clone()
    }
}

/// GUILD_MEMBER_UPDATE of a user in each guild they are in.
fn member_updates(w: &World, user: u64) -> Vec<(&'static str, Value)> {
    w.guilds
        .iter()
        .filter(|(_, g)| g.members.contains_key(&user))
        .map(|(guild, _)| {
            let mut event = w.member(*guild, user).unwrap();
            event["guild_id"] = json!(guild.to_string());
            ("GUILD_MEMBER_UPDATE", event)
        })
        .collect()
}

fn delete_event(w: &World, channel: u64, ids: Value, key: &str) -> Value {
    let mut event = json!({"channel_id": channel.to_string()});
    event[key] = ids;
    if let Some(guild) = w.guild_of(channel) {
        event["guild_id"] = json!(guild.to_string());
    }
    event
}
