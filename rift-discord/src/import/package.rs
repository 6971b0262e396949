//! Discord's data package ("Request all of my data"): a ZIP whose `messages/` folder holds one
//! folder per channel the account wrote in (`c<channel id>/`, or the bare id in older
//! packages) with `channel.json` (id, type, name, `guild` {id, name} or DM `recipients`) and the
//! account's own messages, `messages.json` (newer: `[{"ID", "Timestamp", "Contents",
//! "Attachments"}]`) or `messages.csv` (older: the same columns). `messages/index.json` names
//! the channels, `servers/index.json` the guilds, `account/user.json` the account. Newer
//! packages capitalise the folders (`Messages/`); names are matched without regard to case.

use std::collections::HashMap;

use rift::RemoteChannel;
use rift::model::ChannelKind;
use serde::Deserialize;
use serde_json::Value;

use super::writer::{ImportedAttachment, ImportedMessage, ImportedUser, Target, Writer, remote};
use super::{MAX_DOCUMENT_BYTES, Source, parse_loose_time};
use crate::bridge::mapper::snowflake_time;
use crate::model::Snowflake;

/// What is in front of `messages/index.json` (a folder some packages are wrapped in).
pub(crate) fn root(source: &Source) -> Option<String> {
    source.names().into_iter().find_map(|name| {
        let lower = name.to_lowercase();
        let cut = lower.strip_suffix("messages/index.json")?.len();
        (cut == 0 || lower.as_bytes()[cut - 1] == b'/').then(|| name[..cut].to_owned())
    })
}

#[derive(Deserialize)]
struct ChannelFile {
    id: Snowflake,
    #[serde(rename = "type", default)]
    kind: u8,
    #[serde(default)]
    name: Option<String>,
    #[serde(default)]
    guild: Option<GuildRef>,
    #[serde(default)]
    recipients: Vec<Value>,
}

#[derive(Deserialize)]
struct GuildRef {
    id: Snowflake,
    #[serde(default)]
    name: Option<String>,
}

#[derive(Deserialize)]
struct Account {
    id: Snowflake,
}

/// One row of `messages.json` / `messages.csv`.
#[derive(Deserialize)]
struct Row {
    #[serde(rename = "ID")]
    id: Snowflake,
    #[serde(rename = "Timestamp", default)]
    timestamp: String,
    #[serde(rename = "Contents", default)]
    contents: String,
    #[serde(rename = "Attachments", default)]
    attachments: String,
}

/// Reads a JSON document of the package, `None` (reported) when absent or malformed.
async fn json<T: serde::de::DeserializeOwned>(
    writer: &mut Writer<'_, '_>,
    source: &mut Source,
    path: &str,
) -> rift::Result<Option<T>> {
    let Some(bytes) = source.read(path, MAX_DOCUMENT_BYTES).await? else { return Ok(None) };
    match serde_json::from_slice(&bytes) {
        Ok(value) => Ok(Some(value)),
        Err(e) => {
            writer.note(&format!("{path}:{}", e.line()), format!("malformed JSON: {e}"));
            Ok(None)
        }
    }
}

pub(crate) async fn import(writer: &mut Writer<'_, '_>, mut source: Source) -> rift::Result<()> {
    let Some(root) = root(&source) else {
        return Err(rift::Error::invalid(
            rift::ErrorCode::InvalidImport,
            "not a Discord data package (no messages/index.json)",
        ));
    };
    if let Some(account) = json::<Account>(writer, &mut source, &format!("{root}account/user.json")).await? {
        writer.set_own(account.id);
    }
    let guild_names: HashMap<String, String> =
        json(writer, &mut source, &format!("{root}servers/index.json")).await?.unwrap_or_default();
    let channel_names: HashMap<String, Option<String>> =
        json(writer, &mut source, &format!("{root}messages/index.json")).await?.unwrap_or_default();
    let prefix = format!("{root}messages/").to_lowercase();
    let mut folders: Vec<String> = source
        .names()
        .into_iter()
        .filter_map(|name| {
            let rest = name.to_lowercase().strip_prefix(&prefix)?.strip_suffix("/channel.json")?.to_owned();
            (!rest.contains('/')).then(|| name[..name.len() - "/channel.json".len()].to_owned())
        })
        .collect();
    folders.sort();
    for folder in folders {
        channel(writer, &mut source, &folder, &guild_names, &channel_names).await?;
    }
    Ok(())
}

