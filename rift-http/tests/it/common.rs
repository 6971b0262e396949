//! A real server on 127.0.0.1:0 over a real database, and a small client for it.

use std::net::SocketAddr;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use reqwest::{Method, StatusCode};
use rift::router::{RemoteInbox, Router};
use rift::{Config, Rift};
use rift_http::{AppState, HttpConfig};
use serde_json::{Value, json};

pub(crate) use rift_testing::TestDb;

/// The system's time plus however far a test moved it ahead: time still passes (stamps stay in
/// order), and expiry comes at once.
#[derive(Debug, Default)]
struct AheadClock {
    ahead: Mutex<Duration>,
}

impl rift::clock::Clock for AheadClock {
    fn now(&self) -> rift::Timestamp {
        chrono::Utc::now() + *self.ahead.lock().unwrap()
    }
}

/// A running server; stops when dropped.
pub(crate) struct TestServer {
    pub(crate) base: String,
    pub(crate) http: reqwest::Client,
    pub(crate) rift: Rift,
    /// Where events of other nodes enter the service's router, as a fan-out delivers them.
    pub(crate) inbox: RemoteInbox,
    clock: Arc<AheadClock>,
    _uploads: tempfile::TempDir,
    _db: TestDb,
    task: tokio::task::JoinHandle<()>,
}

impl TestServer {
    /// The kind of database the test runs on, from the test database itself (a file: SQLite).
    pub(crate) fn backend(&self) -> &'static str {
        if self._db.path().is_some() { "sqlite" } else { "postgres" }
    }
}

impl Drop for TestServer {
    fn drop(&mut self) {
        self.task.abort();
    }
}

/// A signed-in user.
#[derive(Clone, Debug)]
pub(crate) struct Account {
    pub(crate) id: String,
    pub(crate) token: String,
    pub(crate) refresh: String,
}

/// What a call answered.
#[derive(Debug)]
pub(crate) struct Reply {
    pub(crate) status: StatusCode,
    pub(crate) headers: reqwest::header::HeaderMap,
    pub(crate) body: Value,
}

impl Reply {
    /// Asserts the status, and for errors the documented `{"error": {"code", "message"}}` shape.
    #[track_caller]
    pub(crate) fn expect(self, status: u16) -> Value {
        assert_eq!(self.status.as_u16(), status, "unexpected status; body: {}", self.body);
        if status >= 400 {
            assert_error_shape(&self.body);
        }
        self.body
    }

    /// Asserts an error status and code.
    #[track_caller]
    pub(crate) fn expect_error(self, status: u16, code: &str) {
        let body = self.expect(status);
        assert_eq!(body["error"]["code"], code, "{body}");
    }
}

#[track_caller]
pub(crate) fn assert_error_shape(body: &Value) {
    let error = &body["error"];
    assert!(error["code"].is_string() && error["message"].is_string(), "not the error shape: {body}");
    let code = error["code"].as_str().unwrap_or_default();
    assert!(code.bytes().all(|b| b.is_ascii_lowercase() || b == b'_'), "code not snake_case: {code}");
}

impl TestServer {
    pub(crate) async fn start(db: TestDb) -> Self {
        Self::start_with(db, |_, _| {}).await
    }

    pub(crate) async fn start_with(db: TestDb, tune: impl FnOnce(&mut Config, &mut HttpConfig)) -> Self {
        let uploads = tempfile::tempdir().expect("upload dir");
        let mut config = Config::new(b"integration test secret of enough length".to_vec());
        config.rate_limits = false;
        let mut http_config = HttpConfig::new(uploads.path());
        http_config.rate_limits = false;
        http_config.max_upload_bytes = 1024 * 1024;
        tune(&mut config, &mut http_config);
        let clock = Arc::new(AheadClock::default());
        let (router, inbox) = Router::with_inbox();
        let rift = Rift::builder(Arc::clone(&db.store), config).router(router).clock(clock.clone()).build();
        let app = rift_http::router(AppState::new(rift.clone(), http_config));
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.expect("bind");
        let addr = listener.local_addr().expect("addr");
        let task = tokio::spawn(async move {
            let _ = axum::serve(listener, app.into_make_service_with_connect_info::<SocketAddr>()).await;
        });
        Self {
            base: format!("http://{addr}"),
            http: reqwest::Client::new(),
            rift,
            inbox,
            clock,
            _uploads: uploads,
            _db: db,
            task,
        }
    }

    /// The database the server runs on, for a second service over the same data.
    pub(crate) fn store(&self) -> Arc<dyn rift::Store> {
        Arc::clone(&self._db.store)
    }

    /// Moves the service's clock `by` ahead of the system's, so expiry can be tested without
    /// waiting for it.
    pub(crate) fn advance_clock(&self, by: Duration) {
        *self.clock.ahead.lock().unwrap() += by;
    }

