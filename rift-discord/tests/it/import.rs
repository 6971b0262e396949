//! Imports without the Discord API, end to end: a DiscordChatExporter export (with its media
//! beside it) through the library API a CLI calls, a data package ZIP through the HTTP upload,
//! both generated here from the documented formats over a world the fake Discord also serves;
//! then a live bridge for the same guild finds the imported rows and its edit updates them.

use rift::RegisterInput;
use rift::import::ImportReport;
use rift_discord::import::Import;
use rift_testing::TestDb;
use rift_testing::discord::{Account, FakeDiscord, NewMessage, channel_type};
use serde_json::{Value, json};

use crate::bridge::{BASE_MS, PNG, Rig, by_remote, id_of};

/// A message of the fake Discord written as DiscordChatExporter writes it.
fn dce_message(discord: &FakeDiscord, channel: u64, id: u64) -> Value {
    let m = discord.message(channel, id).expect("the message");
    let author = &m["author"];
    let kind = if m["type"] == 19 { "Reply" } else { "Default" };
    let mut out = json!({
        "id": m["id"], "type": kind, "timestamp": m["timestamp"], "timestampEdited": m["edited_timestamp"],
        "callEndedTimestamp": null, "isPinned": false, "content": m["content"],
        "author": dce_user(author),
        "attachments": [], "embeds": [], "stickers": [], "reactions": [], "mentions": [],
    });
    if let Some(reference) = m.get("message_reference").filter(|r| r.is_object()) {
        out["reference"] = json!({"type": "Default", "messageId": reference["message_id"],
            "channelId": reference["channel_id"], "guildId": reference["guild_id"]});
    }
    out
}

fn dce_user(user: &Value) -> Value {
    let nickname =
        if user["global_name"].is_string() { user["global_name"].clone() } else { user["username"].clone() };
    json!({"id": user["id"], "name": user["username"], "discriminator": "0000", "nickname": nickname,
        "color": null, "isBot": false, "roles": [], "avatarUrl": "https://cdn.discordapp.com/embed/avatars/0.png"})
}

fn millis(value: &Value) -> i64 {
    chrono::DateTime::parse_from_rfc3339(value.as_str().expect("a time"))
        .expect("RFC 3339")
        .timestamp_millis()
}

fn problem_at<'a>(report: &'a Value, location_ends: &str) -> &'a Value {
    report["problems"]
        .as_array()
        .into_iter()
        .flatten()
        .find(|p| p["location"].as_str().is_some_and(|l| l.ends_with(location_ends)))
        .unwrap_or_else(|| panic!("no problem at {location_ends}: {report}"))
}

impl Rig {
    /// Uploads `bytes` as an import and waits for the job to end; returns it.
    async fn import_upload(&self, filename: &str, bytes: Vec<u8>) -> Value {
        let form = reqwest::multipart::Form::new()
            .part("file", reqwest::multipart::Part::bytes(bytes).file_name(filename.to_owned()));
        let response = self
            .http
            .post(format!("{}/api/imports/discord", self.base))
            .bearer_auth(&self.token)
            .multipart(form)
            .send()
            .await
            .expect("upload");
        assert_eq!(response.status().as_u16(), 202);
        let job: Value = response.json().await.expect("a job");
        let id = id_of(&job);
        self.until_get(&format!("/imports/{id}"), "the import", |j| j["status"] != "running").await
    }
}

