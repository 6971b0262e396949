//! The real `rift` binary against temp SQLite files and the throwaway PostgreSQL of
//! `rift-testing`: export → import → export round trips both ways, the HTML archive, refusals and
//! one-line errors.

use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};
use std::sync::Arc;

mod bridge_backfill;

use rift::{Config, Rift};
use rift_testing::sample::{self, Sample};

/// Where `rift` runs: a data dir (SQLite by default), or a PostgreSQL URL with an upload dir.
struct Place {
    dir: tempfile::TempDir,
    database_url: Option<String>,
}

impl Place {
    fn sqlite() -> Self {
        Self { dir: tempfile::tempdir().unwrap(), database_url: None }
    }

    async fn postgres() -> Option<Self> {
        let (url, _) = rift_testing::postgres_url().await?;
        Some(Self { dir: tempfile::tempdir().unwrap(), database_url: Some(url) })
    }

    fn uploads(&self) -> PathBuf {
        self.dir.path().join("uploads")
    }

    fn path(&self, name: &str) -> PathBuf {
        self.dir.path().join(name)
    }

    fn rift(&self, args: &[&str]) -> Output {
        self.rift_with_stdin(args, "")
    }

    fn rift_with_stdin(&self, args: &[&str], stdin: &str) -> Output {
        let mut command = Command::new(env!("CARGO_BIN_EXE_rift"));
        command
            .args(args)
            .env_remove("DATABASE_URL")
            .env_remove("UPLOAD_DIR")
            .env_remove("RIFT_PASSWORD")
            .env("RIFT_DATA_DIR", self.dir.path())
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped());
        if let Some(url) = &self.database_url {
            command.env("DATABASE_URL", url);
        }
        let mut child = command.spawn().expect("run rift");
        {
            use std::io::Write;
            let mut input = child.stdin.take().unwrap();
            input.write_all(stdin.as_bytes()).unwrap();
        }
        child.wait_with_output().unwrap()
    }

    /// Runs `rift` and expects success; its stdout.
    #[track_caller]
    fn ok(&self, args: &[&str]) -> String {
        let out = self.rift(args);
        assert!(out.status.success(), "rift {args:?} failed: {}", String::from_utf8_lossy(&out.stderr));
        String::from_utf8(out.stdout).unwrap()
    }

    /// The service over this place's database.
    async fn service(&self) -> Rift {
        let url = match &self.database_url {
            Some(url) => url.clone(),
            None => {
                std::fs::create_dir_all(self.dir.path()).unwrap();
                format!("sqlite://{}", self.path("rift.db").display())
            }
        };
        let database = rift_store::connect(&url).await.unwrap();
        Rift::new(Arc::new(database), Config::new(b"a test secret of enough bytes!!!".to_vec()))
    }

    /// Fills the database with the sample world through the service layer.
    async fn populate(&self) -> Sample {
        sample::populate(&self.service().await, &self.uploads()).await
    }
}

/// Exactly one line on stderr and a failure exit.
#[track_caller]
fn one_line_failure(out: &Output) -> String {
    assert!(!out.status.success(), "expected a failure");
    let stderr = String::from_utf8(out.stderr.clone()).unwrap();
    assert_eq!(stderr.lines().count(), 1, "one line: {stderr:?}");
    assert!(stderr.starts_with("error: "), "{stderr:?}");
    stderr
}

fn read(path: &Path) -> String {
    std::fs::read_to_string(path).unwrap_or_else(|e| panic!("{}: {e}", path.display()))
}

/// from → export → to → export: equal files, the attachment file moved along, and the target
/// refuses a second import.
async fn round_trip(from: &Place, to: &Place) {
    let sample = from.populate().await;
    let first = from.path("first.jsonl");
    from.ok(&["export", "--password-hashes", "--out", first.to_str().unwrap()]);
    let header = read(&first).lines().next().unwrap().to_owned();
    assert!(header.contains("\"format\":\"rift-export\"") && header.contains("\"version\":1"), "{header}");

    let imported = to.ok(&["import", "json", first.to_str().unwrap()]);
    assert!(imported.starts_with("imported "), "{imported}");
    let second = to.path("second.jsonl");
    to.ok(&["export", "--password-hashes", "--out", second.to_str().unwrap()]);
    assert_eq!(read(&first), read(&second), "export → import → export gives the same export");
    assert_eq!(
        std::fs::read(to.uploads().join(sample.upload.to_string())).unwrap(),
        sample.upload_bytes,
        "the attachment file came along"
    );
    assert_eq!(
        std::fs::read(to.path("second.files").join(sample.upload.to_string())).unwrap(),
        sample.upload_bytes
    );

    let refused = one_line_failure(&to.rift(&["import", "json", first.to_str().unwrap()]));
    assert!(refused.contains("not empty"), "{refused}");
    assert_eq!(read(&second), {
        to.ok(&["export", "--password-hashes", "--out", to.path("third.jsonl").to_str().unwrap()]);
        read(&to.path("third.jsonl"))
    });
}

