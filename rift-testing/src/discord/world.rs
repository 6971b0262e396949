//! The fake Discord's world: users, guilds with roles, channels and members, DMs, messages with
//! reactions, and CDN files; and how each object looks on the wire.

use std::collections::{BTreeMap, HashMap, HashSet};
use std::time::{SystemTime, UNIX_EPOCH};

use chrono::{DateTime, SecondsFormat, Utc};
use serde_json::{Value, json};

/// Discord's epoch (2015-01-01T00:00:00Z) in Unix milliseconds.
pub const DISCORD_EPOCH_MS: u64 = 1_420_070_400_000;

/// The real CDN host: attachment URLs carry it, as on Discord; `rest::Client::download` maps it
/// onto the configured CDN base.
pub(crate) const CDN_HOST: &str = "https://cdn.discordapp.com";

/// VIEW_CHANNEL.
pub(crate) const VIEW_CHANNEL: u64 = 1 << 10;

/// Unix milliseconds now, from the wall clock.
pub(crate) fn now_ms() -> u64 {
    SystemTime::now().duration_since(UNIX_EPOCH).map_or(DISCORD_EPOCH_MS, |d| d.as_millis() as u64)
}

/// The creation time of a snowflake, in Unix milliseconds.
pub fn snowflake_ms(id: u64) -> u64 {
    (id >> 22) + DISCORD_EPOCH_MS
}

/// A Unix millisecond time as Discord writes timestamps: `2024-01-01T00:00:00.000000+00:00`.
pub fn iso(ms: u64) -> String {
    let time = DateTime::<Utc>::from_timestamp_millis(ms as i64).unwrap_or_default();
    time.to_rfc3339_opts(SecondsFormat::Micros, false)
}

/// The account a [`FakeDiscord`](super::FakeDiscord) serves: whose token it accepts and how.
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub struct Account {
    /// The token, without any `Bot ` prefix.
    pub token: String,
    /// The account's user id; `0` lets the fake choose one.
    pub id: u64,
    /// Its username.
    pub username: String,
    /// Whether it is a bot (`Authorization: Bot TOKEN`, READY with unavailable guild stubs).
    pub bot: bool,
}

impl Account {
    /// A user account: REST wants `Authorization: TOKEN`; READY carries whole guilds and the DMs.
    pub fn user(token: impl Into<String>, id: u64, username: impl Into<String>) -> Self {
        Self { token: token.into(), id, username: username.into(), bot: false }
    }

    /// A bot: REST wants `Authorization: Bot TOKEN`; READY carries unavailable guild stubs, then
    /// one GUILD_CREATE per guild follows.
    pub fn bot(token: impl Into<String>, id: u64, username: impl Into<String>) -> Self {
        Self { token: token.into(), id, username: username.into(), bot: true }
    }

    /// The `Authorization` header value REST expects.
    pub fn authorization(&self) -> String {
        if self.bot { format!("Bot {}", self.token) } else { self.token.clone() }
    }
}

/// A message to put into the world, made with [`NewMessage::new`].
#[derive(Clone, Debug)]
#[non_exhaustive]
pub struct NewMessage {
    /// The author's user id.
    pub author: u64,
    /// The content, exactly as Discord would hold it.
    pub content: String,
    /// Creation time in Unix ms (`None`: now); the id is minted from it.
    pub at: Option<u64>,
    /// When it was last edited, in Unix ms.
    pub edited_at: Option<u64>,
    /// Files: filename, content type, bytes (served by the CDN until removed).
    pub attachments: Vec<(String, String, Vec<u8>)>,
    /// Embed objects, as Discord sends them.
    pub embeds: Vec<Value>,
    /// The message this one replies to (type 19 with a `message_reference`).
    pub reply_to: Option<u64>,
    /// Whether it is pinned.
    pub pinned: bool,
}