pub(crate) async fn exports_import_once_and_the_live_bridge_updates_the_same_rows(db: TestDb) {
    let discord = FakeDiscord::start(Account::user("user-token", 0, "ada")).await;
    let me = discord.me();
    let guild = discord.add_guild("Imported Guild");
    let bob = discord.add_user("bob", Some("Bob B."));
    let carol = discord.add_user("carol", None);
    discord.add_member(guild, bob);
    discord.add_member(guild, carol);
    let category = discord.add_channel(guild, channel_type::CATEGORY, "Text Channels");
    let general = discord.add_channel_with(guild, channel_type::TEXT, "general", |c| {
        c["parent_id"] = json!(category.to_string());
        c["topic"] = json!("imported");
    });
    let first = discord.add_message(general, NewMessage::new(bob, "hello from bob").at(BASE_MS));
    let mine = discord.add_message(general, NewMessage::new(me, "my own words").at(BASE_MS + 1_000));
    let edited = discord.add_message(
        general,
        NewMessage::new(carol, "fixed typo").at(BASE_MS + 2_000).edited_at(BASE_MS + 7_000),
    );
    let reply =
        discord.add_message(general, NewMessage::new(bob, "replying").at(BASE_MS + 3_000).reply_to(first));
    let picture = discord.add_message(general, NewMessage::new(carol, "a picture").at(BASE_MS + 4_000));
    let world = [first, mine, edited, reply, picture];

    // The export DiscordChatExporter writes for #general with --media, and one broken record.
    let mut messages: Vec<Value> = world.iter().map(|id| dce_message(&discord, general, *id)).collect();
    let users = |ids: &[u64]| -> Vec<Value> {
        ids.iter().map(|id| dce_user(&discord.message(general, *id).expect("m")["author"])).collect()
    };
    messages[3]["reactions"] = json!([
        {"emoji": {"id": "", "name": "👍", "code": "thumbsup", "isAnimated": false, "imageUrl": "x"},
         "count": 2, "users": users(&[edited, mine])},
        {"emoji": {"id": "41771983429993937", "name": "LUL", "code": "LUL", "isAnimated": false, "imageUrl": "y"},
         "count": 3, "users": users(&[first])},
    ]);
    let dot_id = discord.snowflake_at(BASE_MS + 4_000);
    messages[4]["attachments"] = json!([
        {"id": dot_id.to_string(), "url": "general.json_Files/dot-1A2B3.png", "fileName": "dot.png", "fileSizeBytes": PNG.len()},
        {"id": "1", "url": "https://cdn.discordapp.com/attachments/1/1/gone.txt", "fileName": "gone.txt", "fileSizeBytes": 3},
    ]);
    messages
        .push(json!({"id": "not a snowflake", "type": "Default", "timestamp": "2023-11-14T22:13:30+00:00"}));
    let export = json!({
        "guild": {"id": guild.to_string(), "name": "Imported Guild", "iconUrl": "x"},
        "channel": {"id": general.to_string(), "type": "GuildTextChat", "categoryId": category.to_string(),
            "category": "Text Channels", "name": "general", "topic": "imported"},
        "dateRange": {"after": null, "before": null}, "exportedAt": "2024-01-01T00:00:00+00:00",
        "messages": messages, "messageCount": 6,
    });
    let dir = tempfile::tempdir().expect("temp dir");
    let json_path = dir.path().join("general.json");
    std::fs::write(&json_path, serde_json::to_vec_pretty(&export).expect("json")).expect("write export");
    std::fs::create_dir(dir.path().join("general.json_Files")).expect("media dir");
    std::fs::write(dir.path().join("general.json_Files/dot-1A2B3.png"), PNG).expect("write media");

    let rig = Rig::start(&db, &discord).await;
    let owner: rift::UserId = rig.owner.parse().expect("owner id");

    // The library API, as a CLI calls it, with a progress callback.
    let mut seen: Vec<(u64, u64)> = Vec::new();
    let mut progress = |r: &ImportReport| seen.push((r.done, r.total));
    let import =
        Import::new(&rig.rift, owner).own_discord_id(Some(me.to_string().parse().expect("snowflake")));
    let report = import.dce(std::slice::from_ref(&json_path), &mut progress).await.expect("import");
    assert_eq!(
        (report.total, report.done, report.imported, report.skipped, report.files),
        (6, 6, 5, 1, 1),
        "{report:?}"
    );
    assert_eq!(seen.last(), Some(&(6, 6)));
    assert!(seen.windows(2).all(|w| w[0].0 <= w[1].0), "progress only grows: {seen:?}");
    let locations: Vec<&str> = report.problems.iter().map(|p| p.location.as_str()).collect();
    assert!(locations.contains(&"general.json: messages[5]"), "{locations:?}");
    assert!(
        report
            .problems
            .iter()
            .any(|p| p.location == "general.json: messages[4]" && p.reason.contains("gone.txt")),
        "the missing file is noted: {:?}",
        report.problems
    );
    assert!(
        report.problems.iter().any(|p| p.reason.contains("LUL")),
        "a reaction count without its users is noted"
    );

    // What it stored, read back through the REST API.
    let server = rig.server_named("Imported Guild").await;
    let channel = rig.channel_named(&id_of(&server), "general").await;
    let channel_id = id_of(&channel);
    let category_row = rig.channel_named(&id_of(&server), "Text Channels").await;
    assert_eq!(channel["parent_id"], category_row["id"]);
    let stored = rig.all_messages(&channel_id).await;
    assert_eq!(stored.len(), 5);
    let row = |id: u64| by_remote(&stored, id).clone();
    assert_eq!(row(first)["content"], "hello from bob");
    assert_eq!(row(first)["author"]["display_name"], "Bob B.");
    assert_eq!(millis(&row(first)["created_at"]), i64::try_from(BASE_MS).unwrap_or_default());
    assert_eq!(row(mine)["author"]["id"], rig.owner.as_str(), "the owner's own messages are theirs");
    assert_eq!(millis(&row(edited)["edited_at"]), i64::try_from(BASE_MS + 7_000).unwrap_or_default());
    assert_eq!(row(reply)["reply_to"], row(first)["id"]);
    let mut reactions = row(reply)["reactions"].as_array().cloned().unwrap_or_default();
    reactions.sort_by_key(|r| r["emoji"].as_str().map(str::to_owned));
    assert_eq!(
        reactions,
        [
            json!({"emoji": "LUL:41771983429993937", "count": 1, "me": false}),
            json!({"emoji": "👍", "count": 2, "me": true})
        ]
    );
    let files = row(picture)["attachments"].clone();
    assert_eq!(files.as_array().map(Vec::len), Some(1), "{files}");
    assert_eq!(files[0]["filename"], "dot.png");
    let bytes = rig
        .http
        .get(format!("{}{}", rig.base, files[0]["url"].as_str().expect("url")))
        .send()
        .await
        .expect("download");
    assert_eq!(bytes.bytes().await.expect("body").as_ref(), PNG);
    assert_eq!(row(picture)["extras"]["attachment_links"][0]["filename"], "gone.txt");

    // The data package: the owner's own messages (one also in the export, one only here, one
    // broken) in #general, and a DM kept as CSV in an older package's folder.
    let only_here = discord.snowflake_at(BASE_MS + 5_000);
    let dm = discord.snowflake_at(BASE_MS + 100);
    let (dm_one, dm_bad, dm_two) = (
        discord.snowflake_at(BASE_MS + 6_000),
        discord.snowflake_at(BASE_MS + 6_500),
        discord.snowflake_at(BASE_MS + 7_500),
    );
    let general_json = json!([
        {"ID": mine, "Timestamp": "2023-11-14 22:13:21", "Contents": "my own words", "Attachments": ""},
        {"ID": only_here, "Timestamp": "2023-11-14 22:13:25", "Contents": "only in the package",
         "Attachments": format!("https://cdn.discordapp.com/attachments/{general}/{}/notes.txt", only_here + 1)},
        {"ID": "oops", "Timestamp": "2023-11-14 22:13:26", "Contents": "broken", "Attachments": ""},
    ]);
    let dm_csv = format!(
        "ID,Timestamp,Contents,Attachments\n{dm_one},2023-11-14 22:13:26.000000+00:00,\"hi bob, \"\"quoted\"\"\",\n\
         {dm_bad},yesterday,bad time,\n{dm_two},2023-11-14 22:13:27.500000+00:00,\"two\nlines\",\n"
    );
    let files_in_package: Vec<(String, Vec<u8>)> = vec![
        ("README.txt".into(), b"Welcome to your Discord Data Package!".to_vec()),
        ("account/user.json".into(), json!({"id": me.to_string(), "username": "ada"}).to_string().into_bytes()),
        ("servers/index.json".into(), json!({guild.to_string(): "Imported Guild"}).to_string().into_bytes()),
        (
            "messages/index.json".into(),
            json!({general.to_string(): "general in Imported Guild", dm.to_string(): "Direct Message with bob#0"})
                .to_string()
                .into_bytes(),
        ),
        (
            format!("messages/c{general}/channel.json"),
            json!({"id": general.to_string(), "type": 0, "name": "general",
                "guild": {"id": guild.to_string(), "name": "Imported Guild"}})
            .to_string()
            .into_bytes(),
        ),
        (format!("messages/c{general}/messages.json"), general_json.to_string().into_bytes()),
        (
            format!("messages/{dm}/channel.json"),
            json!({"id": dm.to_string(), "type": 1, "recipients": [me.to_string(), bob.to_string()]}).to_string().into_bytes(),
        ),
        (format!("messages/{dm}/messages.csv"), dm_csv.into_bytes()),
    ];
    let entries: Vec<(&str, &[u8])> =
        files_in_package.iter().map(|(n, b)| (n.as_str(), b.as_slice())).collect();
    let package = rift_testing::archive::zip(&entries);
    let job = rig.import_upload("package.zip", package.clone()).await;
    assert_eq!(job["status"], "done", "{job}");
    let report = &job["report"];
    assert_eq!(
        (&report["total"], &report["imported"], &report["unchanged"], &report["skipped"]),
        (&json!(6), &json!(3), &json!(1), &json!(2)),
        "{report}"
    );
    assert!(
        problem_at(report, &format!("messages/c{general}/messages.json: [2]"))["reason"]
            .as_str()
            .is_some_and(|r| r.contains("oops"))
    );
    assert!(
        problem_at(report, &format!("messages/{dm}/messages.csv:3"))["reason"]
            .as_str()
            .is_some_and(|r| r.contains("yesterday"))
    );
    let stored = rig.all_messages(&channel_id).await;
    assert_eq!(stored.len(), 6);
    let package_only = by_remote(&stored, only_here);
    assert_eq!(package_only["author"]["id"], rig.owner.as_str());
    assert_eq!(package_only["extras"]["attachment_links"][0]["filename"], "notes.txt");
    let dms = rig.get("/dm/channels").await;
    let dm_row = dms
        .as_array()
        .into_iter()
        .flatten()
        .find(|d| d["bridge_remote_id"] == dm.to_string().as_str())
        .unwrap_or_else(|| panic!("the DM is imported: {dms}"));
    // Bob's puppet keeps the name the export gave it.
    assert!(
        dm_row["recipients"].as_array().into_iter().flatten().any(|u| u["display_name"] == "Bob B."),
        "{dm_row}"
    );
    let dm_messages = rig.all_messages(&id_of(dm_row)).await;
    let texts: Vec<&str> = dm_messages.iter().filter_map(|m| m["content"].as_str()).collect();
    assert_eq!(texts, ["hi bob, \"quoted\"", "two\nlines"]);
    assert_eq!(millis(&dm_messages[1]["created_at"]), i64::try_from(BASE_MS + 7_500).unwrap_or_default());

    // Twice: nothing new, nothing lost.
    let again = import
        .dce(std::slice::from_ref(&json_path), &mut |_: &ImportReport| {})
        .await
        .expect("second import");
    assert_eq!((again.imported, again.unchanged, again.files), (0, 5, 0), "{again:?}");
    let job = rig.import_upload("package.zip", package).await;
    assert_eq!((&job["report"]["imported"], &job["report"]["unchanged"]), (&json!(0), &json!(4)), "{job}");
    assert_eq!(rig.all_messages(&channel_id).await.len(), 6);
    assert_eq!(rig.all_messages(&id_of(dm_row)).await.len(), 2);

    // Jobs are their owner's alone.
    let other = rig.rift.register(RegisterInput::new("other", "password123")).await.expect("register");
    let status = rig
        .http
        .get(format!("{}/api/imports/{}", rig.base, id_of(&job)))
        .bearer_auth(other.access_token.expose())
        .send()
        .await
        .expect("request")
        .status();
    assert_eq!(status.as_u16(), 404);
    let listed = rig.get("/imports").await;
    assert_eq!(listed.as_array().map(Vec::len), Some(2));

    // A live bridge for the same guild lands in the same rows, and its edit updates one.
    let bridge = rig.add_bridge("user-token", "user", "archive").await;
    rig.backfilled(&bridge).await;
    let after = rig.all_messages(&channel_id).await;
    assert_eq!(after.len(), 6, "no duplicates after the bridge's backfill");
    assert_eq!(rig.get("/servers").await.as_array().map(Vec::len), Some(1), "the same server");
    let first_row = id_of(by_remote(&after, first));
    discord.edit_message(general, first, "edited live");
    let updated = rig
        .until_get(&format!("/messages/{first_row}"), "the live edit", |m| m["content"] == "edited live")
        .await;
    assert_eq!(id_of(&updated), first_row);
    assert_eq!(rig.all_messages(&channel_id).await.len(), 6);
}

