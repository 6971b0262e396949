//! Each subcommand: parse its arguments into domain values, make the service or store call, print.

use std::io::{BufRead, BufWriter, Write};
use std::path::{Path, PathBuf};
use std::sync::Arc;

use rift::files::DirFileStore;
use rift::id::{BridgeConnectionId, ChannelId, ServerId, UserId};
use rift::import::ImportReport;
use rift::model::{BackfillState, User};
use rift::store::{ExportRecord, ExportScope};
use rift::{BridgeInput, BridgeView, Config, RegisterInput, Rift, SearchParams, Store, StoreError};
use rift_store::{DataLocation, Database};
use serde_json::json;

use crate::progress::Progress;
use crate::{
    BridgeCommand, Cli, Command, DiscordImportArgs, ExportArgs, Failure, ImportCommand, SearchArgs,
    ServerCommand, UserCommand,
};

/// The export format's name and version, in its header line.
pub(crate) const FORMAT: &str = "rift-export";
/// Bumped when a record's meaning changes; an import refuses versions it does not know.
pub(crate) const VERSION: u64 = 1;

/// The opened installation.
struct Installation {
    location: DataLocation,
    database: Database,
    store: Arc<dyn Store>,
    rift: Rift,
}

async fn open(cli: &Cli) -> Result<Installation, Failure> {
    let args = &cli.location;
    let location =
        DataLocation::resolve(&args.data_dir, args.database_url.as_deref(), args.upload_dir.as_deref());
    if !location.is_postgres() {
        std::fs::create_dir_all(&location.data_dir).map_err(|e| {
            Failure(format!("RIFT_DATA_DIR: cannot create {}: {e}", location.data_dir.display()))
        })?;
    }
    let database = rift_store::connect(&location.database_url)
        .await
        .map_err(|e| Failure(format!("DATABASE_URL: cannot open the database: {e}")))?;
    let store: Arc<dyn Store> = Arc::new(database.clone());
    // This process signs no tokens anyone keeps: a throwaway secret.
    let secret: [u8; 32] = rand::random();
    let rift = Rift::new(Arc::clone(&store), Config::new(secret.to_vec()));
    Ok(Installation { location, database, store, rift })
}

pub(crate) async fn run(cli: Cli) -> Result<(), Failure> {
    let installation = open(&cli).await?;
    let result = dispatch(&installation, cli.command).await;
    installation.database.close().await;
    result
}

async fn dispatch(inst: &Installation, command: Command) -> Result<(), Failure> {
    match command {
        Command::Migrate => {
            // Opening the database applied every migration it lacked.
            println!("database is up to date ({})", inst.store.backend().as_str());
            Ok(())
        }
        Command::User(command) => user(inst, command).await,
        Command::Server(ServerCommand::List { json }) => server_list(inst, json).await,
        Command::Search(args) => search(inst, args).await,
        Command::Export(args) => export(inst, args).await,
        Command::Import(ImportCommand::Json { file }) => import_json(inst, &file).await,
        Command::Import(ImportCommand::DiscordPackage { file, target }) => {
            import_discord(inst, &target, None, DiscordSource::Package(&file)).await
        }
        Command::Import(ImportCommand::Dce { files, discord_id, target }) => {
            import_discord(inst, &target, discord_id, DiscordSource::Dce(&files)).await
        }
        Command::Backup(args) => backup(inst, args.out.as_deref()).await,
        Command::Bridge(command) => bridge(inst, command).await,
    }
}

fn password(given: Option<String>, from_stdin: bool) -> Result<String, Failure> {
    if let Some(password) = given {
        return Ok(password);
    }
    if !from_stdin {
        return Err(Failure(
            "give the password with --password-stdin (or --password / RIFT_PASSWORD)".into(),
        ));
    }
    let mut line = String::new();
    std::io::stdin().lock().read_line(&mut line)?;
    Ok(line.trim_end_matches(['\r', '\n']).to_owned())
}

/// A user by id or username.
async fn find_user(inst: &Installation, user: &str) -> Result<User, Failure> {
    let found = match user.parse::<UserId>() {
        Ok(id) => inst.store.user(id).await?,
        Err(_) => inst.store.user_by_username(user).await?,
    };
    found.ok_or_else(|| Failure(format!("no user {user:?}")))
}