/// The rows of a channel folder, each with its location; `None` when it has no messages file.
async fn rows(
    writer: &mut Writer<'_, '_>,
    source: &mut Source,
    folder: &str,
) -> rift::Result<Option<Vec<(String, Result<Row, String>)>>> {
    let json_path = format!("{folder}/messages.json");
    if let Some(bytes) = source.read(&json_path, MAX_DOCUMENT_BYTES).await? {
        let values: Vec<Value> = match serde_json::from_slice(&bytes) {
            Ok(values) => values,
            Err(e) => {
                writer.skip_all(&format!("{json_path}:{}", e.line()), 0, format!("malformed JSON: {e}"));
                return Ok(Some(Vec::new()));
            }
        };
        return Ok(Some(
            values
                .into_iter()
                .enumerate()
                .map(|(i, v)| {
                    (
                        format!("{json_path}: [{i}]"),
                        serde_json::from_value(v).map_err(|e| format!("malformed message: {e}")),
                    )
                })
                .collect(),
        ));
    }
    let csv_path = format!("{folder}/messages.csv");
    let Some(bytes) = source.read(&csv_path, MAX_DOCUMENT_BYTES).await? else { return Ok(None) };
    let text = String::from_utf8_lossy(&bytes);
    let records = parse_csv(&text);
    let mut records = records.into_iter();
    let Some((_, Ok(header))) = records.next() else {
        writer.skip_all(&format!("{csv_path}:1"), 0, "no header row");
        return Ok(Some(Vec::new()));
    };
    let column = |name: &str| {
        header.iter().position(|h| h.trim().trim_start_matches('\u{feff}').eq_ignore_ascii_case(name))
    };
    let (Some(id), Some(timestamp), Some(contents)) = (column("ID"), column("Timestamp"), column("Contents"))
    else {
        writer.skip_all(&format!("{csv_path}:1"), 0, "the header lacks ID, Timestamp or Contents");
        return Ok(Some(Vec::new()));
    };
    let attachments = column("Attachments");
    let rows = records
        .map(|(line, record)| {
            let location = format!("{csv_path}:{line}");
            let row = record.and_then(|fields| {
                let field = |i: usize| fields.get(i).cloned().unwrap_or_default();
                let raw_id = field(id);
                let id = raw_id.trim().parse().map_err(|_| format!("ID {raw_id:?} is not a Discord id"))?;
                Ok(Row {
                    id,
                    timestamp: field(timestamp),
                    contents: field(contents),
                    attachments: attachments.map(field).unwrap_or_default(),
                })
            });
            (location, row)
        })
        .collect();
    Ok(Some(rows))
}

async fn channel(
    writer: &mut Writer<'_, '_>,
    source: &mut Source,
    folder: &str,
    guild_names: &HashMap<String, String>,
    channel_names: &HashMap<String, Option<String>>,
) -> rift::Result<()> {
    let channel_path = format!("{folder}/channel.json");
    let Some(info) = json::<ChannelFile>(writer, source, &channel_path).await? else {
        writer.skip_all(&channel_path, 0, "channel.json is missing or malformed; the folder is skipped");
        return Ok(());
    };
    let Some(rows) = rows(writer, source, folder).await? else { return Ok(()) };
    writer.found(rows.len() as u64);
    let count = rows.len() as u64;
    let described = channel_names.get(&info.id.to_string()).cloned().flatten();
    let channel_id = match info.kind {
        1 | 3 => {
            let own = writer.own();
            let others: Vec<Snowflake> = info
                .recipients
                .iter()
                .filter_map(|r| match r {
                    Value::String(s) => s.parse().ok(),
                    Value::Object(o) => o.get("id").and_then(Value::as_str).and_then(|s| s.parse().ok()),
                    _ => None,
                })
                .filter(|id| Some(*id) != own)
                .collect();
            // "Direct Message with name#0" names the other person of a one-to-one DM.
            let dm_name = described
                .as_deref()
                .and_then(|d| d.strip_prefix("Direct Message with "))
                .map(|n| n.strip_suffix("#0").unwrap_or(n).to_owned());
            let recipients: Vec<ImportedUser> = others
                .iter()
                .map(|id| ImportedUser {
                    id: *id,
                    name: match (&dm_name, others.len()) {
                        (Some(name), 1) => name.clone(),
                        _ => format!("Discord user {id}"),
                    },
                })
                .collect();
            let kind = if info.kind == 1 { ChannelKind::Dm } else { ChannelKind::GroupDm };
            writer.dm(info.id, kind, info.name.as_deref(), &recipients, &channel_path).await?
        }
        0 | 5 => {
            let Some(guild) = &info.guild else {
                writer.skip_all(
                    &channel_path,
                    count,
                    "a server channel whose server the package does not name",
                );
                return Ok(());
            };
            let guild_name = guild
                .name
                .clone()
                .or_else(|| guild_names.get(&guild.id.to_string()).cloned())
                .unwrap_or_else(|| format!("Discord server {}", guild.id));
            let Some(server_id) = writer.server(guild.id, &guild_name, &channel_path).await? else {
                writer.skip_all(&channel_path, count, "the server could not be imported");
                return Ok(());
            };
            let name = info
                .name
                .clone()
                .or_else(|| described.as_deref().and_then(|d| d.split(" in ").next()).map(str::to_owned))
                .unwrap_or_else(|| format!("channel-{}", info.id));
            writer
                .channel(
                    server_id,
                    RemoteChannel::new(remote(info.id), name, ChannelKind::Text),
                    &channel_path,
                )
                .await?
        }
        other => {
            writer.skip_all(
                &channel_path,
                count,
                format!("channels of type {other} (threads, forums, voice) are not mirrored"),
            );
            return Ok(());
        }
    };
    let Some(channel_id) = channel_id else {
        writer.skip_all(&channel_path, count, "the channel could not be imported");
        return Ok(());
    };
    let target = Target { channel_id, base_dir: folder };
    for (location, row) in rows {
        let row = match row {
            Ok(row) => row,
            Err(reason) => {
                writer.skip(&location, reason);
                continue;
            }
        };
        let created_at = if row.timestamp.trim().is_empty() {
            snowflake_time(row.id)
        } else {
            match parse_loose_time(&row.timestamp) {
                Some(at) => at,
                None => {
                    writer.skip(&location, format!("Timestamp {:?} is not a date", row.timestamp));
                    continue;
                }
            }
        };
        let attachments = row
            .attachments
            .split_whitespace()
            .map(|url| ImportedAttachment {
                id: attachment_id(url),
                filename: url
                    .rsplit('/')
                    .next()
                    .and_then(|n| n.split('?').next())
                    .unwrap_or("file")
                    .to_owned(),
                url: url.to_owned(),
            })
            .collect();
        let message = ImportedMessage {
            id: row.id,
            author: None,
            content: row.contents,
            created_at,
            edited_at: None,
            reply_to: None,
            attachments,
            extras: None,
            reactions: Vec::new(),
        };
        writer.message(message, target, source, &location).await?;
    }
    writer.flush();
    Ok(())
}

