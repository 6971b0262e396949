//! A hostile-input sweep over every route: the answer is always a documented status in the error
//! shape — never a 500, never a dropped connection — and nothing already stored changes.

use reqwest::{Method, StatusCode};
use serde_json::{Value, json};

use crate::common::{Account, TestServer, assert_error_shape};

/// Every route, with `{server}`, `{channel}`, `{message}`, `{role}`, `{user}`, `{code}` and
/// `{upload}` standing for real ids.
const ROUTES: &[(&str, &str)] = &[
    ("POST", "/api/auth/register"),
    ("POST", "/api/auth/login"),
    ("POST", "/api/auth/refresh"),
    ("POST", "/api/auth/logout"),
    ("POST", "/api/auth/logout-all"),
    ("GET", "/api/users/me"),
    ("PATCH", "/api/users/me"),
    ("PUT", "/api/users/me/password"),
    ("DELETE", "/api/users/me/servers/{server}"),
    ("GET", "/api/users/{user}"),
    ("POST", "/api/servers"),
    ("GET", "/api/servers"),
    ("GET", "/api/servers/{server}"),
    ("PATCH", "/api/servers/{server}"),
    ("DELETE", "/api/servers/{server}"),
    ("GET", "/api/servers/{server}/members"),
    ("DELETE", "/api/servers/{server}/members/{user}"),
    ("POST", "/api/servers/{server}/join"),
    ("GET", "/api/servers/{server}/bans"),
    ("PUT", "/api/servers/{server}/bans/{user}"),
    ("DELETE", "/api/servers/{server}/bans/{user}"),
    ("GET", "/api/servers/{server}/audit-log"),
    ("POST", "/api/servers/{server}/channels"),
    ("GET", "/api/servers/{server}/channels"),
    ("POST", "/api/servers/{server}/roles"),
    ("GET", "/api/servers/{server}/roles"),
    ("POST", "/api/servers/{server}/invites"),
    ("GET", "/api/servers/{server}/invites"),
    ("PATCH", "/api/roles/{role}"),
    ("DELETE", "/api/roles/{role}"),
    ("POST", "/api/roles/{role}/members/{user}"),
    ("DELETE", "/api/roles/{role}/members/{user}"),
    ("GET", "/api/invites/{code}"),
    ("DELETE", "/api/invites/{code}"),
    ("GET", "/api/channels/{channel}"),
    ("PATCH", "/api/channels/{channel}"),
    ("DELETE", "/api/channels/{channel}"),
    ("PUT", "/api/channels/{channel}/permissions/{role}"),
    ("DELETE", "/api/channels/{channel}/permissions/{role}"),
    ("POST", "/api/channels/{channel}/messages"),
    ("GET", "/api/channels/{channel}/messages"),
    ("PUT", "/api/channels/{channel}/ack"),
    ("POST", "/api/channels/{channel}/typing"),
    ("POST", "/api/dm/channels"),
    ("GET", "/api/dm/channels"),
    ("POST", "/api/dm/channels/{channel}/messages"),
    ("GET", "/api/dm/channels/{channel}/messages"),
    ("GET", "/api/messages/{message}"),
    ("PATCH", "/api/messages/{message}"),
    ("DELETE", "/api/messages/{message}"),
    ("GET", "/api/messages/{message}/history"),
    ("PUT", "/api/messages/{message}/reactions/{emoji}"),
    ("DELETE", "/api/messages/{message}/reactions/{emoji}"),
    ("DELETE", "/api/messages/{message}/reactions/{emoji}/{user}"),
    ("GET", "/api/search"),
    ("POST", "/api/upload"),
    ("GET", "/api/health"),
];

/// Statuses a hostile request may get.
const DOCUMENTED: &[u16] = &[200, 201, 204, 400, 401, 403, 404, 405, 409, 413, 429];

struct World {
    owner: Account,
    outsider: Account,
    server: String,
    channel: String,
    message: String,
    role: String,
    code: String,
}

impl World {
    fn path(&self, template: &str, ids: &Ids) -> String {
        template
            .replace("{server}", ids.server.unwrap_or(&self.server))
            .replace("{channel}", ids.channel.unwrap_or(&self.channel))
            .replace("{message}", ids.message.unwrap_or(&self.message))
            .replace("{role}", ids.role.unwrap_or(&self.role))
            .replace("{user}", ids.user.unwrap_or(&self.outsider.id))
            .replace("{code}", ids.code.unwrap_or(&self.code))
            .replace("{emoji}", ids.emoji.unwrap_or("%F0%9F%91%8D"))
    }
}