fn parse_id<T: std::str::FromStr>(what: &str, value: &str) -> Result<T, Failure> {
    value.parse().map_err(|_| Failure(format!("{what} must be an id (a UUID), not {value:?}")))
}

fn print_json(value: &impl serde::Serialize) -> Result<(), Failure> {
    println!("{}", serde_json::to_string_pretty(value)?);
    Ok(())
}

/// Every row of a paged listing.
async fn all_pages<T, K: Copy, F>(key: impl Fn(&T) -> K, mut page: F) -> Result<Vec<T>, Failure>
where
    F: AsyncFnMut(Option<K>) -> Result<Vec<T>, StoreError>,
{
    const PAGE: usize = 500;
    let mut all = Vec::new();
    let mut after = None;
    loop {
        let rows = page(after).await?;
        let full = rows.len() == PAGE;
        after = rows.last().map(&key);
        all.extend(rows);
        if !full {
            return Ok(all);
        }
    }
}

async fn user(inst: &Installation, command: UserCommand) -> Result<(), Failure> {
    match command {
        UserCommand::Create { username, password: given, password_stdin, email, display_name, json } => {
            let mut input = RegisterInput::new(username, password(given, password_stdin)?);
            input.email = email;
            input.display_name = display_name;
            let user = inst.rift.register(input).await?.user;
            if json {
                print_json(&user)
            } else {
                println!("created user {} ({})", user.username, user.id);
                Ok(())
            }
        }
        UserCommand::List { json } => {
            let users =
                all_pages(|u: &User| u.id, async |after| inst.store.all_users(after, 500).await).await?;
            if json {
                return print_json(&users);
            }
            println!("{:<36}  {:<32}  {:<7}  DISPLAY NAME", "ID", "USERNAME", "KIND");
            for user in users {
                let kind = if user.is_puppet { "puppet" } else { "user" };
                println!("{:<36}  {:<32}  {kind:<7}  {}", user.id, user.username, user.display_name);
            }
            Ok(())
        }
        UserCommand::Disable { user } => {
            let user = find_user(inst, &user).await?;
            inst.rift.disable_user(user.id).await?;
            println!("disabled {}: signed out everywhere, cannot sign in", user.username);
            Ok(())
        }
        UserCommand::Enable { user } => {
            let user = find_user(inst, &user).await?;
            inst.rift.enable_user(user.id).await?;
            println!("enabled {}", user.username);
            Ok(())
        }
        UserCommand::ResetPassword { user, password: given, password_stdin } => {
            let user = find_user(inst, &user).await?;
            inst.rift.reset_password(user.id, &password(given, password_stdin)?).await?;
            println!("password of {} reset; their sessions must sign in again", user.username);
            Ok(())
        }
    }
}

async fn server_list(inst: &Installation, json: bool) -> Result<(), Failure> {
    let servers =
        all_pages(|s: &rift::model::Server| s.id, async |after| inst.store.all_servers(after, 500).await)
            .await?;
    if json {
        return print_json(&servers);
    }
    println!("{:<36}  {:<36}  NAME", "ID", "OWNER");
    for server in servers {
        println!("{:<36}  {:<36}  {}", server.id, server.owner_id, server.name);
    }
    Ok(())
}

fn parse_time(what: &str, value: &str) -> Result<rift::Timestamp, Failure> {
    chrono::DateTime::parse_from_rfc3339(value)
        .map(|t| t.with_timezone(&chrono::Utc))
        .map_err(|_| Failure(format!("{what} must be an RFC 3339 time such as 2026-01-31T12:00:00Z")))
}

