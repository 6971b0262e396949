//! Discord history without the Discord API: the data package that "Request all of my data"
//! produces (a ZIP) and DiscordChatExporter's JSON exports.
//!
//! Both land through the service's idempotent `mirror_*` writes, keyed on Discord's ids exactly as
//! the bridge keys them (servers, channels, users, messages and files under the `discord` source),
//! and message ids carry Discord's timestamps. So importing twice stores nothing twice, a later
//! bridge for the same guild finds the imported rows, and its live events update them.
//!
//! An import writes only into what is new or already the importer's (see
//! [`Rift::may_import_into`]). A malformed record is reported with its location and skipped; the
//! rest still imports. A file that cannot be read at all (not a ZIP, not JSON, over the size
//! limits) is an error.
//!
//! ```no_run
//! # async fn demo(rift: rift::Rift, owner: rift::UserId) -> rift::Result<()> {
//! use rift_discord::import::Import;
//! let mut progress = |r: &rift::import::ImportReport| eprint!("\r{}/{}", r.done, r.total);
//! let report = Import::new(&rift, owner).package("package.zip".as_ref(), &mut progress).await?;
//! for problem in &report.problems {
//!     eprintln!("{}: {}", problem.location, problem.reason);
//! }
//! # Ok(()) }
//! ```

mod dce;
mod package;
mod writer;
mod zip;

use std::path::{Component, Path, PathBuf};

use async_trait::async_trait;
use chrono::{NaiveDateTime, TimeZone, Utc};
use rift::import::{ImportReport, Importer, Progress};
use rift::{Error, Rift, Timestamp, UserId};

use crate::model::Snowflake;

pub use writer::SOURCE;

/// The largest JSON or CSV file read whole (a channel's messages, a DiscordChatExporter export).
pub const MAX_DOCUMENT_BYTES: u64 = 512 * 1024 * 1024;
/// The largest attachment taken from beside an export.
pub const MAX_FILE_BYTES: u64 = 100 * 1024 * 1024;

/// An import for one Rift user.
#[derive(Debug)]
pub struct Import<'a> {
    rift: &'a Rift,
    owner: UserId,
    own_discord_id: Option<Snowflake>,
}

impl<'a> Import<'a> {
    /// Imports owned by `owner`: what they wrote on Discord becomes theirs, everyone else a
    /// puppet (as the bridge maps them).
    pub fn new(rift: &'a Rift, owner: UserId) -> Self {
        Self { rift, owner, own_discord_id: None }
    }

    /// The owner's Discord account, whose messages in a DiscordChatExporter export are the
    /// owner's. Without it, the account a Discord bridge connection of the owner names is used;
    /// a data package names it itself.
    #[must_use]
    pub fn own_discord_id(mut self, id: Option<Snowflake>) -> Self {
        self.own_discord_id = id;
        self
    }

    /// Imports a data package ZIP.
    ///
    /// # Errors
    /// 400 `invalid_import` when it is not a readable data package; 413 `import_too_large` when
    /// a file in it is over the limits; store failures.
    pub async fn package(&self, path: &Path, progress: Progress<'_>) -> rift::Result<ImportReport> {
        let source = Source::zip(path).await?;
        let mut writer = self.writer(progress).await?;
        package::import(&mut writer, source).await?;
        Ok(writer.finish())
    }

    /// Imports DiscordChatExporter JSON exports; attachments are read from beside each file.
    ///
    /// # Errors
    /// As [`Import::package`]; a file that is not an export is reported and skipped.
    pub async fn dce(&self, paths: &[PathBuf], progress: Progress<'_>) -> rift::Result<ImportReport> {
        let mut writer = self.writer(progress).await?;
        for path in paths {
            let dir = path.parent().map(Path::to_path_buf).unwrap_or_default();
            let name = path.file_name().map(|n| n.to_string_lossy().into_owned()).unwrap_or_default();
            let mut source = Source::Dir(dir);
            dce::import(&mut writer, &mut source, &name, &name).await?;
        }
        Ok(writer.finish())
    }