#[derive(Default, Clone, Copy)]
struct Ids<'a> {
    server: Option<&'a str>,
    channel: Option<&'a str>,
    message: Option<&'a str>,
    role: Option<&'a str>,
    user: Option<&'a str>,
    code: Option<&'a str>,
    emoji: Option<&'a str>,
}

impl Ids<'_> {
    fn all(id: &str) -> Ids<'_> {
        Ids {
            server: Some(id),
            channel: Some(id),
            message: Some(id),
            role: Some(id),
            user: Some(id),
            code: Some(id),
            emoji: None,
        }
    }
}

async fn world(s: &TestServer) -> World {
    let owner = s.register("owner").await;
    let outsider = s.register("outsider").await;
    let (server, channel) = s.server(&owner, "Fortress").await;
    let message = s.send(&owner, &channel, "the original text").await["id"].as_str().unwrap().to_owned();
    let role =
        s.post(&format!("/api/servers/{server}/roles"), &owner, json!({ "name": "guard" })).await.expect(201);
    let invite = s.post(&format!("/api/servers/{server}/invites"), &owner, json!({})).await.expect(201);
    World {
        owner,
        outsider,
        server,
        channel,
        message,
        role: role["id"].as_str().unwrap().to_owned(),
        code: invite["code"].as_str().unwrap().to_owned(),
    }
}

/// What must not change: the owner's view of the server, its channel, message, roles and history.
async fn snapshot(s: &TestServer, w: &World) -> Vec<Value> {
    let paths = [
        format!("/api/servers/{}", w.server),
        format!("/api/servers/{}/channels", w.server),
        format!("/api/servers/{}/roles", w.server),
        format!("/api/servers/{}/members", w.server),
        format!("/api/channels/{}/messages", w.channel),
        format!("/api/messages/{}/history", w.message),
        "/api/users/me".to_owned(),
    ];
    let mut out = Vec::new();
    for path in paths {
        out.push(s.get(&path, &w.owner).await.expect(200));
    }
    out
}

#[track_caller]
fn check(method: &str, path: &str, what: &str, status: StatusCode, body: &Value) {
    assert!(
        DOCUMENTED.contains(&status.as_u16()),
        "{method} {path} ({what}): undocumented status {status}: {body}"
    );
    if status.as_u16() >= 400 {
        assert_error_shape(body);
    }
}

async fn send_raw(
    s: &TestServer,
    method: &str,
    path: &str,
    token: Option<&str>,
    body: Vec<u8>,
    content_type: &str,
) -> (StatusCode, Value) {
    let method = Method::from_bytes(method.as_bytes()).unwrap();
    let mut request = s.http.request(method, s.url(path)).header("content-type", content_type).body(body);
    if let Some(token) = token {
        request = request.bearer_auth(token);
    }
    let reply = TestServer::reply(request.send().await.expect("the server answers")).await;
    (reply.status, reply.body)
}

