//! The web client compiled into this binary by `build.rs` (release builds with a built
//! `client/dist`), and which client the server serves.

use std::path::{Path, PathBuf};

use rift_http::{EmbeddedFile, HttpConfig};

/// Where a server without an embedded client looks for one on disk.
const DEFAULT_CLIENT_DIR: &str = "./client/dist";

/// The web client compiled into this binary, if any.
static CLIENT: Option<&[EmbeddedFile]> = include!(concat!(env!("OUT_DIR"), "/embedded_client.rs"));

/// Chooses the client: an explicit `CLIENT_DIR` from disk, else the embedded copy, else the
/// default directory (a debug build, or a release built before the client was).
pub(crate) fn choose_client(http: &mut HttpConfig, client_dir: Option<&Path>) {
    match (client_dir, CLIENT) {
        (Some(dir), _) => {
            tracing::info!(dir = %dir.display(), "serving the web client from CLIENT_DIR");
            http.client_dir = Some(dir.to_path_buf());
        }
        (None, Some(files)) => {
            tracing::info!(files = files.len(), "serving the web client built into this binary");
            http.embedded_client = Some(files);
        }
        (None, None) => http.client_dir = Some(PathBuf::from(DEFAULT_CLIENT_DIR)),
    }
}

#[cfg(test)]
mod tests {
    use std::io::Read;
    use std::path::PathBuf;
    use std::sync::Arc;

    use rift::{Config, Rift};
    use rift_http::{AppState, EmbeddedFile, HttpConfig};

    /// `tests/fixtures/client` as the build script compiled it in.
    static FIXTURE: Option<&[EmbeddedFile]> = include!(concat!(env!("OUT_DIR"), "/fixture_client.rs"));

    fn fixture_dir() -> PathBuf {
        PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/client")
    }

    fn gunzip(bytes: &[u8]) -> Vec<u8> {
        let mut plain = Vec::new();
        flate2::read::GzDecoder::new(bytes).read_to_end(&mut plain).expect("valid gzip");
        plain
    }

    #[test]
    fn the_generated_table_holds_every_file_with_working_gzip_copies() {
        let files = FIXTURE.expect("the fixture is always generated");
        let paths: Vec<&str> = files.iter().map(EmbeddedFile::path).collect();
        assert_eq!(
            paths,
            ["assets/index-Fx1a2b3c.js", "assets/index-Fx4d5e6f.css", "assets/logo-Fx7a8b.png", "index.html"]
        );
        for file in files {
            let on_disk = std::fs::read(fixture_dir().join(file.path())).expect("the fixture file");
            assert_eq!(file.bytes(), on_disk.as_slice(), "{}", file.path());
            if let Some(gz) = file.gzip() {
                assert_eq!(gunzip(gz), on_disk, "{}", file.path());
                assert!(gz.len() < on_disk.len(), "{}", file.path());
            }
        }
        let gzipped: Vec<&str> =
            files.iter().filter(|f| f.gzip().is_some()).map(EmbeddedFile::path).collect();
        // The bundle and the page compress; the tiny stylesheet and the image are sent as they are.
        assert_eq!(gzipped, ["assets/index-Fx1a2b3c.js", "index.html"]);
    }

    #[tokio::test]
    async fn the_generated_table_is_served_over_a_socket() {
        let db = rift_testing::sqlite().await;
        let rift =
            Rift::new(Arc::clone(&db.store), Config::new(b"a test secret of enough bytes!!!".to_vec()));
        let uploads = tempfile::tempdir().expect("upload dir");
        let mut http = HttpConfig::new(uploads.path());
        // No CLIENT_DIR given: the embedded copy, here the fixture.
        http.embedded_client = FIXTURE;
        let app = rift_http::router(AppState::new(rift, http));
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.expect("bind");
        let base = format!("http://{}", listener.local_addr().expect("addr"));
        let server = tokio::spawn(async move {
            let _ = axum::serve(listener, app.into_make_service_with_connect_info::<std::net::SocketAddr>())
                .await;
        });
        let client = reqwest::Client::new();
        let index = std::fs::read_to_string(fixture_dir().join("index.html")).expect("index");

        let page = client.get(format!("{base}/channels/somewhere")).send().await.expect("page");
        assert_eq!(page.headers()["content-type"], "text/html; charset=utf-8");
        assert_eq!(page.headers()["cache-control"], "no-cache");
        assert_eq!(page.text().await.expect("text"), index);

        let script = client
            .get(format!("{base}/assets/index-Fx1a2b3c.js"))
            .header("accept-encoding", "gzip")
            .send()
            .await
            .expect("script");
        assert_eq!(script.headers()["content-encoding"], "gzip");
        assert_eq!(script.headers()["cache-control"], "public, max-age=31536000, immutable");
        assert_eq!(script.headers()["content-type"], "text/javascript; charset=utf-8");
        let on_disk = std::fs::read(fixture_dir().join("assets/index-Fx1a2b3c.js")).expect("script");
        assert_eq!(gunzip(&script.bytes().await.expect("bytes")), on_disk);
        let style = client.get(format!("{base}/assets/index-Fx4d5e6f.css")).send().await.expect("style");
        assert_eq!(style.headers()["content-type"], "text/css; charset=utf-8");
        server.abort();
    }

    #[test]
    fn an_explicit_client_dir_wins_and_the_default_dir_is_the_fallback() {
        let mut http = HttpConfig::new("uploads");
        super::choose_client(&mut http, Some(std::path::Path::new("/srv/rift/client")));
        assert_eq!(http.client_dir.as_deref(), Some(std::path::Path::new("/srv/rift/client")));
        assert!(http.embedded_client.is_none());
        let mut http = HttpConfig::new("uploads");
        super::choose_client(&mut http, None);
        // This test binary is a debug build: nothing embedded unless RIFT_EMBED_CLIENT_DIR said so.
        match super::CLIENT {
            Some(_) => assert!(http.embedded_client.is_some() && http.client_dir.is_none()),
            None => assert_eq!(http.client_dir.as_deref(), Some(std::path::Path::new("./client/dist"))),
        }
    }
}