    /// Imports a file of either kind: a ZIP with `messages/index.json` is a data package, any
    /// other ZIP holds DiscordChatExporter exports (with their media), anything else is one
    /// DiscordChatExporter export.
    ///
    /// # Errors
    /// As [`Import::package`].
    pub async fn file(
        &self,
        path: &Path,
        display_name: &str,
        progress: Progress<'_>,
    ) -> rift::Result<ImportReport> {
        let mut head = [0u8; 4];
        let is_zip = match tokio::fs::File::open(path).await {
            Ok(mut file) => {
                use tokio::io::AsyncReadExt;
                file.read(&mut head).await.map_err(io_error)? == 4 && head == *b"PK\x03\x04"
                    || head == *b"PK\x05\x06"
            }
            Err(e) => return Err(io_error(e)),
        };
        if !is_zip {
            let dir = path.parent().map(Path::to_path_buf).unwrap_or_default();
            let name = path.file_name().map(|n| n.to_string_lossy().into_owned()).unwrap_or_default();
            let mut writer = self.writer(progress).await?;
            dce::import(&mut writer, &mut Source::Dir(dir), &name, display_name).await?;
            return Ok(writer.finish());
        }
        let mut source = Source::zip(path).await?;
        let mut writer = self.writer(progress).await?;
        if package::root(&source).is_some() {
            package::import(&mut writer, source).await?;
        } else {
            let exports: Vec<String> =
                source.names().into_iter().filter(|n| n.to_lowercase().ends_with(".json")).collect();
            if exports.is_empty() {
                return Err(Error::invalid(
                    rift::ErrorCode::InvalidImport,
                    "the ZIP is neither a Discord data package nor DiscordChatExporter exports",
                ));
            }
            for name in exports {
                if is_dce_asset(&name) {
                    continue;
                }
                dce::import(&mut writer, &mut source, &name, &name).await?;
            }
        }
        Ok(writer.finish())
    }

    async fn writer<'p>(&self, progress: Progress<'p>) -> rift::Result<writer::Writer<'a, 'p>> {
        let own = match self.own_discord_id {
            Some(id) => Some(id),
            None => self
                .rift
                .bridge_connections(self.owner)
                .await?
                .into_iter()
                .find_map(|c| c.discord_user_id.and_then(|id| id.parse().ok())),
        };
        Ok(writer::Writer::new(self.rift, self.owner, own, progress))
    }
}

/// DiscordChatExporter's asset files end in `-XXXXX.ext` (five hex digits): a JSON asset is not
/// an export.
fn is_dce_asset(name: &str) -> bool {
    let stem = name.rsplit('/').next().unwrap_or(name);
    let stem = stem.rsplit_once('.').map_or(stem, |(s, _)| s);
    stem.len() > 6
        && stem.as_bytes()[stem.len() - 6] == b'-'
        && stem[stem.len() - 5..].bytes().all(|b| b.is_ascii_digit() || (b'A'..=b'F').contains(&b))
}

/// Import jobs that read Discord files (kind `discord`), for `rift-http`'s `/api/imports`.
pub fn import_jobs(rift: &Rift) -> rift::import::ImportJobs {
    rift::import::ImportJobs::new(rift.clone()).with_importer("discord", std::sync::Arc::new(DiscordImporter))
}

/// The Discord importer for [`rift::import::ImportJobs`] (kind `discord`): reads either kind of
/// file (see [`Import::file`]).
#[derive(Debug, Default, Clone, Copy)]
pub struct DiscordImporter;

#[async_trait]
impl Importer for DiscordImporter {
    async fn import(
        &self,
        rift: &Rift,
        owner: UserId,
        file: &Path,
        filename: &str,
        progress: Progress<'_>,
    ) -> rift::Result<ImportReport> {
        Import::new(rift, owner).file(file, filename, progress).await
    }
}

fn io_error(error: std::io::Error) -> Error {
    Error::invalid(rift::ErrorCode::InvalidImport, format!("cannot read the file: {error}"))
}

fn zip_error(error: zip::ZipError) -> Error {
    match error {
        zip::ZipError::TooLarge { name, limit } => {
            Error::too_large(rift::ErrorCode::ImportTooLarge, format!("{name} is larger than {limit} bytes"))
        }
        zip::ZipError::Corrupt(message) => Error::invalid(rift::ErrorCode::InvalidImport, message),
        zip::ZipError::Io(e) => io_error(e),
    }
}

/// Where an import reads files: a directory, or a ZIP archive.
pub(crate) enum Source {
    Dir(PathBuf),
    /// `None` only while a read holds it on a blocking thread.
    Zip(Option<zip::Zip<std::fs::File>>),
}

impl Source {
    async fn zip(path: &Path) -> rift::Result<Self> {
        let path = path.to_path_buf();
        let opened = tokio::task::spawn_blocking(move || {
            let file = std::fs::File::open(path).map_err(zip::ZipError::Io)?;
            zip::Zip::open(file)
        })
        .await
        .map_err(|e| Error::Internal(format!("import task: {e}")))?;
        Ok(Self::Zip(Some(opened.map_err(zip_error)?)))
    }

    /// The files of a ZIP (empty for a directory).
    fn names(&self) -> Vec<String> {
        match self {
            Self::Zip(Some(zip)) => zip.names().map(str::to_owned).collect(),
            _ => Vec::new(),
        }
    }

