//! The web client's files: headers, the SPA fallback, and `/api` never answering with the page.

use reqwest::Method;

use crate::common::{TestServer, assert_error_shape};

const CSP: &str = "default-src 'self'; script-src 'self'";

/// Every path under `/api` that matches no route is the API's JSON 404, with or without a client.
async fn api_paths_are_never_the_page(s: &TestServer) {
    for path in ["/api", "/api/", "/api/nowhere", "/api/nowhere/deeper/", "/api/servers/x/y/z/w"] {
        for method in [Method::GET, Method::POST] {
            let reply = s.call(method.clone(), path, None, None).await;
            assert_eq!(reply.status.as_u16(), 404, "{method} {path}: {}", reply.body);
            assert_error_shape(&reply.body);
            assert_eq!(reply.body["error"]["code"], "unknown_route", "{method} {path}");
            let content_type = reply.headers.get("content-type").and_then(|v| v.to_str().ok());
            assert_eq!(content_type, Some("application/json"), "{method} {path}");
        }
    }
}

pub(crate) async fn the_client_is_served_with_strict_headers(db: rift_testing::TestDb) {
    let dir = tempfile::tempdir().expect("client dir");
    let index = "<!doctype html><title>Rift</title><script type=module src=/assets/app-1a2b.js></script>";
    std::fs::write(dir.path().join("index.html"), index).unwrap();
    std::fs::create_dir(dir.path().join("assets")).unwrap();
    std::fs::write(dir.path().join("assets/app-1a2b.js"), "console.log(1)").unwrap();
    let client_dir = dir.path().to_path_buf();
    let s = TestServer::start_with(db, move |_, http| http.client_dir = Some(client_dir)).await;

    // The page and the client's own routes: index.html, never cached without revalidation.
    for path in ["/", "/invite/abc123", "/channels/x/y"] {
        let page = s.http.get(s.url(path)).send().await.unwrap();
        assert_eq!(page.status(), 200, "{path}");
        let headers = page.headers().clone();
        assert_eq!(headers["cache-control"], "no-cache", "{path}");
        let csp = headers["content-security-policy"].to_str().unwrap();
        assert!(csp.starts_with(CSP), "{path}: {csp}");
        for part in ["object-src 'none'", "base-uri 'none'", "frame-ancestors 'none'"] {
            assert!(csp.contains(part), "{path}: {csp}");
        }
        assert!(!csp.contains("script-src 'self' 'unsafe-inline'"), "{csp}");
        assert_eq!(page.text().await.unwrap(), index, "{path}");
    }

    // Hashed assets: a year, immutable; a missing one is a 404 (never the page, never cached).
    let asset = s.http.get(s.url("/assets/app-1a2b.js")).send().await.unwrap();
    assert_eq!(asset.status(), 200);
    assert_eq!(asset.headers()["cache-control"], "public, max-age=31536000, immutable");
    assert!(asset.headers()["content-security-policy"].to_str().unwrap().starts_with(CSP));
    assert_eq!(asset.text().await.unwrap(), "console.log(1)");
    let missing = s.http.get(s.url("/assets/app-ffff.js")).send().await.unwrap();
    assert_eq!(missing.status(), 404);
    assert_eq!(missing.headers()["cache-control"], "no-cache");

    api_paths_are_never_the_page(&s).await;
    // The API itself is untouched.
    let health = s.call(Method::GET, "/api/health", None, None).await.expect(200);
    assert_eq!(health["status"], "ok");
}

pub(crate) async fn without_a_built_client_api_paths_are_still_json(db: rift_testing::TestDb) {
    let s = TestServer::start(db).await;
    let page = s.http.get(s.url("/")).send().await.unwrap();
    assert_eq!(page.status(), 200);
    assert!(page.headers()["content-security-policy"].to_str().unwrap().starts_with(CSP));
    assert!(page.text().await.unwrap().contains("not built yet"));
    api_paths_are_never_the_page(&s).await;
}

/// A client compiled into the binary, as `rift-server`'s build script makes it.
static EMBEDDED: &[rift_http::EmbeddedFile] = &[
    rift_http::EmbeddedFile::new(
        "index.html",
        b"<!doctype html><title>Embedded Rift</title>",
        Some(b"gzipped index"),
    ),
    rift_http::EmbeddedFile::new("assets/app-9z8y.js", b"console.log(2)", Some(b"gzipped script")),
    rift_http::EmbeddedFile::new("assets/logo-7x.png", b"\x89PNG", None),
    rift_http::EmbeddedFile::new("favicon.svg", b"<svg/>", None),
];

