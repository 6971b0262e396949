//! `rift export --html`: a static archive a person opens offline — `index.html` (every channel and
//! DM of the export with its messages, authors, replies, attachments, reactions and edit
//! history) and `files/<upload id>/<filename>` linked relatively. Built from the same records as
//! the JSON export. All text is escaped; the page has no scripts.

use std::collections::{BTreeMap, HashMap};
use std::fmt::Write as _;
use std::path::Path;

use rift::Store;
use rift::store::{ExportRecord, ExportScope};
use serde_json::Value;

use crate::Failure;
use crate::progress::Progress;

/// Text made safe for HTML element content and quoted attribute values.
pub(crate) fn escape(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            c => out.push(c),
        }
    }
    out
}

/// A path segment percent-encoded for a relative link.
fn url_segment(text: &str) -> String {
    let mut out = String::new();
    for b in text.bytes() {
        if b.is_ascii_alphanumeric() || b"-._~".contains(&b) {
            out.push(char::from(b));
        } else {
            let _ = write!(out, "%{b:02X}");
        }
    }
    out
}

fn text<'a>(record: &'a ExportRecord, field: &str) -> Option<&'a str> {
    record.fields.get(field).and_then(Value::as_str)
}

fn field(record: &ExportRecord, name: &str) -> String {
    text(record, name).unwrap_or_default().to_owned()
}

/// `2026-01-31T12:00:00.123456Z` → `2026-01-31 12:00 UTC`.
fn when(stamp: &str) -> String {
    chrono::DateTime::parse_from_rfc3339(stamp)
        .map(|t| t.format("%Y-%m-%d %H:%M UTC").to_string())
        .unwrap_or_else(|_| stamp.to_owned())
}

/// The export's records grouped for rendering.
#[derive(Default)]
struct World {
    users: HashMap<String, ExportRecord>,
    servers: Vec<ExportRecord>,
    channels: Vec<ExportRecord>,
    dms: HashMap<String, ExportRecord>,
    participants: HashMap<String, Vec<String>>,
    messages: BTreeMap<String, Vec<ExportRecord>>,
    attachments: HashMap<String, Vec<ExportRecord>>,
    reactions: HashMap<String, BTreeMap<String, Vec<String>>>,
    history: HashMap<String, Vec<ExportRecord>>,
}

impl World {
    fn add(&mut self, record: ExportRecord) {
        let key = |name: &str| field(&record, name);
        match record.kind.as_str() {
            "user" => {
                self.users.insert(key("id"), record);
            }
            "server" => self.servers.push(record),
            "channel" => self.channels.push(record),
            "dm" => {
                self.dms.insert(key("id"), record);
            }
            "dm_participant" => self.participants.entry(key("channel_id")).or_default().push(key("user_id")),
            "message" => self.messages.entry(key("channel_id")).or_default().push(record),
            "attachment" => {
                if let Some(message) = text(&record, "message_id") {
                    self.attachments.entry(message.to_owned()).or_default().push(record);
                }
            }
            "reaction" => self
                .reactions
                .entry(key("message_id"))
                .or_default()
                .entry(key("emoji"))
                .or_default()
                .push(key("user_id")),
            "message_history" => self.history.entry(key("message_id")).or_default().push(record),
            _ => {}
        }
    }

    fn user_name(&self, id: &str) -> String {
        match self.users.get(id) {
            Some(user) => format!("{} (@{})", field(user, "display_name"), field(user, "username")),
            None => format!("unknown user {id}"),
        }
    }

    fn channel_title(&self, channel: &ExportRecord) -> String {
        let id = field(channel, "id");
        match self.dms.get(&id) {
            Some(dm) => {
                let names: Vec<String> = self
                    .participants
                    .get(&id)
                    .map(|users| users.iter().map(|u| self.user_name(u)).collect())
                    .unwrap_or_default();
                match text(dm, "name") {
                    Some(name) => format!("{name} — {}", names.join(", ")),
                    None => format!("DM: {}", names.join(", ")),
                }
            }
            None => format!("#{}", field(channel, "name")),
        }
    }
}