pub(crate) async fn hostile_files_are_refused_or_reported_never_a_panic(db: TestDb) {
    let discord = FakeDiscord::start(Account::user("user-token", 0, "ada")).await;
    let rig = Rig::start(&db, &discord).await;
    let owner: rift::UserId = rig.owner.parse().expect("owner id");
    let dir = tempfile::tempdir().expect("temp dir");
    let import = Import::new(&rig.rift, owner);
    let package = rift_testing::archive::zip(&[
        ("messages/index.json", br#"{"5": "general in G"}"#),
        ("messages/c5/channel.json", br#"{"id": "5", "type": 0, "name": "general", "guild": {"id": "6", "name": "G"}}"#),
        ("messages/c5/messages.json", br#"[{"ID": 10000000000, "Timestamp": "2023-11-14 22:13:21", "Contents": "x", "Attachments": ""}]"#),
    ]);
    let path = dir.path().join("input");
    // Every truncation, and a changed byte at every third position: an error or a report.
    let mut refused = 0;
    let mut variants: Vec<Vec<u8>> = (0..package.len()).map(|cut| package[..cut].to_vec()).collect();
    for at in (0..package.len()).step_by(3) {
        let mut bad = package.clone();
        bad[at] ^= 0x5A;
        variants.push(bad);
    }
    for bytes in variants {
        std::fs::write(&path, &bytes).expect("write");
        match import.file(&path, "input", &mut |_: &ImportReport| {}).await {
            Ok(report) => assert!(report.imported <= 1, "{report:?}"),
            Err(error) => {
                assert!(matches!(error.code().as_str(), "invalid_import" | "import_too_large"), "{error:?}");
                refused += 1;
            }
        }
    }
    assert!(refused > package.len() / 2, "most damage is caught: {refused}");
    // Not JSON, JSON of another shape, and an export whose records are all wrong.
    for (bytes, expect) in [
        (b"\x00\x01garbage".to_vec(), "not a DiscordChatExporter JSON export"),
        (br#"{"hello": "world"}"#.to_vec(), "not a DiscordChatExporter JSON export"),
        (br#"[1, 2, 3]"#.to_vec(), "not a DiscordChatExporter JSON export"),
    ] {
        std::fs::write(&path, &bytes).expect("write");
        let report = import.file(&path, "input", &mut |_: &ImportReport| {}).await.expect("a report");
        assert!(report.problems[0].reason.contains(expect), "{report:?}");
        assert_eq!(report.imported, 0);
    }
    let export = json!({"guild": {"id": "6", "name": "G"}, "channel": {"id": "7", "type": "GuildTextChat", "name": "c"},
        "messages": [{"id": "8"}, {"id": "9", "timestamp": 5, "author": {}}, {"id": "10", "type": "Default",
        "timestamp": "2023-11-14T22:13:21+00:00", "timestampEdited": "later", "author": {"id": "11", "name": "x"}},
        {"id": "12", "type": "GuildMemberJoin", "timestamp": "2023-11-14T22:13:21+00:00", "author": {"id": "11", "name": "x"}}]});
    std::fs::write(&path, export.to_string()).expect("write");
    let report = import.file(&path, "c.json", &mut |_: &ImportReport| {}).await.expect("a report");
    assert_eq!((report.total, report.skipped, report.imported), (4, 4, 0), "{report:?}");
    for index in 0..4 {
        assert!(
            report.problems.iter().any(|p| p.location == format!("c.json: messages[{index}]")),
            "record {index} is reported: {:?}",
            report.problems
        );
    }
    // Over HTTP: a file that cannot be read fails its job with a reason.
    let job = rig.import_upload("broken.zip", b"PK\x03\x04 and then nothing".to_vec()).await;
    assert_eq!(job["status"], "failed", "{job}");
    assert!(job["error"].as_str().is_some_and(|e| e.contains("ZIP")), "{job}");
    let (status, body) =
        rig.call(reqwest::Method::GET, "/imports/00000000-0000-7000-8000-000000000000", None).await;
    assert_eq!((status, &body["error"]["code"]), (404, &json!("unknown_import")));
}