pub(crate) async fn an_embedded_client_is_served_by_the_same_rules(db: rift_testing::TestDb) {
    let s = TestServer::start_with(db, |_, http| http.embedded_client = Some(EMBEDDED)).await;
    let get = |path: &str, gzip: bool| {
        let request = s.http.get(s.url(path));
        let request = if gzip { request.header("accept-encoding", "br, gzip;q=0.8") } else { request };
        request.send()
    };

    // The page and the client's own routes: index.html, no-cache, the CSP.
    for path in ["/", "/index.html", "/invite/abc123", "/channels/x/y"] {
        let page = get(path, false).await.unwrap();
        assert_eq!(page.status(), 200, "{path}");
        let headers = page.headers().clone();
        assert_eq!(headers["content-type"], "text/html; charset=utf-8", "{path}");
        assert_eq!(headers["cache-control"], "no-cache", "{path}");
        assert_eq!(headers["vary"], "accept-encoding", "{path}");
        assert!(headers.get("content-encoding").is_none(), "{path}");
        assert!(headers["content-security-policy"].to_str().unwrap().starts_with(CSP), "{path}");
        assert_eq!(page.text().await.unwrap(), "<!doctype html><title>Embedded Rift</title>", "{path}");
    }
    // Compressed for a client that accepts gzip; not for one that refuses it.
    let page = get("/channels/x", true).await.unwrap();
    assert_eq!(page.headers()["content-encoding"], "gzip");
    assert_eq!(page.bytes().await.unwrap().as_ref(), b"gzipped index");
    let refused =
        s.http.get(s.url("/")).header("accept-encoding", "gzip;q=0, identity").send().await.unwrap();
    assert!(refused.headers().get("content-encoding").is_none());

    // Hashed assets: their type, a year, immutable; gzip when accepted; a miss is a 404.
    let script = get("/assets/app-9z8y.js", true).await.unwrap();
    assert_eq!(script.status(), 200);
    assert_eq!(script.headers()["content-type"], "text/javascript; charset=utf-8");
    assert_eq!(script.headers()["cache-control"], "public, max-age=31536000, immutable");
    assert_eq!(script.headers()["content-encoding"], "gzip");
    assert_eq!(script.bytes().await.unwrap().as_ref(), b"gzipped script");
    let image = get("/assets/logo-7x.png", true).await.unwrap();
    assert_eq!(image.headers()["content-type"], "image/png");
    assert!(image.headers().get("content-encoding").is_none(), "no gzip copy: sent as it is");
    assert_eq!(image.bytes().await.unwrap().as_ref(), b"\x89PNG");
    let missing = get("/assets/app-ffff.js", false).await.unwrap();
    assert_eq!(missing.status(), 404);
    assert_eq!(missing.headers()["cache-control"], "no-cache");
    let icon = get("/favicon.svg", false).await.unwrap();
    assert_eq!(
        (icon.status().as_u16(), icon.headers()["content-type"].to_str().unwrap()),
        (200, "image/svg+xml")
    );
    assert_eq!(icon.headers()["cache-control"], "no-cache");
    // HEAD answers the headers alone; other methods are refused in the API's shape.
    let head = s.http.head(s.url("/assets/app-9z8y.js")).send().await.unwrap();
    assert_eq!((head.status().as_u16(), head.headers()["content-length"].to_str().unwrap()), (200, "14"));
    let post = s.call(Method::POST, "/channels/x", None, None).await;
    assert_eq!(post.status.as_u16(), 405);
    assert_error_shape(&post.body);
    api_paths_are_never_the_page(&s).await;
}

pub(crate) async fn a_client_directory_wins_over_the_embedded_copy(db: rift_testing::TestDb) {
    let dir = tempfile::tempdir().expect("client dir");
    std::fs::write(dir.path().join("index.html"), "from the directory").unwrap();
    let client_dir = dir.path().to_path_buf();
    let s = TestServer::start_with(db, move |_, http| {
        http.client_dir = Some(client_dir);
        http.embedded_client = Some(EMBEDDED);
    })
    .await;
    let page = s.http.get(s.url("/somewhere")).send().await.unwrap();
    assert_eq!(page.text().await.unwrap(), "from the directory");
    // A directory without a client leaves the embedded copy in charge.
    let empty = tempfile::tempdir().expect("empty dir");
    let empty_dir = empty.path().to_path_buf();
    let s = TestServer::start_with(rift_testing::sqlite().await, move |_, http| {
        http.client_dir = Some(empty_dir);
        http.embedded_client = Some(EMBEDDED);
    })
    .await;
    let page = s.http.get(s.url("/")).send().await.unwrap();
    assert_eq!(page.text().await.unwrap(), "<!doctype html><title>Embedded Rift</title>");
}