impl NewMessage {
    /// A plain message by `author`, created now.
    pub fn new(author: u64, content: impl Into<String>) -> Self {
        Self {
            author,
            content: content.into(),
            at: None,
            edited_at: None,
            attachments: Vec::new(),
            embeds: Vec::new(),
            reply_to: None,
            pinned: false,
        }
    }

    /// Created at this Unix ms time.
    #[must_use]
    pub fn at(mut self, ms: u64) -> Self {
        self.at = Some(ms);
        self
    }

    /// Already edited, at this Unix ms time.
    #[must_use]
    pub fn edited_at(mut self, ms: u64) -> Self {
        self.edited_at = Some(ms);
        self
    }

    /// With a file attached.
    #[must_use]
    pub fn attachment(mut self, filename: &str, content_type: &str, bytes: &[u8]) -> Self {
        self.attachments.push((filename.to_owned(), content_type.to_owned(), bytes.to_vec()));
        self
    }

    /// With an embed.
    #[must_use]
    pub fn embed(mut self, embed: Value) -> Self {
        self.embeds.push(embed);
        self
    }

    /// A reply to a message in the same channel.
    #[must_use]
    pub fn reply_to(mut self, message_id: u64) -> Self {
        self.reply_to = Some(message_id);
        self
    }
}

pub(crate) struct UserW {
    pub(crate) username: String,
    pub(crate) global_name: Option<String>,
    pub(crate) avatar: Option<String>,
    pub(crate) bot: bool,
}

pub(crate) struct MemberW {
    pub(crate) nick: Option<String>,
    pub(crate) roles: Vec<u64>,
    pub(crate) joined_at: String,
}

pub(crate) struct GuildW {
    /// `id`, `name`, `icon`, `owner_id` and whatever a test adds.
    pub(crate) base: Value,
    pub(crate) roles: BTreeMap<u64, Value>,
    pub(crate) members: BTreeMap<u64, MemberW>,
}

pub(crate) struct ChannelW {
    /// The channel object without `recipients`.
    pub(crate) base: Value,
    pub(crate) guild: Option<u64>,
    pub(crate) recipients: Vec<u64>,
    /// The account cannot read it.
    pub(crate) hidden: bool,
}

pub(crate) struct MessageW {
    /// The message object without `author`, `reactions` and `referenced_message`.
    pub(crate) base: Value,
    pub(crate) author: u64,
    /// The nonce it was created with: in the create answer and MESSAGE_CREATE only, never in
    /// history, as on Discord.
    pub(crate) nonce: Option<Value>,
    /// Emoji object and the users who reacted, in order.
    pub(crate) reactions: Vec<(Value, Vec<u64>)>,
}

/// Everything the fake Discord knows.
pub(crate) struct World {
    pub(crate) account: Account,
    pub(crate) users: BTreeMap<u64, UserW>,
    pub(crate) guilds: BTreeMap<u64, GuildW>,
    pub(crate) channels: BTreeMap<u64, ChannelW>,
    pub(crate) messages: BTreeMap<u64, BTreeMap<u64, MessageW>>,
    /// Channel to its pinned message ids, newest pin first.
    pub(crate) pins: BTreeMap<u64, Vec<u64>>,
    /// CDN path (`/attachments/…`, `/avatars/…`) to content type and bytes.
    pub(crate) files: HashMap<String, (String, Vec<u8>)>,
    minted: HashSet<u64>,
    increment: u64,
}

impl World {
    pub(crate) fn new(mut account: Account) -> Self {
        let mut world = Self {
            account: account.clone(),
            users: BTreeMap::new(),
            guilds: BTreeMap::new(),
            channels: BTreeMap::new(),
            messages: BTreeMap::new(),
            pins: BTreeMap::new(),
            files: HashMap::new(),
            minted: HashSet::new(),
            increment: 0,
        };
        if account.id == 0 {
            account.id = world.mint(None);
        }
        world.minted.insert(account.id);
        world.account = account.clone();
        let user = UserW { username: account.username, global_name: None, avatar: None, bot: account.bot };
        world.users.insert(account.id, user);
        world
    }