async fn search(inst: &Installation, args: SearchArgs) -> Result<(), Failure> {
    let viewer = find_user(inst, &args.as_user).await?;
    let mut params = SearchParams::text(args.query);
    params.server_id = args.server.as_deref().map(|v| parse_id::<ServerId>("--server", v)).transpose()?;
    params.channel_id = args.channel.as_deref().map(|v| parse_id::<ChannelId>("--channel", v)).transpose()?;
    if let Some(author) = &args.author {
        params.author_id = Some(find_user(inst, author).await?.id);
    }
    params.before = args.before.as_deref().map(|v| parse_time("--before", v)).transpose()?;
    params.after = args.after.as_deref().map(|v| parse_time("--after", v)).transpose()?;
    params.has_attachment = args.has_attachment;
    params.limit = args.limit;
    let found = inst.rift.search(viewer.id, params).await?;
    if args.json {
        return print_json(&found);
    }
    for hit in found {
        let message = &hit.message;
        let when = message.created_at.format("%Y-%m-%d %H:%M");
        let text = message.content.replace('\n', " ");
        println!("{when}  {}  {}  {}: {text}", message.id, message.channel_id, message.author.username);
    }
    Ok(())
}

/// The folder of attachment files beside an export file: `x.jsonl` → `x.files`.
pub(crate) fn files_dir(file: &Path) -> PathBuf {
    file.with_extension("files")
}

fn scope(args: &ExportArgs) -> Result<(ExportScope, String), Failure> {
    Ok(match (&args.server, &args.channel, &args.dm) {
        (Some(id), _, _) => {
            let id: ServerId = parse_id("--server", id)?;
            (ExportScope::Server(id), format!("server:{id}"))
        }
        (_, Some(id), _) | (_, _, Some(id)) => {
            let id: ChannelId = parse_id("--channel/--dm", id)?;
            (ExportScope::Channel(id), format!("channel:{id}"))
        }
        _ => (ExportScope::All, "all".to_owned()),
    })
}

/// Copies an upload's file, if the upload directory has it; `false` when it is missing.
fn copy_file(from_dir: &Path, id: &str, to: &Path) -> Result<bool, Failure> {
    let source = from_dir.join(id);
    if !source.is_file() {
        return Ok(false);
    }
    if let Some(parent) = to.parent() {
        std::fs::create_dir_all(parent)?;
    }
    std::fs::copy(&source, to).map_err(|e| Failure(format!("cannot copy {}: {e}", source.display())))?;
    Ok(true)
}

async fn export(inst: &Installation, args: ExportArgs) -> Result<(), Failure> {
    let (scope, scope_name) = scope(&args)?;
    if args.html {
        return crate::archive::write(&*inst.store, scope, &inst.location.upload_dir, &args.out).await;
    }
    let file = std::fs::File::create(&args.out)
        .map_err(|e| Failure(format!("cannot create {}: {e}", args.out.display())))?;
    let mut out = BufWriter::new(file);
    let header = json!({"type": "header", "format": FORMAT, "version": VERSION, "scope": scope_name,
        "password_hashes": args.password_hashes});
    writeln!(out, "{header}")?;
    let files = files_dir(&args.out);
    let progress = Progress::spinner("exporting");
    let mut attachments = Vec::new();
    let count = inst
        .store
        .export(scope, args.password_hashes, &mut |record: ExportRecord| {
            if record.kind == "attachment"
                && let Some(id) = record.fields.get("id").and_then(|v| v.as_str())
            {
                attachments.push(id.to_owned());
            }
            let line = serde_json::to_string(&record).map_err(|e| StoreError::Corrupt(e.to_string()))?;
            writeln!(out, "{line}").map_err(|e| StoreError::Backend(Box::new(e)))?;
            progress.tick();
            Ok(())
        })
        .await?;
    writeln!(out, "{}", json!({"type": "end", "records": count}))?;
    out.flush()?;
    progress.finish();
    let mut missing = 0;
    if !attachments.is_empty() {
        std::fs::create_dir_all(&files)?;
        let bar = Progress::bar("copying files", attachments.len() as u64);
        for id in &attachments {
            if !copy_file(&inst.location.upload_dir, id, &files.join(id))? {
                missing += 1;
            }
            bar.tick();
        }
        bar.finish();
    }
    println!("exported {count} records to {}", args.out.display());
    if !attachments.is_empty() {
        println!("copied {} attachment files to {}", attachments.len() - missing, files.display());
    }
    if missing > 0 {
        eprintln!("warning: {missing} attachment files were not in {}", inst.location.upload_dir.display());
    }
    Ok(())
}

