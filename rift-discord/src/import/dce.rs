//! DiscordChatExporter's JSON exports: one channel per file, `guild`, `channel` and `messages`
//! (each with its author, timestamps, attachments, embeds, stickers, reactions with their users,
//! and the message it replies to). Attachments downloaded with `--media` are relative paths
//! beside the file.

use rift::RemoteChannel;
use rift::model::ChannelKind;
use serde::Deserialize;
use serde_json::{Value, json};

use super::writer::{
    ImportedAttachment, ImportedMessage, ImportedReaction, ImportedUser, Target, Writer, remote,
};
use super::{MAX_DOCUMENT_BYTES, Source, parse_loose_time};
use crate::bridge::mapper::{emoji_key, snowflake_time};
use crate::model::{Emoji, Snowflake};

#[derive(Deserialize)]
struct Export {
    guild: Guild,
    channel: Channel,
    messages: Vec<Value>,
}

#[derive(Deserialize)]
struct Guild {
    id: Snowflake,
    #[serde(default)]
    name: String,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct Channel {
    id: Snowflake,
    #[serde(rename = "type", default)]
    kind: String,
    #[serde(default)]
    category_id: Option<String>,
    #[serde(default)]
    category: Option<String>,
    #[serde(default)]
    name: String,
    #[serde(default)]
    topic: Option<String>,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct Message {
    id: Snowflake,
    #[serde(rename = "type", default)]
    kind: String,
    timestamp: String,
    #[serde(default)]
    timestamp_edited: Option<String>,
    #[serde(default)]
    content: String,
    author: User,
    #[serde(default)]
    attachments: Vec<Attachment>,
    #[serde(default)]
    embeds: Vec<Value>,
    #[serde(default)]
    stickers: Vec<Value>,
    #[serde(default)]
    reactions: Vec<Reaction>,
    #[serde(default)]
    reference: Option<Reference>,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct User {
    id: Snowflake,
    #[serde(default)]
    name: String,
    #[serde(default)]
    nickname: Option<String>,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct Attachment {
    #[serde(default)]
    id: Option<String>,
    url: String,
    #[serde(default)]
    file_name: String,
}

#[derive(Deserialize)]
struct Reaction {
    emoji: ReactionEmoji,
    #[serde(default)]
    count: u64,
    #[serde(default)]
    users: Vec<User>,
}

#[derive(Deserialize)]
struct ReactionEmoji {
    #[serde(default)]
    id: Option<String>,
    #[serde(default)]
    name: Option<String>,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct Reference {
    #[serde(default)]
    message_id: Option<String>,
}

/// Message types imported; the others (joins, pins, calls…) are Discord's system notices.
const IMPORTED_TYPES: &[&str] = &["Default", "Reply", ""];

fn imported_user(user: &User) -> ImportedUser {
    let name = user.nickname.as_deref().filter(|n| !n.trim().is_empty()).unwrap_or(&user.name);
    ImportedUser { id: user.id, name: name.to_owned() }
}

/// A snowflake written as a string that may be empty (DiscordChatExporter writes `""` for none).
fn optional_snowflake(value: Option<&str>) -> Option<Snowflake> {
    value.map(str::trim).filter(|v| !v.is_empty()).and_then(|v| v.parse().ok())
}

/// A `#rrggbb` colour as Discord's integer.
fn color(value: &Value) -> Option<Value> {
    let hex = value.as_str()?.strip_prefix('#')?;
    u32::from_str_radix(hex, 16).ok().map(Value::from)
}

/// An embed as DiscordChatExporter writes it (camelCase, colours as `#hex`), in the shape of
/// Discord's API that the bridge keeps.
fn embed(value: &Value) -> Value {
    let text = |v: &Value, key: &str| v.get(key).cloned().unwrap_or(Value::Null);
    let image = |v: &Value| {
        v.as_object()
            .map(|_| json!({"url": text(v, "url"), "width": text(v, "width"), "height": text(v, "height")}))
    };
    let mut out = json!({
        "type": "rich",
        "title": text(value, "title"),
        "url": text(value, "url"),
        "description": text(value, "description"),
        "timestamp": text(value, "timestamp"),
    });
    let map = out.as_object_mut().expect("an object");
    if let Some(color) = value.get("color").and_then(color) {
        map.insert("color".into(), color);
    }
    if let Some(author) = value.get("author").filter(|a| a.is_object()) {
        map.insert("author".into(), json!({"name": text(author, "name"), "url": text(author, "url"), "icon_url": text(author, "iconUrl")}));
    }
    if let Some(footer) = value.get("footer").filter(|f| f.is_object()) {
        map.insert(
            "footer".into(),
            json!({"text": text(footer, "text"), "icon_url": text(footer, "iconUrl")}),
        );
    }
    for key in ["thumbnail", "image", "video"] {
        if let Some(found) = value.get(key).and_then(image) {
            map.insert(key.into(), found);
        }
    }
    if let Some(fields) = value.get("fields").and_then(Value::as_array) {
        let fields: Vec<Value> = fields
            .iter()
            .map(|f| json!({"name": text(f, "name"), "value": text(f, "value"), "inline": f.get("isInline").and_then(Value::as_bool).unwrap_or(false)}))
            .collect();
        map.insert("fields".into(), Value::Array(fields));
    }
    map.retain(|_, v| !v.is_null());
    out
}

fn to_imported(message: Message) -> Result<ImportedMessage, String> {
    let created_at = parse_loose_time(&message.timestamp)
        .ok_or_else(|| format!("timestamp {:?} is not a date", message.timestamp))
        .or_else(|e| if message.id.get() > 0 { Ok(snowflake_time(message.id)) } else { Err(e) })?;
    let edited_at = match message.timestamp_edited.as_deref().map(str::trim).filter(|t| !t.is_empty()) {
        Some(value) => {
            Some(parse_loose_time(value).ok_or_else(|| format!("timestampEdited {value:?} is not a date"))?)
        }
        None => None,
    };
    let reply_to = if message.kind == "Reply" {
        message.reference.as_ref().and_then(|r| optional_snowflake(r.message_id.as_deref()))
    } else {
        None
    };
    let attachments = message
        .attachments
        .iter()
        .map(|a| ImportedAttachment {
            id: optional_snowflake(a.id.as_deref()),
            filename: if a.file_name.is_empty() { "file".to_owned() } else { a.file_name.clone() },
            url: a.url.clone(),
        })
        .collect();
    let embeds: Vec<Value> = message.embeds.iter().map(embed).collect();
    let extras = crate::bridge::mapper::extras(&embeds, &message.stickers);
    let mut reactions = Vec::new();
    for reaction in &message.reactions {
        let emoji: Emoji = serde_json::from_value(json!({
            "id": optional_snowflake(reaction.emoji.id.as_deref()).map(|s| s.to_string()),
            "name": reaction.emoji.name,
        }))
        .map_err(|e| format!("reaction emoji: {e}"))?;
        let Some(key) = emoji_key(&emoji) else { continue };
        reactions.push(ImportedReaction {
            emoji: key,
            count: reaction.count,
            users: reaction.users.iter().map(imported_user).collect(),
        });
    }
    Ok(ImportedMessage {
        id: message.id,
        author: Some(imported_user(&message.author)),
        content: message.content,
        created_at,
        edited_at,
        reply_to,
        attachments,
        extras,
        reactions,
    })
}

/// Imports one export at `path` in `source`; a file that is not an export is reported (as
/// `display`) and skipped.
pub(crate) async fn import(
    writer: &mut Writer<'_, '_>,
    source: &mut Source,
    path: &str,
    display: &str,
) -> rift::Result<()> {
    let Some(bytes) = source.read(path, MAX_DOCUMENT_BYTES).await? else {
        writer.skip_all(display, 0, "file not found");
        return Ok(());
    };
    let export: Export = match serde_json::from_slice(&bytes) {
        Ok(export) => export,
        Err(e) => {
            writer.skip_all(
                display,
                0,
                format!(
                    "not a DiscordChatExporter JSON export (line {}, column {}): {e}",
                    e.line(),
                    e.column()
                ),
            );
            return Ok(());
        }
    };
    drop(bytes);
    let count = export.messages.len() as u64;
    writer.found(count);
    let Some(channel_id) = channel(writer, &export, display).await? else {
        writer.skip_all(display, count, "the channel could not be imported");
        return Ok(());
    };
    let base_dir = super::parent(path).to_owned();
    let target = Target { channel_id, base_dir: &base_dir };
    for (index, raw) in export.messages.into_iter().enumerate() {
        let location = format!("{display}: messages[{index}]");
        let message: Message = match serde_json::from_value(raw) {
            Ok(message) => message,
            Err(e) => {
                writer.skip(&location, format!("malformed message: {e}"));
                continue;
            }
        };
        if !IMPORTED_TYPES.contains(&message.kind.as_str()) {
            writer.skip(&location, format!("a {} notice, not a message", message.kind));
            continue;
        }
        match to_imported(message) {
            Ok(imported) => writer.message(imported, target, source, &location).await?,
            Err(reason) => writer.skip(&location, reason),
        }
    }
    writer.flush();
    Ok(())
}

/// The Rift channel an export's messages go into: a server channel (with its category), a DM
/// or a group DM.
async fn channel(
    writer: &mut Writer<'_, '_>,
    export: &Export,
    display: &str,
) -> rift::Result<Option<rift::ChannelId>> {
    let channel = &export.channel;
    match channel.kind.as_str() {
        "DirectTextChat" | "DirectGroupTextChat" => {
            let kind = if channel.kind == "DirectTextChat" { ChannelKind::Dm } else { ChannelKind::GroupDm };
            // The export does not list the recipients: they are the authors besides the owner.
            let own = writer.own();
            let mut recipients: Vec<ImportedUser> = Vec::new();
            for raw in &export.messages {
                if let Ok(message) = serde_json::from_value::<Message>(raw.clone())
                    && Some(message.author.id) != own
                    && !recipients.iter().any(|r| r.id == message.author.id)
                {
                    recipients.push(imported_user(&message.author));
                }
            }
            let name = (kind == ChannelKind::GroupDm).then_some(channel.name.as_str());
            writer.dm(channel.id, kind, name, &recipients, display).await
        }
        kind => {
            let rift_kind = match kind {
                "GuildTextChat" | "GuildNews" | "" => ChannelKind::Text,
                other => {
                    writer.note(display, format!("{other} channels are not mirrored"));
                    return Ok(None);
                }
            };
            if export.guild.id.get() == 0 {
                writer.note(display, "a server channel without a server");
                return Ok(None);
            }
            let Some(server_id) = writer.server(export.guild.id, &export.guild.name, display).await? else {
                return Ok(None);
            };
            let parent = match optional_snowflake(channel.category_id.as_deref()) {
                Some(category) => {
                    let name = channel.category.as_deref().unwrap_or("category");
                    let remote = RemoteChannel::new(remote(category), name, ChannelKind::Category);
                    writer.channel(server_id, remote, display).await?
                }
                None => None,
            };
            let mut remote = RemoteChannel::new(remote(channel.id), &channel.name, rift_kind);
            remote.topic.clone_from(&channel.topic);
            remote.parent_id = parent;
            writer.channel(server_id, remote, display).await
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn embeds_take_discords_shape() {
        let dce = json!({"title": "T", "url": null, "color": "#3498DB", "fields": [{"name": "a", "value": "b", "isInline": true}],
            "author": {"name": "A", "iconUrl": "x.png"}, "thumbnail": {"url": "t.png", "width": 1, "height": 2}});
        let out = embed(&dce);
        assert_eq!(out["color"], 0x3498db);
        assert_eq!(out["fields"][0]["inline"], true);
        assert_eq!(out["author"]["icon_url"], "x.png");
        assert_eq!(out["thumbnail"]["height"], 2);
        assert!(out.get("url").is_none());
    }
}