    /// A fresh snowflake created at `ms` (default now): `(id >> 22) + DISCORD_EPOCH_MS == ms`.
    pub(crate) fn mint(&mut self, ms: Option<u64>) -> u64 {
        let ms = ms.unwrap_or_else(now_ms).max(DISCORD_EPOCH_MS);
        loop {
            self.increment = (self.increment + 1) & 0xfff;
            // Worker 1, process 0, then the increment.
            let id = ((ms - DISCORD_EPOCH_MS) << 22) | (1 << 17) | self.increment;
            if self.minted.insert(id) {
                return id;
            }
        }
    }

    /// Pins or unpins a message: `None` if it does not exist, else the gateway events (a
    /// MESSAGE_UPDATE with the new flag, then CHANNEL_PINS_UPDATE); none if nothing changed.
    pub(crate) fn set_pin(
        &mut self,
        channel: u64,
        message: u64,
        pinned: bool,
    ) -> Option<Vec<(&'static str, Value)>> {
        let m = self.messages.get_mut(&channel).and_then(|m| m.get_mut(&message))?;
        m.base["pinned"] = json!(pinned);
        let pins = self.pins.entry(channel).or_default();
        let was = pins.contains(&message);
        if was == pinned {
            return Some(Vec::new());
        }
        pins.retain(|id| *id != message);
        if pinned {
            pins.insert(0, message);
        }
        let mut update = json!({"channel_id": channel.to_string(), "last_pin_timestamp": iso(now_ms())});
        if let Some(guild) = self.guild_of(channel) {
            update["guild_id"] = json!(guild.to_string());
        }
        Some(vec![
            ("MESSAGE_UPDATE", self.gateway_message(channel, message)?),
            ("CHANNEL_PINS_UPDATE", update),
        ])
    }

    /// A channel's pinned messages as `GET /channels/{id}/pins` answers: newest pin first.
    pub(crate) fn pinned(&self, channel: u64) -> Vec<Value> {
        let ids = self.pins.get(&channel).map(Vec::as_slice).unwrap_or_default();
        ids.iter().filter_map(|id| self.message(channel, *id)).collect()
    }

    pub(crate) fn me(&self) -> u64 {
        self.account.id
    }

    pub(crate) fn user(&self, id: u64) -> Value {
        match self.users.get(&id) {
            Some(user) => json!({
                "id": id.to_string(), "username": user.username, "discriminator": "0",
                "global_name": user.global_name, "avatar": user.avatar, "bot": user.bot,
                "public_flags": 0, "flags": 0, "banner": null, "accent_color": null,
                "avatar_decoration_data": null,
            }),
            None => json!({"id": id.to_string(), "username": "Deleted User", "discriminator": "0",
                           "global_name": null, "avatar": null}),
        }
    }

    pub(crate) fn member_fields(member: &MemberW) -> Value {
        json!({
            "nick": member.nick, "avatar": null,
            "roles": member.roles.iter().map(u64::to_string).collect::<Vec<_>>(),
            "joined_at": member.joined_at, "premium_since": null, "deaf": false, "mute": false,
            "flags": 0, "pending": false, "communication_disabled_until": null,
        })
    }

    /// A member object with its user.
    pub(crate) fn member(&self, guild: u64, user: u64) -> Option<Value> {
        let member = self.guilds.get(&guild)?.members.get(&user)?;
        let mut value = Self::member_fields(member);
        value["user"] = self.user(user);
        Some(value)
    }

    pub(crate) fn roles(&self, guild: u64) -> Vec<Value> {
        self.guilds.get(&guild).map(|g| g.roles.values().cloned().collect()).unwrap_or_default()
    }