const STYLE: &str = "body{font-family:system-ui,sans-serif;max-width:60rem;margin:auto;padding:1rem;color:#222}\
article{border-top:1px solid #ddd;padding:.4rem 0}.meta{color:#666;font-size:.85em}\
.content{white-space:pre-wrap;overflow-wrap:anywhere;margin:.2rem 0}.deleted .content{color:#999;text-decoration:line-through}\
.reaction{display:inline-block;border:1px solid #ccc;border-radius:1rem;padding:0 .5rem;margin-right:.3rem;font-size:.9em}\
img.attachment{max-width:100%;max-height:20rem;display:block}details{font-size:.9em;color:#444}\
nav li{margin:.1rem 0}h2{margin-top:2rem}";

fn render_message(world: &World, message: &ExportRecord, html: &mut String) {
    let id = field(message, "id");
    let deleted = text(message, "deleted_at");
    let class = if deleted.is_some() { "message deleted" } else { "message" };
    let _ = write!(html, "<article class=\"{class}\" id=\"m-{}\">", escape(&id));
    let _ = write!(
        html,
        "<div class=\"meta\"><strong>{}</strong> · <time datetime=\"{}\">{}</time>",
        escape(&world.user_name(&field(message, "author_id"))),
        escape(&field(message, "created_at")),
        escape(&when(&field(message, "created_at")))
    );
    if let Some(edited) = text(message, "edited_at") {
        let _ = write!(html, " · edited {}", escape(&when(edited)));
    }
    if let Some(at) = deleted {
        let _ = write!(html, " · deleted {}", escape(&when(at)));
    }
    if let Some(reply) = text(message, "reply_to") {
        let _ = write!(html, " · <a href=\"#m-{}\">in reply</a>", escape(reply));
    }
    html.push_str("</div>");
    let _ = write!(html, "<p class=\"content\">{}</p>", escape(&field(message, "content")));
    for attachment in world.attachments.get(&id).into_iter().flatten() {
        let name = rift::files::sanitize_filename(&field(attachment, "filename"));
        let href = format!("files/{}/{}", url_segment(&field(attachment, "id")), url_segment(&name));
        let is_image = field(attachment, "content_type").starts_with("image/");
        if is_image {
            let _ = write!(
                html,
                "<a href=\"{href}\"><img class=\"attachment\" src=\"{href}\" alt=\"{}\"></a>",
                escape(&name)
            );
        } else {
            let size = attachment.fields.get("size").and_then(Value::as_i64).unwrap_or(0);
            let _ = write!(html, "<div>📎 <a href=\"{href}\">{}</a> ({size} bytes)</div>", escape(&name));
        }
    }
    if let Some(reactions) = world.reactions.get(&id) {
        html.push_str("<div class=\"reactions\">");
        for (emoji, users) in reactions {
            let names: Vec<String> = users.iter().map(|u| world.user_name(u)).collect();
            let _ = write!(
                html,
                "<span class=\"reaction\" title=\"{}\">{} {}</span>",
                escape(&names.join(", ")),
                escape(emoji),
                users.len()
            );
        }
        html.push_str("</div>");
    }
    if let Some(history) = world.history.get(&id) {
        let _ = write!(html, "<details><summary>history ({} changes)</summary><ol>", history.len());
        for entry in history {
            let _ = write!(
                html,
                "<li>{} {} by {}: <span class=\"content\">{}</span>",
                escape(&field(entry, "action")),
                escape(&when(&field(entry, "created_at"))),
                escape(
                    &text(entry, "actor_id")
                        .map_or_else(|| "the remote side".to_owned(), |a| world.user_name(a))
                ),
                escape(text(entry, "old_content").unwrap_or(""))
            );
            if let Some(new) = text(entry, "new_content") {
                let _ = write!(html, " → <span class=\"content\">{}</span>", escape(new));
            }
            html.push_str("</li>");
        }
        html.push_str("</ol></details>");
    }
    html.push_str("</article>\n");
}