#[tokio::test]
async fn sqlite_to_postgres_and_back_round_trips() {
    let Some(pg) = Place::postgres().await else { return };
    round_trip(&Place::sqlite(), &pg).await;
}

#[tokio::test]
async fn postgres_to_sqlite_round_trips() {
    let Some(pg) = Place::postgres().await else { return };
    round_trip(&pg, &Place::sqlite()).await;
}

#[tokio::test]
async fn html_archive_escapes_and_links_files_relatively() {
    let place = Place::sqlite();
    let sample = place.populate().await;
    let out = place.path("archive");
    place.ok(&["export", "--html", "--server", &sample.server.to_string(), "--out", out.to_str().unwrap()]);
    let html = read(&out.join("index.html"));
    assert!(html.starts_with("<!DOCTYPE html>") && html.trim_end().ends_with("</html>"));
    assert!(!html.contains("<script") && !html.contains("<img src=x"), "hostile text is not markup");
    assert!(
        html.contains("&lt;script&gt;alert(&#39;pwned&#39;)&lt;/script&gt; &amp; &lt;img src=x"),
        "escaped"
    );
    assert!(html.contains("Guild &amp; &lt;Friends&gt;"), "server name escaped");
    assert!(html.contains("Bob &lt;b&gt;Builder&lt;/b&gt;"), "display names escaped");
    for (open, close) in [("<article", "</article>"), ("<section", "</section>"), ("<details", "</details>")]
    {
        assert_eq!(html.matches(open).count(), html.matches(close).count(), "{open} balanced");
    }
    assert_eq!(html.matches("<article").count(), 5, "the server's five messages, the deleted one included");
    assert!(!html.contains("a private word"), "the DM is not part of the server's archive");
    assert!(html.contains("final text") && html.contains("second draft") && html.contains("first draft"));
    assert!(html.contains("👍 2"), "reactions counted");
    let link = format!("files/{}/notes%20_1_.txt", sample.upload);
    assert!(html.contains(&format!("href=\"{link}\"")), "relative attachment link");
    assert_eq!(
        std::fs::read(out.join("files").join(sample.upload.to_string()).join("notes _1_.txt")).unwrap(),
        sample.upload_bytes
    );

    let dm = place.path("dm");
    place.ok(&["export", "--html", "--dm", &sample.dm.to_string(), "--out", dm.to_str().unwrap()]);
    let html = read(&dm.join("index.html"));
    assert!(html.contains("a private word") && !html.contains("final text"));
}

