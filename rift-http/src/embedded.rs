//! A web client compiled into the binary: a table of files made at build time (`rift-server`'s
//! build script writes one `include_bytes!` per file of `client/dist`, with a gzip copy of those
//! that compress), served by the client routes as the directory would be.

/// One file of an embedded web client.
#[derive(Clone, Copy)]
pub struct EmbeddedFile {
    path: &'static str,
    bytes: &'static [u8],
    gzip: Option<&'static [u8]>,
}

impl std::fmt::Debug for EmbeddedFile {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("EmbeddedFile")
            .field("path", &self.path)
            .field("len", &self.bytes.len())
            .field("gzip_len", &self.gzip.map(<[u8]>::len))
            .finish()
    }
}

impl EmbeddedFile {
    /// The file at `path` (relative to the client's root, `/` separated, e.g. `assets/app-1a2b.js`)
    /// with its bytes and, when it is worth sending compressed, the same bytes gzipped.
    pub const fn new(path: &'static str, bytes: &'static [u8], gzip: Option<&'static [u8]>) -> Self {
        Self { path, bytes, gzip }
    }

    /// Its path relative to the client's root.
    pub fn path(&self) -> &'static str {
        self.path
    }

    /// Its bytes.
    pub fn bytes(&self) -> &'static [u8] {
        self.bytes
    }

    /// Its bytes gzipped, if it has a compressed copy.
    pub fn gzip(&self) -> Option<&'static [u8]> {
        self.gzip
    }

    /// Its `Content-Type`, by extension.
    pub fn content_type(&self) -> &'static str {
        content_type(self.path)
    }
}

/// The `Content-Type` of a client file, by its extension (what Vite emits, and the usual static
/// files beside it); anything else is `application/octet-stream`.
pub fn content_type(path: &str) -> &'static str {
    let extension = path.rsplit_once('.').map(|(_, e)| e.to_ascii_lowercase()).unwrap_or_default();
    match extension.as_str() {
        "html" | "htm" => "text/html; charset=utf-8",
        "js" | "mjs" => "text/javascript; charset=utf-8",
        "css" => "text/css; charset=utf-8",
        "json" | "map" => "application/json",
        "webmanifest" => "application/manifest+json",
        "svg" => "image/svg+xml",
        "png" => "image/png",
        "jpg" | "jpeg" => "image/jpeg",
        "gif" => "image/gif",
        "webp" => "image/webp",
        "avif" => "image/avif",
        "ico" => "image/x-icon",
        "woff" => "font/woff",
        "woff2" => "font/woff2",
        "ttf" => "font/ttf",
        "otf" => "font/otf",
        "txt" => "text/plain; charset=utf-8",
        "xml" => "application/xml",
        "wasm" => "application/wasm",
        _ => "application/octet-stream",
    }
}

#[cfg(test)]
mod tests {
    use super::content_type;

    #[track_caller]
    fn check(path: &str, expected: &str) {
        assert_eq!(content_type(path), expected, "{path}");
    }

    #[test]
    fn content_types_by_extension() {
        check("index.html", "text/html; charset=utf-8");
        check("assets/index-1a2B3c.js", "text/javascript; charset=utf-8");
        check("assets/index-1a2B3c.CSS", "text/css; charset=utf-8");
        check("favicon.svg", "image/svg+xml");
        check("assets/font-9f.woff2", "font/woff2");
        check("robots", "application/octet-stream");
        check("archive.tar.gz", "application/octet-stream");
    }
}
