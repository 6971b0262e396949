//! Accounts, tokens and the auth rate limit.

use reqwest::Method;
use serde_json::json;

use crate::common::{Account, TestServer};

pub(crate) async fn register_login_and_profile(s: TestServer) {
    let body = json!({ "username": "ada", "password": "password123", "display_name": "Ada L", "email": "ada@example.org" });
    let session = s.call(Method::POST, "/api/auth/register", None, Some(body)).await.expect(201);
    assert!(session["access_token"].is_string() && session["refresh_token"].is_string());
    assert_eq!(session["expires_in"], 900);
    let user = &session["user"];
    assert_eq!((user["username"].as_str(), user["display_name"].as_str()), (Some("ada"), Some("Ada L")));
    for field in ["id", "avatar_url", "status", "created_at"] {
        assert!(user.get(field).is_some(), "user lacks {field}: {user}");
    }
    let again = json!({ "username": "ADA", "password": "password123" });
    s.call(Method::POST, "/api/auth/register", None, Some(again)).await.expect_error(409, "username_taken");
    let email = json!({ "username": "ada2", "password": "password123", "email": "ADA@example.org" });
    s.call(Method::POST, "/api/auth/register", None, Some(email)).await.expect_error(409, "email_taken");

    let login = json!({ "username": "Ada", "password": "password123" });
    let session = s.call(Method::POST, "/api/auth/login", None, Some(login)).await.expect(200);
    let me = Account {
        id: session["user"]["id"].as_str().unwrap().into(),
        token: session["access_token"].as_str().unwrap().into(),
        refresh: session["refresh_token"].as_str().unwrap().into(),
    };
    let profile = s.get("/api/users/me", &me).await.expect(200);
    assert_eq!(profile["id"], me.id.as_str());
    let patched = s
        .patch("/api/users/me", &me, json!({ "display_name": "Countess", "status": "dnd" }))
        .await
        .expect(200);
    assert_eq!(
        (patched["display_name"].as_str(), patched["status"].as_str()),
        (Some("Countess"), Some("dnd"))
    );
    s.patch("/api/users/me", &me, json!({ "status": "offline" })).await.expect_error(400, "invalid_status");
    s.patch("/api/users/me", &me, json!({ "display_name": "" }))
        .await
        .expect_error(400, "invalid_display_name");
    let other = s.register("bob").await;
    let seen = s.get(&format!("/api/users/{}", me.id), &other).await.expect(200);
    assert_eq!(seen["status"], "offline", "others see a disconnected user as offline");
    s.get(&format!("/api/users/{}", uuid::Uuid::now_v7()), &other).await.expect_error(404, "unknown_user");
}

pub(crate) async fn bad_credentials_are_one_answer(s: TestServer) {
    s.register("ada").await;
    for (user, password) in [("ada", "wrong-password"), ("nobody", "password123")] {
        let body = json!({ "username": user, "password": password });
        s.call(Method::POST, "/api/auth/login", None, Some(body))
            .await
            .expect_error(401, "invalid_credentials");
    }
    let bad = json!({ "username": "a", "password": "password123" });
    s.call(Method::POST, "/api/auth/register", None, Some(bad)).await.expect_error(400, "invalid_username");
    let short = json!({ "username": "abc", "password": "short" });
    s.call(Method::POST, "/api/auth/register", None, Some(short)).await.expect_error(400, "invalid_password");
}