/// The records of an export file after its header, as [`Store::import`] takes them; the end
/// line's count is checked, so a truncated file is refused.
struct Records {
    lines: std::io::Lines<std::io::BufReader<std::fs::File>>,
    line: u64,
    seen: u64,
    ended: bool,
    attachments: Vec<String>,
    progress: Progress,
}

impl Iterator for Records {
    type Item = Result<ExportRecord, StoreError>;

    fn next(&mut self) -> Option<Self::Item> {
        let corrupt = |line: u64, why: String| Some(Err(StoreError::Corrupt(format!("line {line}: {why}"))));
        loop {
            let text = match self.lines.next() {
                None if self.ended => return None,
                None => return corrupt(self.line, "the file ends without its end line (truncated?)".into()),
                Some(Err(e)) => return corrupt(self.line + 1, e.to_string()),
                Some(Ok(text)) => text,
            };
            self.line += 1;
            if text.trim().is_empty() {
                continue;
            }
            if self.ended {
                return corrupt(self.line, "records after the end line".into());
            }
            let record: ExportRecord = match serde_json::from_str(&text) {
                Ok(record) => record,
                Err(e) => return corrupt(self.line, format!("not a record: {e}")),
            };
            if record.kind == "end" {
                let expected = record.fields.get("records").and_then(serde_json::Value::as_u64);
                if expected != Some(self.seen) {
                    return corrupt(
                        self.line,
                        format!("the end line counts {expected:?} records, the file has {}", self.seen),
                    );
                }
                self.ended = true;
                continue;
            }
            self.seen += 1;
            self.progress.tick();
            if record.kind == "attachment"
                && let Some(id) = record.fields.get("id").and_then(|v| v.as_str())
            {
                self.attachments.push(id.to_owned());
            }
            return Some(Ok(record));
        }
    }
}

async fn import_json(inst: &Installation, file: &Path) -> Result<(), Failure> {
    let opened =
        std::fs::File::open(file).map_err(|e| Failure(format!("cannot open {}: {e}", file.display())))?;
    let mut lines = std::io::BufReader::new(opened).lines();
    let header: serde_json::Value = match lines.next() {
        Some(Ok(line)) => {
            serde_json::from_str(&line).map_err(|_| Failure("line 1: not a rift export header".into()))?
        }
        _ => return Err(Failure(format!("{} is empty", file.display()))),
    };
    if header["type"] != "header" || header["format"] != FORMAT {
        return Err(Failure(format!("{} is not a rift export (no header line)", file.display())));
    }
    if header["version"].as_u64() != Some(VERSION) {
        return Err(Failure(format!(
            "export format version {} is not supported (this rift reads {VERSION})",
            header["version"]
        )));
    }
    let mut records = Records {
        lines,
        line: 1,
        seen: 0,
        ended: false,
        attachments: Vec::new(),
        progress: Progress::spinner("importing"),
    };
    let count = inst.store.import(&mut records).await.map_err(|e| match e {
        StoreError::Conflict(rift::Conflict::DatabaseNotEmpty) => Failure(
            "the database is not empty: import only into a new, empty database (nothing was changed)".into(),
        ),
        e => Failure(format!("import failed, nothing was stored: {e}")),
    })?;
    records.progress.finish();
    let files = files_dir(file);
    std::fs::create_dir_all(&inst.location.upload_dir)?;
    let bar = Progress::bar("copying files", records.attachments.len() as u64);
    let mut missing = 0;
    for id in &records.attachments {
        if !copy_file(&files, id, &inst.location.upload_dir.join(id))? {
            missing += 1;
        }
        bar.tick();
    }
    bar.finish();
    println!("imported {count} records from {}", file.display());
    if missing > 0 {
        eprintln!("warning: {missing} attachment files were not in {}", files.display());
    }
    Ok(())
}

