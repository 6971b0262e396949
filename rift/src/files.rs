//! Rules for uploaded files: what a file is (sniffed from its bytes), how it may be served, and
//! what its stored name may contain. Pure functions, and [`FileStore`], the trait through which
//! the service layer writes bytes it was handed (mirrored attachments), and [`DirFileStore`], its
//! implementation over the upload directory (used by `rift-http` and `rift-bridge` alike).

use async_trait::async_trait;

use crate::id::UploadId;

/// Where uploaded files' bytes live. Each file is named by its upload id.
#[async_trait]
pub trait FileStore: Send + Sync + 'static {
    /// Stores `bytes` as the file of `id`; durable when it returns.
    async fn put(&self, id: UploadId, bytes: &[u8]) -> std::io::Result<()>;
    /// Makes `id` name the same bytes as `existing` (stored once; a copy where sharing is impossible).
    async fn share(&self, existing: UploadId, id: UploadId) -> std::io::Result<()>;
    /// The bytes of `id`.
    async fn get(&self, id: UploadId) -> std::io::Result<Vec<u8>>;
    /// Removes the file of `id`; a file already gone is not an error. Bytes `id` shares with
    /// other ids ([`FileStore::share`]) stay theirs.
    async fn remove(&self, id: UploadId) -> std::io::Result<()>;
}

/// The upload directory as the service layer's [`FileStore`]: each file is named by its upload
/// id, written to a temporary name, synced, then renamed, so a crash never leaves half a file
/// under a real id.
#[derive(Debug, Clone)]
pub struct DirFileStore {
    dir: std::path::PathBuf,
}

impl DirFileStore {
    /// Files under `dir` (made when first needed).
    pub fn new(dir: impl Into<std::path::PathBuf>) -> Self {
        Self { dir: dir.into() }
    }
}

#[async_trait]
impl FileStore for DirFileStore {
    async fn put(&self, id: UploadId, bytes: &[u8]) -> std::io::Result<()> {
        tokio::fs::create_dir_all(&self.dir).await?;
        let partial = self.dir.join(format!(".{id}.partial"));
        let mut file = tokio::fs::File::create(&partial).await?;
        tokio::io::AsyncWriteExt::write_all(&mut file, bytes).await?;
        file.sync_all().await?;
        drop(file);
        tokio::fs::rename(&partial, self.dir.join(id.to_string())).await
    }

    async fn share(&self, existing: UploadId, id: UploadId) -> std::io::Result<()> {
        let (from, to) = (self.dir.join(existing.to_string()), self.dir.join(id.to_string()));
        // A hard link stores the bytes once; where links are impossible, a copy.
        match tokio::fs::hard_link(&from, &to).await {
            Ok(()) => Ok(()),
            Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => Ok(()),
            Err(_) => tokio::fs::copy(&from, &to).await.map(drop),
        }
    }

    async fn get(&self, id: UploadId) -> std::io::Result<Vec<u8>> {
        tokio::fs::read(self.dir.join(id.to_string())).await
    }

    async fn remove(&self, id: UploadId) -> std::io::Result<()> {
        // Shared bytes are hard links (or copies): removing this name leaves the others whole.
        match tokio::fs::remove_file(self.dir.join(id.to_string())).await {
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(()),
            other => other,
        }
    }
}

/// Longest stored file name, in characters.
const MAX_FILENAME_CHARS: usize = 128;

/// The content type of a file from its first bytes, when they say so clearly.
pub(crate) fn sniff(head: &[u8]) -> Option<&'static str> {
    let starts = |magic: &[u8]| head.starts_with(magic);
    Some(if starts(b"\x89PNG\r\n\x1a\n") {
        "image/png"
    } else if starts(b"\xff\xd8\xff") {
        "image/jpeg"
    } else if starts(b"GIF87a") || starts(b"GIF89a") {
        "image/gif"
    } else if head.len() >= 12 && &head[..4] == b"RIFF" && &head[8..12] == b"WEBP" {
        "image/webp"
    } else if head.len() >= 12 && &head[..4] == b"RIFF" && &head[8..12] == b"WAVE" {
        "audio/wav"
    } else if starts(b"%PDF-") {
        "application/pdf"
    } else if starts(b"PK\x03\x04") {
        "application/zip"
    } else if starts(b"OggS") {
        "audio/ogg"
    } else if starts(b"ID3") || starts(b"\xff\xfb") {
        "audio/mpeg"
    } else if starts(b"fLaC") {
        "audio/flac"
    } else if head.len() >= 12 && &head[4..8] == b"ftyp" {
        "video/mp4"
    } else if starts(b"\x1a\x45\xdf\xa3") {
        "video/webm"
    } else if looks_like_markup(head) {
        "text/html"
    } else {
        return None;
    })
}

/// HTML or SVG by their opening tag (what a browser would sniff and run).
fn looks_like_markup(head: &[u8]) -> bool {
    let text = String::from_utf8_lossy(&head[..head.len().min(512)]).to_ascii_lowercase();
    let text = text.trim_start_matches('\u{feff}').trim_start();
    ["<!doctype html", "<html", "<script", "<svg", "<?xml", "<body", "<iframe"]
        .iter()
        .any(|tag| text.starts_with(tag))
}

/// The content type to store: the sniffed type when the bytes tell, else the client's (if it is a
/// well-formed `type/subtype`), else `application/octet-stream`.
pub(crate) fn content_type(head: &[u8], claimed: Option<&str>) -> String {
    if let Some(sniffed) = sniff(head) {
        return sniffed.to_owned();
    }
    let claimed = claimed.map(|c| c.split(';').next().unwrap_or("").trim().to_ascii_lowercase());
    match claimed {
        Some(c) if is_mime(&c) => c,
        _ => "application/octet-stream".to_owned(),
    }
}