/// The attachment id in a CDN address (`…/attachments/<channel>/<attachment>/<name>`).
fn attachment_id(url: &str) -> Option<Snowflake> {
    let mut parts = url.split('/').skip_while(|p| *p != "attachments").skip(2);
    parts.next().and_then(|id| id.parse().ok())
}

/// CSV as RFC 4180 writes it (quoted fields may hold commas, quotes doubled, line breaks):
/// each record with the line it starts on, or why it is malformed.
pub(crate) fn parse_csv(text: &str) -> Vec<(usize, Result<Vec<String>, String>)> {
    let mut records = Vec::new();
    let mut fields = Vec::new();
    let mut field = String::new();
    let (mut line, mut start_line) = (1usize, 1usize);
    let mut quoted = false;
    let mut chars = text.chars().peekable();
    let mut in_record = false;
    while let Some(c) = chars.next() {
        in_record = true;
        if quoted {
            match c {
                '"' if chars.peek() == Some(&'"') => {
                    chars.next();
                    field.push('"');
                }
                '"' => quoted = false,
                '\n' => {
                    line += 1;
                    field.push('\n');
                }
                c => field.push(c),
            }
            continue;
        }
        match c {
            '"' if field.is_empty() => quoted = true,
            ',' => fields.push(std::mem::take(&mut field)),
            '\r' if chars.peek() == Some(&'\n') => {}
            '\n' => {
                fields.push(std::mem::take(&mut field));
                records.push((start_line, Ok(std::mem::take(&mut fields))));
                line += 1;
                start_line = line;
                in_record = false;
            }
            c => field.push(c),
        }
    }
    if quoted {
        records.push((start_line, Err("a quoted field is never closed".to_owned())));
    } else if in_record {
        fields.push(field);
        records.push((start_line, Ok(fields)));
    }
    records
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn csv_records_keep_their_first_line() {
        let text = "ID,Timestamp,Contents,Attachments\r\n1,t,\"hello, \"\"you\"\"\nsecond line\",\n2,t,plain,a b\n3,t,\"never closed";
        let records = parse_csv(text);
        assert_eq!(records.len(), 4);
        assert_eq!(
            records[0],
            (1, Ok(vec!["ID".into(), "Timestamp".into(), "Contents".into(), "Attachments".into()]))
        );
        assert_eq!(
            records[1],
            (2, Ok(vec!["1".into(), "t".into(), "hello, \"you\"\nsecond line".into(), String::new()]))
        );
        assert_eq!(records[2].0, 4);
        assert_eq!(records[3].0, 5);
        assert!(records[3].1.is_err());
    }

    #[test]
    fn attachment_ids_come_from_cdn_addresses() {
        assert_eq!(
            attachment_id("https://cdn.discordapp.com/attachments/111/222/a.png?ex=1"),
            Some(Snowflake::new(222))
        );
        assert_eq!(attachment_id("https://example.invalid/a.png"), None);
    }
}