pub(crate) async fn refresh_rotates_and_reuse_revokes(s: TestServer) {
    let me = s.register("ada").await;
    let first = json!({ "refresh_token": me.refresh });
    let pair = s.call(Method::POST, "/api/auth/refresh", None, Some(first.clone())).await.expect(200);
    let next = pair["refresh_token"].as_str().unwrap().to_owned();
    assert!(pair["access_token"].is_string() && pair["expires_in"].is_number());
    s.call(Method::POST, "/api/auth/refresh", None, Some(first))
        .await
        .expect_error(401, "invalid_refresh_token");
    let next_body = json!({ "refresh_token": next });
    s.call(Method::POST, "/api/auth/refresh", None, Some(next_body))
        .await
        .expect_error(401, "invalid_refresh_token");

    let login = json!({ "username": "ada", "password": "password123" });
    let session = s.call(Method::POST, "/api/auth/login", None, Some(login)).await.expect(200);
    let token = session["access_token"].as_str().unwrap();
    let refresh = session["refresh_token"].as_str().unwrap();
    let logout = json!({ "refresh_token": refresh });
    s.call(Method::POST, "/api/auth/logout", Some(token), Some(logout.clone())).await.expect(204);
    s.call(Method::POST, "/api/auth/refresh", None, Some(logout))
        .await
        .expect_error(401, "invalid_refresh_token");
    s.call(Method::POST, "/api/auth/logout-all", Some(token), None).await.expect(204);
}

pub(crate) async fn password_change_revokes_other_sessions(s: TestServer) {
    let me = s.register("ada").await;
    let wrong = json!({ "current_password": "nope-nope", "new_password": "brand-new-pw" });
    s.put("/api/users/me/password", &me, Some(wrong)).await.expect_error(401, "invalid_credentials");
    let body = json!({ "current_password": "password123", "new_password": "brand-new-pw" });
    let pair = s.put("/api/users/me/password", &me, Some(body)).await.expect(200);
    assert!(pair["refresh_token"].is_string());
    let old = json!({ "refresh_token": me.refresh });
    s.call(Method::POST, "/api/auth/refresh", None, Some(old))
        .await
        .expect_error(401, "invalid_refresh_token");
    let login = json!({ "username": "ada", "password": "brand-new-pw" });
    s.call(Method::POST, "/api/auth/login", None, Some(login)).await.expect(200);
}

pub(crate) async fn bearer_tokens_are_checked(s: TestServer) {
    let me = s.register("ada").await;
    s.call(Method::GET, "/api/users/me", None, None).await.expect_error(401, "unauthenticated");
    let forged = format!("{}x", me.token);
    s.call(Method::GET, "/api/users/me", Some(&forged), None).await.expect_error(401, "invalid_token");
    let claims = me.token.split('.').nth(1).unwrap();
    let none = format!("eyJhbGciOiJub25lIiwidHlwIjoiSldUIn0.{claims}.");
    s.call(Method::GET, "/api/users/me", Some(&none), None).await.expect_error(401, "invalid_token");
    let response =
        s.http.get(s.url("/api/users/me")).header("authorization", "Basic abc").send().await.unwrap();
    TestServer::reply(response).await.expect_error(401, "unauthenticated");
    // A token signed with another secret.
    let other =
        rift::Rift::new(s.store(), rift::Config::new(b"some other secret that is long enough".to_vec()));
    let foreign = other.login("ada", "password123").await.unwrap().access_token.into_inner();
    s.call(Method::GET, "/api/users/me", Some(&foreign), None).await.expect_error(401, "invalid_token");
}

pub(crate) async fn expired_tokens_are_rejected(db: rift_testing::TestDb) {
    let s = TestServer::start_with(db, |config, _| config.access_token_ttl = std::time::Duration::ZERO).await;
    let me = s.register("ada").await;
    s.advance_clock(std::time::Duration::from_secs(1));
    s.get("/api/users/me", &me).await.expect_error(401, "invalid_token");
}

pub(crate) async fn auth_routes_are_rate_limited_per_address(db: rift_testing::TestDb) {
    let s = TestServer::start_with(db, |_, http| http.rate_limits = true).await;
    let body = json!({ "username": "nobody", "password": "password123" });
    for _ in 0..10 {
        s.call(Method::POST, "/api/auth/login", None, Some(body.clone()))
            .await
            .expect_error(401, "invalid_credentials");
    }
    let reply = s.call(Method::POST, "/api/auth/login", None, Some(body)).await;
    let retry_after: u64 = reply.headers["retry-after"].to_str().unwrap().parse().unwrap();
    assert!((1..=60).contains(&retry_after), "{retry_after}");
    reply.expect_error(429, "rate_limited");
}