#[tokio::test]
async fn users_servers_search_and_backup() {
    let place = Place::sqlite();
    let sample = place.populate().await;
    let created =
        place.rift_with_stdin(&["user", "create", "dave", "--password-stdin", "--json"], "dave-password\n");
    assert!(created.status.success(), "{}", String::from_utf8_lossy(&created.stderr));
    let dave: serde_json::Value = serde_json::from_slice(&created.stdout).unwrap();
    assert_eq!(dave["username"], "dave");

    let users: serde_json::Value = serde_json::from_str(&place.ok(&["user", "list", "--json"])).unwrap();
    let names: Vec<&str> =
        users.as_array().unwrap().iter().map(|u| u["username"].as_str().unwrap()).collect();
    assert_eq!(names.len(), 4);
    for name in ["alice", "bob", "carol", "dave"] {
        assert!(names.contains(&name), "{names:?}");
    }
    assert!(place.ok(&["user", "list"]).contains("dave"));

    place.ok(&["user", "reset-password", "alice", "--password", "brand-new-password"]);
    let short = one_line_failure(&place.rift(&["user", "reset-password", "alice", "--password", "short"]));
    assert!(short.contains("8 to 256"), "{short}");
    one_line_failure(&place.rift(&["user", "reset-password", "nobody", "--password", "long enough!"]));

    place.ok(&["user", "disable", "bob"]);
    let rift = place.service().await;
    let refused = rift.login("bob", "bobby-password").await.unwrap_err();
    assert_eq!(refused.code(), "account_disabled");
    place.ok(&["user", "enable", "bob"]);
    rift.login("bob", "bobby-password").await.expect("enabled again");
    rift.login("alice", "brand-new-password").await.expect("the reset password works");

    let servers: serde_json::Value = serde_json::from_str(&place.ok(&["server", "list", "--json"])).unwrap();
    assert_eq!(servers[0]["id"], sample.server.to_string());

    let found: serde_json::Value =
        serde_json::from_str(&place.ok(&["search", "final", "--as", "bob", "--json"])).unwrap();
    assert_eq!(found[0]["id"], sample.edited.to_string());
    let none: serde_json::Value =
        serde_json::from_str(&place.ok(&["search", "final", "--as", "dave", "--json"])).unwrap();
    assert_eq!(none, serde_json::json!([]), "dave is in no server: searches see what the user sees");
    let private = place.ok(&["search", "private", "--as", "alice", "--channel", &sample.dm.to_string()]);
    assert!(private.contains("a private word"), "{private}");
    one_line_failure(&place.rift(&["search", "x", "--as", "alice", "--before", "yesterday"]));

    let backup = place.path("copy.db");
    place.ok(&["backup", backup.to_str().unwrap()]);
    let copy = rift_store::Database::open_sqlite(&backup).await.unwrap();
    assert_eq!(rift::Store::all_users(&copy, None, 100).await.unwrap().len(), 4);
    copy.close().await;
    let again = one_line_failure(&place.rift(&["backup", backup.to_str().unwrap()]));
    assert!(again.contains("exists"), "{again}");
    assert!(place.ok(&["migrate"]).contains("up to date"));
}

#[tokio::test]
async fn postgres_backup_prints_the_pg_dump_line() {
    let Some(pg) = Place::postgres().await else { return };
    let out = pg.ok(&["backup"]);
    assert!(out.starts_with("pg_dump "), "{out}");
}

#[tokio::test]
async fn bridge_connections_are_managed_through_the_service() {
    let place = Place::sqlite();
    place.populate().await;
    let added: serde_json::Value = serde_json::from_str(&place.ok(&[
        "bridge",
        "add",
        "--owner",
        "alice",
        "--token",
        "secret-token",
        "--mode",
        "archive",
        "--json",
    ]))
    .unwrap();
    let id = added["id"].as_str().unwrap().to_owned();
    assert_eq!(added["status"], "connecting");
    assert!(!added.to_string().contains("secret-token"), "the token is write-only");
    let listed: serde_json::Value = serde_json::from_str(&place.ok(&["bridge", "list", "--json"])).unwrap();
    assert_eq!(listed[0]["id"], id.as_str());
    assert!(place.ok(&["bridge", "pause", &id]).contains("paused"));
    let status: serde_json::Value =
        serde_json::from_str(&place.ok(&["bridge", "status", &id, "--json"])).unwrap();
    assert_eq!(status["status"], "paused");
    assert!(place.ok(&["bridge", "resume", &id]).contains("connecting"));
    place.ok(&["bridge", "remove", &id]);
    one_line_failure(&place.rift(&["bridge", "status", &id]));
    let bad = one_line_failure(
        &place.rift(&["bridge", "add", "--owner", "alice", "--token", "t", "--mode", "loud"]),
    );
    assert!(bad.contains("mode"), "{bad}");
}

#[test]
fn bad_arguments_give_one_line_and_a_failure() {
    let place = Place::sqlite();
    for args in [
        &["frobnicate"][..],
        &["user"],
        &["search", "words"],
        &["export"],
        &["export", "--server", "x", "--dm", "y", "--out", "z"],
        &["import", "json"],
    ] {
        let out = place.rift(args);
        let line = one_line_failure(&out);
        assert_eq!(out.status.code(), Some(2), "{args:?}: {line}");
    }
    let bad_id = one_line_failure(&place.rift(&["export", "--server", "nope", "--out", "x.jsonl"]));
    assert!(bad_id.contains("--server"), "{bad_id}");
    let missing = one_line_failure(&place.rift(&["import", "json", "/nonexistent/file.jsonl"]));
    assert!(missing.contains("cannot open"), "{missing}");
    std::fs::write(place.path("junk.jsonl"), "{\"hello\":1}\n").unwrap();
    let junk = one_line_failure(&place.rift(&["import", "json", place.path("junk.jsonl").to_str().unwrap()]));
    assert!(junk.contains("not a rift export"), "{junk}");
    assert!(place.ok(&["--help"]).contains("export"));
    assert_eq!(place.ok(&["--version"]), format!("rift {}\n", env!("CARGO_PKG_VERSION")));
    assert!(place.ok(&["bridge", "backfill", "--help"]).contains("--channels"));
}