/// What a Discord import reads.
enum DiscordSource<'a> {
    Package(&'a Path),
    Dce(&'a [PathBuf]),
}

async fn import_discord(
    inst: &Installation,
    target: &DiscordImportArgs,
    discord_id: Option<u64>,
    source: DiscordSource<'_>,
) -> Result<(), Failure> {
    let owner = find_user(inst, &target.owner).await?;
    std::fs::create_dir_all(&inst.location.upload_dir)?;
    inst.rift.set_file_store(Arc::new(DirFileStore::new(&inst.location.upload_dir)));
    let import = rift_discord::import::Import::new(&inst.rift, owner.id)
        .own_discord_id(discord_id.map(rift_discord::model::Snowflake::new));
    let bar = Progress::bar("importing messages", 0);
    let mut progress = |report: &ImportReport| bar.set(report.done, report.total);
    let report = match source {
        DiscordSource::Package(file) => import.package(file, &mut progress).await,
        DiscordSource::Dce(files) => import.dce(files, &mut progress).await,
    }
    .map_err(|e| Failure(format!("import failed: {e}")))?;
    bar.finish();
    if target.json {
        return print_json(&report);
    }
    for problem in &report.problems {
        eprintln!("{}: {}", problem.location, problem.reason);
    }
    if report.problems_dropped > 0 {
        eprintln!("… and {} more problems", report.problems_dropped);
    }
    println!(
        "{} imported, {} unchanged, {} updated, {} skipped, {} files",
        report.imported, report.unchanged, report.updated, report.skipped, report.files
    );
    Ok(())
}

async fn backup(inst: &Installation, out: Option<&Path>) -> Result<(), Failure> {
    if inst.location.is_postgres() {
        // pg_dump takes one consistent snapshot while the servers keep running.
        println!("pg_dump --format=custom --file=rift-$(date +%Y%m%d-%H%M%S).dump \"$DATABASE_URL\"");
        println!("# and copy the upload directory: {}", inst.location.upload_dir.display());
        return Ok(());
    }
    let out = out.ok_or_else(|| Failure("give the backup file to write: rift backup FILE".into()))?;
    if out.exists() {
        return Err(Failure(format!("{} exists: give a new file", out.display())));
    }
    inst.database.backup_sqlite(out).await?;
    println!("wrote a consistent copy of the database to {}", out.display());
    println!("copy the upload directory too: {}", inst.location.upload_dir.display());
    Ok(())
}

fn print_bridge(view: &BridgeView) {
    let reason = view.status_reason.as_deref().map(|r| format!(" ({r})")).unwrap_or_default();
    let b = &view.backfill;
    let request = view
        .backfill_request
        .as_ref()
        .map(|r| format!("  last backfill request {} {}", r.id, r.state.as_str()))
        .unwrap_or_default();
    println!(
        "{}  owner {}  {} {}  {}{reason}  backfill {}/{} channels, {} messages{request}",
        view.id,
        view.owner_id,
        view.token_kind,
        view.mode,
        view.status.as_str(),
        b.channels_done,
        b.channels_total,
        b.messages
    );
}

/// How often a waiting `bridge backfill` reads the request and the progress.
const BACKFILL_POLL: std::time::Duration = std::time::Duration::from_millis(500);
/// How long a request may stay pending before the command says why it waits.
const PENDING_HINT_AFTER: std::time::Duration = std::time::Duration::from_secs(10);

/// `bridge backfill`: records the request, then (unless told not to) follows it to its end.
async fn bridge_backfill(
    inst: &Installation,
    id: &str,
    channels: &[String],
    wait: Option<Option<std::time::Duration>>,
    json: bool,
) -> Result<(), Failure> {
    let rift = &inst.rift;
    let (owner, id) = bridge_owner(inst, id).await?;
    let channels = match channels {
        [] => None,
        ids => {
            Some(ids.iter().map(|c| parse_id::<ChannelId>("a channel", c)).collect::<Result<Vec<_>, _>>()?)
        }
    };
    let mut request = rift.request_bridge_backfill(owner, id, channels).await?;
    let Some(timeout) = wait else {
        if json {
            return print_json(&json!({ "request": request }));
        }
        println!("backfill request {} recorded; `rift bridge status {id}` shows its progress", request.id);
        return Ok(());
    };
    let started = std::time::Instant::now();
    let bar = Progress::bar("backfill (channels)", 0);
    let mut hinted = false;
    let view = loop {
        request = rift.bridge_backfill_request(owner, request.id).await?;
        let view = rift.bridge_connection(owner, id).await?;
        bar.set(u64::from(view.backfill.channels_done), u64::from(view.backfill.channels_total));
        if request.state.is_finished() {
            break view;
        }
        if request.state == BackfillState::Pending && !hinted && started.elapsed() >= PENDING_HINT_AFTER {
            hinted = true;
            bar.finish();
            eprintln!(
                "waiting for the process running connection {id} (rift-server or rift-bridge on this \
                 database) to take the request; status {}",
                view.status.as_str()
            );
        }
        if let Some(timeout) = timeout
            && started.elapsed() >= timeout
        {
            bar.finish();
            return Err(Failure(format!(
                "stopped waiting after {} s: backfill request {} is {} and still runs",
                timeout.as_secs(),
                request.id,
                request.state.as_str()
            )));
        }
        tokio::time::sleep(BACKFILL_POLL).await;
    };
    bar.finish();
    if json {
        print_json(&json!({ "request": request, "connection": view }))?;
    } else {
        let b = &view.backfill;
        println!(
            "backfill request {} {}: {}/{} channels complete, {} messages stored by backfill",
            request.id,
            request.state.as_str(),
            b.channels_done,
            b.channels_total,
            b.messages
        );
    }
    match request.error {
        Some(error) if request.state == BackfillState::Failed => {
            Err(Failure(format!("the backfill failed: {error}")))
        }
        _ => Ok(()),
    }
}

/// The owner of a connection (the service speaks for owners; the administrator acts as one).
async fn bridge_owner(inst: &Installation, id: &str) -> Result<(UserId, BridgeConnectionId), Failure> {
    let id: BridgeConnectionId = parse_id("the connection", id)?;
    let connection = inst
        .store
        .bridge_connection(id)
        .await?
        .ok_or_else(|| Failure(format!("no bridge connection {id}")))?;
    Ok((connection.owner_id, id))
}

async fn bridge(inst: &Installation, command: BridgeCommand) -> Result<(), Failure> {
    let rift = &inst.rift;
    match command {
        BridgeCommand::Add { owner, token, token_kind, mode, json } => {
            let owner = find_user(inst, &owner).await?;
            let view = rift
                .create_bridge_connection(owner.id, BridgeInput::new("discord", token, token_kind, mode))
                .await?;
            if json {
                return print_json(&view);
            }
            print_bridge(&view);
            Ok(())
        }
        BridgeCommand::List { owner, json } => {
            let owners: Vec<UserId> = match owner {
                Some(owner) => vec![find_user(inst, &owner).await?.id],
                None => {
                    let mut owners: Vec<UserId> =
                        inst.store.bridge_connections(None).await?.into_iter().map(|c| c.owner_id).collect();
                    owners.sort();
                    owners.dedup();
                    owners
                }
            };
            let mut views = Vec::new();
            for owner in owners {
                views.extend(rift.bridge_connections(owner).await?);
            }
            if json {
                return print_json(&views);
            }
            views.iter().for_each(print_bridge);
            Ok(())
        }
        BridgeCommand::Status { id, json } => {
            let (owner, id) = bridge_owner(inst, &id).await?;
            let view = rift.bridge_connection(owner, id).await?;
            if json {
                return print_json(&view);
            }
            print_bridge(&view);
            Ok(())
        }
        BridgeCommand::Backfill { id, channels, no_wait, timeout, json } => {
            let wait = (!no_wait).then(|| timeout.map(std::time::Duration::from_secs));
            bridge_backfill(inst, &id, &channels, wait, json).await
        }
        BridgeCommand::Pause { id } => {
            let (owner, id) = bridge_owner(inst, &id).await?;
            print_bridge(&rift.set_bridge_paused(owner, id, true).await?);
            Ok(())
        }
        BridgeCommand::Resume { id } => {
            let (owner, id) = bridge_owner(inst, &id).await?;
            print_bridge(&rift.set_bridge_paused(owner, id, false).await?);
            Ok(())
        }
        BridgeCommand::Remove { id } => {
            let (owner, id) = bridge_owner(inst, &id).await?;
            rift.delete_bridge_connection(owner, id).await?;
            println!("removed bridge connection {id} (the mirrored data stays)");
            Ok(())
        }
    }
}