fn is_mime(value: &str) -> bool {
    let ok = |part: &str| {
        !part.is_empty() && part.bytes().all(|b| b.is_ascii_alphanumeric() || b"!#$&^_.+-".contains(&b))
    };
    matches!(value.split_once('/'), Some((kind, sub)) if ok(kind) && ok(sub)) && value.len() <= 100
}

/// Whether a browser may show a file of this type inline: images other than SVG, audio, video and
/// plain text. Everything else is served as an attachment (a download), so HTML, SVG and scripts
/// never run in Rift's origin.
pub fn served_inline(content_type: &str) -> bool {
    (content_type.starts_with("image/") && !content_type.contains("svg"))
        || content_type.starts_with("audio/")
        || content_type.starts_with("video/")
        || content_type == "text/plain"
}

/// A file name safe to store and put in a URL path: no `/`, `\`, control characters or leading
/// dots; at most 128 characters; `file` when nothing is left.
pub fn sanitize_filename(name: &str) -> String {
    let cleaned: String = name
        .rsplit(['/', '\\'])
        .next()
        .unwrap_or("")
        .chars()
        .filter(|c| !c.is_control())
        .map(|c| {
            if matches!(c, '/' | '\\' | '?' | '#' | '%' | '"' | '<' | '>' | ':' | '*' | '|') {
                '_'
            } else {
                c
            }
        })
        .take(MAX_FILENAME_CHARS)
        .collect();
    let cleaned = cleaned.trim().trim_start_matches('.').trim();
    if cleaned.is_empty() { "file".to_owned() } else { cleaned.to_owned() }
}

/// An image's pixel size from its header (PNG and GIF), when it can be read.
pub(crate) fn image_size(head: &[u8]) -> Option<(i32, i32)> {
    if head.starts_with(b"\x89PNG\r\n\x1a\n") && head.len() >= 24 && &head[12..16] == b"IHDR" {
        let width = u32::from_be_bytes(head[16..20].try_into().ok()?);
        let height = u32::from_be_bytes(head[20..24].try_into().ok()?);
        return Some((i32::try_from(width).ok()?, i32::try_from(height).ok()?));
    }
    if (head.starts_with(b"GIF87a") || head.starts_with(b"GIF89a")) && head.len() >= 10 {
        let width = u16::from_le_bytes([head[6], head[7]]);
        let height = u16::from_le_bytes([head[8], head[9]]);
        return Some((i32::from(width), i32::from(height)));
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn removing_a_file_keeps_the_bytes_it_shares() {
        let dir = tempfile::tempdir().unwrap();
        let files = DirFileStore::new(dir.path());
        let (first, second) = (UploadId::new(), UploadId::new());
        files.put(first, b"same bytes").await.unwrap();
        files.share(first, second).await.unwrap();
        files.remove(first).await.unwrap();
        assert_eq!(files.get(first).await.unwrap_err().kind(), std::io::ErrorKind::NotFound);
        assert_eq!(files.get(second).await.unwrap(), b"same bytes");
        // Already gone, or never there: not an error.
        files.remove(first).await.unwrap();
        files.remove(UploadId::new()).await.unwrap();
    }

    #[test]
    fn sniffing_beats_the_client_claim() {
        assert_eq!(content_type(b"\x89PNG\r\n\x1a\nrest", Some("text/plain")), "image/png");
        assert_eq!(content_type(b"<html><script>", Some("image/png")), "text/html");
        assert_eq!(content_type(b"  <svg xmlns=", None), "text/html");
        assert_eq!(content_type(b"plain words", Some("text/plain; charset=utf-8")), "text/plain");
        assert_eq!(content_type(b"plain words", Some("not a type")), "application/octet-stream");
        assert_eq!(content_type(b"", None), "application/octet-stream");
    }

    #[test]
    fn only_harmless_types_are_inline() {
        for inline in ["image/png", "image/jpeg", "audio/ogg", "video/mp4", "text/plain"] {
            assert!(served_inline(inline), "{inline}");
        }
        for download in
            ["image/svg+xml", "text/html", "application/javascript", "text/javascript", "application/pdf"]
        {
            assert!(!served_inline(download), "{download}");
        }
    }

    #[test]
    fn file_names_are_sanitised() {
        assert_eq!(sanitize_filename("../../etc/passwd"), "passwd");
        assert_eq!(sanitize_filename("C:\\Users\\me\\cat.png"), "cat.png");
        assert_eq!(sanitize_filename(".htaccess"), "htaccess");
        assert_eq!(sanitize_filename("a\u{0}b\nc.txt"), "abc.txt");
        assert_eq!(sanitize_filename("what?.txt"), "what_.txt");
        assert_eq!(sanitize_filename(""), "file");
        assert_eq!(sanitize_filename("..."), "file");
        assert_eq!(sanitize_filename("猫😺.png"), "猫😺.png");
        assert_eq!(sanitize_filename(&"x".repeat(500)).chars().count(), 128);
    }

    #[test]
    fn image_sizes_from_headers() {
        let mut png = b"\x89PNG\r\n\x1a\n\0\0\0\x0dIHDR".to_vec();
        png.extend_from_slice(&640u32.to_be_bytes());
        png.extend_from_slice(&480u32.to_be_bytes());
        assert_eq!(image_size(&png), Some((640, 480)));
        assert_eq!(image_size(b"GIF89a\x10\x00\x20\x00"), Some((16, 32)));
        assert_eq!(image_size(b"GIF89a\x10"), None);
        assert_eq!(image_size(b"nothing"), None);
    }
}