    /// A channel as REST shows it (`with_guild_id`), or inside a guild object (without).
    pub(crate) fn channel(&self, id: u64, with_guild_id: bool) -> Option<Value> {
        let channel = self.channels.get(&id)?;
        let mut value = channel.base.clone();
        if let Some(guild) = channel.guild {
            if with_guild_id {
                value["guild_id"] = json!(guild.to_string());
            }
            if channel.hidden {
                // What the account sees of a channel it cannot read: an overwrite denying it.
                let overwrite = json!({"id": self.me().to_string(), "type": 1, "allow": "0",
                                       "deny": VIEW_CHANNEL.to_string()});
                if let Some(list) = value["permission_overwrites"].as_array_mut() {
                    list.retain(|o| o["id"] != overwrite["id"]);
                    list.push(overwrite);
                }
            }
        } else {
            let me = self.me();
            value["recipients"] =
                channel.recipients.iter().filter(|u| **u != me).map(|u| self.user(*u)).collect();
        }
        value["last_message_id"] = self
            .messages
            .get(&id)
            .and_then(|m| m.keys().next_back())
            .map_or(Value::Null, |m| json!(m.to_string()));
        Some(value)
    }

    pub(crate) fn guild_channels(&self, guild: u64, with_guild_id: bool) -> Vec<Value> {
        self.channels
            .iter()
            .filter(|(_, c)| c.guild == Some(guild))
            .filter_map(|(id, _)| self.channel(*id, with_guild_id))
            .collect()
    }

    pub(crate) fn private_channels(&self) -> Vec<Value> {
        self.channels
            .iter()
            .filter(|(_, c)| c.guild.is_none())
            .filter_map(|(id, _)| self.channel(*id, false))
            .collect()
    }

    /// The guild object of `GET /guilds/{id}` (roles, no channels or members).
    pub(crate) fn guild(&self, id: u64) -> Option<Value> {
        let guild = self.guilds.get(&id)?;
        let mut value = guild.base.clone();
        value["roles"] = json!(self.roles(id));
        value["emojis"] = json!([]);
        value["stickers"] = json!([]);
        value["features"] = json!([]);
        Some(value)
    }

    /// The whole guild of READY (user accounts) and GUILD_CREATE.
    pub(crate) fn whole_guild(&self, id: u64) -> Option<Value> {
        let guild = self.guilds.get(&id)?;
        let mut value = self.guild(id)?;
        value["channels"] = json!(self.guild_channels(id, false));
        value["threads"] = json!([]);
        value["members"] = guild.members.keys().filter_map(|u| self.member(id, *u)).collect();
        value["member_count"] = json!(guild.members.len());
        value["joined_at"] = guild.members.get(&self.me()).map_or(Value::Null, |m| json!(m.joined_at));
        value["large"] = json!(false);
        value["unavailable"] = json!(false);
        value["presences"] = json!([]);
        value["voice_states"] = json!([]);
        value["stage_instances"] = json!([]);
        value["guild_scheduled_events"] = json!([]);
        Some(value)
    }

    /// Channel id to its guild, if any.
    pub(crate) fn guild_of(&self, channel: u64) -> Option<u64> {
        self.channels.get(&channel).and_then(|c| c.guild)
    }

    fn reactions(&self, message: &MessageW) -> Value {
        let me = self.me();
        message
            .reactions
            .iter()
            .filter(|(_, users)| !users.is_empty())
            .map(|(emoji, users)| {
                json!({
                    "emoji": emoji, "count": users.len(), "me": users.contains(&me),
                    "count_details": {"burst": 0, "normal": users.len()},
                    "me_burst": false, "burst_colors": [], "burst_count": 0,
                })
            })
            .collect()
    }

    /// A message as REST shows it; the gateway adds `guild_id` and `member`.
    pub(crate) fn message(&self, channel: u64, id: u64) -> Option<Value> {
        self.message_depth(channel, id, true)
    }