#[tokio::test]
async fn truncated_export_is_refused_and_stores_nothing() {
    let from = Place::sqlite();
    from.populate().await;
    let file = from.path("full.jsonl");
    from.ok(&["export", "--out", file.to_str().unwrap()]);
    let text = read(&file);
    let lines: Vec<&str> = text.lines().collect();
    std::fs::write(from.path("cut.jsonl"), lines[..lines.len() - 3].join("\n")).unwrap();
    let to = Place::sqlite();
    let cut = one_line_failure(&to.rift(&["import", "json", from.path("cut.jsonl").to_str().unwrap()]));
    assert!(cut.contains("truncated"), "{cut}");
    let users: serde_json::Value = serde_json::from_str(&to.ok(&["user", "list", "--json"])).unwrap();
    assert_eq!(users, serde_json::json!([]), "nothing was stored");
}

/// A DiscordChatExporter export of one channel, as its JSON writer lays it out: two good
/// messages (one edited, one a reply) and one without an author.
fn dce_export() -> serde_json::Value {
    let author = serde_json::json!({"id": "80351110224678912", "name": "nelly", "discriminator": "0000",
        "nickname": "Nelly", "color": null, "isBot": false, "roles": [], "avatarUrl": ""});
    serde_json::json!({
        "guild": {"id": "81384788765712384", "name": "Discord API", "iconUrl": ""},
        "channel": {"id": "81384788765712384", "type": "GuildTextChat", "categoryId": null,
            "category": null, "name": "general", "topic": "talk <here>"},
        "dateRange": {"after": null, "before": null},
        "exportedAt": "2024-05-01T12:00:00+00:00",
        "messages": [
            {"id": "1235000000000000001", "type": "Default", "timestamp": "2024-05-01T10:00:00.000+00:00",
             "timestampEdited": "2024-05-01T10:05:00.000+00:00", "isPinned": false,
             "content": "imported from the exporter", "author": author,
             "attachments": [], "embeds": [], "stickers": [], "reactions": [], "mentions": []},
            {"id": "1235000000000000002", "type": "Reply", "timestamp": "2024-05-01T10:06:00.000+00:00",
             "timestampEdited": null, "isPinned": false, "content": "and a reply to it", "author": author,
             "attachments": [], "embeds": [], "stickers": [], "reactions": [], "mentions": [],
             "reference": {"messageId": "1235000000000000001", "channelId": "81384788765712384",
                 "guildId": "81384788765712384"}},
            {"id": "1235000000000000003", "type": "Default", "timestamp": "2024-05-01T10:07:00.000+00:00",
             "content": "no author"}
        ],
        "messageCount": 3
    })
}

#[tokio::test]
async fn discord_exports_import_once_through_the_cli() {
    let place = Place::sqlite();
    let sample = place.populate().await;
    let file = place.path("general.json");
    std::fs::write(&file, serde_json::to_vec(&dce_export()).unwrap()).unwrap();
    let file = file.to_str().unwrap();

    let out = place.rift(&["import", "dce", file, "--owner", "alice"]);
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(stdout.contains("2 imported") && stdout.contains("1 skipped"), "{stdout}");
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(stderr.contains("general.json: messages[2]"), "the bad record is located: {stderr}");

    let again: serde_json::Value =
        serde_json::from_str(&place.ok(&["import", "dce", file, "--owner", "alice", "--json"])).unwrap();
    assert_eq!((again["imported"].as_u64(), again["unchanged"].as_u64()), (Some(0), Some(2)), "{again}");

    let found: serde_json::Value =
        serde_json::from_str(&place.ok(&["search", "exporter", "--as", "alice", "--json"])).unwrap();
    let hits = found.as_array().unwrap();
    assert_eq!(hits.len(), 1, "{found}");
    assert_eq!(hits[0]["content"], "imported from the exporter");
    assert!(hits[0]["edited_at"].is_string(), "the edit time came along");
    assert_ne!(hits[0]["channel_id"], sample.channel.to_string(), "a channel of its own");

    let missing =
        one_line_failure(&place.rift(&["import", "discord-package", "nope.zip", "--owner", "alice"]));
    assert!(missing.contains("import failed"), "{missing}");
    one_line_failure(&place.rift(&["import", "dce", file, "--owner", "nobody"]));
}
