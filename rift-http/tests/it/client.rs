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