    fn message_depth(&self, channel: u64, id: u64, with_reference: bool) -> Option<Value> {
        let message = self.messages.get(&channel)?.get(&id)?;
        let mut value = message.base.clone();
        value["author"] = self.user(message.author);
        value["reactions"] = self.reactions(message);
        if value["reactions"].as_array().is_some_and(Vec::is_empty) {
            value.as_object_mut().unwrap().remove("reactions");
        }
        if with_reference && let Some(target) = value["message_reference"]["message_id"].as_str() {
            let target: u64 = target.parse().unwrap_or(0);
            value["referenced_message"] = self.message_depth(channel, target, false).unwrap_or(Value::Null);
        }
        Some(value)
    }

    /// A just-created message as the create answer and MESSAGE_CREATE show it: with its nonce.
    pub(crate) fn created_message(&self, channel: u64, id: u64, gateway: bool) -> Option<Value> {
        let mut value = if gateway { self.gateway_message(channel, id)? } else { self.message(channel, id)? };
        if let Some(nonce) = &self.messages[&channel][&id].nonce {
            value["nonce"] = nonce.clone();
        }
        Some(value)
    }

    /// The gateway form of a message: with `guild_id` and the author's `member` in a guild.
    pub(crate) fn gateway_message(&self, channel: u64, id: u64) -> Option<Value> {
        let mut value = self.message(channel, id)?;
        if let Some(guild) = self.guild_of(channel) {
            value["guild_id"] = json!(guild.to_string());
            let author = self.messages[&channel][&id].author;
            if let Some(member) = self.guilds[&guild].members.get(&author) {
                value["member"] = Self::member_fields(member);
            }
        }
        Some(value)
    }

    /// Stores a message; returns its id.
    pub(crate) fn insert_message(&mut self, channel: u64, new: NewMessage, nonce: Option<Value>) -> u64 {
        let id = self.mint(new.at);
        let attachments: Vec<Value> = new
            .attachments
            .iter()
            .map(|(filename, content_type, bytes)| {
                let attachment = self.mint(new.at);
                let path = format!("/attachments/{channel}/{attachment}/{filename}");
                self.files.insert(path.clone(), (content_type.clone(), bytes.clone()));
                json!({
                    "id": attachment.to_string(), "filename": filename, "size": bytes.len(),
                    "url": format!("{CDN_HOST}{path}"),
                    "proxy_url": format!("https://media.discordapp.net{path}"),
                    "content_type": content_type,
                })
            })
            .collect();
        let reference = new.reply_to.map(|target| {
            let mut reference = json!({"type": 0, "message_id": target.to_string(),
                                       "channel_id": channel.to_string(), "fail_if_not_exists": false});
            if let Some(guild) = self.guild_of(channel) {
                reference["guild_id"] = json!(guild.to_string());
            }
            reference
        });
        let mut base = json!({
            "id": id.to_string(), "channel_id": channel.to_string(), "content": new.content,
            "timestamp": iso(snowflake_ms(id)), "edited_timestamp": new.edited_at.map(iso),
            "tts": false, "mention_everyone": false, "mentions": [], "mention_roles": [],
            "attachments": attachments, "embeds": new.embeds, "pinned": new.pinned,
            "type": if reference.is_some() { 19 } else { 0 }, "flags": 0, "components": [],
        });
        if let Some(reference) = reference {
            base["message_reference"] = reference;
        }
        let (mentions, mention_roles) = mentions(&new.content);
        base["mentions"] =
            mentions.iter().filter(|u| self.users.contains_key(u)).map(|u| self.user(*u)).collect();
        base["mention_roles"] = json!(mention_roles.iter().map(u64::to_string).collect::<Vec<_>>());
        base["mention_everyone"] = json!(new.content.contains("@everyone") || new.content.contains("@here"));
        let message = MessageW { base, author: new.author, nonce, reactions: Vec::new() };
        self.messages.entry(channel).or_default().insert(id, message);
        id
    }