/// The whole page.
fn render(world: &World, title: &str) -> String {
    let mut html = String::new();
    let _ = write!(
        html,
        "<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\">\
         <meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\
         <title>{}</title><style>{STYLE}</style></head><body>\n<h1>{}</h1>\n<nav><ul>",
        escape(title),
        escape(title)
    );
    let with_messages: Vec<&ExportRecord> =
        world.channels.iter().filter(|c| world.messages.contains_key(&field(c, "id"))).collect();
    for channel in &with_messages {
        let server = text(channel, "server_id")
            .and_then(|id| world.servers.iter().find(|s| text(s, "id") == Some(id)))
            .map(|s| format!("{} / ", field(s, "name")))
            .unwrap_or_default();
        let _ = write!(
            html,
            "<li><a href=\"#c-{}\">{}{}</a></li>",
            escape(&field(channel, "id")),
            escape(&server),
            escape(&world.channel_title(channel))
        );
    }
    html.push_str("</ul></nav>\n");
    for channel in with_messages {
        let id = field(channel, "id");
        let _ = write!(
            html,
            "<section id=\"c-{}\"><h2>{}</h2>",
            escape(&id),
            escape(&world.channel_title(channel))
        );
        if let Some(topic) = text(channel, "topic") {
            let _ = write!(html, "<p class=\"meta\">{}</p>", escape(topic));
        }
        html.push('\n');
        for message in world.messages.get(&id).into_iter().flatten() {
            render_message(world, message, &mut html);
        }
        html.push_str("</section>\n");
    }
    html.push_str("</body></html>\n");
    html
}

/// Writes the archive of `scope` into the directory `out`.
pub(crate) async fn write(
    store: &dyn Store,
    scope: ExportScope,
    upload_dir: &Path,
    out: &Path,
) -> Result<(), Failure> {
    let mut world = World::default();
    let progress = Progress::spinner("reading");
    store
        .export(scope, false, &mut |record| {
            world.add(record);
            progress.tick();
            Ok(())
        })
        .await?;
    progress.finish();
    let title = match scope {
        ExportScope::All => "Rift archive".to_owned(),
        ExportScope::Server(_) => world
            .servers
            .first()
            .map_or_else(|| "Rift archive".to_owned(), |s| format!("{} — Rift archive", field(s, "name"))),
        ExportScope::Channel(_) => {
            world.channels.iter().rfind(|c| text(c, "kind") != Some("category")).map_or_else(
                || "Rift archive".to_owned(),
                |c| format!("{} — Rift archive", world.channel_title(c)),
            )
        }
    };
    std::fs::create_dir_all(out).map_err(|e| Failure(format!("cannot create {}: {e}", out.display())))?;
    std::fs::write(out.join("index.html"), render(&world, &title))?;
    let attachments: Vec<&ExportRecord> = world.attachments.values().flatten().collect();
    let bar = Progress::bar("copying files", attachments.len() as u64);
    let mut missing = 0;
    for attachment in &attachments {
        let id = field(attachment, "id");
        let name = rift::files::sanitize_filename(&field(attachment, "filename"));
        let source = upload_dir.join(&id);
        if source.is_file() {
            let dir = out.join("files").join(&id);
            std::fs::create_dir_all(&dir)?;
            std::fs::copy(&source, dir.join(&name))
                .map_err(|e| Failure(format!("cannot copy {}: {e}", source.display())))?;
        } else {
            missing += 1;
        }
        bar.tick();
    }
    bar.finish();
    println!("wrote {}", out.join("index.html").display());
    if missing > 0 {
        eprintln!("warning: {missing} attachment files were not in {}", upload_dir.display());
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn escapes_markup_and_quotes() {
        assert_eq!(escape("<a href=\"x\">'&'</a>"), "&lt;a href=&quot;x&quot;&gt;&#39;&amp;&#39;&lt;/a&gt;");
    }

    #[test]
    fn link_segments_are_percent_encoded() {
        assert_eq!(url_segment("a b/<c>.txt"), "a%20b%2F%3Cc%3E.txt");
        assert_eq!(url_segment("é"), "%C3%A9");
    }
}