    /// The contents of `path` (relative, `/`-separated), `None` when absent or when the path
    /// would leave the source (absolute, `..`).
    async fn read(&mut self, path: &str, limit: u64) -> rift::Result<Option<Vec<u8>>> {
        let Some(relative) = safe_relative(path) else { return Ok(None) };
        match self {
            Self::Dir(dir) => {
                let full = dir.join(&relative);
                let meta = match tokio::fs::metadata(&full).await {
                    Ok(meta) if meta.is_file() => meta,
                    Ok(_) => return Ok(None),
                    Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(None),
                    Err(e) => return Err(io_error(e)),
                };
                if meta.len() > limit {
                    return Err(Error::too_large(
                        rift::ErrorCode::ImportTooLarge,
                        format!("{path} is larger than {limit} bytes"),
                    ));
                }
                tokio::fs::read(&full).await.map(Some).map_err(io_error)
            }
            Self::Zip(slot) => {
                let Some(mut zip) = slot.take() else {
                    return Err(Error::Internal("the archive is in use".into()));
                };
                let name = relative.to_string_lossy().replace('\\', "/");
                let (zip, result) = tokio::task::spawn_blocking(move || {
                    let result = zip.read(&name, limit);
                    (zip, result)
                })
                .await
                .map_err(|e| Error::Internal(format!("import task: {e}")))?;
                *slot = Some(zip);
                result.map_err(zip_error)
            }
        }
    }
}

/// `path` as a relative path inside a source, or `None` when it would leave it.
fn safe_relative(path: &str) -> Option<PathBuf> {
    let path = path.replace('\\', "/");
    if path.is_empty() || path.starts_with('/') || path.contains(':') {
        return None;
    }
    let mut out = PathBuf::new();
    for component in Path::new(&path).components() {
        match component {
            Component::Normal(part) => out.push(part),
            Component::CurDir => {}
            _ => return None,
        }
    }
    (!out.as_os_str().is_empty()).then_some(out)
}

/// `dir/name` for a source path (`name` alone when `dir` is empty).
fn join(dir: &str, name: &str) -> String {
    let name = name.replace('\\', "/");
    if dir.is_empty() { name } else { format!("{}/{name}", dir.trim_end_matches('/')) }
}

/// The folder part of a source path.
fn parent(path: &str) -> &str {
    path.rsplit_once('/').map_or("", |(dir, _)| dir)
}

/// A timestamp as the exports write them: RFC 3339 (DiscordChatExporter, newer packages),
/// `2020-01-02 03:04:05.678000+00:00` (CSV packages) or `2024-01-02 03:04:05` (UTC).
pub(crate) fn parse_loose_time(value: &str) -> Option<Timestamp> {
    let value = value.trim();
    if let Some(t) = crate::bridge::mapper::parse_time(value) {
        return Some(t);
    }
    if let Ok(t) = chrono::DateTime::parse_from_str(value, "%Y-%m-%d %H:%M:%S%.f%:z") {
        return Some(t.to_utc());
    }
    NaiveDateTime::parse_from_str(value, "%Y-%m-%d %H:%M:%S%.f").ok().map(|t| Utc.from_utc_datetime(&t))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn paths_never_leave_the_source() {
        assert_eq!(safe_relative("a/b.png"), Some(PathBuf::from("a/b.png")));
        assert_eq!(safe_relative("./a\\b.png"), Some(PathBuf::from("a/b.png")));
        for bad in ["", "/etc/passwd", "../x", "a/../../x", "C:\\x", "a/..", "."] {
            assert_eq!(safe_relative(bad), None, "{bad}");
        }
        assert_eq!(join("", "x.png"), "x.png");
        assert_eq!(join("exports", "x_Files\\a.png"), "exports/x_Files/a.png");
        assert_eq!(parent("a/b/c.json"), "a/b");
    }

    #[test]
    fn timestamps_of_every_export_kind() {
        let ms = |v: &str| parse_loose_time(v).map(|t| t.timestamp_millis());
        assert_eq!(ms("2024-03-04T05:06:07.891+00:00"), Some(1_709_528_767_891));
        assert_eq!(ms("2024-03-04T07:06:07.891+02:00"), Some(1_709_528_767_891));
        assert_eq!(ms("2024-03-04 05:06:07.891000+00:00"), Some(1_709_528_767_891));
        assert_eq!(ms("2024-03-04 05:06:07"), Some(1_709_528_767_000));
        assert_eq!(ms("yesterday"), None);
    }

    #[test]
    fn dce_assets_are_told_from_exports() {
        assert!(is_dce_asset("general.json_Files/data-1A2B3.json"));
        assert!(!is_dce_asset("Server - general [123].json"));
        assert!(!is_dce_asset("x.json"));
    }
}