    /// Adds or removes a reaction; `true` if the world changed.
    pub(crate) fn set_reaction(
        &mut self,
        channel: u64,
        message: u64,
        user: u64,
        emoji: &Value,
        on: bool,
    ) -> bool {
        let Some(message) = self.messages.get_mut(&channel).and_then(|m| m.get_mut(&message)) else {
            return false;
        };
        let key = emoji_key(emoji);
        let index = match message.reactions.iter().position(|(e, _)| emoji_key(e) == key) {
            Some(index) => index,
            None if on => {
                message.reactions.push((emoji.clone(), Vec::new()));
                message.reactions.len() - 1
            }
            None => return false,
        };
        let users = &mut message.reactions[index].1;
        let had = users.contains(&user);
        match (on, had) {
            (true, false) => users.push(user),
            (false, true) => users.retain(|u| *u != user),
            _ => return false,
        }
        if users.is_empty() {
            message.reactions.remove(index);
        }
        true
    }

    pub(crate) fn reaction_users(&self, channel: u64, message: u64, emoji: &Value) -> Option<Vec<u64>> {
        let message = self.messages.get(&channel)?.get(&message)?;
        let key = emoji_key(emoji);
        let mut users = message
            .reactions
            .iter()
            .find(|(e, _)| emoji_key(e) == key)
            .map(|(_, u)| u.clone())
            .unwrap_or_default();
        users.sort_unstable();
        Some(users)
    }
}

/// The user and role ids a content mentions: `<@id>`, `<@!id>` and `<@&id>`.
fn mentions(content: &str) -> (Vec<u64>, Vec<u64>) {
    let (mut users, mut roles) = (Vec::new(), Vec::new());
    for piece in content.split("<@").skip(1) {
        let Some((inner, _)) = piece.split_once('>') else { continue };
        let (list, digits) = match inner.strip_prefix('&') {
            Some(role) => (&mut roles, role),
            None => (&mut users, inner.strip_prefix('!').unwrap_or(inner)),
        };
        if let Ok(id) = digits.parse::<u64>()
            && !list.contains(&id)
        {
            list.push(id);
        }
    }
    (users, roles)
}

/// An emoji object from its URL form: `👍` (unicode) or `name:id` (custom, `a:name:id` animated).
pub(crate) fn parse_emoji(text: &str) -> Option<Value> {
    if text.is_empty() {
        return None;
    }
    let parts: Vec<&str> = text.split(':').collect();
    match parts.as_slice() {
        [name] => Some(json!({"id": null, "name": name})),
        [name, id] if id.parse::<u64>().is_ok() => Some(json!({"id": id, "name": name})),
        ["a", name, id] if id.parse::<u64>().is_ok() => {
            Some(json!({"id": id, "name": name, "animated": true}))
        }
        _ => None,
    }
}

/// The identity of an emoji: its id for a custom one, its name for a unicode one.
pub(crate) fn emoji_key(emoji: &Value) -> String {
    match &emoji["id"] {
        Value::String(id) => id.clone(),
        Value::Number(id) => id.to_string(),
        _ => emoji["name"].as_str().unwrap_or_default().to_owned(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn minted_ids_carry_their_time() {
        let mut world = World::new(Account::user("t", 0, "ada"));
        let at = 1_700_000_000_123;
        let id = world.mint(Some(at));
        assert_eq!(snowflake_ms(id), at);
        assert_ne!(world.mint(Some(at)), id, "unique at the same ms");
        assert_eq!(iso(at), "2023-11-14T22:13:20.123000+00:00");
    }

    #[test]
    fn mentions_are_found_in_content() {
        assert_eq!(mentions("hi <@1> <@!2> <@&3> <@1> <@x> <#4>"), (vec![1, 2], vec![3]));
        assert_eq!(mentions("no one"), (vec![], vec![]));
    }

    #[test]
    fn emoji_forms() {
        assert_eq!(parse_emoji("👍"), Some(json!({"id": null, "name": "👍"})));
        assert_eq!(parse_emoji("party:123"), Some(json!({"id": "123", "name": "party"})));
        assert_eq!(parse_emoji(""), None);
        assert_eq!(parse_emoji("a:b:c"), None);
    }
}