    pub(crate) fn url(&self, path: &str) -> String {
        format!("{}{path}", self.base)
    }

    /// Sends a request with an optional bearer token and JSON body.
    pub(crate) async fn call(
        &self,
        method: Method,
        path: &str,
        token: Option<&str>,
        body: Option<Value>,
    ) -> Reply {
        let mut request = self.http.request(method, self.url(path));
        if let Some(token) = token {
            request = request.bearer_auth(token);
        }
        if let Some(body) = body {
            request = request.json(&body);
        }
        let response = request.send().await.expect("request");
        Self::reply(response).await
    }

    pub(crate) async fn reply(response: reqwest::Response) -> Reply {
        let status = response.status();
        let headers = response.headers().clone();
        let bytes = response.bytes().await.expect("body");
        let body = if bytes.is_empty() {
            Value::Null
        } else {
            serde_json::from_slice(&bytes)
                .unwrap_or_else(|_| Value::String(String::from_utf8_lossy(&bytes).into()))
        };
        Reply { status, headers, body }
    }

    pub(crate) async fn get(&self, path: &str, who: &Account) -> Reply {
        self.call(Method::GET, path, Some(&who.token), None).await
    }

    pub(crate) async fn post(&self, path: &str, who: &Account, body: Value) -> Reply {
        self.call(Method::POST, path, Some(&who.token), Some(body)).await
    }

    pub(crate) async fn patch(&self, path: &str, who: &Account, body: Value) -> Reply {
        self.call(Method::PATCH, path, Some(&who.token), Some(body)).await
    }

    pub(crate) async fn put(&self, path: &str, who: &Account, body: Option<Value>) -> Reply {
        self.call(Method::PUT, path, Some(&who.token), body).await
    }

    pub(crate) async fn delete(&self, path: &str, who: &Account) -> Reply {
        self.call(Method::DELETE, path, Some(&who.token), None).await
    }

    pub(crate) async fn register(&self, username: &str) -> Account {
        let body = json!({ "username": username, "password": "password123" });
        let session = self.call(Method::POST, "/api/auth/register", None, Some(body)).await.expect(201);
        Account {
            id: session["user"]["id"].as_str().expect("user id").to_owned(),
            token: session["access_token"].as_str().expect("access token").to_owned(),
            refresh: session["refresh_token"].as_str().expect("refresh token").to_owned(),
        }
    }

    /// A server of `owner`'s; returns (server id, general channel id).
    pub(crate) async fn server(&self, owner: &Account, name: &str) -> (String, String) {
        let server = self.post("/api/servers", owner, json!({ "name": name })).await.expect(201);
        let id = server["id"].as_str().expect("server id").to_owned();
        let channels = self.get(&format!("/api/servers/{id}/channels"), owner).await.expect(200);
        (id, channels[0]["id"].as_str().expect("channel id").to_owned())
    }

    /// Makes `who` join `server` through a fresh invite of `owner`'s.
    pub(crate) async fn join(&self, owner: &Account, server: &str, who: &Account) {
        let invite = self.post(&format!("/api/servers/{server}/invites"), owner, json!({})).await.expect(201);
        let code = invite["code"].as_str().expect("code");
        self.post(&format!("/api/servers/{server}/join"), who, json!({ "code": code })).await.expect(200);
    }

    pub(crate) async fn send(&self, who: &Account, channel: &str, content: &str) -> Value {
        self.post(&format!("/api/channels/{channel}/messages"), who, json!({ "content": content }))
            .await
            .expect(201)
    }
}

/// Emits `sqlite::<name>` and `postgres::<name>` tests: `server` bodies take a started
/// [`TestServer`], `database` bodies a fresh database (to start a server of their own).
macro_rules! http_tests {
    (server: [$($module:ident :: $name:ident),* $(,)?], database: [$($dmodule:ident :: $dname:ident),* $(,)?] $(,)?) => {
        mod sqlite {
            $(
                #[tokio::test]
                async fn $name() {
                    let server = crate::common::TestServer::start(rift_testing::sqlite().await).await;
                    crate::$module::$name(server).await;
                }
            )*
            $(
                #[tokio::test]
                async fn $dname() {
                    crate::$dmodule::$dname(rift_testing::sqlite().await).await;
                }
            )*
        }
        mod postgres {
            $(
                #[tokio::test]
                async fn $name() {
                    let Some(db) = rift_testing::postgres().await else { return };
                    crate::$module::$name(crate::common::TestServer::start(db).await).await;
                }
            )*
            $(
                #[tokio::test]
                async fn $dname() {
                    let Some(db) = rift_testing::postgres().await else { return };
                    crate::$dmodule::$dname(db).await;
                }
            )*
        }
    };
}
pub(crate) use http_tests;