pub(crate) async fn malformed_bodies_never_break_anything(s: TestServer) {
    let w = world(&s).await;
    let before = snapshot(&s, &w).await;
    let bodies: &[(&str, &[u8], &str)] = &[
        ("truncated json", b"{\"content\": \"hel", "application/json"),
        ("not json", b"<xml/>", "application/json"),
        ("wrong types", br#"{"content": 5, "name": [], "username": {}, "password": 1, "kind": 7, "allow": "x", "code": null, "recipient_id": 3, "message_id": true, "refresh_token": 1, "display_name": 9, "position": "top", "max_uses": "many", "reason": 5, "current_password": [], "new_password": {}}"#, "application/json"),
        ("huge numbers", br#"{"max_uses": 99999999999999999999999, "position": 1e400, "allow": 18446744073709551616, "color": -99999999999, "max_age_secs": 9223372036854775808}"#, "application/json"),
        ("top-level array", b"[1, 2, 3]", "application/json"),
        ("lone surrogate", br#"{"content": "\ud800", "name": "\udfff"}"#, "application/json"),
        ("nul bytes", b"{\"content\": \"a\\u0000b\"\x00}", "application/json"),
        ("wrong content type", br#"{"content": "hi", "name": "x"}"#, "text/plain"),
        ("form body", b"content=hi&name=x", "application/x-www-form-urlencoded"),
        ("empty", b"", "application/json"),
    ];
    for (method, template) in ROUTES {
        if *method == "GET" || template.ends_with("/delete") {
            continue;
        }
        let path = w.path(template, &Ids::default());
        if *method == "DELETE" {
            continue;
        }
        for (what, body, content_type) in bodies {
            let (status, reply) =
                send_raw(&s, method, &path, Some(&w.outsider.token), body.to_vec(), content_type).await;
            check(method, &path, what, status, &reply);
        }
    }
    assert_eq!(snapshot(&s, &w).await, before, "a rejected request changed stored state");
}

pub(crate) async fn oversized_bodies_are_413(s: TestServer) {
    let w = world(&s).await;
    let before = snapshot(&s, &w).await;
    let ten_mb = format!("{{\"content\": \"{}\"}}", "a".repeat(10 * 1024 * 1024)).into_bytes();
    for path in [
        format!("/api/channels/{}/messages", w.channel),
        "/api/servers".to_owned(),
        "/api/auth/register".to_owned(),
    ] {
        let (status, body) =
            send_raw(&s, "POST", &path, Some(&w.owner.token), ten_mb.clone(), "application/json").await;
        assert_eq!(status.as_u16(), 413, "{path}: {body}");
        assert_error_shape(&body);
    }
    assert_eq!(snapshot(&s, &w).await, before);
}

pub(crate) async fn bad_and_foreign_ids_are_400_and_404(s: TestServer) {
    let w = world(&s).await;
    let before = snapshot(&s, &w).await;
    let foreign = uuid::Uuid::now_v7().to_string();
    let cases: [(&str, Ids); 5] = [
        ("invalid ids", Ids::all("not-a-uuid")),
        ("foreign ids", Ids::all(&foreign)),
        ("sql in ids", Ids::all("1'%20OR%20'1'='1")),
        ("huge ids", Ids::all("99999999999999999999999999999999999999")),
        (
            "unicode ids",
            Ids { emoji: Some("%E2%80%AE%00"), code: Some("%00%F0%9F%A6%80"), ..Ids::all("%F0%9F%A6%80") },
        ),
    ];
    for (what, ids) in cases {
        for (method, template) in ROUTES {
            if !template.contains('{') {
                continue;
            }
            let path = w.path(template, &ids);
            let (status, body) =
                send_raw(&s, method, &path, Some(&w.owner.token), b"{}".to_vec(), "application/json").await;
            check(method, &path, what, status, &body);
            assert!(
                !matches!(status.as_u16(), 200 | 201 | 204)
                    || *method == "GET" && template.starts_with("/api/invites") && what == "never",
                "{method} {path} ({what}) succeeded: {body}"
            );
        }
    }
    assert_eq!(snapshot(&s, &w).await, before);
}

pub(crate) async fn unauthenticated_calls_are_401(s: TestServer) {
    let w = world(&s).await;
    let public =
        ["/api/auth/register", "/api/auth/login", "/api/auth/refresh", "/api/health", "/api/invites/{code}"];
    for (method, template) in ROUTES {
        if public.contains(template) {
            continue;
        }
        let path = w.path(template, &Ids::default());
        for token in [None, Some("not.a.jwt"), Some("")] {
            let (status, body) = send_raw(&s, method, &path, token, b"{}".to_vec(), "application/json").await;
            assert_eq!(status.as_u16(), 401, "{method} {path} with {token:?}: {body}");
            assert_error_shape(&body);
        }
    }
}

pub(crate) async fn metacharacters_and_unicode_are_plain_text(s: TestServer) {
    let w = world(&s).await;
    let nasty = [
        "'; DROP TABLE messages; --",
        "\" OR 1=1 --",
        "NEAR(a b) OR c* -d ^e \"f",
        "((((",
        "\\x00\\\\",
        "e\u{301}\u{301}\u{301} ﷽ 𒐫 \u{202e}evil\u{202c} 👩‍👩‍👧‍👦",
        "\u{0}",
        "%s%n%x {{7*7}} ${jndi:ldap://x}",
    ];
    for text in nasty {
        let sent = s
            .post(&format!("/api/channels/{}/messages", w.channel), &w.owner, json!({ "content": text }))
            .await;
        let status = sent.status.as_u16();
        check("POST", "messages", text, sent.status, &sent.body);
        if status == 201 {
            let id = sent.body["id"].as_str().unwrap();
            assert_eq!(s.get(&format!("/api/messages/{id}"), &w.owner).await.expect(200)["content"], text);
        }
        let q: String = text.bytes().map(|b| format!("%{b:02X}")).collect();
        let found = s.get(&format!("/api/search?q={q}"), &w.owner).await;
        check("GET", "/api/search", text, found.status, &found.body);
        let server = s.post("/api/servers", &w.owner, json!({ "name": text })).await;
        check("POST", "/api/servers", text, server.status, &server.body);
        let login = s
            .call(Method::POST, "/api/auth/login", None, Some(json!({ "username": text, "password": text })))
            .await;
        check("POST", "/api/auth/login", text, login.status, &login.body);
    }
    // The original message is untouched.
    let original = s.get(&format!("/api/messages/{}", w.message), &w.owner).await.expect(200);
    assert_eq!(original["content"], "the original text");
}

pub(crate) async fn unknown_routes_and_methods_answer_in_shape(s: TestServer) {
    let w = world(&s).await;
    s.get("/api/nowhere", &w.owner).await.expect_error(404, "unknown_route");
    s.call(Method::DELETE, "/api/health", None, None).await.expect_error(405, "method_not_allowed");
    s.call(Method::PATCH, "/api/search", Some(&w.owner.token), None)
        .await
        .expect_error(405, "method_not_allowed");
    let health = s.call(Method::GET, "/api/health", None, None).await.expect(200);
    assert_eq!(health["status"], "ok");
    assert_eq!(health["version"], env!("CARGO_PKG_VERSION"));
    assert_eq!(health["database"], s.backend());
    let page = s.http.get(s.url("/")).send().await.unwrap();
    assert_eq!(page.status(), 200);
    assert!(page.text().await.unwrap().contains("Rift"));
}

pub(crate) async fn message_sends_are_rate_limited_per_user(db: rift_testing::TestDb) {
    let s = TestServer::start_with(db, |config, _| config.rate_limits = true).await;
    let w = world(&s).await;
    let path = format!("/api/channels/{}/messages", w.channel);
    // The burst is 20 (one message was sent while building the world). Sends go on until one is
    // refused, so a slow machine (where tokens come back at 10/s meanwhile) still meets the limit.
    let mut statuses = Vec::new();
    for i in 0..400 {
        if statuses.contains(&429) {
            break;
        }
        let reply = s.post(&path, &w.owner, json!({ "content": format!("flood {i}") })).await;
        if reply.status.as_u16() == 429 {
            assert!(reply.headers.contains_key("retry-after"), "429 without Retry-After");
            reply.expect_error(429, "rate_limited");
            statuses.push(429);
        } else {
            reply.expect(201);
            statuses.push(201);
        }
    }
    assert!(statuses.contains(&429), "{statuses:?}");
    // Another user is not limited by the flood.
    let other = s.register("calm").await;
    let (_, channel) = s.server(&other, "Calm").await;
    s.send(&other, &channel, "hello").await;
}

pub(crate) async fn health_is_503_when_the_database_is_gone(db: rift_testing::TestDb) {
    let database = db.database.clone();
    let s = TestServer::start(db).await;
    s.call(Method::GET, "/api/health", None, None).await.expect(200);
    database.close().await;
    let reply = s.call(Method::GET, "/api/health", None, None).await;
    assert_eq!(reply.status.as_u16(), 503, "{}", reply.body);
    assert_eq!(reply.body["status"], "unavailable");
    assert!(reply.body["version"].is_string() && reply.body["database"].is_string());
    // Other routes answer a generic 500 in the error shape, never a hang or a dropped connection.
    let login = json!({ "username": "ada", "password": "password123" });
    let reply = s.call(Method::POST, "/api/auth/login", None, Some(login)).await;
    assert_eq!(reply.status.as_u16(), 500);
    assert_eq!(reply.body["error"]["message"], "internal error");
}

/// A NUL character in any text field that could reach the database: PostgreSQL cannot store it
/// in a text column, so it must be refused (or dropped) before the store, never answered with a
/// 500; and nothing is stored. Each case is (method, path, body), with `NUL` in one field.
pub(crate) async fn nul_characters_in_text_fields_are_refused_not_500(s: TestServer) {
    const NUL: &str = "a\u{0}b";
    let w = world(&s).await;
    let friend = s.register("friend").await;
    s.join(&w.owner, &w.server, &friend).await;
    let dm = s.post("/api/dm/channels", &w.owner, json!({ "recipient_id": friend.id })).await.expect(201);
    let dm = dm["id"].as_str().unwrap().to_owned();
    let before = snapshot(&s, &w).await;
    let (server, channel, message, role) = (&w.server, &w.channel, &w.message, &w.role);
    let valid = json!({ "username": "newcomer", "password": "password123" });
    let with = |base: &Value, field: &str| {
        let mut body = base.clone();
        body[field] = json!(NUL);
        body
    };
    let mut cases: Vec<(&str, String, Option<Value>)> = Vec::new();
    for field in ["username", "password", "email", "display_name"] {
        cases.push(("POST", "/api/auth/register".into(), Some(with(&valid, field))));
    }
    for field in ["username", "password"] {
        cases.push(("POST", "/api/auth/login".into(), Some(with(&valid, field))));
    }
    cases.push(("POST", "/api/auth/refresh".into(), Some(json!({ "refresh_token": NUL }))));
    cases.push(("POST", "/api/auth/logout".into(), Some(json!({ "refresh_token": NUL }))));
    cases.push(("PATCH", "/api/users/me".into(), Some(json!({ "display_name": NUL }))));
    cases.push(("PATCH", "/api/users/me".into(), Some(json!({ "status": NUL }))));
    let password = json!({ "current_password": "password123", "new_password": "password123" });
    for field in ["current_password", "new_password"] {
        cases.push(("PUT", "/api/users/me/password".into(), Some(with(&password, field))));
    }
    cases.push(("POST", "/api/servers".into(), Some(json!({ "name": NUL }))));
    cases.push(("PATCH", format!("/api/servers/{server}"), Some(json!({ "name": NUL }))));
    cases.push(("POST", format!("/api/servers/{server}/channels"), Some(json!({ "name": NUL }))));
    let topic = json!({ "name": "ok", "topic": NUL });
    cases.push(("POST", format!("/api/servers/{server}/channels"), Some(topic.clone())));
    cases.push(("PATCH", format!("/api/channels/{channel}"), Some(json!({ "name": NUL }))));
    cases.push(("PATCH", format!("/api/channels/{channel}"), Some(json!({ "topic": NUL }))));
    cases.push(("POST", format!("/api/servers/{server}/roles"), Some(json!({ "name": NUL }))));
    cases.push(("PATCH", format!("/api/roles/{role}"), Some(json!({ "name": NUL }))));
    cases.push(("POST", format!("/api/servers/{server}/join"), Some(json!({ "code": NUL }))));
    cases.push(("GET", "/api/invites/a%00b".into(), None));
    cases.push(("DELETE", "/api/invites/a%00b".into(), None));
    for target in [channel, &dm] {
        let path = format!("/api/channels/{target}/messages");
        cases.push(("POST", path.clone(), Some(json!({ "content": NUL }))));
        cases.push(("POST", path, Some(json!({ "content": "hi", "nonce": NUL }))));
    }
    cases.push((
        "POST",
        format!("/api/dm/channels/{dm}/messages"),
        Some(json!({ "content": "hi", "nonce": NUL })),
    ));
    cases.push(("PATCH", format!("/api/messages/{message}"), Some(json!({ "content": NUL }))));
    cases.push(("PUT", format!("/api/messages/{message}/reactions/a%00b"), None));
    cases.push(("GET", "/api/search?q=a%00b".into(), None));
    cases.push(("GET", format!("/api/search?q=%00&channel_id={channel}"), None));
    for (method, path, body) in cases {
        let method = Method::from_bytes(method.as_bytes()).unwrap();
        let reply = s.call(method.clone(), &path, Some(&w.owner.token), body.clone()).await;
        check(method.as_str(), &path, &format!("{body:?}"), reply.status, &reply.body);
        assert!(
            !matches!(reply.status.as_u16(), 200 | 201 | 204) || method == Method::GET,
            "{method} {path} {body:?} was accepted: {}",
            reply.body
        );
    }
    // A ban reason is free text: the NUL is dropped, the ban stands.
    let reply = s
        .put(
            &format!("/api/servers/{server}/bans/{}", w.outsider.id),
            &w.owner,
            Some(json!({ "reason": NUL })),
        )
        .await;
    check("PUT", "bans", "reason", reply.status, &reply.body);
    // An upload's file name is sanitised (control characters dropped) or refused.
    let part = reqwest::multipart::Part::bytes(b"plain words".to_vec()).file_name(NUL);
    let form = reqwest::multipart::Form::new().part("file", part);
    let reply =
        s.http.post(s.url("/api/upload")).bearer_auth(&w.owner.token).multipart(form).send().await.unwrap();
    let reply = TestServer::reply(reply).await;
    check("POST", "/api/upload", "filename", reply.status, &reply.body);
    // (The multipart parser may refuse the part's headers outright: a 400 is fine too.)
    if reply.status.as_u16() == 201 {
        assert!(!reply.body["filename"].as_str().unwrap().contains('\u{0}'), "{}", reply.body);
    }
    assert_eq!(snapshot(&s, &w).await, before, "a refused request changed stored state");
    // Nothing of the refused sends reached the DM either.
    let dm_messages = s.get(&format!("/api/channels/{dm}/messages"), &w.owner).await.expect(200);
    assert_eq!(dm_messages, json!([]));
}
